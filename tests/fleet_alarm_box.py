"""A box's store and outbox on a real SQLite file, for the fleet's alarm tests: events are written the way the
agent writes them (Store.raise_alarm + the controller's "alarm" event, Store.ack_alarm, fault events), and the
batches the fleet gets are the ones the box's own outbox builds (edge/link/outbox.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.controllers.events import Event
from edge.link.outbox import Outbox
from edge.storage.outbox_rows import RAW
from edge.storage.outbox_thin import thin_step
from edge.storage.store import Store
from fleet import protocol

#: 2026-03-02T01:00:00Z: the box's clock (synchronised) when the scenario starts.
BOX_T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Box:
    """One simulated box: its store, its outbox (every lane due at once), a clock moved by hand."""

    def __init__(self, directory: Path, device: str = "box-a") -> None:
        self.device = device
        self.clock = SimClock(epoch=BOX_T0)
        path = directory / f"{device}.db"
        self.store = Store(path, monotonic=self.clock.monotonic)
        self.outbox = Outbox(path, device=device, clock=self.clock, ages_s={"event": 0.0, "total": 0.0, "raw": 0.0})

    def close(self) -> None:
        """Close the store and the outbox."""
        self.store.close()
        self.outbox.close()

    def now_s(self) -> float:
        """The box's wall time, epoch seconds."""
        return self.clock.now().timestamp()

    def event(self, kind: str, source: str, reason: str, data: Mapping[str, Any]) -> None:
        """Record an event at once, as the agent records a critical one."""
        self.store.add_event_now(Event(kind, source, reason, self.clock.now(), dict(data)))

    def leak_alarm(self, controller: str, alarm_kind: str, reason: str, evidence: Mapping[str, Any]) -> int:
        """What the agent does with a leak controller's alarm: latch it, then keep the controller's event."""
        key = f"{controller}/{alarm_kind}"
        alarm_id = self.store.raise_alarm(key, alarm_kind, controller, reason, evidence, self.clock.now())
        self.event("alarm", controller, reason, {"key": key, "alarm_kind": alarm_kind, "evidence": dict(evidence)})
        return alarm_id

    def ack_locally(self, alarm_id: int, by: str) -> None:
        """A technician's `hameau-edge alarms ack` on the box."""
        self.store.ack_alarm(alarm_id, by, self.clock.now())

    def config_report(self, version: int, status: str, reasons: list[str]) -> None:
        """The link's report on a fleet config (a "config" event, sent as a config_report record)."""
        self.event("config", "fleet", f"config {version} {status}", {"version": version, "status": status,
                                                                      "reasons": reasons})

    def thin_raw(self, readings: int) -> None:
        """Write `readings` raw readings, then remove the oldest slice of the raw lane as the disk budget does."""
        for i in range(readings):
            self.store.add_readings(self.clock.now(), "lux-roof", (reading("illuminance_lx", "illuminance",
                                                                           float(i)),))
        self.store.commit()
        with self.store.transaction(with_pending=False) as conn:
            thin_step(conn, RAW, None, self.store.stamp(), self.now_s())

    def batches(self, lane: str | None = None) -> list[protocol.Batch]:
        """The batches the outbox would publish now (of one lane, when given), as the fleet parses them."""
        out = [protocol.parse_batch(self.device, b.payload) for b in self.outbox.due_batches(100)]
        return [b for b in out if lane is None or b.lane == lane]

    def take_ack(self, ack: protocol.Ack) -> None:
        """The fleet's ack: the outbox lets go of what it covers."""
        self.outbox.apply_ack(ack)
