"""Store faults made by real means on real SQLite files: each is told by its real cause and class, and a
failed commit keeps every pending row; the bounded buffer drops the oldest rows first and counts them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.controllers.events import Event
from edge.storage.faults import BUSY, CORRUPT, FULL, UNAVAILABLE, classify
from edge.storage.pending import Pending
from edge.storage.safety import SafetyCopy
from edge.storage.schema import NewerSchemaError, event_row
from edge.storage.store import Store

T0 = datetime(2026, 1, 10, 17, 0, tzinfo=UTC)
BUSY_TIMEOUT_MS = 100  # the tests' stores wait this long for another connection's lock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hameau.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path, monotonic=SimClock().monotonic, busy_timeout_ms=BUSY_TIMEOUT_MS)
    yield s
    s.abandon()


def _lux(value: float) -> tuple:
    return (reading("illuminance_lx", "illuminance", value),)


def _queue(store: Store, n: int) -> None:
    for i in range(n):
        store.add_readings(T0 + timedelta(seconds=i), "lux-roof", _lux(float(i)))


def _fill_the_cap(store: Store) -> None:
    """Cap the file where it stands: SQLite refuses any write that needs one more page."""
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    assert store.conn.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages


def _error(call: Callable[[], object]) -> BaseException:
    with pytest.raises((sqlite3.Error, OSError, NewerSchemaError)) as caught:
        call()
    return caught.value


def test_store_full_commit_says_full_keeps_its_rows_and_writes_them_later(store: Store, db_path: Path) -> None:
    _fill_the_cap(store)
    _queue(store, 2000)  # a few pages' worth
    fault = classify(_error(store.commit), "committing")
    assert (fault.kind, fault.cause) == (FULL, "database or disk is full"), fault
    assert store.pending == 2000, "a failed commit lost pending rows"
    assert not store.conn.in_transaction
    store.conn.execute("PRAGMA max_page_count = 1000000")
    store.commit()
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT count(*) FROM readings").fetchone() == (2000,)


def test_store_full_at_once_write_reports_the_cause_not_the_rollback(store: Store) -> None:
    _fill_the_cap(store)
    _queue(store, 2000)
    error = _error(lambda: store.add_event_now(Event("interlock", "leak", "valve shut by a burst", T0)))
    assert str(error) == "database or disk is full"


def test_store_other_connection_holding_the_lock_is_busy_never_corrupt(store: Store, db_path: Path) -> None:
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a technician's sqlite3 shell, a backup
    try:
        _queue(store, 10)
        fault = classify(_error(store.commit), "committing")
        assert (fault.kind, fault.cause) == (BUSY, "database is locked")
        assert store.readings("lux-roof", "illuminance_lx")[-1][1] == 9.0, "reads go on while the lock is held"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.commit()
    assert store.pending == 0


def test_store_query_only_connection_is_unavailable(store: Store) -> None:
    store.conn.execute("PRAGMA query_only = 1")  # what a card remounted read-only does to every write
    _queue(store, 1)
    fault = classify(_error(store.commit), "committing")
    assert (fault.kind, fault.cause) == (UNAVAILABLE, "attempt to write a readonly database")


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda p: p.write_bytes(b"not a database, a log file written over it\n" * 200), "file is not a database"),
        (lambda p: p.write_bytes(p.read_bytes()[:100]), None),
    ],
    ids=["garbage", "cut-to-its-header"],
)
def test_store_damaged_file_is_corrupt_when_opened(
    db_path: Path, damage: Callable[[Path], object], cause: str | None
) -> None:
    s = Store(db_path, monotonic=SimClock().monotonic)
    _queue(s, 3000)
    s.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage(db_path)

    def reopen_and_read() -> None:
        again = Store(db_path, monotonic=SimClock().monotonic)
        try:
            problem = again.file_problem()
            assert problem is None, problem
            again.readings("lux-roof", "illuminance_lx")
        finally:
            again.abandon()

    fault = classify(_error(reopen_and_read), "opening")
    assert fault.kind == CORRUPT, fault
    if cause is not None:
        assert fault.cause == cause


def test_store_file_problem_sees_a_file_replaced_cut_short_or_gone(store: Store, db_path: Path) -> None:
    _queue(store, 3000)
    store.commit()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store.file_problem() is None
    size = db_path.stat().st_size
    with db_path.open("r+b") as f:  # another program cuts the file short
        f.truncate(size // 2)
    assert "cut short" in (store.file_problem() or "")
    db_path.unlink()
    assert "is gone" in (store.file_problem() or "")
    db_path.write_bytes(b"x" * size)
    assert "replaced" in (store.file_problem() or "")


def test_store_newer_schema_is_corrupt_class(db_path: Path) -> None:
    Store(db_path, monotonic=SimClock().monotonic).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    fault = classify(_error(lambda: Store(db_path, monotonic=SimClock().monotonic)), "opening")
    assert fault.kind == CORRUPT and "newer" in fault.cause


def test_pending_drops_the_oldest_readings_past_its_bound_and_counts_them() -> None:
    bound = 7
    buffer = Pending(max_readings=bound, max_events=3)
    for i in range(bound + 5):
        buffer.add_readings(float(i), "lux-roof", _lux(float(i)))
    assert [row[3] for row in buffer.readings] == [float(i) for i in range(5, bound + 5)]
    assert buffer.dropped_readings == 5


def test_pending_drops_ordinary_events_before_the_kinds_it_keeps_first() -> None:
    buffer = Pending(max_readings=10, max_events=3, keep_kinds={"alarm"})
    alarm = Event("alarm", "leak", "burst", T0)
    buffer.add_event(event_row(alarm))
    for i in range(4):
        buffer.add_event(event_row(Event("decision", "lights", f"dark {i}", T0 + timedelta(seconds=i + 1))))
    assert [row[3] for row in buffer.events()] == ["burst", "dark 2", "dark 3"]
    assert buffer.dropped_events == 2
    for i in range(3):
        buffer.add_event(event_row(Event("alarm", "leak", f"burst {i}", T0 + timedelta(minutes=i + 1))))
    assert [row[3] for row in buffer.events()] == ["burst 0", "burst 1", "burst 2"], "kept kinds go last, oldest first"
    assert buffer.dropped_events == 2 + 3


def test_safety_copy_is_replaced_whole_and_a_garbled_one_is_refused(tmp_path: Path) -> None:
    copy = SafetyCopy(tmp_path / "hameau.db.safety.json")
    assert copy.load()[0] is None and "no safety copy" in (copy.load()[1] or "")
    assert copy.write({"generation": 3, "states": {"meter:water-main": {"total_l": 12.5}}})
    assert copy.write({"generation": 4, "states": {"meter:water-main": {"total_l": 13.0}}})
    content, _ = copy.load()
    assert content is not None and content["generation"] == 4 and content["states"]["meter:water-main"] == {"total_l": 13.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hameau.db.safety.json"], "a temporary file was left"
    copy.path.write_bytes(content_bytes := b'{"format": 1, "generation": 5, "states": {')
    assert copy.load()[0] is None and "not valid JSON" in (copy.load()[1] or ""), content_bytes
    assert copy.writes == 2 and copy.failures == 0
