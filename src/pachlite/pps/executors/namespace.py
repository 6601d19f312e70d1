"""/pfs where Pachyderm puts it, without Docker: user code runs in a private mount namespace.

On a cluster a worker lays a datum out in `/pfs/.scratch/<dir>` and makes `/pfs/<input>`,
`/pfs/out` and `/pfs/.env` symlinks into it (pachd's driver, linkData). Locally each datum or
serving worker gets the same view: the launcher below unshares a user and a mount namespace
(unprivileged: the user maps to itself), builds a new root of bind mounts of the host's `/`
entries plus a tmpfs `/pfs` (the host has no `/pfs`, and nothing can be created in the host's
`/`), binds the worker's scratch folder read-only at `/pfs/.scratch/<dir>` and its `out/`
read-write over it, makes the symlinks, makes `/pfs` itself read-only, binds the paths the
transform's image would hold (pps/images.py) read-only, chroots, returns to the working folder (or
the image's) and execs the command. Code with literal `/pfs` paths then runs unchanged, inputs
are read-only to it, and no path is rewritten. The launcher is standard-library Python (ctypes'
unshare(2) and mount(2)): Python 3.11 has no os.unshare, and util-linux's `unshare` alone cannot
make the new root; bubblewrap would be one more system package to install.

Where the kernel refuses (macOS, user namespaces switched off) or `PACHLITE_USERNS=0` says to
behave so, `unavailable()` gives the reason, and datums run in the scratch folder with /pfs
rewritten (scratch.map_pfs), the CLI printing one line that says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

USERNS_VAR = "PACHLITE_USERNS"
# transform.secrets' mountPath entries, for the launcher (which takes it out of the environment
# before the command starts): host folder and mountPath, one a line, alternating.
SECRETS_VAR = "PACHLITE_SECRET_MOUNTS"

# argv: host scratch /pfs folder, an empty folder for the new root, input names (comma-separated),
# the image's layout as JSON ("" for none: pps/images.py), then the command.
LAUNCHER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
RDONLY, NOSUID, NODEV, REMOUNT, BIND, REC, PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18

def check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        sys.stderr.write(f"pachlite: cannot lay out /pfs ({what}: {os.strerror(e)})\n")
        sys.exit(125)

def mount(src, dst, fs, flags, data=None):
    enc = lambda s: s.encode() if s else None
    check(libc.mount(enc(src), enc(dst), enc(fs), flags, enc(data)), "mount " + dst)

SECRETS_VAR = "PACHLITE_SECRET_MOUNTS"  # (namespace.SECRETS_VAR)

def secret_mounts(text):  # (host folder, mountPath) pairs: one a line, alternating
    lines = text.split("\n") if text else []
    return zip(lines[0::2], lines[1::2])

def mount_secret(src, new, dst):
    # A secret volume: src bound read-only at dst. Where dst's folder does not exist, the deepest
    # folder above it that does is shadowed by a tmpfs holding binds of its entries, so the
    # missing folders are made there, never on the host.
    at, parts = "", dst.strip("/").split("/")
    while parts and os.path.isdir(new + at + "/" + parts[0]) and not os.path.islink(new + at + "/" + parts[0]):
        at += "/" + parts.pop(0)
    try:
        if parts and os.path.lexists(new + at + "/" + parts[0]):  # never through a link to the host
            raise OSError(0, "a file or symbolic link is on its path")
        if parts:
            if at:
                mount("tmpfs", new + at, "tmpfs", NOSUID | NODEV, "mode=0755")
                for name in os.listdir(at):
                    s, d = at + "/" + name, new + at + "/" + name
                    if os.path.islink(s):
                        os.symlink(os.readlink(s), d)
                        continue
                    os.mkdir(d) if os.path.isdir(s) else open(d, "w").close()
                    libc.mount(s.encode(), d.encode(), None, BIND | REC, None)
            os.makedirs(new + dst)
    except OSError as e:
        sys.stderr.write(f"pachlite: cannot mount a secret at {dst} ({e.strerror})\n")
        sys.exit(125)
    mount(src, new + dst, None, BIND)
    mount(None, new + dst, None, REMOUNT | BIND | RDONLY | NOSUID | NODEV)

uid, gid, cwd = os.getuid(), os.getgid(), os.getcwd()
check(libc.unshare(0x10000000 | 0x20000), "unshare")  # CLONE_NEWUSER | CLONE_NEWNS
for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
    with open("/proc/self/" + name, "w") as f:
        f.write(text)
mount(None, "/", None, REC | PRIVATE)
host, new, inputs, image, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
mount("tmpfs", new, "tmpfs", NOSUID | NODEV, "mode=0755")
for name in os.listdir("/"):
    src, dst = "/" + name, new + "/" + name
    if name == "pfs":
        continue
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        continue
    if os.path.isdir(src):
        os.mkdir(dst)
    else:
        open(dst, "w").close()
    # An entry the kernel will not bind here (rare) is left empty: only /pfs must be right.
    libc.mount(src.encode(), dst.encode(), None, BIND | REC, None)
pfs = new + "/pfs"
os.mkdir(pfs)
mount("tmpfs", pfs, "tmpfs", NOSUID | NODEV, "mode=0755")
here = ".scratch/" + os.path.basename(os.path.dirname(host))
os.makedirs(pfs + "/" + here)
mount(host, pfs + "/" + here, None, BIND)
mount(None, pfs + "/" + here, None, REMOUNT | BIND | RDONLY | NOSUID | NODEV)
mount(host + "/out", pfs + "/" + here + "/out", None, BIND)
for name in ["out", ".env", *filter(None, inputs.split(","))]:
    os.symlink(here + "/" + name, pfs + "/" + name)
mount(None, pfs, None, REMOUNT | RDONLY | NOSUID | NODEV)
binds, workdir = __import__("json").loads(image) if image else ([], None)
for src, dst in binds:  # the image's own paths, read-only; a parent before what is in it
    at = new + dst
    if not os.path.lexists(at):  # only in the new root's tmpfs (images.py checks)
        os.makedirs(os.path.dirname(at), exist_ok=True)
        os.mkdir(at) if os.path.isdir(src) else open(at, "w").close()
    mount(src, at, None, BIND | REC)
    mount(None, at, None, REMOUNT | BIND | RDONLY | NOSUID | NODEV)
for src, dst in secret_mounts(os.environ.pop(SECRETS_VAR, "")):
    mount_secret(src, new, dst)
os.chroot(new)
# a workingDir under /pfs (started in the host folder) is seen there, as in a worker
os.chdir(workdir or ("/pfs" + cwd[len(host):] if cwd == host or cwd.startswith(host + "/") else cwd))
try:
    os.execvp(cmd[0], cmd)
except FileNotFoundError:
    sys.stderr.write(f"{cmd[0]}: command not found\n")
    sys.exit(127)
except PermissionError:
    sys.stderr.write(f"{cmd[0]}: permission denied\n")
    sys.exit(126)
"""


@cache
def unavailable() -> str | None:
    """Why datums cannot get a private /pfs on this machine (None: they can). Asked once."""
    if os.environ.get(USERNS_VAR) == "0":
        return f"user namespaces are switched off (${USERNS_VAR}=0)"
    if not sys.platform.startswith("linux"):
        return f"{sys.platform} has no Linux user namespaces"
    # The whole layout, once, on an empty datum: a kernel that allows the namespaces but not the
    # mounts (an AppArmor policy, say) is found here, not by every datum failing.
    with tempfile.TemporaryDirectory(prefix="pachlite-probe-") as tmp:
        pfs = Path(tmp) / "probe" / "pfs"
        (pfs / "out").mkdir(parents=True)
        try:
            p = subprocess.run(wrap(["test", "-d", "/pfs/out/"], pfs, ()), capture_output=True,
                               timeout=30, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"cannot start the namespace launcher ({e})"
    if p.returncode:
        lines = p.stderr.decode(errors="replace").strip().splitlines()
        return (lines[-1].removeprefix("pachlite: ") if lines else f"exit code {p.returncode}")
    return None


def fallback_notice() -> str | None:
    """The one line saying how datums run when there is no private /pfs (None when there is)."""
    why = unavailable()
    if why is None:
        return None
    return (f"warning: {why}: datums run in a scratch folder with /pfs rewritten in the command, "
            "stdin and environment; code that opens literal /pfs paths needs --container")


def wrap(cmd, pfs_root: Path, inputs, binds=(), workdir: str | None = None) -> list[str]:
    """The command run behind the launcher, with pfs_root (host) seen at /pfs, each (local, image
    path) of binds seen read-only at its image path, started in workdir (the image's WORKDIR) if
    given."""
    new_root = pfs_root.parent / "root"
    new_root.mkdir(mode=0o700, exist_ok=True)
    image = json.dumps([binds, workdir]) if binds or workdir else ""
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, str(pfs_root), str(new_root),
            ",".join(inputs), image, *cmd]
