"""`input.pfs.trigger`, as pachd's CreatePipeline honours it: the input's branch (by default
`<pipeline>-trigger-<n>`, setInputDefaults) is created on the input repo, or updated keeping its
head, with the trigger; the pipeline reads that branch, so it runs only when the trigger moves
it (pfs/triggers.py fires triggers as commits finish)."""

from __future__ import annotations

from pachlite.errors import InvalidInput
from pachlite.pfs import triggers
from pachlite.pps.spec import with_defaults
from pachlite.pps.spec.tree import input_key, pfs_nodes, project
from pachlite.store import branch_links, branches
from pachlite.store.branch_links import TriggerRow


def set_input_triggers(tx, spec: dict, where: str) -> None:
    """In CreatePipeline's transaction: each triggered input's branch made (or updated) with its
    trigger."""
    full = with_defaults(spec)
    for path, pfs in pfs_nodes(full.get("input"), "input"):
        t = pfs.get("trigger")
        if not t:
            continue
        for field in ("cronSpec", "rateLimitSpec"):
            if t.get(field):
                raise InvalidInput(f"{path}.trigger.{field} cannot run locally: pachlite triggers "
                                   "on size and commits only", f"remove `{field}`", where=where)
        repo, branch = input_key(pfs, project(full)), pfs["branch"]
        row = TriggerRow(repo, branch, t["branch"], t.get("size") or "", int(t.get("commits") or 0),
                         bool(t.get("all")))
        if branch_links.provenance(tx, repo, branch):
            raise InvalidInput(f"{repo}@{branch} has provenance: a branch cannot have both "
                               "provenance and a trigger", "read another branch", where=where)
        try:
            triggers.check_trigger(tx, row)
        except InvalidInput as e:
            raise InvalidInput(e.problem, e.fix, where=f"{where}: {path}.trigger") from None
        if branches.get(tx, repo, branch) is None:
            branches.create(tx, repo, branch)
        branch_links.set_trigger(tx, row, repo, branch)
