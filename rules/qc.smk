# The workshop's quality control: split the data, hold rows out, gate the model on its RMSE.

rule split:
    input:
        pipeline_inputs("split"),
    output:
        snake.head("split"),
    params:
        spec=pipeline_spec("split"),
    threads: pipeline_workers("split")
    shell:
        RUN_PIPELINE


rule qc_pre_process:
    input:
        pipeline_inputs("qc_pre_process"),
    output:
        snake.head("qc_pre_process"),
    params:
        spec=pipeline_spec("qc_pre_process"),
    threads: pipeline_workers("qc_pre_process")
    shell:
        RUN_PIPELINE


rule qcontrol:
    """Fails (and keeps the last passing model downstream) when RMSE >= the threshold."""
    input:
        pipeline_inputs("qcontrol"),
    output:
        snake.head("qcontrol"),
    params:
        spec=pipeline_spec("qcontrol"),
    threads: pipeline_workers("qcontrol")
    shell:
        RUN_PIPELINE
