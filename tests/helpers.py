"""What the test modules share besides fixtures (those are in conftest.py): project paths, the
one `put`, reading a commit back, the `pachlite` command in a subprocess or in this process.

Tests check the store through public API only: the PFS methods, `pachlite.pps.pipeline` and
`pachlite.pps.api` (jobs and datums as plain dicts), and the CLI (`--raw` is pachctl's protobuf
JSON: `messages` reads it). The few helpers at the end that reach below that API are marked
TODO(api).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from pachlite.pfs import PFS, CommitInfo, Source
from pachlite.pfs.address import Address, parse
from pachlite.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
BIN = Path(sys.executable).parent
PACHLITE = BIN / "pachlite"
# What the README's tutorial tells users to edit (a new attribute file, rows dropped from the CSV,
# the config): tests read the committed versions of these, never the working copies.
USER_EDITED = ["data", "config/config.yaml"]


def pristine(path: str) -> Path:
    """The project's file or folder `path` as tests should see it: USER_EDITED ones as committed
    (git HEAD), the rest as in the working copy. Where the project is not a git checkout there
    is nothing else to read: the working copy."""
    return _pristine_root() / path


@functools.cache
def _pristine_root() -> Path:
    """Once per test session: config/ from the working copy, then HEAD's USER_EDITED over it."""
    root = Path(tempfile.mkdtemp(prefix="pachlite-pristine-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(ROOT / "config", root / "config")
    p = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", "--", *USER_EDITED],
                       capture_output=True)
    if p.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
            # (the "data" filter, where this Python has it: no links or paths out of root)
            tar.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    else:
        shutil.copytree(ROOT / "data", root / "data")
    return root


# ---- the library ------------------------------------------------------------------------------

def put(pfs: PFS, address: str | Address, files: dict[str, str | bytes], **kw) -> CommitInfo:
    """Put {path: content} in one commit on address's branch ("repo" is repo@master), as one
    `put file` does; kw as PFS.put_files (append, description). Text is stored UTF-8."""
    a = parse(address) if isinstance(address, str) else address
    return pfs.put_files(a, [Source(path, stream=io.BytesIO(data.encode() if isinstance(data, str)
                                                            else data))
                             for path, data in files.items()], **kw)


def get(pfs: PFS, address: str | Address) -> bytes:
    """One file's content, as `get file`."""
    with pfs.get_file(parse(address) if isinstance(address, str) else address) as f:
        return f.read()


def contents(pfs: PFS, address: str | Address, *, text: bool = False) -> dict:
    """{path: content} of every file in the commit at address ("repo" is repo@master)."""
    a = parse(address) if isinstance(address, str) else address
    c = pfs.resolve(a)
    out = {path: get(pfs, Address(c.repo, commit=c.id, path=path)) for path, _, _ in pfs.files(c.key)}
    return {p: v.decode() for p, v in out.items()} if text else out


# ---- the `pachlite` command in this process, on a library's store -----------------------------

def pachlite(pfs: PFS, *args: str) -> str:
    """Run a `pachlite` command in this process on pfs's store; return its stdout."""
    from click.testing import CliRunner

    from pachlite.cli import cli
    r = CliRunner().invoke(cli, list(args), env={"PACHLITE_STORE": str(pfs.store.root)},
                           catch_exceptions=False)
    assert r.exit_code == 0, (args, r.output)
    return r.stdout


def messages(text: str) -> list[dict]:
    """The messages of a `--raw` output: pachctl prints one JSON object per item, one after
    another."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
    return out


def raw(pfs: PFS, *args: str):
    """A command's `--raw` messages: a list for list verbs, the one message otherwise."""
    return _one_or_list(args, pachlite(pfs, *args, "--raw"))


def _one_or_list(args, text: str):
    found = messages(text)
    if args[0] in ("list", "glob", "subscribe"):
        return found
    [one] = found
    return one


def _plain(obj):
    """A library record as the JSON-like dict the tests compare (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def jobs(pfs: PFS, pipeline: str | None = None) -> list[dict]:
    """Every job (of a pipeline), newest first: pachlite.pps.api's JobInfo as dicts."""
    from pachlite.pps import api
    return [_plain(j) for j in api.list_job(pfs, pipeline)]


def inspect_job(pfs: PFS, pipeline: str, job_id: str) -> dict:
    from pachlite.pps import api
    return _plain(api.inspect_job(pfs, pipeline, job_id))


def datums(pfs: PFS, job) -> list[dict]:
    """A job's (JobInfo, or a job's dict) datums in the order it made them, as dicts: id,
    state, reason, hash, inputs (repo@commit:/path), outputs, started, duration, source_job."""
    from pachlite.pps import api
    pipeline, job_id = (job["pipeline"], job["id"]) if isinstance(job, dict) else (job.pipeline, job.id)
    return [_plain(d) for d in api.list_datum(pfs, api.inspect_job(pfs, pipeline, job_id))]


def datum_paths(datum: dict) -> list[str]:
    """The paths of a datum's input files."""
    return [i.split(":", 1)[1] for i in datum["inputs"]]


def logs(pfs: PFS, job, datum_id: str) -> list[str]:
    """A datum's log lines (stdout and stderr of every try), as `pachlite logs` prints them
    without the datum prefix."""
    out = pachlite(pfs, "logs", "-p", job.pipeline, "--job", job.id, "--datum", datum_id)
    prefix = f"[{datum_id[:12]}] "
    lines = out.splitlines()
    assert all(line.startswith(prefix) for line in lines), out
    return [line[len(prefix):] for line in lines]


# ---- the `pachlite` command in a subprocess ---------------------------------------------------

class Cli:
    """The real `pachlite` command, run in `root` on its own store (root/store), as a user runs
    it. `cli(*args)` checks the exit status: ok=True wants 0; ok=False wants 1 with one line
    'pachlite: error: ...' on stderr; ok=None checks nothing."""

    def __init__(self, root: Path):
        self.root, self.store = root, root / "store"
        self.env = {**os.environ, "PACHLITE_STORE": str(self.store)}

    def __call__(self, *args: str, input: str | None = None,
                 ok: bool | None = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(PACHLITE), *args], cwd=self.root, env=self.env, input=input,
                           capture_output=True, text=True, timeout=120)
        if ok is not None:
            assert (p.returncode == 0) == ok, (args, p.returncode, p.stdout, p.stderr)
        if ok is False:
            assert p.returncode == 1 and p.stderr.startswith("pachlite: error: "), p.stderr
            assert p.stderr.count("\n") == 1, p.stderr  # one line, no traceback
        return p

    def out(self, *args: str, **kw) -> str:
        return self(*args, **kw).stdout

    def raw(self, *args: str):
        """A command's `--raw` messages: a list for list verbs, the one message otherwise."""
        return _one_or_list(args, self.out(*args, "--raw"))

    def jobs(self) -> list[dict]:
        """Every job, newest first (as `jobs`)."""
        with self.lib() as pfs:
            return jobs(pfs)

    def datums(self, job: dict) -> list[dict]:
        with self.lib() as pfs:
            return datums(pfs, job)

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([str(PACHLITE), *args], env=self.env, cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def file(self, name: str, text: str) -> str:
        """Write a local file in root; return its name."""
        (self.root / name).write_text(text)
        return name

    def spec(self, spec: dict, name: str = "spec.json") -> str:
        return self.file(name, json.dumps(spec))

    @contextlib.contextmanager
    def lib(self):
        """The library on the same store, for set-up and for reading back."""
        pfs = PFS(Store(self.store))
        try:
            yield pfs
        finally:
            pfs.store.close()


def store_above(path: Path) -> Path | None:
    """The first .pachlite in a folder above path: the store a command run there would use
    (with $PACHLITE_STORE unset) where path has none of its own."""
    return next((d / ".pachlite" for d in path.parents if (d / ".pachlite").is_dir()), None)


class Workflow:
    """A copy of the project (the Snakemake workflow and its data) in `root`, run by the real
    `snakemake` and `pachlite`, with the store the workflow chooses (PACHLITE_STORE unset): its
    own ./.pachlite, made by its first rule."""

    FILES = ["Snakefile", "pipelines.py", "rules", "config", "data", "scripts", "report"]

    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        self.env.pop("PACHLITE_STORE", None)

    @classmethod
    def copy(cls, root: Path) -> Workflow:
        stray = store_above(root)
        assert stray is None, f"{stray} is a store above {root}: the workflow would use it; move it away"
        for name in cls.FILES:
            src = pristine(name) if name in ("config", "data") else ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
        return cls(root)

    def snakemake(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(BIN / "snakemake"), "--cores", "2", *args], cwd=self.root,
                           env=self.env, capture_output=True, text=True)
        if ok:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    def pachlite(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(PACHLITE), *args], cwd=self.root, env=self.env,
                           capture_output=True, text=True)
        if ok:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    def raw(self, *args: str):
        return _one_or_list(args, self.pachlite(*args, "--raw").stdout)

    def jobs(self) -> list[dict]:
        """Every job, newest first (as `jobs`), from the workflow's store."""
        with self.lib() as pfs:
            return jobs(pfs)

    @contextlib.contextmanager
    def lib(self):
        """The library on the workflow's store."""
        pfs = PFS(Store(self.root / ".pachlite"))
        try:
            yield pfs
        finally:
            pfs.store.close()

    def rulegraph(self) -> set[tuple[str, str]]:
        """The (rule, rule) edges of `snakemake --rulegraph`, by rule name."""
        names, edges = {}, set()
        for line in self.snakemake("--rulegraph").stdout.splitlines():
            line = line.strip()
            if "[label" in line:
                names[line.split("[")[0].strip()] = line.split('label = "')[1].split('"')[0]
            elif "->" in line:
                a, b = (x.strip() for x in line.rstrip(";").split("->"))
                edges.add((a, b))
        return {(names[a], names[b]) for a, b in edges}

    def get(self, address: str) -> str:
        return self.pachlite("get", "file", address).stdout

    def head(self, repo: str) -> str:
        return self.raw("inspect", "commit", f"{repo}@master")["commit"]["id"]


# ---- below the public API: TODO(api) ----------------------------------------------------------
# These read or damage the store's tables directly, for what no public call shows yet. They are
# the only SQL in the tests; a change of schema changes them and nothing else.

def stored_objects(store: Store) -> list[str]:
    """The hashes of every content the store holds, sorted.

    TODO(api): Store.objects() -> list[tuple[str, int]], (hash, size) of every stored content.
    """
    return [r[0] for r in store.query("SELECT hash FROM objects ORDER BY hash")]


def datum_bytes(pfs: PFS, job) -> list[tuple[int, int]]:
    """(bytes_in, bytes_out) of each of a job's datums, in the order of `datums`.

    TODO(api): DatumInfo.bytes_in and .bytes_out (so `list datum --raw` shows them).
    """
    return [tuple(r) for r in pfs.store.query(
        "SELECT bytes_in, bytes_out FROM datums WHERE job_id=? ORDER BY seq", (job.id,))]


def damage_inline_object(store: Store, size: int, data: bytes) -> None:
    """Overwrite the content of the stored (inline) object of `size` bytes, keeping its hash."""
    with store.transaction() as tx:
        tx.execute("UPDATE objects SET data=? WHERE size=?", (data, size))


def damage_add_dangling_branch(store: Store, repo: str, branch: str) -> None:
    """A branch of repo whose head names no commit."""
    with store.transaction() as tx:
        tx.execute("INSERT INTO branches VALUES(?, ?, 'f' || hex(randomblob(15)))", (repo, branch))


def damage_add_path(store: Store, commit_id: str, path: str, like: str) -> None:
    """A file at `path` (one that `put` refuses, e.g. with '..') holding the content of `like`."""
    with store.transaction() as tx:
        tx.execute("INSERT INTO files SELECT f.layer, ?1, f.hash, f.size FROM commit_layers l "
                   "JOIN files f ON f.layer=l.layer AND f.path=?3 WHERE l.commit_id=?2 "
                   "ORDER BY l.depth DESC LIMIT 1", (path, commit_id, like))
