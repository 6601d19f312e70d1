# Plots for `snakemake --report report.html`, drawn from the versioned results.

PLOT_REPOS = [r for r in ("training", "split", "model", "qcontrol") if r in PIPELINES or r in REPOS]


rule plots:
    input:
        [snake.head(r) for r in PLOT_REPOS],
    output:
        report("results/plots/profile.png", category="Training data",
               caption="../report/profile.rst"),
        report("results/plots/fit.png", category="Model", caption="../report/fit.rst"),
        report("results/plots/residuals.png", category="Model", caption="../report/residuals.rst"),
        report("results/plots/rmse.png", category="Model", caption="../report/rmse.rst"),
    params:
        gate="qcontrol" if "qcontrol" in PIPELINES else "model",
        training="split@master:/training.csv" if "split" in PIPELINES
        else "training@master:/" + config["data"]["training"].rsplit("/", 1)[-1],
        holdout="split@master:/holdout.csv" if "split" in PIPELINES else "",
        threshold=config["qc"]["threshold"] if config["qc"]["enabled"] else "",
    shell:
        "python3 scripts/plots.py --training {params.training:q} --holdout {params.holdout:q} "
        "--model-repo {params.gate} --threshold {params.threshold:q} --out-dir results/plots"


rule pachyderm_specs:
    """Write the Pachyderm specs, Dockerfile-ready image name and deploy script to pachyderm/."""
    input:
        "pipelines.py",
        workflow.configfiles,
    output:
        [f"pachyderm/{name}.json" for name in PIPELINES],
        "pachyderm/deploy.sh",
    shell:
        "pachlite generate --config {workflow.configfiles[-1]:q} --out-dir pachyderm"
