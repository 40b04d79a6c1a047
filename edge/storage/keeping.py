"""What the keeper holds in memory for the village's safety: states, overrides, latched alarms, and their merge."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.pending import Pending
from edge.storage.schema import Alarm, from_epoch, to_epoch, to_json


def _alarm_fields(alarm: Alarm) -> dict[str, Any]:
    return {"key": alarm.key, "kind": alarm.kind, "source": alarm.source, "reason": alarm.reason,
            "evidence": dict(alarm.evidence), "raised_at": to_epoch(alarm.raised_at)}


def _override_fields(o: Override) -> dict[str, Any]:
    return {"relay": o.relay, "on": o.on, "until": to_epoch(o.until), "set_at": to_epoch(o.set_at), "by": o.by,
            "reason": o.reason}


def _override(fields: Mapping[str, Any]) -> Override:
    return Override(str(fields["relay"]), bool(fields["on"]), from_epoch(float(fields["until"])),
                    from_epoch(float(fields["set_at"])), str(fields["by"]), str(fields.get("reason", "")))


class Mirror:
    """The freshest known states (JSON text by key), overrides, latched alarms and pending override clears."""

    #: The state row that numbers each save (database commit or safety copy): the higher is the newer.
    GENERATION_KEY = "store:generation"

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.overrides: dict[str, Override] = {}
        self.latched: dict[str, dict[str, Any]] = {}
        #: Overrides that expired while the store could not take their removal: relay -> (when, by whom).
        self.clears: dict[str, tuple[datetime, str]] = {}
        self.generation = 0

    def latch(self, key: str, kind: str, source: str, reason: str, evidence: Mapping[str, Any], at_s: float) -> None:
        """Remember a latched alarm (a key already latched keeps its first alarm)."""
        self.latched.setdefault(key, {"key": key, "kind": kind, "source": source, "reason": reason,
                                      "evidence": dict(evidence), "raised_at": at_s})

    def set_latched(self, alarms: Iterable[Alarm]) -> None:
        """The latched alarms as the database has them."""
        self.latched = {a.key: _alarm_fields(a) for a in alarms}

    def merge(
        self,
        states: Mapping[str, str],
        overrides: Mapping[str, Override],
        latched: Iterable[Alarm],
        copy: Mapping[str, Any] | None,
        *,
        db_read: bool = True,
    ) -> str | None:
        """Start from the database's view (empty if it could not be read) and take from the safety copy what is
        newer; what was taken, in words."""
        self.states = dict(states)
        self.overrides = dict(overrides)
        self.set_latched(latched)
        db_generation = _generation(states.get(self.GENERATION_KEY))
        copy_generation = int(copy.get("generation", 0)) if copy is not None else 0
        self.generation = max(db_generation, copy_generation)
        if copy is None or copy_generation <= db_generation:
            return None
        taken_states = 0
        for key, value in (copy.get("states") or {}).items():
            if key != self.GENERATION_KEY and (key not in self.states or _parsed(self.states[key]) != value):
                self.states[key] = to_json(value)
                taken_states += 1
        taken_overrides = 0
        for fields in copy.get("overrides") or ():
            override = _override(fields)
            if self.overrides.get(override.relay) != override:
                self.overrides[override.relay] = override
                taken_overrides += 1
        taken_alarms = 0
        for fields in copy.get("alarms") or ():
            if fields["key"] not in self.latched:
                self.latched[fields["key"]] = dict(fields)
                taken_alarms += 1
        if not (taken_states or taken_overrides or taken_alarms):
            return None
        than = f"the database (generation {db_generation})" if db_read else "the database, which could not be read"
        return (f"the safety copy (generation {copy_generation}, written {copy.get('at')}) is newer than {than}: "
                f"restored {taken_states} state(s), {taken_alarms} latched alarm(s), {taken_overrides} override(s)")

    def safety_body(self) -> str:
        """What the safety copy holds, as canonical JSON text (equal text, nothing new to write)."""
        return json.dumps({
            "states": {k: p for k, v in sorted(self.states.items())
                       if k != self.GENERATION_KEY and (p := _parsed(v)) is not _UNREADABLE},
            "overrides": [_override_fields(o) for _, o in sorted(self.overrides.items())],
            "alarms": [a for _, a in sorted(self.latched.items())],
        }, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


#: What a saved text that is not JSON parses to: equal to no value, so a readable copy always wins.
_UNREADABLE = object()


def _parsed(text: str) -> Any:
    """A saved state's JSON value, or _UNREADABLE for text that is not JSON (the controller resets it)."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return _UNREADABLE


def _generation(text: str | None) -> int:
    """The database's generation number; 0 when it is missing or unreadable."""
    value = _parsed(text) if text is not None else None
    generation = value.get("generation") if isinstance(value, dict) else None
    return generation if isinstance(generation, int) and not isinstance(generation, bool) and generation >= 0 else 0


def buffered_events(buffer: Pending, kind: str | None, since: datetime | None, source: str | None) -> list[Event]:
    """The events waiting in a buffer, filtered like Store.events."""
    lo = float("-inf") if since is None else to_epoch(since)
    return [
        Event(k, src, reason, from_epoch(ts), json.loads(data))
        for ts, k, src, reason, data in buffer.events()
        if ts >= lo and (kind is None or k == kind) and (source is None or src == source)
    ]


def runtime_status_write(path: Path, snapshot: Mapping[str, Any]) -> bool:
    """Replace the status file in RAM (no fsync: it lives as long as the boot); whether it worked."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(to_json(snapshot), encoding="utf-8")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        return False
    return True


def runtime_status_read(path: Path) -> dict[str, Any] | None:
    """The status the agent left in RAM while its store was faulted, or None."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None
