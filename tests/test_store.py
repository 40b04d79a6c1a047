"""The box's local store: schema, WAL, batched commits, what survives a power cut, a second connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.schema import MIGRATIONS, SCHEMA_VERSION, NewerSchemaError, migrate
from edge.storage.store import Store

T0 = datetime(2026, 1, 10, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "lib" / "hameau" / "hameau.db"


@pytest.fixture
def store(db_path: Path, clock: SimClock) -> Iterator[Store]:
    s = Store(db_path, commit_interval_s=30.0, monotonic=clock.monotonic)
    yield s
    s.close()


def _reopen(db_path: Path, clock: SimClock) -> Store:
    return Store(db_path, commit_interval_s=30.0, monotonic=clock.monotonic)


def _count(db_path: Path, table: str) -> int:
    """Rows as another process sees them (committed only)."""
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _lux(value: float) -> tuple:
    return (reading("illuminance_lx", "illuminance", value),)


def _decision(at: datetime, n: int = 0) -> Event:
    return Event("decision", "lights", f"dark {n}", at, {"relay": "street-lights", "on": True, "lux": 3.0})


def test_store_creates_directories_schema_and_wal(store: Store, db_path: Path) -> None:
    assert db_path.is_file()
    assert store.journal_mode() == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: each commit survives a power cut
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "readings", "events", "alarms", "overrides", "state", "status", "readings_hourly",
            "readings_daily"} <= tables
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "readings_sensor_name_ts" in indexes
    assert store.schema_version_found == 0
    store.close()
    again = Store(db_path, monotonic=lambda: 0.0)
    assert again.schema_version_found == SCHEMA_VERSION
    again.close()


def test_store_migration_hook_runs_new_steps_once(db_path: Path, clock: SimClock) -> None:
    _reopen(db_path, clock).close()

    def add_note_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE events ADD COLUMN note TEXT")

    steps = {**MIGRATIONS, SCHEMA_VERSION + 1: add_note_column}
    with sqlite3.connect(db_path, isolation_level=None) as conn:
        assert migrate(conn, target=SCHEMA_VERSION + 1, migrations=steps) == SCHEMA_VERSION
        assert migrate(conn, target=SCHEMA_VERSION + 1, migrations=steps) == SCHEMA_VERSION + 1
        columns = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    assert columns.count("note") == 1
    with pytest.raises(NewerSchemaError, match="newer than this Hameau"):
        _reopen(db_path, clock)


def test_store_batches_a_thousand_readings_into_one_commit(store: Store, db_path: Path, clock: SimClock) -> None:
    for i in range(1000):
        store.add_readings(T0 + timedelta(seconds=i), "lux-roof", _lux(float(i)))
    clock.advance(10.0)
    assert store.maybe_commit() is False
    assert store.commit_count == 0 and _count(db_path, "readings") == 0
    clock.advance(20.0)
    assert store.maybe_commit() is True
    assert store.maybe_commit() is False
    assert store.commit_count == 1 and _count(db_path, "readings") == 1000
    clock.advance(60.0)
    assert store.maybe_commit() is False, "nothing pending: no write at all"
    assert store.commit_count == 1


def test_store_abandon_loses_only_what_was_not_committed(store: Store, db_path: Path, clock: SimClock) -> None:
    store.add_readings(T0, "lux-roof", _lux(500.0))
    store.save_state("controller:lights", {"mode": "day"})
    store.commit()
    store.add_readings(T0 + timedelta(minutes=1), "lux-roof", _lux(400.0))
    alarm_id = store.raise_alarm(
        "leak/night-flow", "night-flow", "leak", "water ran all night", {"flow_lph": 40.0}, T0
    )
    store.set_override(Override("street-lights", True, T0 + timedelta(hours=3), T0, "technician:ana", "fete"))
    store.add_readings(T0 + timedelta(minutes=2), "lux-roof", _lux(300.0))
    store.add_event(_decision(T0 + timedelta(minutes=2)))
    store.save_state("controller:lights", {"mode": "night"})
    store.save_status({"at": T0.isoformat()})
    store.abandon()

    after = _reopen(db_path, clock)
    values = [v for _, v in after.readings("lux-roof", "illuminance_lx")]
    assert values == [500.0, 400.0], "rows queued before an immediate commit went with it; the last ones are lost"
    assert [a.id for a in after.latched_alarms()] == [alarm_id]
    assert after.overrides()["street-lights"].until == T0 + timedelta(hours=3)
    assert after.load_state("controller:lights") == {"mode": "day"}
    assert after.load_status() is None
    assert after.events(kind="decision") == []
    after.close()


def test_store_restart_restores_state_overrides_alarms_and_status(
    store: Store, db_path: Path, clock: SimClock
) -> None:
    store.save_state("meter:water-main", {"total_l": 12345.5})
    store.save_state("controller:heating", {"mode": "comfort", "since": T0.isoformat()})
    store.save_status({"at": T0.isoformat(), "relays": {"hall-heating": {"on": True}}})
    store.set_override(Override("hall-heating", False, T0 + timedelta(days=2), T0, "technician:ana"))
    store.raise_alarm("heating/frost", "frost", "heating", "hall at 3 °C", {"temperature_c": 3.0}, T0)
    store.close()
    store.close()  # closing twice is harmless

    after = _reopen(db_path, clock)
    assert after.load_state("meter:water-main") == {"total_l": 12345.5}
    assert after.load_state("controller:heating") == {"mode": "comfort", "since": T0.isoformat()}
    assert after.load_state("controller:nothing") is None
    assert after.load_status() == {"at": T0.isoformat(), "relays": {"hall-heating": {"on": True}}}
    override = after.overrides()["hall-heating"]
    assert (override.on, override.set_at, override.until, override.by) == (
        False, T0, T0 + timedelta(days=2), "technician:ana"
    )
    [alarm] = after.latched_alarms()
    assert (alarm.key, alarm.kind, alarm.source, alarm.raised_at) == ("heating/frost", "frost", "heating", T0)
    assert alarm.evidence == {"temperature_c": 3.0} and alarm.latched
    after.close()


def test_store_second_connection_sees_commits_and_changed_externally_flips(
    store: Store, db_path: Path, clock: SimClock
) -> None:
    technician = _reopen(db_path, clock)
    store.add_readings(T0, "lux-roof", _lux(12.0))
    assert technician.readings("lux-roof", "illuminance_lx") == []
    store.commit()
    assert technician.readings("lux-roof", "illuminance_lx") == [(T0, 12.0)]
    assert store.changed_externally() is False, "its own commits are not external changes"
    technician.set_override(Override("street-lights", True, T0 + timedelta(hours=1), T0, "technician:ana"))
    assert store.changed_externally() is True
    assert store.changed_externally() is False
    assert store.overrides()["street-lights"].on is True
    technician.close()


def test_store_latches_an_alarm_key_once_and_acks_it(store: Store, db_path: Path, clock: SimClock) -> None:
    first = store.raise_alarm("leak/burst", "burst", "leak", "2000 L/h", {"flow_lph": 2000.0}, T0)
    commits = store.commit_count
    again = store.raise_alarm("leak/burst", "burst", "leak", "still 2000 L/h", {}, T0 + timedelta(minutes=1))
    assert again == first and store.commit_count == commits, "a latched key is not raised (nor written) twice"
    assert store.acks_since(None) == (frozenset(), 0)

    acked = store.ack_alarm(first, "technician:ana", T0 + timedelta(hours=1))
    assert acked is not None and not acked.latched
    assert (acked.acked_by, acked.acked_at) == ("technician:ana", T0 + timedelta(hours=1))
    assert store.latched_alarms() == []
    [event] = store.events(kind="alarm_acked")
    assert event.source == "technician:ana" and event.data["key"] == "leak/burst"
    assert _count(db_path, "events") == 1, "the acknowledgement is committed at once"

    keys, cursor = store.acks_since(None)
    assert keys == {"leak/burst"} and cursor == 1
    assert store.acks_since(cursor) == (frozenset(), 1)
    assert store.ack_alarm(first, "technician:bob", T0 + timedelta(hours=2)) == acked, "already acknowledged"
    assert store.ack_alarm(999, "technician:bob", T0) is None

    second = store.raise_alarm("leak/burst", "burst", "leak", "burst again", {}, T0 + timedelta(hours=3))
    assert second != first
    assert store.acks_since(None) == (frozenset(), 1), "an old ack must not clear the alarm raised since"


def test_store_clear_override_records_who_or_expiry(store: Store) -> None:
    until = T0 + timedelta(hours=2)
    store.set_override(Override("street-lights", True, until, T0, "technician:ana", "village fete"))
    assert store.clear_override("hall-heating", T0, "technician:ana") is None
    removed = store.clear_override("street-lights", T0 + timedelta(hours=1), "technician:bob")
    assert removed is not None and removed.reason == "village fete"
    assert store.overrides() == {}
    store.set_override(Override("street-lights", False, until, T0 + timedelta(minutes=90), "technician:ana"))
    store.clear_override("street-lights", until, "expiry")
    reasons = [(e.data["action"], e.reason) for e in store.events(kind="override")]
    assert reasons[0][0] == "set" and "forced on" in reasons[0][1] and "village fete" in reasons[0][1]
    assert reasons[1] == ("cleared", "street-lights back to automatic control: override cleared by technician:bob")
    assert reasons[3] == ("cleared", "street-lights back to automatic control: override expired")


def test_store_queries_filter_and_include_pending_rows(store: Store) -> None:
    for i in range(6):
        climate = (
            reading("temperature_c", "temperature", 18.0 + i),
            reading("relative_humidity_pct", "relative_humidity", 50),
        )
        store.add_readings(T0 + timedelta(minutes=i), "hall-climate", climate)
        if i == 2:
            store.commit()
    window = store.readings("hall-climate", "temperature_c", T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))
    assert window == [(T0 + timedelta(minutes=m), 18.0 + m) for m in (1, 2, 3)]
    assert len(store.readings("hall-climate", "relative_humidity_pct")) == 6
    store.add_event(_decision(T0, 1))
    store.add_event_now(Event("fault", "lux-roof", "BH1750 not plugged", T0 + timedelta(minutes=1)))
    store.add_event(_decision(T0 + timedelta(minutes=2), 2))
    assert [e.reason for e in store.events()] == ["dark 1", "BH1750 not plugged", "dark 2"]
    assert [e.reason for e in store.events(kind="decision", since=T0 + timedelta(minutes=1))] == ["dark 2"]
    assert [e.kind for e in store.events(source="lux-roof")] == ["fault"]
    assert store.events(kind="decision")[0].data == {"relay": "street-lights", "on": True, "lux": 3.0}


def test_store_immediate_write_resets_the_batch_timer(store: Store, db_path: Path, clock: SimClock) -> None:
    store.add_readings(T0, "lux-roof", _lux(1.0))
    clock.advance(25.0)
    store.add_event_now(Event("interlock", "heating", "frost protection", T0))
    assert _count(db_path, "readings") == 1 and store.commit_count == 1
    store.add_readings(T0, "lux-roof", _lux(2.0))
    clock.advance(10.0)
    assert store.maybe_commit() is False
    clock.advance(20.0)
    assert store.maybe_commit() is True


def test_store_size_grows_and_times_must_be_aware(store: Store) -> None:
    before = store.size_bytes()
    for i in range(2000):
        store.add_readings(T0 + timedelta(seconds=i), "lux-roof", _lux(float(i)))
    store.commit()
    assert store.size_bytes() > before > 0
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_readings(datetime(2026, 1, 1), "lux-roof", _lux(1.0))
    with pytest.raises(ValueError, match="positive"):
        Store(store.path, commit_interval_s=0, monotonic=lambda: 0.0)


def test_store_closed_store_says_so(store: Store) -> None:
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.overrides()
