# One rule per declared pipeline (pipelines.py), all of one shape: its inputs are the head markers
# of its input repos, its output the marker of its own repo. `pachlite run` creates or updates the
# pipeline from its declaration and runs a job when its inputs moved; only new or changed datums
# execute, on the rule's threads as workers.
# With `--config container=True` each datum runs in the stage image, as on a cluster.

from pachlite.pps.spec import input_repos


def run_pipeline(spec):
    """The rule's command, with the spec written into it rather than passed as a param: Snakemake
    imports pandas (~0.5 s a run) to compare params when pandas is installed, and a changed
    command makes the rule run again all the same."""
    quoted = shlex.quote(json.dumps(spec, sort_keys=True)).replace("{", "{{").replace("}", "}}")
    return (f"pachlite run --spec {quoted} --workers {{threads}} --head-file {{output:q}}"
            + (" --container" if config.get("container") else ""))


def pipeline_rule(name, spec):
    # A function, not the loop's body: Snakemake evaluates `shell:` when the job runs, and by then
    # a loop variable would name the last pipeline.
    rule:
        name:
            name
        input:
            [snake.head(repo) for repo in input_repos(spec)],
        output:
            snake.head(name),
        threads: spec.get("parallelismSpec", {}).get("constant", 1)
        shell:
            run_pipeline(spec)


for name, spec in PIPELINES.items():
    pipeline_rule(name, spec)
