"""The diabetes regression's own code, shared by the stage scripts beside this package.

`stage` is their one entry point (arguments, one-line errors, writing /pfs/out all or nothing);
`data` reads and checks their inputs with pandas and holds the model's JSON format. The science
itself (the split, the fit, the holdout RMSE, the predictions) is in the scripts.
"""
