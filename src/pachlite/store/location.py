"""Where the store is, found as git finds its repository: `$PACHLITE_STORE` if set, else the first
`.pachlite` folder in the current folder or a folder above it.

Standard library only: Snakemake's view of the store (snake.py) finds it while a Snakefile is
parsed.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PACHLITE_STORE"
STORE_DIR = ".pachlite"


def find_root(start: Path | None = None) -> Path | None:
    """The store a command run in `start` (default: the current folder) uses, or None when
    neither $PACHLITE_STORE nor a `.pachlite` folder there or above names one."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = Path(start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / STORE_DIR).is_dir():
            return folder / STORE_DIR
    return None


def default_root() -> Path:
    """The store found, or where a new one is made when there is none: `./.pachlite`, in the
    current folder, as `git init` makes `./.git`."""
    return find_root() or Path.cwd() / STORE_DIR


def not_found_message(root: Path | None) -> tuple[str, str]:
    """(problem, fix) when there is no store at root (None: none was found from here): where
    pachlite looked and how to make one."""
    env = os.environ.get(ENV_VAR)
    if root is None:
        return (f"no pachlite store ({STORE_DIR}) in {Path.cwd()} or any folder above it",
                f"make one here with 'pachlite create repo NAME', or set ${ENV_VAR}")
    named = f" (named by ${ENV_VAR})" if env and Path(env) == root else ""
    return (f"no pachlite store at {root}{named}",
            "create it with 'pachlite create repo NAME'" + (f", or unset ${ENV_VAR} to use the "
            f"{STORE_DIR} of this folder or one above it" if named else ""))
