"""The fleet store under a killed writer and under two writers at once, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fleet_batches import raw_range, up_payload

from fleet import protocol
from fleet.store import open_store

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT}"}

_WRITER = textwrap.dedent("""
    import sys
    from fleet import protocol
    from fleet.store import open_store
    from fleet_batches import raw_range, up_payload
    store = open_store(sys.argv[1])
    size, after = int(sys.argv[2]), 0
    while True:
        batch = protocol.parse_batch("box-a", up_payload("raw", after, raw_range(after + 1, after + size)))
        store.store_batch(batch, 1767229200.0)
        after += size
        print(after, flush=True)
""")


@pytest.mark.parametrize("kill_after_s", [0.0, 0.013, 0.031])
def test_fleet_store_killed_mid_transaction_keeps_whole_batches_only(store_url: str, kill_after_s: float) -> None:
    size = 1000
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, store_url, str(size)], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        committed = [int(proc.stdout.readline()) for _ in range(3)]  # type: ignore[union-attr]
        time.sleep(kill_after_s)
        proc.kill()
    finally:
        proc.kill()
        proc.wait()
    reopened = open_store(store_url)
    try:
        hwm = reopened.acked("box-a")["raw"]
        assert hwm >= committed[-1] and hwm % size == 0
        assert [r.seq for r in reopened.records("box-a", "raw")] == list(range(1, hwm + 1))
        assert reopened.missing("box-a", "raw") == []
    finally:
        reopened.close()
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()


def test_fleet_store_two_writers_of_one_box_chain_the_lane_to_its_end(store_url: str) -> None:
    # Two serve processes get the two batches of a box at once (a shared subscription does that): each box's
    # mark must reach its last seq once both are stored, with no batch left behind a race of two transactions.
    boxes, size = 60, 5
    stores = [open_store(store_url), open_store(store_url)]
    together = threading.Barrier(2, timeout=30)
    failures: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for box in range(boxes):
                device, after = f"box-{box}", k * size
                batch = protocol.parse_batch(
                    device, up_payload("raw", after, raw_range(after + 1, after + size), device=device)
                )
                together.wait()
                stores[k].store_batch(batch, 1767229200.0)
        except Exception as error:  # noqa: BLE001 (the main thread reports it)
            failures.append(error)
            together.abort()

    threads = [threading.Thread(target=write, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failures == []
        behind = {f"box-{box}": stores[0].acked(f"box-{box}")["raw"] for box in range(boxes)}
        assert {device: hwm for device, hwm in behind.items() if hwm != 2 * size} == {}
        assert stores[0].counts().records["raw"] == boxes * 2 * size
    finally:
        for store in stores:
            store.close()


def test_fleet_store_new_file_opened_by_four_serves_at_once_opens_in_each(tmp_path: Path) -> None:
    # Several serve processes start together on a store that does not exist yet: every one must open it.
    for attempt in range(25):
        url = f"sqlite:///{tmp_path / f'fleet{attempt}.db'}"
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def serve(url: str = url, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                open_store(url).close()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=serve) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], f"attempt {attempt}"


def test_fleet_store_sqlite_gives_the_planner_statistics_when_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    open_store(url).close()
    store = open_store(url)
    try:
        store.db.executemany(
            "INSERT INTO lanes (device, lane, hwm) VALUES (?, 'raw', 1)", [(f"box-{i}",) for i in range(50)])
    finally:
        store.close()
    open_store(url).close()  # a serve or a dashboard starting on the grown store
    stats = dict(sqlite3.connect(tmp_path / "fleet.db").execute(
        "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'lanes'").fetchall())
    assert any(stat.split()[0] == "50" for stat in stats.values()), stats  # the row count ANALYZE saw
