rule infer:
    """One prediction per attribute file, crossed with the model that passed."""
    input:
        pipeline_inputs("infer"),
    output:
        snake.head("infer"),
    params:
        spec=pipeline_spec("infer"),
    threads: pipeline_workers("infer")
    shell:
        RUN_PIPELINE
