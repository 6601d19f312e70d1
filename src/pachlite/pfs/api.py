"""PFS: projects, repos, branches, commits and files, with Pachyderm 2.x semantics.

Every commit is a full snapshot of its files (rows of `files`), so reading any commit is one
indexed query and a commit appears whole or not at all: it is written in one transaction together
with the branch move that publishes it.

This module is long because the PFS API is one class, as pachd's PFS API server is one service;
what it reports (info.py), reads from disk (sources.py) and parses (address.py) lives apart.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import uuid
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from pachlite.errors import Conflict, InvalidInput, NotFound
from pachlite.pfs import address as addr, triggers
from pachlite.pfs.address import Address
from pachlite.pfs.info import (
    USER,
    BranchInfo,
    CommitInfo,
    FileChange,
    FileInfo,
    ProjectInfo,
    RepoInfo,
)
from pachlite.pfs.sources import Source, open_local
from pachlite.store import (
    Handle,
    Store,
    Tx,
    branch_links,
    branches,
    commits,
    files,
    projects,
    repos,
    staged,
)
from pachlite.store.commits import CommitRow

# A put of more sources than this is read and written this many at a time (_put_staged): its
# memory stays that of one chunk, whatever the number of files.
STAGE_ROWS = 16384


def new_id() -> str:
    return uuid.uuid4().hex


def _looks_short(ref: str) -> bool:
    """Whether a branch name could be a short commit id: 4 hex digits or more, as git asks."""
    return len(ref) >= 4 and all(ch in "0123456789abcdef" for ch in ref)


class PFS:
    def __init__(self, store: Store):
        self.store = store

    # ---- projects --------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "", update: bool = False) -> ProjectInfo:
        """A new project (pachd's CreateProject); update=True changes an existing one's
        description (`pachctl update project`)."""
        addr.validate_project(name)
        with self.store.transaction() as tx:
            if update:
                self.project_row(name, tx)
                projects.set_description(tx, name, description)
            elif projects.get(tx, name):
                raise Conflict(f"project {name} already exists",
                               "choose another name, or change its description with "
                               f"'pachlite update project {name} -d TEXT'")
            else:
                projects.insert(tx, name, description)
        return self.inspect_project(name)

    def project_row(self, name: str, s: Handle | None = None) -> projects.ProjectRow:
        """The project's row (read through s, as _repo_row); an unknown one is refused."""
        row = projects.get(s or self.store, name)
        if row is None:
            addr.validate_project(name)
            known = [p.name for p in projects.list_projects(s or self.store)]
            raise NotFound(f"project {name} not found",
                           f"known projects: {', '.join(known) or 'none'}; create it with "
                           f"'pachlite create project {name}'")
        return row

    def inspect_project(self, name: str) -> ProjectInfo:
        return ProjectInfo(*self.project_row(name))

    def list_project(self) -> list[ProjectInfo]:
        return [ProjectInfo(*r) for r in projects.list_projects(self.store)]

    def delete_project(self, name: str, force: bool = False) -> None:
        """Delete an empty project, as pachd does; force=True deletes its repos first (what
        pachctl does once the user confirms). Pipelines are PPS's: see pps.pipeline."""
        with self.store.transaction() as tx:
            self.project_row(name, tx)
            left = repos.names(tx, name)
            if left and not force:
                raise Conflict(f"cannot delete project {name}: repo {', '.join(left)} still "
                               f"exist{'s' if len(left) == 1 else ''}",
                               "delete its repos first, or pass --force to delete them with it")
            for key in left:
                repos.delete_cascade(tx, key)
            projects.delete(tx, name)

    # ---- repos -----------------------------------------------------------------------------

    def create_repo(self, name: str, description: str = "", kind: str = "user",
                    exist_ok: bool = False) -> RepoInfo:
        """Create repo `name` (a key: `project/name` outside the default project)."""
        addr.parse_name(name)
        with self.store.transaction() as tx:
            self.insert_repo(tx, name, description, kind, exist_ok)
        return self.inspect_repo(name)

    def insert_repo(self, tx: Tx, name: str, description: str = "", kind: str = "user",
                    exist_ok: bool = False) -> None:
        """Create a repo and its master branch in the caller's transaction (a pipeline's output
        repo is made in the transaction that makes the pipeline)."""
        if repos.get(tx, name):
            if not exist_ok:
                raise Conflict(f"repo {name} already exists",
                               "choose another name or delete it with 'pachlite delete repo'")
        else:
            self.project_row(addr.split_key(name)[0], tx)
            repos.insert(tx, name, description, kind)
            branches.create(tx, name, "master")

    def _repo_row(self, name: str, s: Handle | None = None) -> repos.RepoRow:
        """The repo's row, read through s: a write checks the repo inside its own transaction,
        so a repo deleted meanwhile is refused rather than left with orphan rows."""
        s = s or self.store
        row = repos.get(s, name)
        if row is None:
            project, bare = addr.split_key(name)
            self.project_row(project, s)
            known = [addr.split_key(k)[1] for k in repos.names(s, project)]
            flag = "" if project == addr.DEFAULT_PROJECT else f" --project {project}"
            raise NotFound(f"repo {bare} not found in project {project}",
                           f"known repos there: {', '.join(known) or 'none'}; create it with "
                           f"'pachlite create repo {bare}{flag}'")
        return row

    def inspect_repo(self, name: str) -> RepoInfo:
        return self._repo_info(self._repo_row(name))

    def _repo_info(self, row: repos.RepoRow) -> RepoInfo:
        names = tuple(b.name for b in branches.list_branches(self.store, row.name))
        head = branches.head(self.store, row.name, "master")
        master = commits.get(self.store, head) if head else None
        project, bare = addr.split_key(row.name)
        return RepoInfo(bare, row.created, master.size if master else 0, row.description,
                        row.kind, names, project)

    def list_repo(self, project: str | None = None) -> list[RepoInfo]:
        """Every repo (of the project, when given), newest first."""
        if project is not None:
            self.project_row(project)
        return [self._repo_info(r) for r in repos.list_repos(self.store, project)]

    def delete_repo(self, name: str) -> None:
        with self.store.transaction() as tx:
            self._repo_row(name, tx)
            repos.delete_cascade(tx, name)

    # ---- branches and commits --------------------------------------------------------------

    def list_branch(self, repo: str) -> list[BranchInfo]:
        self._repo_row(repo)
        return [BranchInfo(b.repo, b.name, b.head and self.commit_id(b.head))
                for b in branches.list_branches(self.store, repo)]

    def create_branch(self, repo: str, branch: str, head: Address | None = None,
                      provenance: Sequence[tuple[str, str]] | None = None,
                      trigger: triggers.TriggerRow | None = None) -> BranchInfo:
        """Create a branch, or move it with `head` (e.g. to an older commit: a rollback).

        As in Pachyderm, an existing branch given no head keeps the one it has; its provenance
        and trigger become the ones given (pachd's CreateBranch replaces both).
        """
        addr.validate_name(branch, "branch")
        self._repo_row(repo)
        if head and head.repo != repo:
            raise InvalidInput(f"head {head} is in repo {head.repo}, not {repo}",
                               f"give a commit of {repo}, e.g. {repo}@master^")
        target = self.resolve(head).key if head else None
        with self.store.transaction() as tx:
            self._repo_row(repo, tx)
            if trigger is not None:
                triggers.check_trigger(tx, trigger)
            triggers.check_provenance(tx, repo, branch, list(provenance or ()))
            if head is None:
                branches.create(tx, repo, branch)
            else:
                branches.set_head(tx, repo, branch, target)
            branch_links.set_trigger(tx, trigger, repo, branch)
            branch_links.set_provenance(tx, repo, branch, list(provenance or ()))
            head_id = branches.head(tx, repo, branch)
        return BranchInfo(repo, branch, head_id and self.commit_id(head_id))

    def inspect_branch(self, repo: str, branch: str) -> BranchInfo:
        self._repo_row(repo)
        b = branches.get(self.store, repo, branch)
        if b is None:
            raise NotFound(f"branch {branch} not found in repo {repo}",
                           f"list branches with 'pachlite list branch {repo}'")
        return BranchInfo(b.repo, b.name, b.head)

    def branch_links(self, repo: str, branch: str):
        """(provenance, subvenance, trigger) of a branch: what it follows and what follows it."""
        return (branch_links.provenance(self.store, repo, branch),
                branch_links.subvenance(self.store, repo, branch),
                branch_links.trigger(self.store, repo, branch))

    def delete_branch(self, repo: str, branch: str, force: bool = False) -> None:
        """Delete a branch, leaving its commits intact. A branch other branches follow (as
        provenance or trigger) is kept unless force, as pachd refuses it."""
        self.inspect_branch(repo, branch)
        with self.store.transaction() as tx:
            users = [f"{r}@{b}" for r, b in branch_links.subvenance(tx, repo, branch)]
            users += [f"{repo}@{t.branch}" for t in branch_links.triggers(tx, repo) if t.on == branch]
            if users and not force:
                raise Conflict(f"branch {repo}@{branch} is followed by {', '.join(users)}",
                               "delete those first, or pass --force")
            branches.delete(tx, repo, branch)
            branch_links.delete_branch(tx, repo, branch)

    def _commit(self, row: CommitRow) -> CommitInfo:
        prov = tuple(commits.provenance_shown(self.store, row.id))
        parent = commits.get(self.store, row.parent) if row.parent else None
        return CommitInfo(row.repo, row.branch, row.commit_set, parent and parent.commit_set,
                          row.origin, row.description, row.started, row.finished, row.size, prov,
                          row.id, row.parent, row.error)

    def commit_id(self, key: str) -> str:
        """The id pachctl shows (its commit set) of the commit with this key."""
        row = commits.get(self.store, key)
        return row.commit_set if row else key

    def resolve(self, a: Address) -> CommitInfo:
        """The commit an address names: branch head, or the repo's commit of a commit set (or
        its key), then `ancestry` parents back."""
        self._repo_row(a.repo)
        if a.commit:
            row = commits.in_repo(self.store, a.repo, a.commit)
            if row is None:
                in_set = commits.of_set(self.store, a.commit)
                raise NotFound(f"commit {a.commit} not found in repo {a.repo}",
                               f"its commit set has commits in {', '.join(c.repo for c in in_set)}"
                               if in_set else f"list commits with 'pachlite list commit {a.repo}'")
        else:
            branch = a.branch or "master"
            b = branches.get(self.store, a.repo, branch)
            if b is None:
                short = self.short_commit(a.repo, branch)
                if short is None and _looks_short(branch):
                    raise NotFound(f"no branch or commit {branch} in repo {a.repo}",
                                   f"list them with 'pachlite list branch {a.repo}' and "
                                   f"'pachlite list commit {a.repo}'")
                if short is None:
                    raise NotFound(f"branch {branch} not found in repo {a.repo}",
                                   f"list branches with 'pachlite list branch {a.repo}'")
                return self.resolve(Address(a.repo, commit=short, ancestry=a.ancestry))
            if b.head is None:
                raise NotFound(f"{a.repo}@{branch} has no commits yet",
                               f"put a file first: 'pachlite put file {a.repo}@{branch}:/path -f FILE'")
            row = commits.get(self.store, b.head)
        for _ in range(a.ancestry):
            if row.parent is None:
                raise NotFound(f"{a} goes back {a.ancestry} commits but {row.commit_set} is the "
                               "first", "use a smaller ancestry")
            row = commits.get(self.store, row.parent)
        return self._commit(row)

    def short_commit(self, repo: str, ref: str) -> str | None:
        """The commit of repo whose id starts with ref (a short id), when ref names no branch;
        None if none does. An ambiguous prefix is an error naming
        the candidates."""
        if not _looks_short(ref):
            return None
        found = commits.with_prefix(self.store, repo, ref)
        if len(found) > 1:
            more = ", ..." if len(found) > 5 else ""
            raise InvalidInput(f"commit id {ref} is ambiguous in repo {repo}: it starts "
                               f"{', '.join(found[:5])}{more}", "give more digits of the id")
        return found[0] if found else None

    def list_commit(self, repo: str, branch: str | None = None, number: int | None = None,
                    ancestry: int = 0, commit: str | None = None) -> list[CommitInfo]:
        """Newest first; with a branch or commit, the chain of parents from it (its ancestry)."""
        self._repo_row(repo)
        if branch is None and commit is None:
            out = [self._commit(r) for r in commits.list_commits(self.store, repo)]
            return out[:number] if number else out
        out = []
        cid = self.resolve(Address(repo, branch, commit, ancestry)).key \
            if commit or self._has_head(repo, branch) else None
        while cid and (number is None or len(out) < number):
            row = commits.get(self.store, cid)
            out.append(self._commit(row))
            cid = row.parent
        return out

    def list_all_commits(self) -> list[CommitInfo]:
        """Every commit of every repo, newest first."""
        return [self._commit(r) for r in commits.list_all(self.store)]

    def find_commits(self, a: Address, limit: int = 0) -> tuple[list[str], str]:
        """The commits, from a's back through its parents, in which the file a.path was put or
        deleted (pachd's FindCommits), at most limit of them (0: all); and the last commit
        searched."""
        c = self.resolve(a.with_path(None))
        path = a.path or "/"
        found = []
        while True:
            if c.finished is None:
                raise Conflict(f"commit {c.id} is not finished", f"finish it first: 'pachlite "
                               f"finish commit {c.repo}@{c.id}'")
            old = files.hash_of(self.store, c.parent, path) if c.parent else None
            if files.hash_of(self.store, c.id, path) != old:
                found.append(c.id)
            if (limit and len(found) == limit) or c.parent is None:
                return found, c.id
            c = self._commit(commits.get(self.store, c.parent))

    def _has_head(self, repo: str, branch: str) -> bool:
        b = branches.get(self.store, repo, branch)
        if b is None:
            if self.short_commit(repo, branch):
                return True
            raise NotFound(f"branch {branch} not found in repo {repo}",
                           f"list branches with 'pachlite list branch {repo}'")
        return b.head is not None

    def _open_head(self, tx: Tx, repo: str, branch: str) -> CommitRow | None:
        head = branches.head(tx, repo, branch)
        row = commits.get(tx, head) if head else None
        return row if row is not None and row.finished is None else None

    def _new_commit(self, tx: Tx, repo: str, branch: str, origin: str, description: str = "",
                    parent: str | None = None, provenance: Sequence[tuple[str, str | None, str]] = (),
                    commit_id: str | None = None, copy_from: str | None = None,
                    commit_set: str | None = None) -> str:
        """Start a commit on branch with the files of copy_from (default: its parent), and move
        the branch to it."""
        if parent is None:
            parent = branches.head(tx, repo, branch)
        cid = commit_id or new_id()
        commits.insert(tx, cid, repo, branch, parent, origin, description, commit_set)
        source = copy_from if copy_from is not None else parent
        if source == parent and parent is not None:
            # (A first commit needs no log: a diff never reads the log of the commit it ends at.)
            files.start_change_log(tx, cid)
        files.start(tx, cid, source)
        commits.add_provenance(tx, cid, provenance)
        branches.set_head(tx, repo, branch, cid)
        return cid

    def start_commit(self, repo: str, branch: str = "master", description: str = "") -> CommitInfo:
        self._repo_row(repo)
        addr.validate_name(branch, "branch")
        with self.store.transaction() as tx:
            self._repo_row(repo, tx)
            if self._open_head(tx, repo, branch) is not None:
                raise Conflict(f"{repo}@{branch} already has an open commit",
                               f"finish it with 'pachlite finish commit {repo}@{branch}'")
            cid = self._new_commit(tx, repo, branch, USER, description)
        return self.resolve(Address(repo, commit=cid))

    def finish_commit(self, a: Address, description: str | None = None) -> CommitInfo:
        c = self.resolve(a)
        if c.finished is not None:
            raise Conflict(f"commit {c.id} is already finished",
                           f"start a new one with 'pachlite start commit {a.repo}@{c.branch}'")
        with self.store.transaction() as tx:
            if description is not None:
                commits.set_description(tx, c.key, description)
            commits.finish(tx, c.key)
            if c.branch:
                triggers.fire(tx, c.repo, c.branch, c.key)
        return self.resolve(Address(a.repo, commit=c.key))

    def write_commit(self, repo: str, branch: str, changes: dict[str, tuple[str, int] | None],
                     objects: Sequence[tuple[str, int, bytes | None]] = (), *, origin: str = USER,
                     description: str = "", provenance: Sequence[tuple[str, str | None, str]] = (),
                     commit_id: str | None = None, copy_from: str | None = None,
                     commit_set: str | None = None, error: str = "", check: bool = True,
                     where: str = "", staged_layer: int | None = None, tx: Tx | None = None) -> str:
        """Apply path → (hash, size) changes (None deletes a path or directory) as one commit.

        If the branch head is an open commit, USER changes go into it (as `put file` does in
        Pachyderm); otherwise a new commit is created, filled and finished in one transaction
        (the caller's, when given, so a job's records and its output commit land together).
        A job's output commit joins its commit_set; a failed job's is finished with its error.
        `staged_layer`: a staged layer (store.staged) whose puts the commit takes too.
        """
        if tx is None:
            with self.store.transaction() as own:
                return self.write_commit(repo, branch, changes, objects, origin=origin,
                                         description=description, provenance=provenance,
                                         commit_id=commit_id, copy_from=copy_from,
                                         commit_set=commit_set, error=error, check=check,
                                         where=where, staged_layer=staged_layer, tx=own)
        self._repo_row(repo, tx)
        open_row = self._open_head(tx, repo, branch) if origin == USER else None
        cid = open_row.id if open_row is not None else self._new_commit(
            tx, repo, branch, origin, description, None, provenance, commit_id, copy_from,
            commit_set)
        tx.put_objects(objects)
        puts = files.apply_changes(tx, cid, changes)
        if staged_layer is not None:
            puts += staged.apply_staged(tx, cid, staged_layer)
        if puts and check:
            clash = files.collision(tx, cid, [p for p, v in changes.items() if v is not None]) \
                if staged_layer is None else files.collision(tx, cid, staged.top_paths(tx, cid), puts)
            if clash:
                raise Conflict(f"{clash[0]} is a file but {clash[1]} would make it a directory",
                               "delete the file first or choose another path", where=where or repo)
        if open_row is None:
            commits.finish(tx, cid, error)
            if not error:  # an errored commit is no new data for a trigger
                triggers.fire(tx, repo, branch, cid)
        return cid

    # ---- files -----------------------------------------------------------------------------

    def put_files(self, a: Address, sources: Sequence[Source], append: bool = False,
                  description: str = "") -> CommitInfo:
        """Store contents at their paths on a.branch: one new commit (or the open one)."""
        branch = self._writable_branch(a, "put files into")
        if len(sources) > STAGE_ROWS and not append:
            return self._put_staged(a, branch, sources, description)
        # Read and hash outside the transaction: other writers wait only for the commit,
        # never for this process to read a slow disk or stdin.
        read = [(s.dest, self._read_source(s, str(a))) for s in sources]
        with self.store.transaction() as tx:
            if append:
                # Old content read and new written in one transaction: no append is lost.
                changes, objects = self._append(tx, a.repo, branch, read)
            else:
                changes, objects = {dest: obj[:2] for dest, obj in read}, [obj for _, obj in read]
            cid = self.write_commit(a.repo, branch, changes, objects, description=description,
                                    where=str(a), tx=tx)
        return self.resolve(Address(a.repo, commit=cid))

    def _put_staged(self, a: Address, branch: str, sources: Sequence[Source],
                    description: str) -> CommitInfo:
        """put_files of many sources, in bounded memory: STAGE_ROWS at a time are read and
        written (their objects, and their rows into a staged layer), each in a transaction of its
        own; the commit then takes the layer in one more. Until then nothing shows: a failure
        drops the layer, and a killed process's layer is dropped by the next staging."""
        layer = None
        try:
            for i in range(0, len(sources), STAGE_ROWS):
                read = [(s.dest, self._read_source(s, str(a))) for s in sources[i:i + STAGE_ROWS]]
                with self.store.transaction() as tx:
                    if layer is None:
                        layer = staged.stage(tx)
                    tx.put_objects(obj for _, obj in read)
                    staged.stage_rows(tx, layer, ((dest, h, n) for dest, (h, n, _) in read))
                del read
            cid = self.write_commit(a.repo, branch, {}, description=description, where=str(a),
                                    staged_layer=layer)
        except BaseException:
            if layer is not None:
                # Best effort: should this fail too, the next staging drops the layer.
                with contextlib.suppress(Exception), self.store.transaction() as tx:
                    staged.drop_staged(tx, layer)
            raise
        return self.resolve(Address(a.repo, commit=cid))

    def _read_source(self, s: Source, where: str) -> tuple[str, int, bytes | None]:
        if s.stream is not None:
            return self.store.read_content(s.stream)
        with open_local(s.local, where) as f:
            return self.store.read_content(f)

    def _append(self, tx: Tx, repo: str, branch: str,
                read: Sequence[tuple[str, tuple[str, int, bytes | None]]]):
        """Each content appended to what its path already holds → (changes, objects).

        Streamed: the old content and the appended one are read a chunk at a time into the new
        object, so appending to a 1 GiB file does not hold it in memory.
        """
        head = branches.head(tx, repo, branch)
        changes: dict[str, tuple[str, int] | None] = {}
        objects = []
        for dest, obj in read:
            earlier = changes.get(dest)  # an earlier source to the same path
            old = earlier[0] if earlier else head and files.hash_of(tx, head, dest)
            if old:
                h, _, data = obj
                where = f"{repo}@{branch}:{dest}"
                with self.store.open_object(old, where) as before, \
                        (io.BytesIO(data) if data is not None else self.store.open_written(h)) as new:
                    obj = self.store.read_content(_Concat(before, new))
            tx.put_objects([obj])  # a later source may append to it in turn
            changes[dest] = obj[:2]
            objects.append(obj)
        return changes, objects

    def _writable_branch(self, a: Address, verb: str) -> str:
        """The branch a write goes to; a commit or an ancestor is immutable, as in Pachyderm.
        (The repo is checked again inside the write's transaction: write_commit.)"""
        self._repo_row(a.repo)
        branch = a.branch or "master"
        if a.commit or a.ancestry or (branches.get(self.store, a.repo, branch) is None
                                      and self.short_commit(a.repo, branch)):
            raise InvalidInput(f"cannot {verb} {a.with_path(None)}: finished commits are immutable",
                               f"write to a branch instead, e.g. {a.repo}@{branch}", where=str(a))
        return addr.validate_name(branch, "branch")

    def delete_file(self, a: Address) -> CommitInfo:
        """Delete a file or a directory (everything under it) in a new commit on a.branch."""
        branch = self._writable_branch(a, "delete files from")
        path = a.path or "/"
        if next(self.list_file(a.with_path(path)), None) is None:
            raise NotFound(f"{a}: no such file or directory",
                           f"list what is there with 'pachlite list file {a.repo}@{branch}:/'")
        cid = self.write_commit(a.repo, branch, {path: None}, where=str(a))
        return self.resolve(Address(a.repo, commit=cid))

    def copy_file(self, src: Address, dst: Address, append: bool = False) -> CommitInfo:
        """Copy a file, or a directory with everything under it, to dst's path in one commit on
        dst's branch (pachctl copy file). The contents are shared, not copied."""
        branch = self._writable_branch(dst, "copy files into")
        c = self.resolve(src)
        path = src.path or "/"
        rows = self.files(c.id, path)
        if not rows:
            raise NotFound(f"{src}: no such file or directory",
                           f"list what is there with 'pachlite list file {src.repo}@{c.id}:/'")
        to = dst.path or "/"
        if len(rows) == 1 and rows[0][0] == path:
            if to.endswith("/") or to == "/":  # into a directory: keep the file's name
                to = to.rstrip("/") + "/" + path.rsplit("/", 1)[1]
            moved = [(to, h, size) for _, h, size in rows]
        else:
            base = path.rstrip("/")
            moved = [(addr.clean_path(to + p[len(base):]), h, size) for p, h, size in rows]
        if append:
            sources = [Source(p, stream=self.store.open_object(h, f"{src.repo}@{c.id}:{p}"))
                       for p, h, _ in moved]
            return self.put_files(dst, sources, append=True)
        cid = self.write_commit(dst.repo, branch, {p: (h, size) for p, h, size in moved},
                                where=str(dst))
        return self.resolve(Address(dst.repo, commit=cid))

    def files(self, commit_id: str, prefix: str = "/") -> list[tuple[str, str, int]]:
        """(path, hash, size) of every file at or under prefix, sorted by path."""
        return files.list_files(self.store, commit_id, prefix)

    def iter_files(self, commit_id: str, prefix: str = "/") -> Iterator[tuple[str, str, int]]:
        """files(), one at a time as they are read: 10^6 files cost no list."""
        return files.iter_files(self.store, commit_id, prefix)

    def _readable(self, a: Address) -> CommitInfo:
        """The commit a file read names; one its job finished with an error holds no output to
        read, as pachd says of it (its parent, `^`, may be the last good output)."""
        c = self.resolve(a)
        if c.error:
            raise Conflict(f"commit {c.id} finished with an error: {c.error}",
                           f"read the last output that succeeded, e.g. {a.repo}@{c.id}^ "
                           f"(see 'pachlite list commit {a.repo}')", where=str(a))
        return c

    def list_file(self, a: Address) -> Iterator[FileInfo]:
        """The entries directly in a directory (or the file itself), as `pachctl list file`, made
        as the commit's files are read: a folder of 10^6 files is never held whole. A missing
        path is an error at once, before any entry."""
        c = self._readable(a)
        path = a.path or "/"
        rows = self.iter_files(c.key, path)
        first = next(rows, None)
        if first is None:
            if path == "/":
                return iter(())
            raise NotFound(f"{a}: no such file or directory",
                           f"list what is there with 'pachlite list file {a.repo}@{c.id}:/'")
        if first[0] == path:  # a file: nothing can be under it
            return iter([FileInfo(path, "file", first[2], first[1], c.id)])
        return _entries(path.rstrip("/") + "/", itertools.chain([first], rows), c.id)

    def inspect_file(self, a: Address) -> FileInfo:
        c = self._readable(a)
        path = a.path or "/"
        rows = self.iter_files(c.key, path)
        first = next(rows, None)
        if first is None:
            raise NotFound(f"{a}: no such file or directory", "check the path with 'pachlite list file'")
        if first[0] == path:
            return FileInfo(path, "file", first[2], first[1], c.id)
        return FileInfo(path.rstrip("/") + "/", "dir", first[2] + sum(n for _, _, n in rows), None,
                        c.id)

    def get_file(self, a: Address) -> BinaryIO:
        info = self.inspect_file(a)
        if info.type != "file":
            raise InvalidInput(f"{a} is a directory",
                               f"get it with 'pachlite get file -r {a} -o DIR', or name a file in it "
                               f"('pachlite list file {a}')")
        return self.store.open_object(info.hash, str(a))

    def glob_file(self, a: Address, pattern: str) -> Iterator[FileInfo]:
        """What a glob matches in a commit (the datums a pipeline would make), as the commit's
        files are read; a bad pattern is an error at once, before any match."""
        from pachlite.pps.glob import compile_glob, glob_rows
        c = self._readable(a)
        compile_glob(pattern)
        return (FileInfo(p, "dir" if is_dir else "file", n, h, c.id)
                for p, is_dir, n, h in glob_rows(pattern, self.iter_files(c.key)))

    def diff_file(self, new: Address, old: Address | None = None) -> list[FileChange]:
        """What changed under new.path since old (default: new's parent commit), by path: the two
        file lists are read side by side in path order, and only the changes are held."""
        nc = self._readable(new)
        path = new.path or "/"
        old_id = nc.parent_key if old is None else self._readable(old).key
        a = self.iter_files(nc.key, path)
        b = self.iter_files(old_id, path) if old_id else iter(())
        out = []
        x, y = next(a, None), next(b, None)
        while x is not None or y is not None:
            if y is None or (x is not None and x[0] < y[0]):
                out.append(FileChange("added", x[0], x[2]))
                x = next(a, None)
            elif x is None or y[0] < x[0]:
                out.append(FileChange("deleted", y[0], y[2]))
                y = next(b, None)
            else:
                if x[1] != y[1]:
                    out.append(FileChange("modified", x[0], x[2], y[2]))
                x, y = next(a, None), next(b, None)
        return out


def _entries(base: str, rows: Iterator[tuple[str, str, int]], commit_id: str) -> Iterator[FileInfo]:
    """The entries of folder `base` ("/dir/") from the paths under it in path order: a file, or a
    folder whose size is its files'. A folder's paths are contiguous in that order (they are those
    that start with "base/name/"), so each entry is whole when the next one begins."""
    def entry() -> FileInfo:
        return FileInfo(base + name + ("/" if kind == "dir" else ""), kind, size, h, commit_id)
    name, kind, size, h = None, "", 0, None
    for p, fh, n in rows:
        head, sep, _ = p[len(base):].partition("/")
        if head != name:
            if name is not None:
                yield entry()
            name, kind, size, h = head, "dir" if sep else "file", 0, None if sep else fh
        size += n
    if name is not None:
        yield entry()


class _Concat(io.RawIOBase):
    """Two streams read as one (an append: the old content, then the new)."""

    def __init__(self, first: BinaryIO, second: BinaryIO):
        self._parts = [first, second]

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while self._parts:
            n = self._parts[0].readinto(buf)
            if n:
                return n
            self._parts.pop(0)
        return 0
