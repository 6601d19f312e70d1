"""Running a datum's user code in the stage image: Pachyderm's worker contract on a laptop.

The datum's scratch folder is bind-mounted at /pfs, so the command reads /pfs/<input>/... and
writes /pfs/out/... exactly as in a worker pod. As in Pachyderm's worker, `transform.stdin` is fed
to the command (and a command that leaves it unread is no error), stdout and stderr are the
datum's logs, and a datum that outlives its timeout is killed.

As a worker pod does, each worker keeps one container (`ContainerWorker`) and runs each datum as an
`exec` in it (~0.05 s of overhead a datum, against ~0.2 s for a container per datum). Unlike a
cluster pod, a container gets no network: a local datum needs only /pfs, and .ci/docker.sh runs the
engine without a bridge.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from docker.utils.socket import STDERR, STDOUT, frames_iter

import docker
from pachlite.errors import InvalidInput, NotFound, PachliteError
from pachlite.pps.executors.base import Outcome, Setup, Task, Transform, tell_guardian
from pachlite.pps.executors.process import ProcessExecutor, outcome
from pachlite.pps.executors.scratch import Scratch

# The engine's socket, for the guardian to remove a worker's container should pachlite be killed
# (an engine reached over TCP is not covered).
_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
DOCKER_SOCKET = _HOST[len("unix://"):] if _HOST.startswith("unix://") else None
# What the engine reports when the command cannot start; an `exec` of a missing program reports
# the same, so both ways of running agree.
CANNOT_EXECUTE = 126


@dataclass
class ContainerResult:
    """One run of user code: the exit code, its two streams, and whether the timeout killed it."""
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool


class ContainerExecutor(ProcessExecutor):
    """Container mode: each datum's command in transform.image (Pachyderm's default,
    ubuntu:20.04, when unset) with its /pfs bind-mounted, stdout then stderr as the datum's log.
    Nothing is rewritten: the code sees the paths a cluster worker sees. As a worker pod serves its
    datums, each worker keeps one container and runs each datum as an `exec` in it."""

    isolate = False  # the container is the namespace

    def __init__(self, setup: Setup, user: str | None = None, workdir: str | None = None,
                 mounts: Sequence[tuple[str, str]] = ()):
        _client()  # no engine: one clear error before any datum runs
        super().__init__(setup)
        self.user = user
        self.mounts = tuple(mounts)  # transform.secrets' volumes: (host folder, mountPath), read-only
        self.workdir = workdir  # transform.workingDir: docker exec's working directory
        self._mine = threading.local()
        self._workers: list[ContainerWorker] = []
        self._lock = threading.Lock()

    @staticmethod
    def environment(pachyderm: dict[str, str]) -> dict[str, str]:
        # The worker pod's environment (Pachyderm's variables and transform.env), never the host's.
        return dict(pachyderm)

    def run_alone(self, task: Task, root: Path, t: Transform) -> Outcome:
        worker, scratch = self._worker(t.image)
        datum_id, files, env = task
        started = time.time()
        scratch.lay_out(files)
        try:
            r = worker.run(list(t.cmd), {**self.setup.env, **env, **t.env}, stdin=t.stdin,
                           timeout=t.timeout, workdir=self.workdir)
            return outcome(datum_id, None if r.timed_out else r.exit_code,
                           (r.stdout + r.stderr).encode(), t, scratch, self.setup.objects, started)
        finally:
            scratch.reset()

    def _worker(self, image: str) -> tuple[ContainerWorker, Scratch]:
        """This thread's container and the /pfs folder bound into it."""
        if getattr(self._mine, "worker", None) is None:
            pfs = self.setup.root / f"container-{threading.get_ident()}" / "pfs"
            me = f"{os.getuid()}:{os.getgid()}"
            self._mine.scratch = Scratch(pfs, shared=_container_user(self.user) != me)
            self._mine.worker = ContainerWorker(image, pfs, self.user, self.mounts)
            with self._lock:
                self._workers.append(self._mine.worker)
        return self._mine.worker, self._mine.scratch

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            w.close()
        super().close()


class ContainerWorker:
    """One long-lived container per worker, each datum an `exec` in it: the fast path.

    pfs_dir is bound once, so it must stay the same folder: lay each datum out inside it (after
    clearing the last one's files) instead of replacing it. A timeout kills the container; the
    next datum starts a fresh one. Use as a context manager, or call close().
    """

    def __init__(self, image: str, pfs_dir: Path, user: str | None = None,
                 mounts: Sequence[tuple[str, str]] = ()):
        self.image = image
        self.pfs_dir = pfs_dir
        self.mounts = tuple(mounts)
        self.user = _container_user(user)
        self._client = _client()
        self._container = None

    def run(self, cmd: list[str], env: dict[str, str], stdin: str | None = None,
            timeout: float | None = None, workdir: str | None = None) -> ContainerResult:
        """Run one datum's cmd with env (and stdin) in the worker's container."""
        _open_pfs(self.pfs_dir, self.user)  # the caller may have recreated out/ since the last datum
        if self._container is None:
            self._container = _create(self._client, self.image, ["sleep", "infinity"],
                                      self.pfs_dir, {}, self.user, stdin_open=False,
                                      mounts=self.mounts)
            self._container.start()
            if DOCKER_SOCKET:  # removed even if pachlite is killed with -9
                tell_guardian(f"+c{DOCKER_SOCKET} {self._container.id}\n")
        api = self._client.api
        exec_id = api.exec_create(self._container.id, cmd, stdin=stdin is not None,
                                  environment=env, workdir=workdir)["Id"]
        sock = api.exec_start(exec_id, socket=True)
        out, err, timed_out = _communicate(sock, stdin, timeout, self._container.kill)
        # The engine records the exit code before it closes the output (moby daemon/monitor.go).
        exit_code = api.exec_inspect(exec_id)["ExitCode"]
        if timed_out:
            self.close()
        return ContainerResult(exit_code, out, err, timed_out)

    def close(self) -> None:
        if self._container is not None:
            self._container.remove(force=True)
            if DOCKER_SOCKET:
                tell_guardian(f"-c{DOCKER_SOCKET} {self._container.id}\n")
            self._container = None

    def __enter__(self) -> ContainerWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _client() -> docker.DockerClient:
    try:
        return docker.from_env()
    except docker.errors.DockerException as err:
        raise PachliteError(f"no Docker engine answers ({err})",
                            "start one (`bash .ci/docker.sh start` on Debian, or Docker Desktop) "
                            "or run the pipeline without containers", where="docker") from None


def _container_user(user: str | None) -> str | None:
    if user is not None:
        return user
    uid = os.getuid()
    return None if uid == 0 else f"{uid}:{os.getgid()}"


def _open_pfs(pfs_dir: Path, user: str | None) -> None:
    """Let a container user other than us into /pfs and /pfs/out (a fresh temp dir is 0700)."""
    if not (pfs_dir / "out").is_dir():
        raise InvalidInput(f"{pfs_dir}/out is not a folder", "lay the datum out before running it",
                           where="/pfs")
    if user == f"{os.getuid()}:{os.getgid()}":
        return
    pfs_dir.chmod(0o755)
    (pfs_dir / "out").chmod(0o777)


def _create(client: docker.DockerClient, image: str, cmd: list[str], pfs_dir: Path,
            env: dict[str, str], user: str | None, stdin_open: bool,
            mounts: Sequence[tuple[str, str]] = ()):
    volumes = {str(pfs_dir.resolve()): {"bind": "/pfs", "mode": "rw"}}
    volumes.update((host, {"bind": path, "mode": "ro"}) for host, path in mounts)
    try:
        return client.containers.create(
            image, cmd, environment=env, user=user, network_mode="none", stdin_open=stdin_open,
            volumes=volumes)
    except docker.errors.ImageNotFound:
        raise NotFound(f"image {image} is not in the Docker engine",
                       f"build it (docker build -f pachyderm/Dockerfile -t {image} .) or pull "
                       "it, or name another in transform.image",
                       where="transform.image") from None


def _communicate(sock, stdin: str | None, timeout: float | None, kill) -> tuple[str, str, bool]:
    """Feed stdin, collect stdout and stderr until the process ends or timeout; kill on timeout."""
    raw = getattr(sock, "_sock", sock)
    streams: dict[int, list[bytes]] = {STDOUT: [], STDERR: []}
    if stdin is not None:
        # A thread, so a process that writes a lot before reading stdin cannot deadlock us.
        threading.Thread(target=_feed, args=(raw, stdin.encode()), daemon=True).start()
    reader = threading.Thread(target=_drain, args=(sock, streams), daemon=True)
    reader.start()
    reader.join(timeout)
    timed_out = reader.is_alive()
    if timed_out:
        with contextlib.suppress(docker.errors.APIError):  # it exited just now
            kill()
        reader.join()
    raw.close()
    return (b"".join(streams[STDOUT]).decode(errors="replace"),
            b"".join(streams[STDERR]).decode(errors="replace"), timed_out)


def _feed(raw: socket.socket, data: bytes) -> None:
    try:
        raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)  # EOF on the command's stdin
    except OSError:
        pass  # the command exited without reading it all; Pachyderm ignores that too


def _drain(sock, streams: dict[int, list[bytes]]) -> None:
    for stream, data in frames_iter(sock, tty=False):
        streams.setdefault(stream, []).append(data)
