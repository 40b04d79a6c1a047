"""The simulator's sync figures (edge/simulation/sync_report.py): counted from a box's outbox and a fleet store
written here by hand, so that each figure is known before it is counted."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from edge.simulation.sync_report import sync_report, sync_sentence
from edge.storage.schema import migrate
from fleet import protocol
from fleet.store.sql import SqliteStore
from tests.fleet_batches import T0, raw_range, reading, thinned, up_payload

DEVICE = "box-a"


def _box(path: Path, last: dict[int, int], pending: dict[int, list[int]] | None = None,
         thinned_count: dict[int, int] | None = None) -> Path:
    """A box database whose outbox gave `last` seqs per lane (0 event, 2 raw) and still holds `pending`."""
    conn = sqlite3.connect(path)
    migrate(conn)
    for lane, seq in last.items():
        conn.execute("UPDATE outbox_lanes SET last_seq = ?, thinned = ? WHERE lane = ?",
                     (seq, (thinned_count or {}).get(lane, 0), lane))
    for lane, seqs in (pending or {}).items():
        for seq in seqs:
            conn.execute("INSERT INTO outbox VALUES (?, ?, 'b1', ?, ?, 1, 'reading', ?)",
                         (lane, seq, float(seq), T0 + seq, json.dumps({"sensor": "lux", "name": "illuminance",
                                                                        "value": 1.0})))
    conn.commit()
    conn.close()
    return path


def _store(fleet: SqliteStore, lane: str, after: int, records: list[dict], received_at: float = T0 + 100) -> None:
    fleet.store_batch(protocol.parse_batch(DEVICE, up_payload(lane, after, records, device=DEVICE)), received_at)


def test_sync_report_counts_delivered_pending_and_nothing_lost(tmp_path: Path) -> None:
    fleet = SqliteStore(tmp_path / "fleet.db")
    _store(fleet, "raw", 0, raw_range(1, 8))
    box = _box(tmp_path / "box.db", {2: 10}, pending={2: [9, 10]})
    sync = sync_report(box, fleet, DEVICE, peak_bytes=5000)
    assert (sync["produced"], sync["delivered"], sync["pending"]) == (10, 8, 2)
    assert (sync["duplicated"], sync["lost"], sync["thinned"]) == (0, 0, 0)
    assert sync["outbox_peak_bytes"] == 5000 and sync["alarm_delay_max_s"] is None


def test_sync_report_counts_a_record_stored_under_two_seqs_as_duplicated(tmp_path: Path) -> None:
    fleet = SqliteStore(tmp_path / "fleet.db")
    _store(fleet, "raw", 0, raw_range(1, 3))
    _store(fleet, "raw", 3, [reading(4, mono_s=2.0, wall_s=T0 + 2)])  # seq 2 again, under seq 4
    sync = sync_report(_box(tmp_path / "box.db", {2: 4}), fleet, DEVICE, peak_bytes=0)
    assert sync["delivered"] == 4 and sync["duplicated"] == 1 and sync["lost"] == 0


def test_sync_report_counts_seqs_gone_without_a_thinned_report_as_lost(tmp_path: Path) -> None:
    fleet = SqliteStore(tmp_path / "fleet.db")
    _store(fleet, "raw", 0, raw_range(1, 3))
    _store(fleet, "raw", 5, raw_range(6, 7))  # 4 and 5: neither sent nor reported
    _store(fleet, "raw", 9, raw_range(10, 10))  # 8 and 9 past the mark: 8 still waits in the outbox, 9 is gone
    sync = sync_report(_box(tmp_path / "box.db", {2: 11}, pending={2: [8, 11]}), fleet, DEVICE, peak_bytes=0)
    assert sync["lost"] == 3 and sync["pending"] == 2 and sync["delivered"] == 6


def test_sync_report_does_not_count_thinned_seqs_as_lost(tmp_path: Path) -> None:
    fleet = SqliteStore(tmp_path / "fleet.db")
    _store(fleet, "event", 0, [thinned(1, lane="raw", seq_from=1, seq_to=4, count=4)])
    _store(fleet, "raw", 4, raw_range(5, 6))
    box = _box(tmp_path / "box.db", {0: 1, 2: 6}, thinned_count={2: 4})
    sync = sync_report(box, fleet, DEVICE, peak_bytes=0)
    assert (sync["produced"], sync["delivered"], sync["thinned"], sync["lost"]) == (7, 3, 4, 0)
    assert sync["delivered"] == sync["produced"] - sync["thinned"]


def test_sync_report_alarm_delay_is_the_longest_from_the_box_to_the_fleet(tmp_path: Path) -> None:
    fleet = SqliteStore(tmp_path / "fleet.db")

    def event(seq: int, kind: str) -> dict:
        return {"seq": seq, "boot": "b1", "mono_s": float(seq), "wall_s": T0 + seq * 1000, "clock": "synced",
                "type": "event", "kind": kind, "source": "leak-hall", "reason": "night flow", "data": {}}

    _store(fleet, "event", 0, [event(1, "alarm"), event(2, "fault")], received_at=T0 + 2000 + 7200)
    _store(fleet, "event", 2, [event(3, "alarm")], received_at=T0 + 3000 + 30)
    sync = sync_report(_box(tmp_path / "box.db", {0: 3}), fleet, DEVICE, peak_bytes=0)
    assert sync["alarm_delay_max_s"] == 1000 + 7200  # the fault's 7200 s do not count
    assert "alarms reached it within 8200 s" in (sync_sentence(sync) or "")
    assert sync_sentence(None) is None
