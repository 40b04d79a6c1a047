"""The agent's life as others see it: a lock it holds while alive, and what asked it to stop.

`hameau-edge run` takes an exclusive flock on `<db>.lock` (in RAM, named after the database, when the
database's directory cannot be written) and writes its pid into it. The kernel drops the lock when the
process ends however it ends (kill -9 too), so `hameau-edge status` knows whether an agent is alive by a
non-blocking attempt on the same lock, never by the age of a snapshot.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from drivers.errors import HameauError

#: How long `run` keeps trying while a `status` holds the lock for its brief test.
ACQUIRE_PATIENCE_S = 1.0


@dataclass(frozen=True, slots=True)
class Holder:
    """The live agent holding a database's lock: its pid, since when (ISO time), for which device."""

    pid: int | None
    since: str | None
    device: str | None
    path: Path


class AgentLockedError(HameauError):
    """Another agent already runs on this database."""


def lock_paths(db_path: Path) -> tuple[Path, Path]:
    """Where an agent's lock can be: beside the database, or in RAM when that directory cannot be written."""
    digest = hashlib.sha256(str(db_path.absolute()).encode("utf-8")).hexdigest()[:16]
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return db_path.with_name(db_path.name + ".lock"), base / f"hameau-agent-{digest}.lock"


def _read_holder(fd: int, path: Path) -> Holder:
    try:
        content = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):
        content = {}
    content = content if isinstance(content, dict) else {}
    pid = content.get("pid")
    return Holder(pid if isinstance(pid, int) else None, content.get("since"), content.get("device"), path)


def _probe(path: Path) -> Holder | None:
    """The agent holding the lock at `path`, or None: a shared, non-blocking attempt, released at once."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: no agent ever ran here
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return _read_holder(fd, path)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def agent_holder(db_path: Path) -> Holder | None:
    """The live agent running on this database, or None when none is (it stopped, crashed or never ran)."""
    for path in lock_paths(db_path):
        holder = _probe(path)
        if holder is not None:
            return holder
    return None


class AgentLock:
    """The lock a running agent holds on its database; `with AgentLock(...)` raises AgentLockedError if held."""

    def __init__(self, db_path: Path, device_id: str, now: datetime) -> None:
        self.db_path = db_path
        self.device_id = device_id
        self.now = now
        self.path: Path | None = None
        self._fd: int | None = None

    def _open(self) -> tuple[int, Path]:
        beside, in_ram = lock_paths(self.db_path)
        try:
            beside.parent.mkdir(parents=True, exist_ok=True)
            return os.open(beside, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), beside
        except OSError:  # a directory it cannot write: the agent runs without its database, and locks in RAM
            return os.open(in_ram, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), in_ram

    def acquire(self) -> None:
        """Take the lock and write this process's pid into it; AgentLockedError when another agent holds it."""
        fd, path = self._open()
        deadline = time.monotonic() + ACQUIRE_PATIENCE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd, path)
                    os.close(fd)
                    raise AgentLockedError(_refusal(self.db_path, holder)) from None
                time.sleep(0.05)
        # The other place may be held by an agent that started while this directory could not be written.
        other = next((p for p in lock_paths(self.db_path) if p != path), None)
        holder = _probe(other) if other is not None else None
        if holder is not None:
            os.close(fd)
            raise AgentLockedError(_refusal(self.db_path, holder))
        body = json.dumps({"pid": os.getpid(), "since": self.now.isoformat(), "device": self.device_id})
        os.ftruncate(fd, 0)
        os.pwrite(fd, body.encode("utf-8"), 0)
        self._fd, self.path = fd, path

    def release(self) -> None:
        """Let the lock go (the kernel does it anyway when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _refusal(db_path: Path, holder: Holder) -> str:
    pid = "?" if holder.pid is None else str(holder.pid)
    since = f" since {holder.since}" if holder.since else ""
    return f"another agent (pid {pid}{since}) already runs on the database {db_path}: refusing to start a second one"


class StopRequest(threading.Event):
    """An event that ends the agent's loop and remembers what set it ("SIGTERM", "SIGINT (Ctrl-C)")."""

    def __init__(self) -> None:
        super().__init__()
        self.cause: str | None = None

    def request(self, cause: str) -> None:
        """Ask the agent to stop, saying why (the first cause is kept)."""
        if self.cause is None:
            self.cause = cause
        self.set()


def signal_cause(signum: int) -> str:
    """How a stop signal is named in the status: SIGTERM, or SIGINT (Ctrl-C)."""
    name = signal.Signals(signum).name
    return f"{name} (Ctrl-C)" if signum == signal.SIGINT else name


def stop_cause(stop: threading.Event) -> str | None:
    """What set a stop event, when it says (a StopRequest), else None."""
    return stop.cause if isinstance(stop, StopRequest) else None
