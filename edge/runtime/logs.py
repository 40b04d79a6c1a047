"""The agent's log on stderr: one line per event (time, what, why), in a form journald keeps.

Only the composition root (edge/cli.py) installs the handler, with `to_stderr`; every module
logs through its own `logging.getLogger(__name__)`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType

from drivers.reading import Reading
from edge.controllers.events import Event

#: The levels `--log-level` takes.
LEVELS: Mapping[str, int] = MappingProxyType({
    "debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
})
#: Event kinds a technician should notice (logged at warning); every other event is logged at info.
WARNING_EVENTS: frozenset[str] = frozenset({"fault", "alarm", "fallback"})
#: syslog priorities of the sd-daemon convention ("<4>" before a line journald reads as a warning).
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
#: Libraries whose own log is noise next to ours (the Modbus driver reports each failed exchange itself).
_QUIET = ("pymodbus",)


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level (7 for debug)."""
    return next((priority for floor, priority in _PRIORITY if levelno >= floor), 7)


def event_level(event: Event) -> int:
    """The level an event is logged at: faults, alarms and fallbacks taken at warning, the rest at info."""
    if event.kind == "fallback" and event.data.get("active") is False:
        return logging.INFO
    return logging.WARNING if event.kind in WARNING_EVENTS else logging.INFO


def log_events(log: logging.Logger, events: Sequence[Event]) -> None:
    """One line per event: its kind, its source and its reason, at its own time (simulated ones too)."""
    for event in events:
        level = event_level(event)
        if log.isEnabledFor(level):
            log.log(level, "%s %s: %s", event.kind, event.source, event.reason,
                    extra={"event_at": event.at})


def log_readings(log: logging.Logger, sensor_id: str, readings: Sequence[Reading], at: datetime) -> None:
    """The readings just taken from a sensor, at debug."""
    if log.isEnabledFor(logging.DEBUG):
        values = ", ".join(f"{r.name} = {r.value:.6g}" for r in readings)
        log.debug("reading %s: %s", sensor_id, values or "nothing", extra={"event_at": at})


def to_journal(environ: Mapping[str, str], stream_fd: int) -> bool:
    """True when `stream_fd` is the journal's stream (systemd's JOURNAL_STREAM names its device:inode)."""
    wanted = environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream_fd)
    except OSError:
        return False
    return wanted == f"{info.st_dev}:{info.st_ino}"


class LineFormatter(logging.Formatter):
    """`<time> <LEVEL> <message>`; under systemd no time of ours, and for journald a `<N>` priority per line."""

    def __init__(self, *, timestamps: bool, priorities: bool) -> None:
        super().__init__()
        self.timestamps = timestamps
        self.priorities = priorities

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line (a traceback's lines follow, each with the same priority)."""
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        if self.priorities:
            prefix = f"<{syslog_priority(record.levelno)}>"
            return "\n".join(prefix + line for line in text.splitlines() or [""])
        head = record.levelname
        if self.timestamps:
            at = getattr(record, "event_at", None)
            # Local time with its offset, in the system's zone (the box's, on a box).
            at = at.astimezone() if isinstance(at, datetime) else datetime.fromtimestamp(record.created).astimezone()
            head = f"{at.isoformat(timespec='seconds')} {head}"
        return f"{head} {text}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (tests swap it)."""

    @property
    def stream(self):  # type: ignore[no-untyped-def, override]
        """The current stderr."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def stderr_fd() -> int:
    """The file descriptor behind stderr (2 when it has none of its own)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


@contextmanager
def to_stderr(level: str, environ: Mapping[str, str]) -> Iterator[None]:
    """Log at `level` and above on stderr while the block runs; put logging back as it was after."""
    journal = to_journal(environ, stderr_fd())
    under_systemd = journal or bool(environ.get("INVOCATION_ID")) or bool(environ.get("JOURNAL_STREAM"))
    handler = _StderrHandler()
    handler.setFormatter(LineFormatter(timestamps=not under_systemd, priorities=journal))
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in _QUIET}
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, quiet_level in saved[1].items():
            logging.getLogger(name).setLevel(quiet_level)
