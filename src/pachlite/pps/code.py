"""A pipeline's code, hashed into its version: what `transform.image` is on a cluster.

On a cluster, new code is a new image, and `update pipeline --reprocess` with it runs every datum
again. Locally the code is files of the workflow's folder, so they are found and hashed instead:
each word of `cmd`/`stdin` (and of a `sh -c` script) that names a file in the folder
(`python3 scripts/train.py` → scripts/train.py), the project's own modules a Python file imports
(found as the interpreter would: beside the script, then in the folder), and the paths a spec
declares under `metadata.annotations["pachlite.io/code"]` (files, folders or globs, separated by
spaces or commas; an annotation pachd accepts and ignores). The hash is kept in the stored spec under
`metadata.annotations["pachlite.io/code-hash"]`; a different one makes the next run reprocess.

Standard library only: the Snakefile imports it to make the code files a rule's inputs.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import shlex
from collections.abc import Sequence
from pathlib import Path

from pachlite.errors import InvalidInput
from pachlite.pps import images

DECLARED = "pachlite.io/code"
HASH = "pachlite.io/code-hash"


def files(spec: dict, cwd: str | Path) -> list[str]:
    """The code files of a normalised (camelCase) spec, relative to cwd, sorted."""
    root = Path(cwd).resolve()
    transform = spec.get("transform") or {}
    words: list[str] = []
    # A word with spaces in cmd is a shell script (`sh -c "python3 x.py …"`), as stdin's lines are.
    for w in transform.get("cmd") or []:
        words += [w, *(_split(w) if any(c.isspace() for c in w) else [])]
    for line in transform.get("stdin") or []:
        words += _split(line)
    found: set[Path] = set()
    for w in words:
        p = _inside(root, w)
        if p is not None and p.is_file():
            found.add(p)
    for w in _declared(spec):
        matches = [m for m in root.glob(w)] if any(c in w for c in "*?[") else [root / w]
        matches = [m.resolve() for m in matches if m.exists()]
        if not matches:
            raise InvalidInput(f"metadata.annotations {DECLARED} names {w}, which is not in {root}",
                               "name files or folders relative to the folder pachlite runs in")
        for m in matches:
            found.update(f for f in ([m] if m.is_file() else m.rglob("*"))
                         if f.is_file() and "__pycache__" not in f.parts)
    # Absolute imports are looked up as the interpreter does: beside the script it was given
    # (sys.path[0]), then in the folder it runs in; `-m module` is looked up there too.
    bases = sorted({p.parent for p in found if p.suffix == ".py"}) + [root]
    for i, w in enumerate(words[:-1]):
        if w == "-m":
            found.update(_module(words[i + 1].split("."), bases, root))
    todo = [p for p in found if p.suffix == ".py"]
    while todo:
        for m in _imported(todo.pop(), bases, root):
            if m not in found:
                found.add(m)
                todo.append(m)
    return sorted(str(p.relative_to(root)) for p in found)


def stamp(spec: dict, cwd: str | Path, image: Sequence[tuple[str, Path]] = ()) -> str:
    """The hash of the code files' names and contents; "" if the spec names none found here.
    image: (path in the image, local file) of what its image holds here (pps/images.py)."""
    named = [(name, Path(cwd) / name) for name in files(spec, cwd)] + sorted(image)
    if not named:
        return ""
    h = hashlib.sha256()
    for name, path in named:
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def stamp_here(spec: dict, cwd: str) -> str:
    """The code's hash: the files cmd/stdin name in cwd, and what pachlite-images.yaml maps into
    the spec's image (a new image's code, on a cluster)."""
    image = images.layout(cwd, (spec.get("transform") or {}).get("image"))
    return stamp(spec, cwd, image.files() if image else ())


def recorded(spec: dict) -> str:
    return ((spec.get("metadata") or {}).get("annotations") or {}).get(HASH, "")


def stamped(spec: dict, code_hash: str) -> dict:
    """The spec with code_hash recorded (a copy; unchanged if code_hash is "")."""
    if not code_hash or recorded(spec) == code_hash:
        return spec
    out = copy.deepcopy(spec)
    out.setdefault("metadata", {}).setdefault("annotations", {})[HASH] = code_hash
    return out


def _split(script: str) -> list[str]:
    try:
        return shlex.split(script, comments=True)
    except ValueError:  # an unbalanced quote: the shell will say so; take the plain words
        return script.split()


def _declared(spec: dict) -> list[str]:
    text = ((spec.get("metadata") or {}).get("annotations") or {}).get(DECLARED, "")
    return text.replace(",", " ").split()


def _inside(root: Path, word: str) -> Path | None:
    if not word or word.startswith(("-", "/pfs")) or "\0" in word:
        return None
    try:
        p = (root / word).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return p if p.is_relative_to(root) and p != root else None


def _imported(path: Path, bases: list[Path], root: Path) -> list[Path]:
    """The files in root of the modules a Python file imports (relative imports from the file's
    package, absolute ones in bases)."""
    out: list[Path] = []
    for level, parts, names in _imports(path):
        if level:
            base = path.parent
            for _ in range(level - 1):
                base = base.parent
            where = [base]
        else:
            where = bases
        out += _module(list(parts), where, root)
        for name in names:  # `from pkg import mod` imports a submodule
            out += _module([*parts, name], where, root, whole_only=True)
    return out


@functools.cache
def _imports(path: Path) -> tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...]:
    """(level, module, names imported from it) of each import of a Python file, parsed once per
    process (the Snakefile asks for every pipeline's code, and the scripts share modules)."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError, OSError):
        return ()  # running it will say what is wrong
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(0, tuple(a.name.split(".")), ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.level, tuple(node.module.split(".")) if node.module else (),
                        tuple(a.name for a in node.names)))
    return tuple(out)


def _module(parts: list[str], bases: list[Path], root: Path, whole_only: bool = False) -> list[Path]:
    for base in bases:
        found, d = [], base
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last and (d / f"{part}.py").is_file():
                found.append(d / f"{part}.py")
                break
            d = d / part
            if not d.is_dir():
                found = None
                break
            if (d / "__init__.py").is_file():
                found.append(d / "__init__.py")
        if found:
            found = [f.resolve() for f in found]
            if all(f.is_relative_to(root) for f in found):
                return found[-1:] if whole_only else found
    return []
