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
    params:
        folder=config["data"]["attributes"],
    shell:
        "pachlite put file attributes@master:/ -r -f {params.folder:q} --sync --head-file {output:q}"
