"""The stage declarations: the workflow's pipelines, declared once, as Pachyderm 2.x specs.

The Snakefile makes one rule per pipeline from these, `pachlite run` executes them locally, and
`pachlite generate` writes them to pachyderm/ for a cluster. Everything a stage needs (its inputs
and globs, command, image, parallelism) is here, computed from the validated config.

Commands name scripts relative to the working directory: the repo root locally, /app in the stage
image (its WORKDIR), so the same command runs in both.
"""

from __future__ import annotations


def repos(config: dict) -> dict[str, list[str]]:
    """Input repos and the local data each one mirrors (see `pachlite put file --sync`)."""
    return {"training": [config["data"]["training"]],
            "attributes": [config["data"]["attributes"]]}


def pipelines(config: dict) -> list[dict]:
    """The pipelines in dependency order."""
    image = config["image"]
    features = ",".join(config["features"])

    def pipeline(name: str, description: str, input: dict, cmd: list[str], parallelism: int = 1):
        return {"pipeline": {"name": name}, "description": description, "input": input,
                "transform": {"image": image, "cmd": cmd},
                "parallelismSpec": {"constant": parallelism}}

    def pfs(repo: str, glob: str) -> dict:
        return {"pfs": {"repo": repo, "glob": glob}}

    training_csv = "/pfs/training/" + config["data"]["training"].rsplit("/", 1)[-1]
    out = []
    if config["qc"]["enabled"]:
        out.append(pipeline(
            "split", "Split the training data into training rows and holdout rows, as the workshop did.",
            pfs("training", "/"),
            ["python3", "scripts/split.py", "--in", training_csv,
             "--train-rows", str(config["split"]["train_rows"]), "--out-dir", "/pfs/out"]))
        training_csv = "/pfs/split/training.csv"
        out.append(pipeline(
            "qc_pre_process", "One JSON record per holdout row, for quality control.",
            pfs("split", "/holdout.csv"),
            ["python3", "scripts/qc_pre_process.py", "--in", "/pfs/split/holdout.csv",
             "--out-dir", "/pfs/out"]))
    out.append(pipeline(
        "model", f"Ordinary least squares of y on {features}.",
        pfs("split", "/training.csv") if config["qc"]["enabled"] else pfs("training", "/"),
        ["python3", "scripts/train.py", "--in", training_csv, "--features", features,
         "--out-dir", "/pfs/out"]))
    model_repo = "model"
    if config["qc"]["enabled"]:
        out.append(pipeline(
            "qcontrol", f"Pass the model on only if its holdout RMSE is below {config['qc']['threshold']}.",
            {"cross": [pfs("qc_pre_process", "/"), pfs("model", "/")]},
            ["python3", "scripts/qcontrol.py", "--model", "/pfs/model/model.json",
             "--test-dir", "/pfs/qc_pre_process", "--threshold", str(config["qc"]["threshold"]),
             "--out-dir", "/pfs/out"]))
        model_repo = "qcontrol"
    out.append(pipeline(
        "infer", "Predict diabetes progression for each attribute file.",
        {"cross": [pfs("attributes", "/*"), pfs(model_repo, "/")]},
        ["python3", "scripts/infer.py", "--model", f"/pfs/{model_repo}/model.json",
         "--attributes", "/pfs/attributes", "--out-dir", "/pfs/out"],
        config["infer"]["parallelism"]))
    return out
