"""The agent's store keeper: the control loop never waits long on, nor dies with, its database.

Every store error is caught here, classified (edge/storage/faults.py) and recorded as a "fault" event
with its real cause; readings and events then wait in the bounded buffer (edge/storage/pending.py) and the
store is retried after `store_retry_min_s`, twice as long after each failure up to `store_retry_max_s`.
A corrupt, truncated, replaced or vanished file is moved aside (kept, with a timestamp) and a fresh one
started. What keeps the village safe (states, latched alarms, overrides) is mirrored in memory and in the
safety copy (edge/storage/safety.py), and written back into whichever database the keeper gets next.
While the store is faulted the agent's status snapshot also goes to a small file in RAM, so that
`hameau-edge status` shows the box running without its database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from drivers.reading import Reading
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.faults import classify
from edge.storage.keeping import buffered_events, runtime_status_write
from edge.storage.recovery import STORE_EVENTS, Recovery, log
from edge.storage.schema import Alarm, event_row, from_epoch, to_epoch, to_json
from edge.storage.upkeep import Upkeep, daily_upkeep

__all__ = ["STORE_EVENTS", "StoreKeeper"]


class StoreKeeper(Recovery):
    """The store as the agent uses it: the same calls as Store, none of which raises on a store fault."""

    # -- life -------------------------------------------------------------------------------------

    def start(self, tz: ZoneInfo) -> None:
        """Open the database (moving a broken one aside), and bring it and the safety copy together."""
        self._tz = tz
        now = self._now()
        missing = self.db is None and not self.path.exists()
        if self.db is None:
            self._open(now)
        read = self._read_db(now)
        states, overrides, latched = read or ({}, {}, [])
        copy, why = self.safety.load()
        if missing and copy is not None:
            reason = f"store fault (corrupt): the database file {self.path} was missing; a fresh one is started"
            log.warning("store: %s", reason)
            self._record(Event("fault", "store", reason, now, {"class": "corrupt", "cause": "the database file was "
                               "missing", "while": "opening", "moved_to": None}))
        newer = self.mirror.merge(states, overrides, latched, copy, db_read=read is not None)
        self._started = True
        if newer:
            log.warning("store: %s", newer)
            self._record(Event("agent", "store", newer, now, {"restored_from": str(self.safety.path)}))
            if self.fault is None and self.db is not None:  # a full disk here is a fault like any other
                self._guard("writing back", lambda: self._write_back(now))
        elif copy is None and self.mirror.states:
            log.info("store: %s", why)

    def _read_db(self, now: datetime) -> tuple[dict[str, str], dict[str, Override], list[Alarm]] | None:
        """What the database holds, or None if it could not be read."""
        if self.db is not None:
            try:
                self._check_file()
                return self.db.all_states(), self.db.overrides(), self.db.latched_alarms()
            except Exception as exc:  # noqa: BLE001 - every store error is a fault, never the agent's end
                self._handle(exc, "reading", now)
                if self.db is not None and self.fault is None:  # set aside, and a fresh one opened
                    return {}, {}, []
        return None

    def keep_first(self, kinds: Iterable[str]) -> None:
        """Event kinds the buffer drops last."""
        self.buffer.keep_first(kinds)

    def commit(self, *, critical: bool = False) -> None:
        """Commit what waits (or retry a faulted store when its time has come), then keep the safety copy."""
        now = self._now()
        if self.fault is None and self.db is not None:
            try:
                self._check_file()
                self._stamp_generation()
                self.db.commit()
                self.keep_outbox_budget(now)
            except Exception as exc:  # noqa: BLE001
                self._handle(exc, "committing", now)
        elif self.fault is not None and self._monotonic() >= self._retry_at_s:
            self._retry(now)
        self._keep_safety_copy(now, critical)
        if self.fault is not None and self._snapshot is not None:
            runtime_status_write(self.status_path, {**self._snapshot, "store": self.health()})

    def close(self) -> None:
        """A clean stop: commit, write the safety copy, close."""
        self.commit(critical=True)
        if self.db is not None:
            try:
                self.db.close()
            except Exception as exc:  # noqa: BLE001
                log.warning("store: closing: %s", classify(exc, "closing").describe())
                self.db.disconnect()
            self._commits_before += self.db.commit_count
            self.db = None
        self.status_path.unlink(missing_ok=True)

    def abandon(self) -> None:
        """Die as a power cut would: nothing more is written."""
        if self.db is not None:
            self.db.disconnect()
        self.buffer.clear()

    # -- batched writes (never touch the database) ------------------------------------------------

    def add_readings(self, at: datetime, sensor: str, readings: Sequence[Reading]) -> None:
        """Queue one sensor's readings."""
        self.buffer.add_readings(to_epoch(at), sensor, readings)

    def add_event(self, event: Event) -> None:
        """Queue an event."""
        self.buffer.add_event(event_row(event))

    def save_state(self, key: str, value: Mapping[str, Any]) -> None:
        """Queue a state (and keep it for the safety copy)."""
        self.save_state_json(key, to_json(value))

    def save_state_json(self, key: str, text: str) -> None:
        """Queue a state given as JSON text (and keep it for the safety copy)."""
        self.buffer.states[key] = text
        self.mirror.states[key] = text

    def save_status(self, snapshot: Mapping[str, Any]) -> None:
        """Queue the agent's status snapshot."""
        self._snapshot = snapshot
        self.buffer.status = to_json(snapshot)

    # -- at once ----------------------------------------------------------------------------------

    def add_event_now(self, event: Event) -> None:
        """Queue an event and commit at once if the store can take it."""
        self.buffer.add_event(event_row(event))
        if self.fault is None and self.db is not None:
            self._guard("committing", self.db.commit)

    def raise_alarm(
        self, key: str, kind: str, source: str, reason: str, evidence: Mapping[str, Any], at: datetime
    ) -> None:
        """Latch an alarm: in the database at once if it can take it, in memory and the safety copy anyway."""
        self.mirror.latch(key, kind, source, reason, evidence, to_epoch(at))
        self._safety_due = True
        if self.fault is None and (db := self.db) is not None:
            self._guard("raising an alarm", lambda: db.raise_alarm(key, kind, source, reason, evidence, at))

    def clear_override(self, relay: str, at: datetime, by: str) -> Override | None:
        """Remove a relay's override at once, or as soon as the store can take it."""
        removed = self.mirror.overrides.pop(relay, None)
        self._safety_due = True
        if self.fault is None and (db := self.db) is not None:
            self._guard("clearing an override", lambda: db.clear_override(relay, at, by))
            if self.fault is None:
                return removed
        if removed is not None:
            self.mirror.clears[relay] = (at, by)
        return removed

    # -- reads (fall back on what is known in memory) ---------------------------------------------

    def changed_externally(self) -> bool:
        """Whether a technician's command changed the database (always after the store came back)."""
        if self._reread and self.fault is None:
            self._reread = False
            return True
        if self.fault is not None or self.db is None:
            return False
        return bool(self._guard("reading", self.db.changed_externally))

    def overrides(self) -> dict[str, Override]:
        """The overrides, from the database when it answers, else as last known."""
        if self.fault is None and self.db is not None:
            found = self._guard("reading overrides", self.db.overrides)
            if found is not None:
                self.mirror.overrides = dict(found)
                self._safety_due = True
        return dict(self.mirror.overrides)

    def acks_since(self, cursor: int | None) -> tuple[frozenset[str], int | None]:
        """Acknowledged alarm keys since `cursor` (none while the database does not answer)."""
        if self.fault is None and (db := self.db) is not None:
            found = self._guard("reading acknowledgements", lambda: db.acks_since(cursor))
            if found is not None:
                for key in found[0]:
                    self.mirror.latched.pop(key, None)
                self._safety_due = self._safety_due or bool(found[0])
                return found
        return frozenset(), cursor

    def load_state(self, key: str) -> dict[str, Any] | None:
        """The freshest state saved under `key` (database, safety copy or this run), or None."""
        text = self.mirror.states.get(key)
        return None if text is None else json.loads(text)

    def readings(self, sensor: str, name: str, since: datetime | None = None, until: datetime | None = None) -> list:
        """Raw readings, from the database and the buffer."""
        if (db := self.db) is not None:
            found = self._guard("reading", lambda: db.readings(sensor, name, since, until))
            if found is not None:
                return found
        lo, hi = (-math.inf if since is None else to_epoch(since)), (math.inf if until is None else to_epoch(until))
        return [(from_epoch(ts), v) for ts, s, n, v in self.buffer.readings if s == sensor and n == name and lo <= ts < hi]

    def events(self, kind: str | None = None, since: datetime | None = None, source: str | None = None) -> list[Event]:
        """Events, from the database and the buffer."""
        if (db := self.db) is not None:
            found = self._guard("reading", lambda: db.events(kind, since, source))
            if found is not None:
                return found
        return buffered_events(self.buffer, kind, since, source)

    @property
    def pending(self) -> int:
        """Rows waiting in memory."""
        return len(self.buffer)

    @property
    def commit_count(self) -> int:
        """Commits made through every database this keeper used."""
        return self._commits_before + (self.db.commit_count if self.db is not None else 0)

    def health(self) -> dict[str, Any]:
        """The store's state for the status snapshot."""
        fault = self.fault
        return {
            "ok": fault is None and self.db is not None,
            "fault": None if fault is None else {
                "class": fault.kind, "cause": fault.cause, "while": fault.op,
                "since": None if self.fault_since is None else self.fault_since.isoformat(),
                "attempts": self.attempts, "next_retry_s": round(max(0.0, self._retry_at_s - self._monotonic()), 1),
            },
            "buffered": {"readings": len(self.buffer.readings), "events": self.buffer.event_count,
                         "max_readings": self.buffer.max_readings, "max_events": self.buffer.max_events},
            "dropped": {"readings": self.buffer.dropped_readings, "events": self.buffer.dropped_events},
            "safety_copy": {"path": str(self.safety.path), "writes": self.safety.writes,
                            "failures": self.safety.failures, "error": self.safety.last_error},
            "moved_aside": list(self.moved_aside),
            "thinned": dict(self.thinned),
            "budget_bytes": self.budget_bytes,
        }

    def upkeep(self, now: datetime) -> Upkeep | None:
        """The daily retention and budget upkeep (None while the store is faulted)."""
        if self.fault is not None or (db := self.db) is None:
            return None
        s = self.settings
        done = self._guard("upkeep", lambda: daily_upkeep(
            db, now, self._tz, s.keep_readings_days, s.keep_hourly_days, self.budget_bytes
        ))
        if done is not None:
            self._count_thinned(done.thinned)
            self._guard("upkeep", lambda: self.keep_outbox_budget(now, force=True))
        return done
