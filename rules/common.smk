# Helpers shared by the pipeline rules: every pipeline rule has the same shape.

def pipeline_inputs(name):
    """The head markers of the repos the pipeline reads."""
    from pachlite.pps.spec import input_repos
    return [snake.head(repo) for repo in input_repos(PIPELINES[name])]


def pipeline_spec(name):
    return json.dumps(PIPELINES[name], sort_keys=True)


def pipeline_workers(name):
    return PIPELINES[name].get("parallelismSpec", {}).get("constant", 1)


# Create or update the pipeline from its declaration, run a job if its inputs moved, record the
# output repo's head for Snakemake.
# With `--config container=True` each datum runs in the stage image, as on a cluster.
RUN_PIPELINE = ("pachlite run --spec {params.spec:q} --workers {threads} --head-file {output:q}"
                + (" --container" if config.get("container") else ""))
