"""The agent's store keeper on real SQLite files: a broken file set aside and the village state restored, a
held lock waited out with backoff, a read-only store run from memory, and the safety copy's write policy."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.config.model import AgentConfig
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.keeper import StoreKeeper
from edge.storage.keeping import Mirror, runtime_status_read
from edge.storage.store import Store

T0 = datetime(2026, 1, 12, 13, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
RETRY_MIN_S = 10.0
RETRY_MAX_S = 80.0
SAFETY_INTERVAL_S = 3600.0


@pytest.fixture
def clock() -> SimClock:
    return SimClock(epoch=T0)


@pytest.fixture
def settings(tmp_path: Path) -> AgentConfig:
    return AgentConfig(db_path=tmp_path / "hameau.db", commit_interval_s=120.0, store_retry_min_s=RETRY_MIN_S,
                       store_retry_max_s=RETRY_MAX_S, safety_copy_interval_s=SAFETY_INTERVAL_S)


@pytest.fixture
def keepers() -> Iterator[list[StoreKeeper]]:
    made: list[StoreKeeper] = []
    yield made
    for keeper in made:
        keeper.abandon()


def _keeper(keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock, **kwargs: object) -> StoreKeeper:
    keeper = StoreKeeper(settings, now=clock.now, monotonic=clock.monotonic, **kwargs)  # type: ignore[arg-type]
    keepers.append(keeper)
    keeper.start(PARIS)
    return keeper


def _lux(value: float) -> tuple:
    return (reading("illuminance_lx", "illuminance", value),)


def _store_events(keeper: StoreKeeper, kind: str) -> list[Event]:
    return keeper.events(kind=kind, source="store")


def _village(keeper: StoreKeeper, clock: SimClock, settings: AgentConfig) -> Override:
    """A meter total, a valve latched shut by a burst, a technician's override: committed, with the safety copy."""
    keeper.save_state("meter:inlet-meter", {"total_l": 123456.5})
    keeper.save_state("controller:leak-inlet", {"latched": ["burst"], "valve": "closed"})
    keeper.raise_alarm("leak-inlet/burst", "burst", "leak-inlet", "10000 L/h for 10 min",
                       {"flow_lph": 10000.0, "burst_lph": 3000.0}, clock.now())
    fete = Override("street-lights", True, clock.now() + timedelta(hours=4), clock.now(), "technician:ana", "fete")
    with Store(settings.db_path, monotonic=clock.monotonic) as technician:
        technician.set_override(fete)
    assert keeper.changed_externally() and keeper.overrides() == {"street-lights": fete}
    keeper.commit(critical=True)
    return fete


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_keeper_broken_database_at_start_is_set_aside_and_restored_from_the_safety_copy(
    keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock, damage: str
) -> None:
    first = _keeper(keepers, settings, clock)
    for i in range(3000):  # pages enough for a truncation to cut into
        first.add_readings(clock.now() + timedelta(seconds=i), "lux-roof", _lux(float(i)))
    fete = _village(first, clock, settings)
    first.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    first.abandon()  # the power goes
    db = settings.db_path
    broken = b"\x00garbage written by a dying card\xff" * 1000 if damage == "garbage" else db.read_bytes()[:8192]
    db.write_bytes(broken)
    clock.advance(600.0)

    second = _keeper(keepers, settings, clock)
    [aside] = [p for p in db.parent.iterdir() if ".broken-" in p.name and p.suffix != ".json"]
    assert aside.name == f"hameau.db.broken-{clock.now():%Y%m%dT%H%M%SZ}" and aside.read_bytes() == broken
    [fault] = _store_events(second, "fault")
    assert fault.data["class"] == "corrupt" and fault.data["moved_to"] == str(aside)
    if damage == "garbage":
        assert fault.data["cause"] == "file is not a database"
    assert second.fault is None and second.health()["moved_aside"] == [str(aside)]
    assert second.load_state("meter:inlet-meter") == {"total_l": 123456.5}
    assert second.load_state("controller:leak-inlet") == {"latched": ["burst"], "valve": "closed"}
    with Store(db, monotonic=clock.monotonic) as technician:
        [alarm] = technician.latched_alarms()
        overrides = technician.overrides()
        states = {k: json.loads(v) for k, v in technician.all_states().items()}
    assert (alarm.key, alarm.raised_at, alarm.evidence) == ("leak-inlet/burst", T0, {"flow_lph": 10000.0,
                                                                                     "burst_lph": 3000.0})
    assert overrides == {"street-lights": fete}
    assert states["meter:inlet-meter"] == {"total_l": 123456.5}


def test_keeper_restart_takes_the_safety_copy_only_when_it_is_newer(
    keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock
) -> None:
    first = _keeper(keepers, settings, clock)
    _village(first, clock, settings)
    first.save_state("meter:inlet-meter", {"total_l": 123500.0})
    first.commit()  # the database is newer than the copy written at the alarm
    first.abandon()
    second = _keeper(keepers, settings, clock)
    assert second.load_state("meter:inlet-meter") == {"total_l": 123500.0}
    assert second.events(kind="agent", source="store") == [], "nothing was restored, nothing said"
    # Now the database cannot take a commit the copy gets: the copy is newer at the next start.
    second.db.conn.execute("PRAGMA query_only = 1")
    second.save_state("meter:inlet-meter", {"total_l": 123600.0})
    second.commit()
    assert second.fault is not None
    second.abandon()
    third = _keeper(keepers, settings, clock)
    assert third.load_state("meter:inlet-meter") == {"total_l": 123600.0}
    [restored] = third.events(kind="agent", source="store")
    assert "newer than the database" in restored.reason


def test_keeper_waits_out_a_held_lock_with_backoff_and_never_sets_it_aside(
    keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock
) -> None:
    quick = Store(settings.db_path, monotonic=clock.monotonic, busy_timeout_ms=50)
    keeper = _keeper(keepers, settings, clock, store=quick)
    keeper.commit()
    holder = sqlite3.connect(settings.db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    attempts_at: list[float] = []
    try:
        keeper.add_readings(clock.now(), "lux-roof", _lux(1.0))
        keeper.commit()
        assert keeper.fault is not None and (keeper.fault.kind, keeper.fault.cause) == ("busy", "database is locked")
        started = clock.monotonic()
        while clock.monotonic() - started < 4 * RETRY_MAX_S:
            clock.advance(1.0)
            before = keeper.attempts
            keeper.commit()
            if keeper.attempts > before:
                attempts_at.append(clock.monotonic() - started)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    expected, due, delay = [], 0.0, RETRY_MIN_S
    while due + delay <= 4 * RETRY_MAX_S:
        due += delay
        expected.append(due)
        delay = min(2 * delay, RETRY_MAX_S)
    assert attempts_at == expected
    clock.advance(RETRY_MAX_S)
    keeper.commit()
    assert keeper.fault is None
    assert [p.name for p in settings.db_path.parent.iterdir() if ".broken-" in p.name] == []
    assert keeper.readings("lux-roof", "illuminance_lx") == [(T0, 1.0)]
    [cleared] = [e for e in _store_events(keeper, "fault_cleared") if "resumed" in e.reason]
    assert cleared.data["attempts"] == len(expected) + 1


def test_keeper_read_only_store_runs_from_memory_and_tells_the_technician(
    keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock
) -> None:
    read_only = {"on": False}

    def card(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA query_only = {int(read_only['on'])}")

    keeper = _keeper(keepers, settings, clock, on_connect=card)
    keeper.commit()
    read_only["on"] = True
    keeper.db.conn.execute("PRAGMA query_only = 1")
    keeper.save_status({"at": clock.now().isoformat(), "agent": {"pid": 1}})
    keeper.add_event_now(Event("interlock", "leak-inlet", "valve shut by a burst", clock.now()))
    keeper.raise_alarm("leak-inlet/burst", "burst", "leak-inlet", "burst", {"flow_lph": 9000.0}, clock.now())
    keeper.commit()
    assert keeper.fault is not None and keeper.fault.cause == "attempt to write a readonly database"
    live = runtime_status_read(keeper.status_path)
    assert live is not None and live["store"]["fault"]["class"] == "unavailable"
    safety, _ = keeper.safety.load()
    assert safety is not None and [a["key"] for a in safety["alarms"]] == ["leak-inlet/burst"]
    read_only["on"] = False
    clock.advance(RETRY_MIN_S)
    keeper.commit()
    assert keeper.fault is None and not keeper.status_path.exists()
    with Store(settings.db_path, monotonic=clock.monotonic) as technician:
        assert [a.key for a in technician.latched_alarms()] == ["leak-inlet/burst"]
        assert [e.reason for e in technician.events(kind="interlock")] == ["valve shut by a burst"]


def test_keeper_writes_the_safety_copy_at_once_when_critical_else_hourly_if_changed(
    keepers: list[StoreKeeper], settings: AgentConfig, clock: SimClock
) -> None:
    keeper = _keeper(keepers, settings, clock)
    keeper.save_state("meter:inlet-meter", {"total_l": 1.0})
    keeper.commit()
    first = keeper.safety.writes
    assert first == 1, "the copy is written at the first commit after a start"
    for minute in range(2, int(SAFETY_INTERVAL_S // 60), 2):
        clock.advance(120.0)
        keeper.save_state("meter:inlet-meter", {"total_l": float(minute)})
        keeper.commit()
    assert keeper.safety.writes == first, "an ordinary commit rewrote the copy before its interval"
    keeper.raise_alarm("leak-inlet/burst", "burst", "leak-inlet", "burst", {}, clock.now())
    keeper.commit(critical=True)
    assert keeper.safety.writes == first + 1
    clock.advance(SAFETY_INTERVAL_S)
    keeper.commit()
    assert keeper.safety.writes == first + 1, "an unchanged copy was written again"
    keeper.save_state("meter:inlet-meter", {"total_l": 999.0})
    keeper.commit()
    assert keeper.safety.writes == first + 2


def test_mirror_garbage_in_the_database_gives_way_to_a_newer_readable_safety_copy() -> None:
    mirror = Mirror()
    db_states = {Mirror.GENERATION_KEY: "not json", "controller:hall": '{"on": ', "meter:m": '{"total_l": 12.5}'}
    copy = {"generation": 4, "at": "2026-01-15T16:00:00+00:00",
            "states": {"controller:hall": {"on": True}, "meter:m": {"total_l": 12.5}}}
    said = mirror.merge(db_states, {}, (), copy)
    assert said is not None and "restored 1 state(s)" in said, said
    assert json.loads(mirror.states["controller:hall"]) == {"on": True}
    assert mirror.generation == 4


def test_mirror_unreadable_state_is_left_out_of_the_safety_copy_not_a_crash() -> None:
    mirror = Mirror()
    assert mirror.merge({"controller:hall": "{garbage", "meter:m": '{"total_l": 3.0}'}, {}, (), None) is None
    body = json.loads(mirror.safety_body())
    assert body["states"] == {"meter:m": {"total_l": 3.0}}
