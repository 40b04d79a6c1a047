"""The keeper's fault machinery: classify, record, retry with backoff, move a broken file aside, write back.

A fault starts with a "fault" event from source "store" (another whenever its cause changes), the next retry after
`store_retry_min_s`, then twice as long after each failure up to `store_retry_max_s`; while it lasts, a
retry waits at most RETRY_BUSY_TIMEOUT_MS for another program's lock. A corrupt file is closed, moved aside
and replaced by a fresh one into which memory is written back. It ends with a "fault_cleared" event.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.model import AgentConfig
from edge.controllers.events import Event
from edge.storage.budget import file_cap_bytes
from edge.storage.faults import (
    CORRUPT,
    FULL,
    UNAVAILABLE,
    FileProblem,
    StoreFault,
    classify,
)
from edge.storage.keeping import Mirror
from edge.storage.outbox_rows import StampSource, stamp_source
from edge.storage.outbox_thin import THIN_DOWN_TO as OUTBOX_THIN_DOWN_TO
from edge.storage.outbox_thin import OutboxBudget, appended_rows, outbox_bytes, thin_outbox
from edge.storage.pending import Pending
from edge.storage.place import move_aside, runtime_status_path, safety_copy_path
from edge.storage.safety import SafetyCopy
from edge.storage.schema import event_row, to_epoch, to_json
from edge.storage.store import BUSY_TIMEOUT_MS, OnConnect, Store
from edge.storage.upkeep import THIN_ABOVE, THIN_DOWN_TO, retain, thin_to

log = logging.getLogger("hameau.store")

#: Event kinds the keeper records (source "store"), kept first in the buffer like alarms.
STORE_EVENTS = frozenset({"fault", "fault_cleared", "agent"})
#: While a fault lasts, a retry waits this long at most for another program's lock.
RETRY_BUSY_TIMEOUT_MS = 200


class Recovery:
    """What the keeper knows of its database and its faults, and how it gets over them."""

    def __init__(
        self,
        settings: AgentConfig,
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float],
        on_connect: OnConnect | None = None,
        store: Store | None = None,
        stamp: StampSource | None = None,
        outbox_budget_bytes: int | None = None,
    ) -> None:
        self.settings = settings
        self.path = store.path if store is not None else settings.db_path
        self._now, self._monotonic, self._on_connect = now, monotonic, on_connect
        self._stamp = stamp if stamp is not None else stamp_source(monotonic)
        self.budget_bytes = round(settings.db_budget_mb * 1e6)
        self.outbox = OutboxBudget(outbox_budget_bytes, self.budget_bytes)
        self.buffer = Pending(settings.buffer_max_readings, settings.buffer_max_events, STORE_EVENTS, self._stamp)
        self.db: Store | None = None
        if store is not None:
            self.buffer.keep_first(store.buffer.keep_kinds)
            store.buffer = self.buffer
            store.apply_budget(self.budget_bytes)
            self.db = store
        self.safety = SafetyCopy(safety_copy_path(self.path))
        self.status_path = runtime_status_path(self.path)
        self.mirror = Mirror()
        self.fault: StoreFault | None = None
        self.fault_since: datetime | None = None
        self.attempts = 0
        self.moved_aside: list[str] = []
        self.thinned: dict[str, int] = {}
        self._retry_at_s = math.inf
        self._retry_delay_s = settings.store_retry_min_s
        self._commits_before = 0
        self._reread = False
        self._thinned_this_fault = False
        self._safety_due = True
        self._safety_body: str | None = None
        self._safety_at_s = -math.inf
        self._snapshot: Mapping[str, Any] | None = None
        self._tz = ZoneInfo("UTC")
        self._started = False

    def _guard(self, op: str, call: Callable[[], Any]) -> Any:
        """`call()`, or None after recording its error as a store fault."""
        try:
            return call()
        except Exception as exc:  # noqa: BLE001
            self._handle(exc, op, self._now())
            return None

    def _check_file(self) -> None:
        if self.db is not None and (problem := self.db.file_problem()) is not None:
            raise FileProblem(problem)

    def _handle(self, exc: BaseException, op: str, now: datetime) -> None:
        fault = classify(exc, op)
        if fault.kind == CORRUPT:
            self._set_aside(fault, now)
        else:
            self._enter(fault, now)

    def _record(self, event: Event) -> None:
        self.buffer.add_event(event_row(event))

    def _enter(self, fault: StoreFault, now: datetime) -> None:
        """Start (or go on with) a fault: an event when it starts or its cause changes, the next retry."""
        first = self.fault is None
        if first or (fault.kind, fault.cause) != (self.fault.kind, self.fault.cause):  # type: ignore[union-attr]
            b = self.buffer
            reason = (f"store fault ({fault.kind}): {fault.describe()}{self._budget_note(fault)}; readings and events "
                      f"wait in memory (up to {b.max_readings} readings, {b.max_events} events) and the store is retried")
            log.warning("store: %s", reason)
            self._record(Event("fault", "store", reason, now, {"class": fault.kind, "cause": fault.cause,
                                                                     "while": fault.op}))
        if first:
            self.fault_since, self.attempts, self._thinned_this_fault = now, 0, False
            self._retry_delay_s = self.settings.store_retry_min_s
            if (db := self.db) is not None:
                self._guard_quietly(lambda: db.set_busy_timeout(RETRY_BUSY_TIMEOUT_MS))
        self.fault = fault
        self._retry_at_s = self._monotonic() + self._retry_delay_s

    def _budget_note(self, fault: StoreFault) -> str:
        """', at its budget of N MB' when a full database has reached its own cap rather than a full disk."""
        if fault.kind != FULL or self.db is None:
            return ""
        try:
            stats = self.db.page_stats()
        except Exception:  # noqa: BLE001
            return ""
        at_cap = stats.used_bytes >= THIN_ABOVE * file_cap_bytes(self.budget_bytes, stats[2])
        return f", at its budget of {self.budget_bytes / 1e6:g} MB (the oldest data is thinned)" if at_cap else ""

    @staticmethod
    def _guard_quietly(call: Callable[[], Any]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001, S110 - the fault is already being handled
            pass

    def _open(self, now: datetime, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> bool:
        """Open the database; a corrupt one is moved aside and a fresh one opened. Whether one is open."""
        try:
            store = Store(self.path, commit_interval_s=self.settings.commit_interval_s, monotonic=self._monotonic,
                          buffer=self.buffer, budget_bytes=self.budget_bytes, busy_timeout_ms=busy_timeout_ms,
                          on_connect=self._on_connect, stamp=self._stamp)
        except Exception as exc:  # noqa: BLE001
            fault = classify(exc, "opening")
            if fault.kind == CORRUPT:
                return self._set_aside(fault, now)
            self._enter(fault, now)
            return False
        self.db = store
        return True

    def _set_aside(self, fault: StoreFault, now: datetime) -> bool:
        """Move a broken database aside and start a fresh one, written back from memory. Whether it worked."""
        if self.db is not None:
            self._guard_quietly(self.db.disconnect)
            self._commits_before += self.db.commit_count
            self.db = None
        try:
            moved = move_aside(self.path, now)
        except OSError as exc:
            self._enter(StoreFault(UNAVAILABLE, f"{fault.cause}; cannot move it aside: {exc.strerror}", fault.op), now)
            return False
        where = f"moved aside to {moved}" if moved is not None else "nothing left to move aside"
        reason = f"store fault (corrupt): {fault.describe()}; {where}; a fresh database is started and written back"
        log.warning("store: %s", reason)
        if moved is not None:
            self.moved_aside.append(str(moved))
        self._record(Event("fault", "store", reason, now, {
            "class": fault.kind, "cause": fault.cause, "while": fault.op, "moved_to": None if moved is None else str(moved),
        }))
        try:
            self.db = Store(self.path, commit_interval_s=self.settings.commit_interval_s, monotonic=self._monotonic,
                            buffer=self.buffer, budget_bytes=self.budget_bytes, on_connect=self._on_connect,
                            stamp=self._stamp)
            if self._started:  # at start, the safety copy is merged in next
                self._write_back(now)
        except Exception as exc:  # noqa: BLE001 - a fresh file that fails too is not moved aside again
            again = classify(exc, "starting a fresh database")
            self._enter(StoreFault(UNAVAILABLE if again.kind == CORRUPT else again.kind, again.cause, again.op), now)
            return self.db is not None
        if self.fault is not None:
            self._resume(now)
        return True

    def _write_back(self, now: datetime) -> None:
        """Write what memory holds (states, latched alarms, overrides, pending rows) into the database."""
        assert self.db is not None
        self._stamp_generation(force=True)
        m = self.mirror
        event = Event("fault_cleared", "store", f"written back into {self.path}: {len(m.states)} state(s), "
                      f"{len(m.latched)} latched alarm(s), {len(m.overrides)} override(s)", now,
                      {"states": len(m.states), "alarms": len(m.latched), "overrides": len(m.overrides)})
        self.db.restore(m.states, m.latched.values(), m.overrides.values(), event)
        for relay, (at, by) in list(m.clears.items()):
            self.db.clear_override(relay, at, by)
            del m.clears[relay]
        self._safety_due = True

    def _retry(self, now: datetime) -> None:
        """One more try: if it fails, the next comes twice as long after (at most store_retry_max_s)."""
        assert self.fault is not None
        self.attempts += 1
        self._retry_delay_s = min(2 * self._retry_delay_s, self.settings.store_retry_max_s)
        if self.db is None or self.fault.kind == UNAVAILABLE:
            if self.db is not None:
                self._guard_quietly(self.db.disconnect)
                self._commits_before += self.db.commit_count
                self.db = None
            if not self._open(now, RETRY_BUSY_TIMEOUT_MS):
                return
            if self.fault is None:  # a corrupt file was moved aside and the fresh one is running
                return
        try:
            self._check_file()
            if self.fault.kind == FULL:
                self._thin_for_room(now)
            self._write_back(now)
        except Exception as exc:  # noqa: BLE001
            self._handle(exc, "retrying", now)
            return
        self._resume(now)

    def _resume(self, now: datetime) -> None:
        fault, since = self.fault, self.fault_since
        assert fault is not None and since is not None and self.db is not None
        b = self.buffer
        reason = (f"store resumed after {(now - since).total_seconds():.0f} s of {fault.kind} ({fault.cause}), "
                  f"{self.attempts} attempt(s); dropped while faulted so far: {b.dropped_readings} reading(s), "
                  f"{b.dropped_events} event(s)")
        log.warning("store: %s", reason)
        self.fault, self.fault_since, self._retry_at_s, self._reread = None, None, math.inf, True
        db = self.db
        self._guard_quietly(lambda: db.set_busy_timeout(BUSY_TIMEOUT_MS))
        self._record(Event("fault_cleared", "store", reason, now, {
            "class": fault.kind, "cause": fault.cause, "after_s": (now - since).total_seconds(),
            "attempts": self.attempts, "dropped_readings": b.dropped_readings, "dropped_events": b.dropped_events,
        }))
        self._guard("committing", self.db.commit)
        self.status_path.unlink(missing_ok=True)

    def _thin_for_room(self, now: datetime) -> None:
        """Make room in a full database: down to 80 % of its cap if it reached its budget; on a disk that
        filled below the budget, fold what the retention policy lets go (once per fault), nothing younger."""
        assert self.db is not None
        stats = self.db.page_stats()
        cap_bytes = file_cap_bytes(self.budget_bytes, stats[2])
        if stats.used_bytes >= THIN_ABOVE * cap_bytes:
            self._count_thinned(thin_to(self.db, THIN_DOWN_TO * cap_bytes, now, self._tz))
            self.keep_outbox_budget(now, force=True)
        elif not self._thinned_this_fault:
            self._thinned_this_fault = True
            s = self.settings
            self._count_thinned(retain(self.db, now, self._tz, s.keep_readings_days, s.keep_hourly_days))

    def keep_outbox_budget(self, now: datetime, *, force: bool = False) -> None:
        """Thin the outbox if it is over its budget (checked every `check_interval_s` unless forced); raises
        the store's errors like any write."""
        db = self.db
        if db is None:
            return
        appended = appended_rows(db.conn)
        if not (force or self.outbox.due(self._monotonic(), appended)):
            return
        budget = self.outbox.budget_bytes
        size = outbox_bytes(db.conn)
        self.outbox.measure(size, appended, self._monotonic())
        if size <= budget:
            return
        target = OUTBOX_THIN_DOWN_TO * budget
        removed = thin_outbox(lambda: db.transaction(with_pending=False), db.conn, target, db.stamp(), to_epoch(now))
        self.outbox.thinned.update(removed)
        self._count_thinned({f"outbox {lane} records removed": n for lane, n in removed.items() if n})

    def _count_thinned(self, counts: Mapping[str, int]) -> None:
        for what, n in counts.items():
            self.thinned[what] = self.thinned.get(what, 0) + n

    # -- the safety copy --------------------------------------------------------------------------

    def _stamp_generation(self, *, force: bool = False) -> None:
        if force or self.buffer.states:
            self.mirror.generation += 1
            self.buffer.states[Mirror.GENERATION_KEY] = to_json({"generation": self.mirror.generation})

    def _keep_safety_copy(self, now: datetime, critical: bool) -> None:
        due = critical or self._safety_due or self.fault is not None
        if not due and self._monotonic() - self._safety_at_s < self.settings.safety_copy_interval_s:
            return
        if self.fault is None and self.db is not None:
            latched = self._guard("reading alarms", self.db.latched_alarms)
            if latched is not None:
                self.mirror.set_latched(latched)
        body = self.mirror.safety_body()
        if body == self._safety_body:
            self._safety_due = False
            return
        self.mirror.generation += 1
        if self.safety.write({"generation": self.mirror.generation, "at": now.isoformat(), "db": str(self.path),
                              **json.loads(body)}):
            self._safety_body, self._safety_at_s, self._safety_due = body, self._monotonic(), False
        else:
            log.warning("store: cannot write the safety copy %s: %s", self.safety.path, self.safety.last_error)
