"""What pachlite does with every field of a 2.x CreatePipelineRequest, in one table.

Each field of CreatePipelineRequest, Transform, PFSInput (and the cron input) is honoured (runs as
on pachd), warned (harmless on a laptop: a one-line warning at create/update/run --spec) or
refused (no local meaning that would give pachd's result: a one-line error at create, nothing
stored). README's "Spec fields" table is generated from FIELDS (`markdown_table`).
"""

from __future__ import annotations

from pachlite.pps.spec.tree import pfs_nodes

HONOURED, WARNED, REFUSED = "honoured", "warned", "refused"
# path in the spec -> (decision, why, fix for a refused field)
FIELDS: dict[str, tuple[str, str, str]] = {
    "pipeline": (HONOURED, "name and project", ""),
    "tfJob": (REFUSED, "pachd does not run TFJob pipelines", "remove `tfJob` and give a `transform`"),
    "transform": (HONOURED, "see transform.* below", ""),
    "parallelismSpec": (HONOURED, "workers on this machine (at most 256)", ""),
    "egress": (REFUSED, "pachlite has no egress to object storage or databases",
               "remove it and copy the output with 'pachlite get file'"),
    "outputBranch": (HONOURED, "", ""),
    "s3Out": (REFUSED, "pachlite has no s3 gateway", "remove it and write to /pfs/out"),
    "resourceRequests": (WARNED, "no Kubernetes scheduler", ""),
    "resourceLimits": (WARNED, "no Kubernetes scheduler", ""),
    "sidecarResourceLimits": (WARNED, "no sidecar", ""),
    "sidecarResourceRequests": (WARNED, "no sidecar", ""),
    "input": (HONOURED, "pfs, cross, join, group, union", ""),
    "description": (HONOURED, "", ""),
    "service": (REFUSED, "pachlite runs jobs, not long-running services",
                "run the server yourself, reading a repo with 'pachlite get file'"),
    "spout": (REFUSED, "pachlite does not run spout pipelines",
              "put the data into a repo with 'pachlite put file' and read it as a pfs input"),
    "datumSetSpec": (WARNED, "datums are handed to local workers in pachlite's own sets", ""),
    "datumTimeout": (HONOURED, "the datum's command is killed and the try fails", ""),
    "jobTimeout": (HONOURED, "the running datums are killed and the job fails: 'job timed out'", ""),
    "salt": (WARNED, "pachlite keeps its own salt; 'update pipeline --reprocess' gives a new one", ""),
    "datumTries": (HONOURED, "", ""),
    "schedulingSpec": (WARNED, "no Kubernetes scheduler", ""),
    "podSpec": (WARNED, "no pods", ""),
    "podPatch": (WARNED, "no pods", ""),
    "metadata": (HONOURED, "kept with the spec; `pachlite.io/code` annotations name stage code", ""),
    "reprocessSpec": (HONOURED, "", ""),
    "autoscaling": (WARNED, "local workers exist only while a job runs", ""),
    "tolerations": (WARNED, "no Kubernetes scheduler", ""),
    "determined": (REFUSED, "pachlite has no Determined cluster", "remove `determined`"),
    "maximumExpectedUptime": (WARNED, "pachlite raises no alerts", ""),
    "transform.image": (HONOURED, "with --container; without it the command runs on this machine", ""),
    "transform.cmd": (HONOURED, "", ""),
    "transform.errCmd": (HONOURED, "", ""),
    "transform.env": (HONOURED, "", ""),
    "transform.secrets": (HONOURED, "secrets of 'pachlite create secret': `envVar` sets the "
                          "variable, `mountPath` holds a file per key (with --container, or "
                          "where user namespaces are available)", ""),
    "transform.imagePullSecrets": (WARNED, "Docker pulls with this machine's credentials", ""),
    "transform.stdin": (HONOURED, "", ""),
    "transform.errStdin": (HONOURED, "", ""),
    "transform.acceptReturnCode": (HONOURED, "", ""),
    "transform.debug": (WARNED, "pachlite's logs are always complete", ""),
    "transform.user": (HONOURED, "with --container (the container's user); refused without it", ""),
    "transform.workingDir": (HONOURED, "the command's working directory (under /pfs as in a worker)", ""),
    "transform.dockerfile": (WARNED, "pachlite builds no images", ""),
    "transform.memoryVolume": (WARNED, "scratch space is the machine's", ""),
    "transform.datumBatching": (HONOURED, "", ""),
    "input.pfs.project": (HONOURED, "", ""),
    "input.pfs.name": (HONOURED, "", ""),
    "input.pfs.repo": (HONOURED, "", ""),
    "input.pfs.repoType": (REFUSED, "pachlite has only user repos", "remove `repoType`"),
    "input.pfs.branch": (HONOURED, "", ""),
    "input.pfs.commit": (REFUSED, "a pipeline input cannot come from a commit",
                         "point a branch at the commit and set `branch`"),
    "input.pfs.glob": (HONOURED, "", ""),
    "input.pfs.joinOn": (HONOURED, "", ""),
    "input.pfs.outerJoin": (HONOURED, "", ""),
    "input.pfs.groupBy": (HONOURED, "", ""),
    "input.pfs.lazy": (WARNED, "inputs are always laid out in full", ""),
    "input.pfs.emptyFiles": (HONOURED, "the datum's files are laid out as 0-byte files", ""),
    "input.pfs.s3": (REFUSED, "pachlite has no s3 gateway", "remove `s3` and read the files under /pfs"),
    "input.pfs.trigger": (HONOURED, "the input's branch (default `<pipeline>-trigger-<n>`) gets "
                          "the trigger at create, as on pachd; size and commits conditions "
                          "(`cronSpec`, `rateLimitSpec` refused)", ""),
    "input.pfs.propagationSpec": (REFUSED, "pachlite makes a job for every commit of an input",
                                  "remove `propagationSpec`"),
    "input.pfs.reference": (REFUSED, "pachlite lays out the input's files", "remove `reference`"),
    "input.cron": (HONOURED, "a tick repo made at create; 'pachlite run cron' ticks now, and "
                   "'pachlite run' commits the ticks that fell due (at most the last 16)", ""),
}
README_BEGIN = "<!-- spec fields: generated from src/pachlite/pps/spec/fields.py (markdown_table) -->"
README_END = "<!-- end of spec fields -->"


def refused(spec: dict, container: bool | None = None) -> tuple[str, str, str] | None:
    """The first refused field the spec sets: (path, why, fix), or None. With container=False a
    `transform.user` is refused too (it takes effect only in a container)."""
    for key, (decision, why, fix) in FIELDS.items():
        if decision != REFUSED or key.startswith("input."):
            continue
        if "." in key:
            section, field = key.split(".", 1)
            if field in (spec.get(section) or {}):
                return key, why, fix
        elif key in spec:
            return key, why, fix
    transform = spec.get("transform") or {}
    if container is False and transform.get("user"):
        return ("transform.user", "`user` takes effect only in a container",
                "create the pipeline with --container, or remove `user`")
    return None


def refused_input(spec: dict) -> tuple[str, str, str] | None:
    """The first refused field of a (checked) input tree: (path, why, fix), or None."""
    for path, pfs in pfs_nodes(spec.get("input"), "input"):
        for field in ("s3", "propagationSpec", "reference"):
            if pfs.get(field):
                return f"{path}.{field}", *FIELDS[f"input.pfs.{field}"][1:]
        if pfs.get("repoType") not in (None, "", "user"):
            return f"{path}.repoType", *FIELDS["input.pfs.repoType"][1:]
    return None


def warnings(spec: dict) -> list[str]:
    """One line per warned field the spec sets."""
    out = []
    set_paths = set(spec) | {f"transform.{k}" for k in spec.get("transform") or {}}
    for _, pfs in pfs_nodes(spec.get("input"), "input"):
        set_paths |= {f"input.pfs.{k}" for k, v in pfs.items() if v}
    for key, (decision, why, _) in FIELDS.items():
        if decision == WARNED and key in set_paths:
            out.append(f"pachlite: warning: {key} has no effect locally ({why})")
    return out


def markdown_table() -> str:
    """README's "Spec fields" table (between README_BEGIN and README_END)."""
    rows = ["| field | locally | why / fix |", "| --- | --- | --- |"]
    for key, (decision, why, fix) in FIELDS.items():
        note = "; ".join(x for x in (why, fix) if x).replace("|", "\\|")
        rows.append(f"| `{key}` | {decision} | {note} |")
    return "\n".join(rows) + "\n"
