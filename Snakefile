"""The diabetes-progression regression of the Pachyderm tutorials, run locally by pachlite.

One rule per Pachyderm pipeline, made from its declaration in pipelines.py (pachlite/workflow/pipelines.smk):
its inputs are the heads of its input repos, its output the head of its output repo, so
`snakemake --rulegraph` is the repo-to-stage DAG. Inside a rule, `pachlite run` executes the
pipeline's job with the rule's threads as workers: only new or changed datums run. A new stage is
one declaration in pipelines.py and one script in scripts/.
"""

import json
import os
import shlex

from snakemake.utils import min_version, validate

min_version("9.0")

configfile: "config/config.yaml"
validate(config, "config/config.schema.yaml")

from pachlite import snake, workflow as engine
from pachlite.pps.generate import declared

# Input repos: repos(config) of pipelines.py, and data/<repo>/ for any other repo a pipeline reads.
declared_pipelines, REPOS = declared(config, os.path.join(workflow.basedir, "pipelines.py"))
PIPELINES = {p["pipeline"]["name"]: p for p in declared_pipelines}
# A branch moved outside Snakemake (a rollback, a `put file`) makes what reads it run again.
snake.sync_heads(list(PIPELINES) + list(REPOS))

include: engine.rules("ingest")
include: engine.rules("pipelines")
include: "rules/report.smk"


rule all:
    input:
        [snake.head(name) for name in PIPELINES],
    default_target: True


onstart:
    # --forceall / --forcerun reach `pachlite run` (in the rules' environment) as a reprocess;
    # Snakemake's settings are known once the Snakefile is read, not while.
    os.environ["PACHLITE_REPROCESS"] = " ".join(snake.reprocess(workflow.dag_settings,
                                                                list(PIPELINES)))


# Snakemake would wait out its last idle 1 s timer before exiting (snake.stop_idle_timers).
onerror:
    snake.stop_idle_timers()


# The report's plots are drawn by the `plots` rule, so the report command names it as its target.
onsuccess:
    snake.stop_idle_timers()
    print(f"\nResults are versioned in {snake.store_root()}/ — inspect them with:\n"
          "  pachlite list job\n  pachlite list file infer@master\n"
          "  pachlite get file infer@master:/1.json\n"
          "  python3 -c 'import pachlite; print(pachlite.open().read_json(\"infer@master\"))'\n"
          "  snakemake --cores all plots && snakemake --report report.html plots"
          "   (data profile, fit, residuals, RMSE)")
