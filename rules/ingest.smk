# Input repos mirror data/: a commit only when the content changed.

rule ingest_training:
    input:
        config["data"]["training"],
    output:
        snake.head("training"),
    shell:
        "pachlite put file training@master:/ -f {input:q} --sync --head-file {output:q}"


rule ingest_attributes:
    input:
        sorted(glob.glob(f"{config['data']['attributes']}/*.json")),
    output:
        snake.head("attributes"),
    shell:  # no params: see run_pipeline in pachlite/workflow/pipelines.smk
        f"pachlite put file attributes@master:/ -r -f {shlex.quote(config['data']['attributes'])} "
        "--sync --head-file {output:q}"
