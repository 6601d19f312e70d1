"""What a transform's image holds, on this machine: the paths of the image its command uses
(`/edges.py` in pachyderm/opencv), mapped to local copies by `pachlite-images.yaml`.

On a cluster `transform.image` brings the code (`ADD edges.py /edges.py`) and the folder the
command starts in (the image's WORKDIR, unless `transform.workingDir` says otherwise). Locally the
command runs on this machine, in a private mount namespace (executors/namespace.py), so the spec
stays as the cluster has it and this file, in the folder pachlite runs in, says what the image
would have held:

    pachyderm/opencv:1.0:
      /edges.py: edges.py              # a path in the image: a local file or folder
    pachyderm/example-joins-inner-outer:2.1.0:
      workingDir: /app                 # the image's WORKDIR
      /app: src                        # src/inner/main.py is seen at /app/inner/main.py

Local paths are relative to the file's folder. Each is bound read-only at its path in the image,
in the datum's namespace only; nothing is written outside it. So an image path is either new to
this machine from its first folder on (`/edges.py`, `/app/...`: made in the namespace's own root)
or exists here already, as the same kind (a file over a file, a folder over a folder). Files
under a mapped folder are the pipeline's code too: a change reprocesses (pps/code.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pachlite.errors import InvalidInput

FILE = "pachlite-images.yaml"
WORKDIR = "workingDir"


@dataclass(frozen=True)
class Layout:
    """What one image holds: (local path, image path) binds, parents first, and its WORKDIR."""
    binds: tuple[tuple[str, str], ...] = ()
    workdir: str | None = None

    def files(self) -> list[tuple[str, Path]]:
        """(image path, local file) of every file the image's mapped paths hold."""
        out = []
        for src, dst in self.binds:
            p = Path(src)
            found = [p] if p.is_file() else sorted(f for f in p.rglob("*")
                                                   if f.is_file() and "__pycache__" not in f.parts)
            out += [(str(PurePosixPath(dst) / f.relative_to(p)) if f != p else dst, f) for f in found]
        return out


def layout(cwd: str | os.PathLike | None, image: str | None) -> Layout | None:
    """The layout `pachlite-images.yaml` in cwd gives an image (None: the file or the image is
    not there). A bad file raises InvalidInput naming the entry, whichever image is asked for."""
    if cwd is None:
        return None
    layouts = load(Path(cwd) / FILE)
    return layouts.get(image) if image else None


def local(cwd: str | os.PathLike | None, image: str | None) -> Layout | None:
    """The layout an image's command runs with here; InvalidInput if it maps paths and this
    machine gives datums no private namespace to bind them in."""
    found = layout(cwd, image)
    if found is not None:
        from pachlite.pps.executors.namespace import unavailable
        if why := unavailable():
            raise InvalidInput(f"{FILE} maps paths of {image}, which need a private /pfs: {why}",
                               "run with --container")
    return found


def load(path: Path) -> dict[str, Layout]:
    """Every image's layout in a mappings file ({} if there is none), checked."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}", "check its permissions") from None
    import yaml  # only where the file is: every `pachlite run` asks, ~25 ms an import
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path} is not YAML: {' '.join(str(e).split())}",
                           "write image: {path in image: local path}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path} must map image names to their paths",
                           "write image: {path in image: local path}")
    return {str(image): _layout(path, str(image), entries) for image, entries in doc.items()}


def _layout(path: Path, image: str, entries) -> Layout:
    where = f"{path}: {image}"
    if not isinstance(entries, dict):
        raise InvalidInput(f"{where} must map paths in the image to local paths",
                           "write /path/in/image: local/path under the image's name")
    workdir, binds = None, []
    for key, value in entries.items():
        key = str(key)
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{where}: {key} must be a path, not {value!r}",
                               "give one path as a string")
        if key == WORKDIR:
            workdir = _image_path(where, value, WORKDIR)
            continue
        dst = _image_path(where, key, "a path in the image")
        src = (path.parent / value).resolve()
        if not src.exists():
            raise InvalidInput(f"{where}: {dst} maps {value}, which does not exist",
                               f"give a file or folder relative to {path.parent}")
        binds.append((str(src), dst))
    binds.sort(key=lambda b: (len(PurePosixPath(b[1]).parts), b[1]))  # a folder before what is in it
    for i, (src, dst) in enumerate(binds):
        _check_place(where, src, dst, binds[:i])
    if workdir and not _is_folder(workdir, binds):
        raise InvalidInput(f"{where}: {WORKDIR} {workdir} is not a folder of the image as mapped "
                           "here, nor one of this machine's", f"map a local folder at {workdir}")
    return Layout(tuple(binds), workdir)


def _is_folder(p: str, binds: list[tuple[str, str]]) -> bool:
    """Whether p is a folder in the namespace: a mapped folder or one in it, a folder made to hold
    a mapped path (/app for /app/main.py), or a folder of this machine."""
    pp = PurePosixPath(p)
    for s, d in binds:
        if pp.is_relative_to(d) and (Path(s) / pp.relative_to(d)).is_dir():
            return True
        if PurePosixPath(d).is_relative_to(pp) and d != p:
            return True
    return os.path.isdir(p)

def _image_path(where: str, p: str, what: str) -> str:
    pp = PurePosixPath(p)
    if not pp.is_absolute() or ".." in pp.parts or str(pp) != p.rstrip("/") or pp == PurePosixPath("/"):
        raise InvalidInput(f"{where}: {what} {p!r} is not an absolute path in the image",
                           "write it as the image has it, e.g. /edges.py or /app")
    if pp.parts[1] == "pfs":
        raise InvalidInput(f"{where}: {p} is under /pfs, which pachlite lays out for each datum",
                           "map a path outside /pfs")
    return str(pp)


def _check_place(where: str, src: str, dst: str, parents: list[tuple[str, str]]) -> None:
    """An image path the namespace can bind: made in its own root, or over what exists here."""
    under = [(s, d) for s, d in parents if PurePosixPath(dst).is_relative_to(d)]
    if under:  # inside a folder mapped before it: it must be there already
        s, d = under[-1]
        here = Path(s) / PurePosixPath(dst).relative_to(d)
        whose = f"the folder mapped at {d} ({s})"
    elif os.path.lexists("/" + PurePosixPath(dst).parts[1]):
        here = Path(dst)
        whose = "this machine"
    else:
        return  # new from its first folder on: made in the namespace's root
    if not here.exists():
        raise InvalidInput(f"{where}: {dst} cannot be made: {whose} has no {here}",
                           "map a path whose first folder this machine lacks (e.g. /app), or one "
                           "that exists")
    if here.is_dir() != Path(src).is_dir():
        kind = "folder" if here.is_dir() else "file"
        raise InvalidInput(f"{where}: {dst} is a {kind} on {whose}, and {src} is not",
                           "map a file over a file and a folder over a folder")
