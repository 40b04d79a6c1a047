"""Clock trust in the outbox: a box that boots at 1970 records with its boot id and monotonic time; once NTP
has set the clock, the link learns the boot's offset and corrects those records before they leave."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from drivers.reading import reading
from edge.controllers.events import Event
from edge.link.outbox import Outbox
from edge.storage.outbox_rows import RAW
from edge.storage.outbox_thin import HOUR_S, thin_step
from edge.storage.store import Store
from fleet import protocol

DEVICE = "tower-1"
#: The true wall time at this boot's monotonic zero (the test's world: 2026-03-01 06:00 UTC).
TRUE_BOOT_WALL_S = datetime(2026, 3, 1, 6, 0, tzinfo=UTC).timestamp()


class PiClock:
    """A Raspberry Pi's clocks without an RTC: wall = 1970 + monotonic until NTP sets it, then the true time."""

    def __init__(self, boot: str) -> None:
        self.boot, self.mono_s, self.wall_offset_s, self.is_synced = boot, 5.0, 0.0, False

    def monotonic(self) -> float:
        return self.mono_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.mono_s + self.wall_offset_s, UTC)

    def sleep(self, duration_s: float) -> None:
        self.mono_s += duration_s

    def synced(self) -> bool:
        return self.is_synced

    def boot_id(self) -> str:
        return self.boot

    def ntp_sync(self) -> None:
        self.wall_offset_s, self.is_synced = TRUE_BOOT_WALL_S, True


def _lux(value: float) -> tuple:
    return (reading("illuminance_lx", "illuminance", value),)


def _records(outbox: Outbox) -> tuple[list[protocol.Batch], list[protocol.Record]]:
    batches = [protocol.parse_batch(DEVICE, b.payload) for b in outbox.due_batches(20)]
    return batches, [r for b in batches for r in b.records]


def test_outbox_corrects_records_made_before_the_clock_was_synced(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", PiClock("boot-1970")
    with Store(db, monotonic=clock.monotonic) as store:
        for _ in range(120):  # two hours at 1970, a reading a minute
            store.add_readings(clock.now(), "lux-roof", _lux(clock.mono_s))
            clock.sleep(60.0)
        store.add_event(Event("decision", "lights", "dark", clock.now()))
        store.commit()
        with Outbox(db, device=DEVICE, clock=clock) as outbox:
            assert not outbox.learn_clock(), "nothing is learned from an unsynchronised clock"
            _, early = _records(outbox)
            assert {r.clock for r in early} == {"unsynced"} and early[0].wall_s < 1e5
            clock.ntp_sync()
            store.add_readings(clock.now(), "lux-roof", _lux(clock.mono_s))
            store.commit()
            clock.sleep(120.0)
            assert outbox.learn_clock()
            assert not outbox.learn_clock(), "the same offset is not learned twice"
            outbox.restart()
            batches, records = _records(outbox)
    readings = [r for r in records if r.type == "reading"]
    assert len(readings) == 121
    for r in readings[:120]:
        assert r.clock == "corrected"
        assert abs(r.wall_s - (TRUE_BOOT_WALL_S + r.body["value"])) < 1e-6, "the true time the reading was taken"
    assert readings[120].clock == "synced" and abs(readings[120].wall_s - (TRUE_BOOT_WALL_S + 7205.0)) < 1e-6
    event = next(r for r in records if r.type == "event")
    assert event.clock == "corrected" and abs(event.wall_s - (TRUE_BOOT_WALL_S + 7205.0)) < 1e-6
    assert all(b.clock_offsets == {"boot-1970": TRUE_BOOT_WALL_S} for b in batches)


def test_outbox_leaves_records_of_a_boot_without_offset_unsynced(tmp_path: Path) -> None:
    db, old = tmp_path / "box.db", PiClock("boot-old")
    with Store(db, monotonic=old.monotonic) as store:
        store.add_readings(old.now(), "lux-roof", _lux(1.0))
    new = PiClock("boot-new")
    new.ntp_sync()
    new.sleep(600.0)
    with Outbox(db, device=DEVICE, clock=new) as outbox:
        assert outbox.learn_clock()
        batches, (record,) = _records(outbox)
    assert (record.boot, record.clock, record.wall_s) == ("boot-old", "unsynced", 5.0)
    assert batches[0].clock_offsets == {} and batches[0].clock_synced


def test_outbox_relearns_an_offset_only_when_the_clock_jumped_more_than_two_seconds(tmp_path: Path) -> None:
    clock = PiClock("boot-1")
    clock.ntp_sync()
    with Outbox(tmp_path / "box.db", device=DEVICE, clock=clock) as outbox:
        assert outbox.learn_clock()
        clock.wall_offset_s += 1.5
        assert not outbox.learn_clock()
        clock.wall_offset_s += 1.0
        assert outbox.learn_clock()
        assert outbox.offsets() == {"boot-1": TRUE_BOOT_WALL_S + 2.5}


def test_outbox_corrects_the_span_of_aggregates_folded_from_unsynced_readings(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", PiClock("boot-1970")
    with Store(db, monotonic=clock.monotonic) as store:
        for _ in range(30):
            store.add_readings(clock.now(), "lux-roof", _lux(clock.mono_s))
            clock.sleep(60.0)
        store.commit()
        with store.transaction(with_pending=False) as conn:
            assert thin_step(conn, RAW, HOUR_S, store.stamp(), clock.now().timestamp()) == 29
    clock.ntp_sync()
    with Outbox(db, device=DEVICE, clock=clock) as outbox:
        outbox.learn_clock()
        clock.sleep(3600.0)
        _, records = _records(outbox)
    (aggregate,) = [r for r in records if r.type == "aggregate"]
    assert aggregate.clock == "corrected" and aggregate.body["count"] == 30
    assert abs(aggregate.body["from_s"] - (TRUE_BOOT_WALL_S + 5.0)) < 1e-6
    assert abs(aggregate.body["to_s"] - (TRUE_BOOT_WALL_S + 5.0 + 29 * 60.0)) < 1e-6
