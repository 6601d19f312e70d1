"""Reading a store from Python (a notebook, a script): repos, commits, files and jobs, and a CSV or
JSON file (or a folder of them) straight into pandas.

    import pachlite
    pl = pachlite.open()                       # the store `pachlite` would use from here
    pl.list_file("infer@master")
    pl.read_json("infer@master")               # every prediction, one row each
    pl.read_csv("training@master^:/diabetes.csv")

Methods are named as in Pachyderm's Python SDK (`client.pfs.list_file`, `inspect_commit`,
`pfs_file`, `client.pps.list_job`) and take pachctl's addresses as strings. It only reads: it
never makes a store (one not found is an error saying where it looked) and has no call that
writes. Errors are pachlite's one-line PachliteError, as the CLI prints them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pachlite.errors import InvalidInput
from pachlite.pfs import PFS, CommitInfo, FileInfo, RepoInfo
from pachlite.pfs.address import Address, parse
from pachlite.pps import api as pps
from pachlite.store import Store

if TYPE_CHECKING:
    import pandas

    from pachlite.pps.info import JobInfo


class Client:
    """A reading view of one store: `root`, or the one found from the current folder as the
    CLI finds it ($PACHLITE_STORE, else the first .pachlite here or above). It has no call that
    writes; opening it is what any `pachlite` read command does (an older store's format is
    brought up to date, as `pachlite list repo` would)."""

    def __init__(self, root: str | Path | None = None):
        self._pfs = PFS(Store(root, create=False))

    @property
    def root(self) -> Path:
        return self._pfs.store.root

    def close(self) -> None:
        self._pfs.store.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"pachlite.Client({str(self.root)!r})"

    # ---- PFS ------------------------------------------------------------------------------

    def list_repo(self) -> list[RepoInfo]:
        return self._pfs.list_repo()

    def inspect_commit(self, commit: str) -> CommitInfo:
        """The commit `repo@branch`, `repo@branch^`, `repo@<id>` names."""
        return self._pfs.resolve(parse(commit, path_allowed=False))

    def list_commit(self, repo: str) -> list[CommitInfo]:
        """`repo`: every commit, newest first; `repo@branch`: that branch's history."""
        a = parse(repo, path_allowed=False)
        return self._pfs.list_commit(a.repo, a.branch, ancestry=a.ancestry, commit=a.commit)

    def list_file(self, file: str) -> list[FileInfo]:
        """The entries directly in a folder (`repo@branch` is its root), as `pachctl list file`."""
        return list(self._pfs.list_file(parse(file)))

    def walk_file(self, file: str) -> list[FileInfo]:
        """Every file at or under a path, by path."""
        a = parse(file)
        c = self._pfs.resolve(a)
        return [FileInfo(p, "file", size, h, c.id) for p, h, size in self._pfs.files(c.id, a.path or "/")]

    def inspect_file(self, file: str) -> FileInfo:
        return self._pfs.inspect_file(parse(file))

    def glob_file(self, pattern: str) -> list[FileInfo]:
        """What `repo@branch:/pattern` matches (what a pipeline's glob would make datums of)."""
        head, sep, glob = pattern.partition(":")
        if not sep:
            raise InvalidInput(f"{pattern!r} has no pattern", "write it as repo@branch:/pattern")
        return list(self._pfs.glob_file(parse(head, path_allowed=False), glob))

    def pfs_file(self, file: str) -> BinaryIO:
        """A file's content as a binary file object (checked against its hash as it is read)."""
        return self._pfs.get_file(parse(file))

    def get_file(self, file: str) -> bytes:
        with self.pfs_file(file) as f:
            return f.read()

    # ---- into pandas ----------------------------------------------------------------------

    def read_csv(self, file: str, **kwargs) -> pandas.DataFrame:
        """A CSV file as a DataFrame (`kwargs` go to pandas.read_csv). A folder: its *.csv files
        concatenated, with a first column `path` naming the file of each row."""
        pd = _pandas()
        return self._frame(file, ".csv", lambda f: pd.read_csv(f, **kwargs))

    def read_json(self, file: str, **kwargs) -> pandas.DataFrame:
        """A JSON file as a DataFrame, by pandas.json_normalize (`kwargs` go to it): a list of
        objects is a row each, one object is one row, nested fields become columns `a.b`;
        `record_path="independent_variables"` makes a row of each item of that list. A folder:
        its *.json files, with a first column `path`."""
        pd = _pandas()
        return self._frame(file, ".json", lambda f: pd.json_normalize(json.load(f), **kwargs))

    def _frame(self, file: str, suffix: str, read) -> pandas.DataFrame:
        a = parse(file)
        info = self._pfs.inspect_file(a)
        # Every file from the one commit `a` named when we looked, even if its branch moves on.
        at = replace(a, branch=None, commit=info.commit, ancestry=0)
        if info.type == "file":
            return self._read(read, at)
        files = [p for p, _, _ in self._pfs.files(info.commit, info.path) if p.endswith(suffix)]
        if not files:
            raise InvalidInput(f"no {suffix} files in {a}", "check the path with list_file()")
        frames = [self._read(read, replace(at, path=p)).assign(path=p) for p in files]
        out = _pandas().concat(frames, ignore_index=True)
        return out[["path", *(c for c in out.columns if c != "path")]]

    def _read(self, read, a: Address) -> pandas.DataFrame:
        with self._pfs.get_file(a) as f:
            try:
                return read(f)
            except (ValueError, TypeError, NotImplementedError) as e:  # pandas' and json's
                problem = " ".join(str(e).split()) or type(e).__name__
                raise InvalidInput(f"cannot read it into a DataFrame: {problem}",
                                   "read its bytes with get_file()", where=str(a)) from None

    # ---- PPS ------------------------------------------------------------------------------

    def list_job(self, pipeline: str | None = None) -> list[JobInfo]:
        """Every job (of a pipeline), newest first."""
        return pps.list_job(self._pfs, pipeline)

    def inspect_job(self, pipeline: str, job_id: str | None = None) -> JobInfo:
        """A pipeline's job (its latest without an id)."""
        return pps.inspect_job(self._pfs, pipeline, job_id)


def _pandas():
    try:
        import pandas
    except ImportError:
        raise InvalidInput("reading into a DataFrame needs pandas, which is not installed",
                           "pip install pandas") from None
    return pandas
