"""A worker's /pfs: a datum's input files laid out, its /pfs/out collected, then cleared.

Each datum (or each serving worker) gets a scratch root on the host, which user code sees at
/pfs: in a private mount namespace (namespace.py) or, in container mode, bind-mounted. Only where
neither is available is every `/pfs` in the command, stdin and environment rewritten to
`<root>/pfs` (`map_pfs`). This module also runs inside warm workers, so it imports nothing heavy.

This module is long because a worker's /pfs is one object whose steps share what each learnt: the
layout keeps the files it made (and their descriptors) for the next datum's, the collect the
outputs it saw for the reset; its fast paths sit beside the general steps they stand in for.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from pachlite.store import copy_object, hash_bytes, read_content

_PFS = re.compile(r"(?<![\w./-])/pfs(?=/|\b|$)")


def map_pfs(text: str, pfs_root: str) -> str:
    """Rewrite `/pfs` at the start of a path (also after `=` or a space) to the local root."""
    if pfs_root == "/pfs" or "/pfs" not in text:
        return text
    return _PFS.sub(pfs_root.replace("\\", "\\\\"), text)


class Scratch:
    """A worker's /pfs: a datum's inputs laid out, its out/ collected, then cleared for the next.

    A worker serving many datums keeps the input files the next datum has too (same path, same
    content, untouched since: the model crossed with every attribute file) instead of rewriting
    them. Any write outside /pfs/out is a new entry in a folder it laid out: on tmpfs one stat per
    such folder shows it (the folder's size counts its entries), elsewhere a listing of each; a
    few system calls per datum, not a tree walk.
    """

    def __init__(self, pfs_root: Path, shared: bool = False, view: str | None = None,
                 sealed: bool = False):
        self.root = str(pfs_root)
        # Where user code sees this folder: /pfs in a private namespace (or a container), where
        # an absolute symlink it leaves in out/ names /pfs/...; None when it sees the root itself.
        self.view = view
        # Sealed: user code sees all of it but out/ read-only (the namespace launcher's binds), so
        # no check is needed for files it changed or wrote outside out/ (~10 µs a datum).
        self.sealed = sealed
        self.out = os.path.join(self.root, "out")
        # Only the user running the datum reads its inputs; `shared` when that is another user
        # (a container's own user), who then gets read access (the job's 0700 folder, above
        # the bind-mounted /pfs, still keeps other users of the machine out).
        self.file_mode, self.dir_mode = (0o644, 0o755) if shared else (0o600, 0o700)
        make_dirs(self.out, self.dir_mode)
        self.real_root = os.path.realpath(self.root)
        self.real_out = os.path.realpath(self.out)
        self.checked = False  # collect() already looked for stray writes of this datum
        # path → (content key, mtime_ns, size); mtime None until the file is wanted a second time
        self.files: dict[str, tuple[str, int | None, int]] = {}
        self.dirs: set[str] = set()                       # input folders made, below root
        self.fixed = {"out"}                              # what stays in root: out/, .env once written
        self.entries = {self.root: {"out"}}               # folder laid out → the names it holds
        self.out_files: list[str] | None = None           # what collect() found in out/, if flat
        # emptyFiles placeholders laid out → (hash, size, inline data | None) of their content
        self.refs: dict[str, tuple] = {}
        self.per_entry = _dir_size_per_entry(self.root)
        self._env_fd: int | None = None
        self._env_size = 0
        self._held: tuple[str, int] | None = None  # (path, fd) of the input file _swap rewrites

    def lay_out(self, files) -> None:
        """Make /pfs hold exactly these (rel path, content key, inline bytes | None, object file);
        an emptyFiles input is (rel path, "empty", b"", (its content's hash, size, inline data))."""
        self.checked = False
        root, old = self.root, self.files
        if self.sealed and len(files) == len(old) and self._swap(files, old):
            return
        self._release()
        # Sealed, nothing can stray outside out/: the entries of each folder are not tracked.
        track = not self.sealed
        want, refs, parents = {}, {}, set()
        for rel, key, data, obj in files:
            dest = root + "/" + rel
            want[dest] = (key, data, obj)
            # Paths here are absolute and clean: str.rpartition is a cheap os.path.split.
            parents.add(dest.rpartition("/")[0])
            if key == "empty":
                refs[dest] = obj
        self.refs = refs
        gone_parents = set()
        for path in old:
            if path in want:
                continue
            try:  # noqa: SIM105 (contextlib.suppress costs ~2 µs a datum)
                os.unlink(path)
            except FileNotFoundError:
                pass
            parent, _, name = path.rpartition("/")
            gone_parents.add(parent)
            if track:
                self.entries[parent].discard(name)
        rebuild = False
        if not gone_parents <= parents:
            needed = {d for path in want for d in _parents(path, root)}
            for d in sorted(self.dirs - needed, key=len, reverse=True):
                shutil.rmtree(d, ignore_errors=True)
            self.dirs &= needed
            rebuild = True
        files_now = {}
        for dest, (key, data, obj) in want.items():
            prev = old.get(dest)
            if prev is not None and prev[0] == key and (self.sealed or _unchanged(dest, prev)):
                files_now[dest] = prev
                continue
            parent, _, name = dest.rpartition("/")
            if parent not in self.dirs and parent != root:
                make_dirs(parent, self.dir_mode)
                self.dirs.update(_parents(dest, root))
                rebuild = True
            # Most files are laid out once (a datum's own file): their mtime is taken only when
            # a next datum wants the same content there, which then checks it before reuse.
            again = prev is not None and prev[0] == key and not self.sealed
            if data is not None:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.file_mode)
                try:
                    n = os.write(fd, data)
                    if n < len(data):
                        view = memoryview(data)[n:]
                        while view:
                            view = view[os.write(fd, view):]
                    mtime = os.fstat(fd).st_mtime_ns if again else None
                finally:
                    os.close(fd)
                size = len(data)
            else:
                os.close(os.open(dest, os.O_WRONLY | os.O_CREAT, self.file_mode))  # its mode
                # Checked as it is copied: a damaged object never reaches user code.
                copy_object(obj, key, dest, "/pfs/" + dest[len(root) + 1:])
                st = os.stat(dest)
                mtime, size = st.st_mtime_ns, st.st_size
            files_now[dest] = (key, mtime, size)
            if track and not rebuild:
                self.entries[parent].add(name)
        self.files = files_now
        if track and rebuild:
            self.entries = {d: set() for d in (root, *self.dirs)}
            self.entries[root].update(self.fixed)
            for path in (*files_now, *self.dirs):
                parent, name = os.path.split(path)
                self.entries[parent].add(name)

    def _swap(self, files, old: dict) -> bool:
        """lay_out() of the commonest case, at half its cost: a sealed worker's datum whose files
        are the last datum's but one, of inline content, in the folder of the one that went (one
        attribute file after another, the model beside them kept). That file is renamed and
        rewritten through a descriptor kept open, not unlinked and made anew: no inode freed and
        allocated a datum (4.5 µs instead of 10 on tmpfs). False when the case is not that one."""
        root, new, dests = self.root, None, set()
        for rel, key, data, _ in files:
            dest = root + "/" + rel
            dests.add(dest)
            prev = old.get(dest)
            if key == "empty":  # its placeholder's stored content is tracked (refs): not here
                return False
            if prev is not None and prev[0] == key:
                continue
            if new is not None or prev is not None or data is None:
                return False  # a second change, new content at a kept path, an object's file
            new = (dest, key, data)
        gone = [p for p in old if p not in dests]
        if new is None or len(gone) != 1:
            return False
        (dest, key, data), path = new, gone[0]
        if dest.rpartition("/")[0] != path.rpartition("/")[0]:
            return False
        if self._held is None or self._held[0] != path:
            self._release()
            try:
                self._held = (path, os.open(path, os.O_WRONLY))
            except OSError:
                return False
        fd = self._held[1]
        os.rename(path, dest)
        self._held = (dest, fd)
        _pwrite_all(fd, data)
        if len(data) < old[path][2]:
            os.ftruncate(fd, len(data))
        del old[path]
        old[dest] = (key, None, len(data))
        self.refs = {}
        return True

    def _release(self) -> None:
        """Close the descriptor _swap keeps of the input file it rewrites."""
        if self._held is not None:
            os.close(self._held[1])
            self._held = None

    def write_env(self, env: dict) -> None:
        """/pfs/.env: the datum's own variables as KEY=VALUE lines, as a worker writes them (what
        pachyderm_sdk's batch_all_datums loads before each datum). The file stays open between
        datums: one write a datum (and a truncate when shorter) instead of open, write, close."""
        data = "".join([f"{k}={v}\n" for k, v in env.items()]).encode()
        if self._env_fd is None:
            self._env_fd = os.open(self.root + "/.env", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                   self.file_mode)
            self._env_size = 0
            self.fixed.add(".env")
            self.entries[self.root].add(".env")
        _pwrite_all(self._env_fd, data)
        if len(data) < self._env_size:
            os.ftruncate(self._env_fd, len(data))
        self._env_size = len(data)

    def close(self) -> None:
        """Close what this worker's /pfs keeps open (its /pfs/.env, the input _swap rewrites)."""
        self._release()
        if self._env_fd is not None:
            os.close(self._env_fd)
            self._env_fd = None

    def collect(self, objects_dir: Path) -> tuple[list, str]:
        """Read /pfs/out into sorted (path, hash, size, data | None) rows; → (rows, error).

        Symlinks in out/ are followed while they stay inside the datum's /pfs (Pachyderm uploads
        the target's content; of an emptyFiles input, the content in its commit, as pachd's
        handleSymlinks copies it), refused otherwise; so are broken links, links that loop, and
        anything that is not a regular file or folder (a fifo would block forever). A file written
        outside /pfs/out is an error too.
        """
        if self.sealed:
            flat = self._collect_flat(objects_dir)
            if flat is not None:
                return flat, ""
        stray = None if self.sealed else self._stray()
        self.checked = not stray
        if stray:
            return [], f"the datum wrote {stray} outside /pfs/out; write outputs only under /pfs/out"
        outputs = []
        flat: list[str] | None = []
        stack = [(self.out, "")]
        visited = {self.real_out}
        while stack:
            d, rel = stack.pop()
            with os.scandir(d) as it:
                for e in it:
                    path = rel + "/" + e.name
                    src = e.path
                    if not (e.name.isascii() or _is_utf8(e.name)):  # see _is_utf8
                        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
                        return [], (f"/pfs/out{shown} is not a valid UTF-8 file name; "
                                    "write output names as UTF-8 text")
                    if flat is not None:
                        if d == self.out and not e.is_symlink() and e.is_file():
                            flat.append(src)
                        else:
                            flat = None
                    if e.is_symlink():
                        real = self._realpath(src)
                        if not real.startswith(self.real_root + os.sep):
                            return [], (f"/pfs/out{path} is a symlink to {real}, outside /pfs; "
                                        "write the content itself")
                        if not os.path.exists(real):
                            return [], f"/pfs/out{path} is a broken symlink; write the content itself"
                        src, is_dir, is_file = real, os.path.isdir(real), os.path.isfile(real)
                    else:
                        is_dir, is_file = e.is_dir(), e.is_file()
                    if is_dir:
                        real = os.path.realpath(src)
                        if real in visited:
                            return [], (f"/pfs/out{path} is a symlink back into a folder already "
                                        "written; write the content itself")
                        visited.add(real)
                        stack.append((src, path))
                    elif not is_file:
                        return [], (f"/pfs/out{path} is not a regular file; "
                                    "write only files and folders under /pfs/out")
                    elif self.refs and (ref := self._ref(src)):
                        outputs.append((path, *ref))
                    else:
                        outputs.append(_read_output(path, src, objects_dir))
        outputs.sort()
        self.out_files = flat
        return outputs, ""

    def _collect_flat(self, objects_dir: Path) -> list | None:
        """collect() of the common case, with less work a file: out/ holds regular files only,
        named in ASCII (None otherwise: the whole walk then decides, links into emptyFiles
        inputs among what it follows)."""
        outputs, paths = [], []
        with os.scandir(self.out) as it:
            for e in it:
                if not (e.name.isascii() and e.is_file(follow_symlinks=False)):
                    return None
                paths.append(e.path)
                outputs.append(_read_output("/" + e.name, e.path, objects_dir))
        outputs.sort()
        self.checked = True
        self.out_files = paths
        return outputs

    def _ref(self, real: str) -> tuple | None:
        """The stored content of the emptyFiles input a resolved link reaches, if it is one."""
        if real.startswith(self.real_root + "/"):
            return self.refs.get(self.root + real[len(self.real_root):])
        return None

    def _realpath(self, link: str) -> str:
        """A symlink's target on this side: `/pfs/...` as user code saw it is this root (a
        worker's /pfs/.scratch/<dir>/... too), as pachd's rewriteSymlinks redirects such links."""
        target = os.readlink(link)
        if self.view is None or not (target == self.view or target.startswith(self.view + "/")):
            return os.path.realpath(link)
        rest = target[len(self.view) + 1:]
        if rest.startswith(".scratch/"):
            rest = rest.split("/", 2)[2] if rest.count("/") > 1 else ""
        return os.path.realpath(self.root + ("/" + rest if rest else ""))

    def _stray(self) -> str | None:
        """The first entry (as /pfs/...) the datum made outside out/, if any."""
        if self.per_entry is not None:
            # tmpfs: a folder's size is a fixed amount per entry, so one stat per folder tells
            # whether the datum added anything; only then list it.
            base, step = self.per_entry
            try:
                if all(os.stat(d).st_size == base + step * len(names)
                       for d, names in self.entries.items()):
                    return None
            except FileNotFoundError:
                pass
        for d, names in self.entries.items():
            try:
                extra = sorted(set(os.listdir(d)) - names)
            except FileNotFoundError:
                continue  # the datum removed an input folder: the next lay_out remakes it
            if extra:
                return "/pfs/" + os.path.relpath(os.path.join(d, extra[0]), self.root)
        return None

    def reset(self) -> None:
        """Empty out/ for the next datum; after a failure, clear everything laid out too."""
        if self.checked and self.out_files is not None:
            for path in self.out_files:  # collect() saw these and nothing else
                os.unlink(path)
            self.out_files = None
            return
        self.out_files = None
        with os.scandir(self.out) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)
        if not self.checked and not self.sealed and self._stray():
            self.clear_inputs()

    def clear_inputs(self) -> None:
        self._release()
        with os.scandir(self.root) as it:
            for e in it:
                if e.name in self.fixed:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)
        self.files, self.dirs, self.entries = {}, set(), {self.root: set(self.fixed)}


def _pwrite_all(fd: int, data: bytes) -> None:
    n = os.pwrite(fd, data, 0)
    if n < len(data):  # not on a regular file, but pwrite may write less than asked
        view = memoryview(data)
        while n < len(data):
            n += os.pwrite(fd, view[n:], n)


def _is_utf8(name: str) -> bool:
    """Whether a name read from the file system is text. Pachyderm keeps any bytes as a path;
    pachlite's store keeps text, so such an output fails its datum with a reason instead."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_output(path: str, src: str, objects_dir: Path) -> tuple:
    """(path, hash, size, data) of a small output, (path, hash, size, None) once stored as an
    object. One read for a small file, as a regular file's short read is its end; a file object
    would add a stat and a second read per output."""
    fd = os.open(src, os.O_RDONLY)
    try:
        head = os.read(fd, _SMALL)
        if len(head) < _SMALL:
            return path, hash_bytes(head), len(head), head
        os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb", buffering=0, closefd=False) as f:
            return (path, *read_content(objects_dir, f))
    finally:
        os.close(fd)


_SMALL = 64 * 1024


def _dir_size_per_entry(root: str) -> tuple[int, int] | None:
    """(size of an empty folder, size added per entry) where the file system reports folder
    sizes that way whatever the names (tmpfs); None elsewhere (ext4 reports whole blocks)."""
    probe = os.path.join(root, ".probe")
    try:
        os.mkdir(probe)
        sizes = [os.stat(probe).st_size]
        for name in ("a", "b" * 60):
            os.close(os.open(os.path.join(probe, name), os.O_CREAT | os.O_WRONLY, 0o600))
            sizes.append(os.stat(probe).st_size)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    step = sizes[1] - sizes[0]
    return (sizes[0], step) if step > 0 and sizes[2] - sizes[1] == step else None


def _parents(path: str, root: str):
    """The folders between root (excluded) and path (excluded)."""
    d = os.path.dirname(path)
    while d != root and len(d) > len(root):
        yield d
        d = os.path.dirname(d)


def _unchanged(path: str, old: tuple[str, int | None, int]) -> bool:
    if old[1] is None:
        return False
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return (st.st_mtime_ns, st.st_size) == old[1:]


def make_dirs(path: str | Path, mode: int = 0o700) -> None:
    """os.makedirs, with `mode` for every folder it makes (makedirs gives it only the last)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        make_dirs(parent, mode)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)


def clear(pfs_root: Path) -> None:
    shutil.rmtree(pfs_root, ignore_errors=True)
