"""The diabetes regression's own code, shared by the stage scripts beside this package.

`stage` is their one entry point (arguments, one-line errors, writing /pfs/out all or nothing);
`data` reads and checks their inputs with pandas and holds the model: its JSON format and its
predictions, which qcontrol, infer and the plots share. The split, the fit and the holdout RMSE
are in the scripts themselves.
"""
