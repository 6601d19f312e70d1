# One rule per declared pipeline (pipelines.py), all of one shape: its inputs are the head markers
# of its input repos, its output the marker of its own repo. `pachlite run` creates or updates the
# pipeline from its declaration and runs a job when its inputs moved; only new or changed datums
# execute, on the rule's threads as workers.
# With `--config container=True` each datum runs in the stage image, as on a cluster.

from pachlite.spec import input_repos

RUN_PIPELINE = ("pachlite run --spec {params.spec:q} --workers {threads} --head-file {output:q}"
                + (" --container" if config.get("container") else ""))

for name, spec in PIPELINES.items():

    rule:
        name:
            name
        input:
            [snake.head(repo) for repo in input_repos(spec)],
        output:
            snake.head(name),
        params:
            spec=json.dumps(spec, sort_keys=True),
        threads: spec.get("parallelismSpec", {}).get("constant", 1)
        shell:
            RUN_PIPELINE
