rule model:
    """Fit the regression on the training rows."""
    input:
        pipeline_inputs("model"),
    output:
        snake.head("model"),
    params:
        spec=pipeline_spec("model"),
    threads: pipeline_workers("model")
    shell:
        RUN_PIPELINE
