"""What every fleet store offers (SQLite now, PostgreSQL later) and the time-trust rule they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fleet import protocol
from fleet.store.db import Database

#: 2020-01-01T00:00:00Z: a box's wall time before this is a clock that was never set (1970, or a stale image).
TRUSTED_FROM_S = 1_577_836_800.0
#: How far past the fleet's own reception time a box's wall time may be and still be believed.
FUTURE_SLACK_S = 300.0
#: Record clock states whose wall time the box vouches for.
TRUSTED_CLOCKS = frozenset({"synced", "corrected"})


def plausible(ts: float, received_at: float) -> bool:
    """A wall time the fleet can believe: not before 2020, not more than 300 s after it was received."""
    return TRUSTED_FROM_S <= ts <= received_at + FUTURE_SLACK_S


def trusted_ts(clock: str, wall_s: float, received_at: float) -> float | None:
    """The timestamp to store for a record: its wall time if trusted (spec's rule), else None."""
    if clock in TRUSTED_CLOCKS and plausible(wall_s, received_at):
        return wall_s
    return None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the fleet holds it."""

    device: str
    lane: str
    seq: int
    boot: str
    mono_s: float
    wall_s: float
    ts: float | None
    clock: str
    type: str
    body: Mapping[str, Any]
    received_at: float


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What the fleet knows of one box: when it was seen, whether it is online, what it runs."""

    id: str
    first_seen: float
    last_seen: float
    online: bool | None
    online_since: float | None
    boot: str | None
    version: str | None
    config_version: int | None
    batches: int
    records_new: int
    records_resent: int


@dataclass(frozen=True, slots=True)
class ThinnedRange:
    """Seqs of a lane the box deleted unsent, as its `thinned` record reported them."""

    lane: str
    seq_from: int
    seq_to: int
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """Totals over the whole store (or one device)."""

    devices: int
    records: Mapping[str, int] = field(default_factory=dict)
    untrusted: int = 0
    thinned: int = 0
    rejects: int = 0


class IngestObserver(Protocol):
    """Work done inside the ingest transaction of a batch or a status (alarms, roll-up marks, reports).

    It runs in the same transaction as the records it sees, so a killed serve process leaves both or
    neither; it must be idempotent, since a batch may arrive again (its records are then not new).
    """

    def on_batch(self, db: Database, batch: protocol.Batch, received_at: float) -> None:
        """A batch was stored (or stored again)."""
        ...

    def on_status(self, db: Database, status: protocol.Status, received_at: float) -> None:
        """A box's status (online, offline by its last will) was stored."""
        ...


class FleetStore(Protocol):
    """The fleet's store: one implementation per database engine, the same behaviour for each."""

    def store_batch(self, batch: protocol.Batch, received_at: float) -> protocol.Ack:
        """Store a batch in one transaction (idempotent), advance the lanes' marks, return the ack."""
        ...

    def store_status(self, status: protocol.Status, received_at: float) -> DeviceState:
        """Record a box's online/offline state, boot, version and config version."""
        ...

    def count_reject(self, device: str, reason: str, detail: str, at: float) -> None:
        """Count a refused message against its device ('' when unknown) and reason."""
        ...

    def acked(self, device: str) -> dict[str, int]:
        """The high-water mark of each lane of a device (0 for a lane never seen)."""
        ...

    def records(self, device: str, lane: str) -> list[StoredRecord]:
        """Every stored record of a device's lane, in seq order."""
        ...

    def missing(self, device: str, lane: str) -> list[tuple[int, int]]:
        """Inclusive ranges of seqs up to the lane's mark neither stored nor reported thinned."""
        ...

    def thinned(self, device: str) -> list[ThinnedRange]:
        """The thinned ranges a device reported, in the order of its reports."""
        ...

    def device(self, device: str) -> DeviceState | None:
        """One device's state, or None if the fleet never heard of it."""
        ...

    def rejects(self) -> dict[tuple[str, str], int]:
        """Refused messages counted per (device, reason)."""
        ...

    def counts(self, device: str | None = None) -> StoreCounts:
        """Totals over the store, or over one device."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...
