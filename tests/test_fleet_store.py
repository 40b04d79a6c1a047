"""The fleet store on real SQLite files and a real PostgreSQL: idempotent batches, chained acks, thinned
accounting, time trust (every `store` case runs on both engines)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fleet_batches import T0, raw_range, reading, thinned, up_payload

from fleet import protocol
from fleet.errors import FleetConfigError, StoreError
from fleet.store import SqliteStore, SqlStore, open_store
from fleet.store.schema import SCHEMA_VERSION
from fleet.store.url import default_db_url, sqlite_path

RECEIVED = T0 + 3600.0  # the fleet received every batch an hour after T0
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url)
    yield s
    s.close()


def batch(lane: str, after: int, records: list, **kwargs) -> protocol.Batch:
    return protocol.parse_batch(kwargs.get("device", "box-a"), up_payload(lane, after, records, **kwargs))


def seqs(store: SqlStore, lane: str = "raw", device: str = "box-a") -> list[int]:
    return [r.seq for r in store.records(device, lane)]


def test_fleet_store_resent_batch_is_stored_once(store: SqlStore) -> None:
    first = store.store_batch(batch("raw", 0, raw_range(1, 10)), RECEIVED)
    again = store.store_batch(batch("raw", 0, raw_range(1, 10)), RECEIVED + 5)
    assert first.acked == again.acked == {"event": 0, "total": 0, "raw": 10}
    assert seqs(store) == list(range(1, 11))
    device = store.device("box-a")
    assert device is not None and (device.batches, device.records_new, device.records_resent) == (2, 10, 10)
    # The first copy is the one kept: its reception time, not the resend's.
    assert {r.received_at for r in store.records("box-a", "raw")} == {RECEIVED}


def test_fleet_store_ack_carries_the_device_and_every_lane(store: SqlStore) -> None:
    ack = store.store_batch(batch("raw", 0, raw_range(1, 3)), RECEIVED)
    assert ack.device == "box-a"
    assert protocol.parse_ack("box-a", protocol.encode(ack.to_message())).acked == {"event": 0, "total": 0, "raw": 3}


def test_fleet_store_out_of_order_batches_chain_only_when_the_first_arrives(store: SqlStore) -> None:
    assert store.store_batch(batch("raw", 5, raw_range(6, 10)), RECEIVED).acked["raw"] == 0
    assert store.store_batch(batch("raw", 10, raw_range(11, 15)), RECEIVED).acked["raw"] == 0
    assert store.store_batch(batch("raw", 0, raw_range(1, 5)), RECEIVED).acked["raw"] == 15
    assert store.missing("box-a", "raw") == []
    assert seqs(store) == list(range(1, 16))


def test_fleet_store_unchained_batch_holds_the_mark_below_its_gap(store: SqlStore) -> None:
    store.store_batch(batch("raw", 0, raw_range(1, 3)), RECEIVED)
    assert store.store_batch(batch("raw", 5, raw_range(6, 8)), RECEIVED).acked["raw"] == 3
    assert store.store_batch(batch("raw", 3, raw_range(4, 5)), RECEIVED).acked["raw"] == 8


def test_fleet_store_gap_covered_by_after_is_acked_and_accounted_as_thinned(store: SqlStore) -> None:
    store.store_batch(batch("raw", 0, raw_range(1, 3)), RECEIVED)
    # Seqs 4..6 were thinned on the box: the batch says so with after=3.
    assert store.store_batch(batch("raw", 3, raw_range(7, 9)), RECEIVED).acked["raw"] == 9
    assert store.missing("box-a", "raw") == [(4, 6)]  # not yet reported thinned
    report = thinned(1, lane="raw", seq_from=4, seq_to=6, count=3)
    assert store.store_batch(batch("event", 0, [report]), RECEIVED).acked == {"event": 1, "total": 0, "raw": 9}
    assert store.missing("box-a", "raw") == []
    assert [(t.lane, t.seq_from, t.seq_to, t.count) for t in store.thinned("box-a")] == [("raw", 4, 6, 3)]
    assert store.counts("box-a").thinned == 3


def test_fleet_store_missing_names_gaps_a_thinned_report_leaves(store: SqlStore) -> None:
    store.store_batch(batch("raw", 0, raw_range(1, 2)), RECEIVED)
    store.store_batch(batch("raw", 2, raw_range(10, 12)), RECEIVED)  # 3..9 claimed thinned
    store.store_batch(batch("event", 0, [thinned(1, lane="raw", seq_from=4, seq_to=6, count=3)]), RECEIVED)
    assert store.missing("box-a", "raw") == [(3, 3), (7, 9)]


def test_fleet_store_lanes_and_devices_are_apart(store: SqlStore) -> None:
    store.store_batch(batch("raw", 0, raw_range(1, 4)), RECEIVED)
    ack_b = store.store_batch(batch("raw", 0, raw_range(1, 2), device="box-b"), RECEIVED)
    assert ack_b.acked == {"event": 0, "total": 0, "raw": 2}
    assert store.acked("box-a") == {"event": 0, "total": 0, "raw": 4}
    assert store.counts().records == {"event": 0, "total": 0, "raw": 6}
    assert store.counts().devices == 2


@pytest.mark.parametrize(
    ("clock", "wall_s", "trusted"),
    [
        ("synced", T0, True),
        ("corrected", T0, True),
        ("unsynced", T0, False),  # a plausible time, but the box says it does not know
        ("synced", 3600.0, False),  # 1970
        ("synced", 1_577_836_799.0, False),  # one second before 2020
        ("synced", 1_577_836_800.0, True),  # 2020-01-01 itself
        ("synced", RECEIVED + 299.0, True),
        ("synced", RECEIVED + 301.0, False),  # future: past the 300 s the fleet allows
    ],
)
def test_fleet_store_record_time_is_trusted_only_when_synced_and_plausible(
    store: SqlStore, clock: str, wall_s: float, trusted: bool
) -> None:
    store.store_batch(batch("raw", 0, [reading(1, wall_s=wall_s, clock=clock)]), RECEIVED)
    (record,) = store.records("box-a", "raw")
    assert record.ts == (wall_s if trusted else None)
    assert (record.wall_s, record.clock, record.boot, record.mono_s) == (wall_s, clock, "b1", 1.0)
    assert store.counts().untrusted == (0 if trusted else 1)


def test_fleet_store_offset_learned_later_fixes_untrusted_rows_of_that_boot(store: SqlStore) -> None:
    offset_s = T0 - 50.0  # wall = mono + offset once the box synced
    boot_1970 = [reading(s, boot="b0", mono_s=10.0 * s, wall_s=10.0 * s, clock="unsynced") for s in (1, 2)]
    store.store_batch(batch("raw", 0, boot_1970, boot="b0"), RECEIVED)
    other_boot = [reading(3, boot="b9", mono_s=30.0, wall_s=30.0, clock="unsynced")]
    store.store_batch(batch("raw", 2, other_boot, boot="b9"), RECEIVED)
    assert [r.ts for r in store.records("box-a", "raw")] == [None, None, None]
    store.store_batch(batch("raw", 3, [reading(4, boot="b0")], boot="b0", offsets={"b0": offset_s}), RECEIVED)
    assert [r.ts for r in store.records("box-a", "raw")] == [T0 - 40.0, T0 - 30.0, None, T0 + 4]
    # A later untrusted record of that boot is fixed as it arrives, from the stored offset.
    late = [reading(5, boot="b0", mono_s=70.0, wall_s=70.0, clock="unsynced")]
    store.store_batch(batch("raw", 4, late, boot="b0"), RECEIVED)
    assert store.records("box-a", "raw")[-1].ts == T0 + 20.0


def test_fleet_store_offset_that_lands_in_the_future_leaves_the_row_untrusted(store: SqlStore) -> None:
    rows = [reading(1, boot="b0", mono_s=100.0, wall_s=100.0, clock="unsynced"),
            reading(2, boot="b0", mono_s=1000.0, wall_s=1000.0, clock="unsynced")]
    store.store_batch(batch("raw", 0, rows, boot="b0"), RECEIVED)
    offset_s = RECEIVED + 300.0 - 500.0  # mono 100 -> received - 200 s (fine); mono 1000 -> +500 s (future)
    store.store_batch(batch("raw", 2, [reading(3, boot="b0")], boot="b0", offsets={"b0": offset_s}), RECEIVED)
    assert [r.ts for r in store.records("box-a", "raw")][:2] == [RECEIVED - 100.0, None]


def test_fleet_store_status_sets_online_state_since_its_change(store: SqlStore) -> None:
    def status(state: str, at: float) -> protocol.Status:
        message = {"v": 1, "device": "box-a", "state": state, "boot": "b1", "version": "0.1.0",
                   "config_version": 3, "at": at}
        return protocol.parse_status("box-a", json.dumps(message).encode())

    store.store_status(status("online", T0), RECEIVED)
    again = store.store_status(status("online", T0 + 10), RECEIVED + 10)
    assert (again.online, again.online_since, again.config_version) == (True, RECEIVED, 3)
    gone = store.store_status(status("offline", T0 + 20), RECEIVED + 20)
    assert (gone.online, gone.online_since, gone.last_seen) == (False, RECEIVED + 20, RECEIVED + 20)


def test_fleet_store_rejects_count_per_device_and_reason(store: SqlStore) -> None:
    store.count_reject("box-a", "payload: bad JSON", "payload: bad JSON (x)", RECEIVED)
    store.count_reject("box-a", "payload: bad JSON", "payload: bad JSON (y)", RECEIVED)
    store.count_reject("", "topic: not valid UTF-8", "topic: not valid UTF-8", RECEIVED)
    assert store.rejects() == {("box-a", "payload: bad JSON"): 2, ("", "topic: not valid UTF-8"): 1}
    assert store.counts("box-a").rejects == 2


def test_fleet_store_file_keeps_everything_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    first = SqliteStore(path)
    first.store_batch(batch("raw", 0, raw_range(1, 5)), RECEIVED)
    first.close()
    second = SqliteStore(path)
    assert second.acked("box-a")["raw"] == 5 and seqs(second) == [1, 2, 3, 4, 5]
    second.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(path)


def test_fleet_store_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match=str(path)):
        SqliteStore(path)


def test_fleet_store_url_forms(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:////var/lib/fleet.db") == Path("/var/lib/fleet.db")
    assert sqlite_path("sqlite:///rel/fleet.db") == Path("rel/fleet.db")
    for bad in ("mysql://u:secret@h/db", "mysql://h/db", "sqlite://", "sqlite:///", "fleet.db"):
        with pytest.raises(FleetConfigError) as info:
            sqlite_path(bad)
        assert "secret" not in str(info.value)
    assert default_db_url({"HAMEAU_FLEET_DATA": str(tmp_path)}) == f"sqlite:///{tmp_path}/fleet.db"
    with pytest.raises(FleetConfigError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/nowhere/fleet.db")
