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
are read-only to it, and no path is rewritten. A worker of a process-per-datum job keeps one such
namespace for all its datums (`NamespaceWorker`): the launcher then stays, and forks each datum's
command in it, as a worker pod runs each datum's command in the same container. The launcher is
standard-library Python (ctypes' unshare(2) and mount(2)): Python 3.11 has no os.unshare, and
util-linux's `unshare` alone cannot make the new root; bubblewrap would be one more system package
to install.

Where the kernel refuses (macOS, user namespaces switched off) or `PACHLITE_USERNS=0` says to
behave so, `unavailable()` gives the reason, and datums run in the scratch folder with /pfs
rewritten (scratch.map_pfs), the CLI printing one line that says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

USERNS_VAR = "PACHLITE_USERNS"
# transform.secrets' mountPath entries, for the launcher (which takes it out of the environment
# before the command starts): host folder and mountPath, one a line, alternating.
SECRETS_VAR = "PACHLITE_SECRET_MOUNTS"
SERVE_VAR = "PACHLITE_NS_SERVE"  # the launcher serves datums on this fd instead of exec'ing
REQUEST_MAX = 1 << 16  # a larger datum request (a big environment) goes through a file

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

def execute(cmd, env):
    try:
        os.execvpe(cmd[0], cmd, env)
    except FileNotFoundError:
        os.write(2, f"{cmd[0]}: command not found\n".encode())
        os._exit(127)
    except PermissionError:
        os.write(2, f"{cmd[0]}: permission denied\n".encode())
        os._exit(126)
    os._exit(127)

serve = os.environ.pop("PACHLITE_NS_SERVE", None)
if serve is None:
    execute(cmd, os.environ)
# A worker: one datum's command at a time, each request JSON {cmd, env, cwd} with its stdin and
# log fds; answered with the command's pid (its process group, or "x" and an exit code when it
# could not start), then its exit code. posix_spawn (vfork) rather than fork and exec: a third of
# the CPU a datum costs here, and the PATH search is done once, not by failing execs.
import json, shutil, signal, socket
sock = socket.socket(fileno=int(serve))
os.set_inheritable(sock.fileno(), False)
while True:
    try:
        msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
    except OSError:
        break
    if not msg:
        break
    if msg == b"@":  # too large for one message: the request is in a file, the third fd
        with os.fdopen(fds.pop(), "rb") as f:
            msg = f.read()
    req = json.loads(msg)
    cmd, env = req["cmd"], req["env"]
    try:
        os.chdir(req["cwd"])
        path = cmd[0] if "/" in cmd[0] else shutil.which(cmd[0], path=env.get("PATH", os.defpath))
        if path is None:
            raise FileNotFoundError(cmd[0])
        pid = os.posix_spawn(path, cmd, env, setsid=True,
                             setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # as subprocess does
                             file_actions=[(os.POSIX_SPAWN_DUP2, fds[0], 0),
                                           (os.POSIX_SPAWN_DUP2, fds[1], 1),
                                           (os.POSIX_SPAWN_DUP2, fds[1], 2)])
    except OSError as e:
        what = (f"working directory {req['cwd']}: {e.strerror}" if e.filename == req["cwd"] else
                f"{cmd[0]}: " + ("permission denied" if isinstance(e, PermissionError) else
                                 "command not found" if isinstance(e, FileNotFoundError) else
                                 e.strerror))
        os.write(fds[1], (what + "\n").encode())
        for fd in fds:
            os.close(fd)
        sock.send(b"x" + (b"126" if isinstance(e, PermissionError) else b"127"))
        continue
    for fd in fds:
        os.close(fd)
    sock.send(str(pid).encode())
    # The command has exited when this returns; its group (what it left running) is killed before
    # it is reaped, so that its pid, the group's id, cannot be reused in between.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    sock.send(str(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])).encode())
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


class NamespaceWorker:
    """A private /pfs that stays up across datums, as a worker pod does: the launcher lays the
    namespace out once, then forks each datum's command in it. Each datum is still a process of
    its own (its own process group, stdin and log; a crash fails only it), its /pfs laid out by
    the caller in `pfs_root` before it runs; what a datum saves is the launcher's interpreter and
    its mounts (~13 ms of CPU each)."""

    def __init__(self, pfs_root: Path, inputs, processes, env: dict, binds=(),
                 workdir: str | None = None):
        self.processes = processes
        self.root = pfs_root.parent
        self.alive = True
        self.worker_log = open(self.root / "worker.log", "w+b")  # noqa: SIM115 (closed by close())
        self.datum_log = tempfile.TemporaryFile(dir=self.root)  # noqa: SIM115 (closed by close())
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = processes.start(wrap([], pfs_root, inputs, binds, workdir), stdin=subprocess.DEVNULL,
                                        stdout=self.worker_log, stderr=subprocess.STDOUT,
                                        env={**env, SERVE_VAR: str(child.fileno())},
                                        pass_fds=[child.fileno()], cwd=self.root)
        except BaseException:
            parent.close()
            self.worker_log.close()
            self.datum_log.close()
            raise
        finally:
            child.close()
        self.sock = parent

    def run(self, cmd, env: dict, stdin: str | None, cwd: str,
            timeout: float | None) -> tuple[int | None, bytes]:
        """Run one datum's command; (exit code, or None if it timed out; its log)."""
        log = self.datum_log.fileno()
        os.ftruncate(log, 0)
        os.lseek(log, 0, os.SEEK_SET)
        # Without transform.stdin the command reads an empty stdin, as in a worker pod.
        feed = tempfile.TemporaryFile(dir=self.root) if stdin else open(os.devnull, "rb")  # noqa: SIM115
        with feed:
            if stdin:
                feed.write(stdin.encode())
                feed.seek(0)
            request = json.dumps({"cmd": list(cmd), "env": env, "cwd": cwd}).encode()
            fds = [feed.fileno(), log]
            try:
                if len(request) > REQUEST_MAX:  # a socket message holds ~200 KB at most
                    with tempfile.TemporaryFile(dir=self.root) as big:
                        big.write(request)
                        big.seek(0)
                        socket.send_fds(self.sock, [b"@"], [*fds, big.fileno()])
                else:
                    socket.send_fds(self.sock, [request], fds)
                answer = self.sock.recv(32)
                if answer.startswith(b"x"):  # it could not start; the log says why
                    return int(answer[1:]), os.pread(log, os.fstat(log).st_size, 0)
                pid = int(answer)
            except (OSError, ValueError):
                return self._lost()
        self.processes.adopt(pid)
        code: int | None
        try:
            self.sock.settimeout(timeout)
            try:
                answer = self.sock.recv(32)
            except TimeoutError:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                self.sock.settimeout(None)
                answer, timed_out = self.sock.recv(32), True
            else:
                timed_out = False
            if not answer:  # the worker itself was killed (Ctrl-C) or crashed
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                return self._lost()
            code = None if timed_out else int(answer)
        finally:
            self.processes.release(pid)
        return code, os.pread(log, os.fstat(log).st_size, 0)

    def _lost(self) -> tuple[int, bytes]:
        """The worker is gone: the datum fails with what it said, and the next gets a new one."""
        self.alive = False
        self.processes.reap(self.proc)
        self.proc.wait()
        self.worker_log.seek(0)
        said = self.worker_log.read().strip() or f"exit code {self.proc.returncode}".encode()
        return 125, b"pachlite: the datum's namespace worker ended: " + said

    def close(self) -> None:
        self.sock.close()  # the launcher's loop ends; any datum still running ends with it
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.processes.reap(self.proc)
        self.proc.wait()
        self.worker_log.close()
        self.datum_log.close()
