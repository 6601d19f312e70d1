"""pachd's checks of a CreatePipelineRequest (ValidatePipelineRequest, validateInput,
validateNames), plus what pachlite needs to run it locally."""

from __future__ import annotations

import re
from collections.abc import Callable

from pachlite.errors import InvalidInput, SpecError
from pachlite.pfs.address import validate_project
from pachlite.pps.spec import cron, fields
from pachlite.pps.spec.defaults import DEFAULT_PROJECT, REPROCESS_SPECS, parse_duration
from pachlite.pps.spec.tree import COMBINATORS, INPUT_TYPES, pfs_nodes, walk, where

# pachd (2.5+): maxPipelineNameLength = 51, and the worker RC name "<project>-<name>-v99" must fit
# a 63-character Kubernetes DNS label. 1.x allowed 63, which is why older docs say so.
MAX_PIPELINE_NAME = 51
DNS_LABEL_LIMIT = 63
NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")  # pachd's ancestry.ValidateName, for pipelines and repos
ErrorMaker = Callable[[str, str, str], SpecError]  # (path, problem, fix) -> the error to raise


def check(spec: dict, source: str) -> None:
    """pachd's checks on a CreatePipelineRequest, plus what pachlite needs to run it locally."""

    def error(path: str, problem: str, fix: str) -> SpecError:
        return SpecError(problem, fix, where=where(source, path))

    pipeline = spec.get("pipeline") or {}
    name = pipeline.get("name", "")
    if not name:
        raise error("pipeline.name", "the pipeline has no name", 'set "pipeline": {"name": "<name>"}')
    if not NAME_RE.fullmatch(name):
        raise error(
            "pipeline.name", f"pipeline name {name!r} may hold only letters, digits, '_' and '-'",
            "rename the pipeline",
        )
    if not name[0].isalnum():
        raise error("pipeline.name", f"pipeline name {name!r} must start with a letter or digit",
                    "rename the pipeline")
    project = (pipeline.get("project") or {}).get("name") or DEFAULT_PROJECT
    _check_project(project, "pipeline.project.name", error)
    limit = min(MAX_PIPELINE_NAME, DNS_LABEL_LIMIT - len(f"{project}--v99"))
    if len(name) > limit:
        raise error(
            "pipeline.name",
            f"pipeline name is {len(name)} characters long; pachd allows {limit}",
            f"shorten it to {limit} characters or fewer",
        )

    # tfJob, spout, service, egress...: refused in one line, with why (fields.py)
    refusal = fields.refused(spec)
    if refusal:
        path, why, fix = refusal
        raise error(path, f"`{path}` cannot run locally: {why}", fix)
    transform = spec.get("transform")
    if not transform:
        raise error("transform", "the pipeline has no transform",
                    'add "transform": {"image": "...", "cmd": [...]}')
    if not transform.get("cmd"):  # pachlite runs the command itself, so it must be spelled out
        raise error(
            "transform.cmd",
            "the transform has no `cmd`",
            'give the command as a list, e.g. "cmd": ["python3", "/app/main.py"]',
        )
    for i, secret in enumerate(transform.get("secrets") or ()):
        if not secret.get("name"):
            raise error(f"transform.secrets[{i}].name", "the secret has no name",
                        'name the secret to read: "name": "<secret>" (see pachlite list secret)')
        if "\n" in (secret.get("mountPath") or ""):
            raise error(f"transform.secrets[{i}].mountPath", "mountPath holds a line break",
                        "give a path on one line")
    reprocess = spec.get("reprocessSpec")
    if reprocess and reprocess not in REPROCESS_SPECS:
        raise error(
            "reprocessSpec", f"reprocessSpec {reprocess!r} is unknown",
            'use "until_success" (the default) or "every_job"',
        )

    for key in ("datumTimeout", "jobTimeout"):
        try:
            parse_duration(spec.get(key), key)
        except SpecError as e:
            raise error(key, e.problem, e.fix or "") from None
    tries = spec.get("datumTries", 0)
    if tries < 0:
        # pachd would try such a datum once: a negative count is a mistake, not a setting.
        raise error("datumTries", f"datumTries is {tries}", "give 1 or more tries, or leave it out for 3")
    branch = spec.get("outputBranch")
    if branch is not None:  # pachd's CreateBranch checks it only when the first job commits
        _check_name(branch, "outputBranch", "output branch", error)

    root = spec.get("input")
    if root is None:
        # pachd allows no input only for a spout, which pachlite does not run.
        raise error("input", "the pipeline has no input",
                    'give it one, e.g. "input": {"pfs": {"repo": "<repo>", "glob": "/*"}}')
    for node, path, outer in walk(root, "input", ()):
        _check_input(node, path, outer, error)
    _check_names(root, "input", set(), error)
    refusal = fields.refused_input(spec)
    if refusal:
        path, why, fix = refusal
        raise error(path, f"`{path}` cannot run locally: {why}", fix)
    for path, pfs in pfs_nodes(root, "input"):
        if pfs["repo"] == name and pfs.get("project", project) == project:
            raise error(
                f"{path}.repo",
                f"pipeline {name!r} reads its own output repo {name!r}",
                "read another repo, or rename the pipeline",
            )


def _check_input(node: dict, path: str, outer: tuple[str, ...], error: ErrorMaker) -> None:
    kinds = [k for k in INPUT_TYPES if k in node]
    if not kinds:
        raise error(path, "the input has no type", f"give it exactly one of {', '.join(INPUT_TYPES)}")
    if len(kinds) > 1:
        raise error(
            path,
            f"the input sets {' and '.join(f'`{k}`' for k in kinds)}; an input has exactly one type",
            "keep one, or put them side by side in a `cross` or `union`",
        )
    kind = kinds[0]
    if kind in COMBINATORS and not node[kind]:
        raise error(f"{path}.{kind}", f"`{kind}` lists no inputs", f"list the inputs to {kind}")
    if kind == "cron":
        if not node["cron"].get("name"):
            raise error(f"{path}.cron.name", "the cron input has no name", 'set "name"')
        _check_name(node["cron"]["name"], f"{path}.cron.name", "input name", error)
        if node["cron"].get("repo"):
            _check_name(node["cron"]["repo"], f"{path}.cron.repo", "repo", error)
        if node["cron"].get("project"):
            _check_project(node["cron"]["project"], f"{path}.cron.project", error)
        for key, parse in (("spec", cron.schedule), ("start", cron.parse_start)):
            try:
                parse(node["cron"].get(key))
            except SpecError as e:
                raise error(f"{path}.cron.{key}", e.problem, e.fix or "") from None
    if kind != "pfs":
        return
    pfs, path = node["pfs"], f"{path}.pfs"
    repo = pfs.get("repo")
    if not repo:
        raise error(f"{path}.repo", "the pfs input has no `repo`",
                    'name the repo to read, e.g. "repo": "images"')
    if not NAME_RE.fullmatch(repo):
        raise error(
            f"{path}.repo",
            f"repo name {repo!r} may hold only letters, digits, '_' and '-'",
            "give the repo's name, without branch or path",
        )
    # The name is a folder under /pfs and the branch a PFS branch: neither may hold a path.
    if pfs.get("name"):
        _check_name(pfs["name"], f"{path}.name", "input name", error)
    if pfs.get("branch"):
        _check_name(pfs["branch"], f"{path}.branch", "branch", error)
    if pfs.get("project"):
        _check_project(pfs["project"], f"{path}.project", error)
    if not pfs.get("glob") and not pfs.get("s3"):
        raise error(
            f"{path}.glob",
            "the pfs input has no `glob`",
            'add one: "/" reads the repo as one datum, "/*" makes a datum per top-level entry',
        )
    if (pfs.get("name") or repo) == "out":
        raise error(
            f"{path}.name",
            "an input may not be named `out`",
            "set `name` to something else: /pfs/out is where the pipeline writes",
        )
    # pachd's s3 rules, checked before pachlite's own refusal of s3 inputs (fields.py)
    if pfs.get("s3"):
        if pfs.get("glob", "/") != "/":
            raise error(f"{path}.glob", "an input that sets `s3` must set `glob` to \"/\" (pachd: the S3 "
                        "gateway exposes data at the commit level)", 'set "glob": "/"')
        for key in ("lazy", "emptyFiles"):
            if pfs.get(key):
                raise error(f"{path}.{key}", f"an input cannot set both `s3` and `{key}` (pachd: s3 data is "
                            "read through the S3 gateway, not the file system)", f"remove `{key}`")
        for kind in ("join", "group", "union"):
            if kind in outer:
                raise error(f"{path}.s3", f"s3 inputs in {kind} expressions are not supported (pachd)",
                            f"take this input out of the `{kind}`, or remove `s3`")
    if pfs.get("commit"):
        raise error(
            f"{path}.commit",
            "a pipeline input cannot come from a commit",
            "point a branch at the commit and set `branch`",
        )
    # pachd ignores these keys outside their combinator, so there they are always a mistake.
    for key, kind in (("joinOn", "join"), ("outerJoin", "join"), ("groupBy", "group")):
        if pfs.get(key) and kind not in outer:
            raise error(
                f"{path}.{key}",
                f"`{key}` only works on an input inside a `{kind}`",
                f"put this input in a `{kind}`, or remove `{key}`",
            )


def _check_name(name: str, path: str, what: str, error: ErrorMaker) -> None:
    if not NAME_RE.fullmatch(name):
        raise error(path, f"{what} {name!r} may hold only letters, digits, '_' and '-'",
                    f"rename the {what}")


def _check_project(name: str, path: str, error: ErrorMaker) -> None:
    """pachd's Project.ValidateName."""
    try:
        validate_project(name)
    except InvalidInput as e:
        raise error(path, e.problem, e.fix or "rename the project") from None


def _check_names(node: dict, path: str, names: set[str], error: ErrorMaker) -> None:
    """pachd's validateNames: names are unique across crossed/joined/grouped inputs; the children
    of a union may share a name, but not with anything the union is combined with."""
    if "pfs" in node or "cron" in node:
        leaf = node.get("pfs") or node["cron"]
        name = leaf.get("name") or leaf.get("repo", "")
        if name in names:
            raise error(
                path,
                f"input name {name!r} is used more than once",
                "give each input a distinct `name` (two inputs from one repo need one each)",
            )
        names.add(name)
    elif "union" in node:
        seen: set[str] = set()
        for i, child in enumerate(node["union"]):
            branch = set(names)
            _check_names(child, f"{path}.union[{i}]", branch, error)
            seen |= branch
        names |= seen
    else:
        kind = next(k for k in COMBINATORS if k in node)
        for i, child in enumerate(node[kind]):
            _check_names(child, f"{path}.{kind}[{i}]", names, error)
