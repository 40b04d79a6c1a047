"""What the simulated link achieved: the box's outbox against the fleet's store at the end of a run.

produced: records committed to the box's outbox (the lanes' last seqs); delivered: records the fleet stores;
duplicated: records the fleet stores twice (the same boot, monotonic time, type and body under two seqs);
lost: seqs neither stored, nor still waiting in the outbox, nor reported thinned; thinned: records the box
deleted unsent (its disk budget); pending: records still in the outbox; alarm_delay_max_s: the longest an
alarm took from the box (its record's time) to the fleet's store, in simulated seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edge.storage.outbox_rows import LANE_NAMES
from edge.storage.outbox_thin import outbox_bytes
from fleet.store.sql import SqliteStore

#: Each fleet record's identity beside its seq: a record sent twice under two seqs shares it.
_DUPLICATES = ("SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM records WHERE device = ?"
               " GROUP BY lane, boot, mono_s, type, body)")
_ALARM_DELAY = ("SELECT max(received_at - wall_s) FROM records WHERE device = ? AND lane = 'event'"
                " AND type = 'event' AND json_extract(body, '$.kind') = 'alarm'")


def sync_report(db_path: Path, fleet: SqliteStore, device: str, *, peak_bytes: int,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sync figures of a run, from the box's database and the fleet's store."""
    report: dict[str, Any] = {}
    try:
        box = _box(db_path)
    except sqlite3.Error as exc:  # a database the world left garbled: the fleet's side only
        box = None
        report["box_error"] = str(exc)
    stored = fleet.counts(device).records
    conn = sqlite3.connect(f"file:{fleet.path}?mode=ro", uri=True)
    try:
        duplicated = int(conn.execute(_DUPLICATES, (device,)).fetchone()[0])
        delay = conn.execute(_ALARM_DELAY, (device,)).fetchone()[0]
        lost = None if box is None else sum(_lost(fleet, conn, device, lane, box) for lane in box["lanes"])
    finally:
        conn.close()
    state = fleet.device(device)
    report.update(
        produced=None if box is None else sum(last for last, _, _ in box["lanes"].values()),
        delivered=sum(stored.values()),
        duplicated=duplicated,
        lost=lost,
        thinned=None if box is None else sum(thinned for _, _, thinned in box["lanes"].values()),
        pending=None if box is None else sum(len(seqs) for seqs in box["pending"].values()),
        outbox_peak_bytes=max(peak_bytes, 0 if box is None else box["bytes"]),
        outbox_end_bytes=None if box is None else box["bytes"],
        alarm_delay_max_s=None if delay is None else round(float(delay), 1),
        resent=0 if state is None else state.records_resent,
        **(extra or {}),
    )
    return report


def _box(db_path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        lanes = {LANE_NAMES[int(lane)]: (int(last), int(acked), int(thinned)) for lane, last, acked, thinned
                 in conn.execute("SELECT lane, last_seq, acked_seq, thinned FROM outbox_lanes")}
        pending: dict[str, set[int]] = {name: set() for name in lanes}
        covers: dict[str, list[tuple[int, int]]] = {name: [] for name in lanes}
        for lane, seq, type_, body in conn.execute("SELECT lane, seq, type, body FROM outbox"):
            pending[LANE_NAMES[int(lane)]].add(int(seq))
            if type_ == "thinned":  # a loss reported, its report not yet sent
                fields = json.loads(body)
                covers.setdefault(fields["lane"], []).append((int(fields["seq_from"]), int(fields["seq_to"])))
        return {"lanes": lanes, "pending": pending, "covers": covers, "bytes": outbox_bytes(conn)}
    finally:
        conn.close()


def _lost(fleet: SqliteStore, conn: sqlite3.Connection, device: str, lane: str, box: dict[str, Any]) -> int:
    """Seqs of a lane gone from the box without reaching the fleet and without a thinned report."""
    last = box["lanes"][lane][0]
    mark = fleet.acked(device).get(lane, 0)
    covers = [(t.seq_from, t.seq_to) for t in fleet.thinned(device) if t.lane == lane] + box["covers"].get(lane, [])
    lost = sum(hi - lo + 1 for lo, hi in fleet.missing(device, lane)
               if not _covered(range(lo, hi + 1), covers, box["pending"][lane]))
    if last > mark:  # past the fleet's mark: each seq stored, waiting in the outbox, or reported thinned
        stored = {int(seq) for seq, in conn.execute(
            "SELECT seq FROM records WHERE device = ? AND lane = ? AND seq > ?", (device, lane, mark))}
        tail = (s for s in range(mark + 1, last + 1) if s not in stored and s not in box["pending"][lane])
        lost += sum(1 for s in tail if not any(lo <= s <= hi for lo, hi in covers))
    return lost


def _covered(seqs: Iterable[int], covers: list[tuple[int, int]], pending: set[int]) -> bool:
    """Whether every seq is still in the outbox or in a thinned report not yet sent."""
    return all(s in pending or any(lo <= s <= hi for lo, hi in covers) for s in seqs)


def sync_sentence(sync: dict[str, Any] | None) -> str | None:
    """The link's figures in one sentence (None: the world had no link)."""
    if not sync:
        return None
    if sync.get("produced") is None:
        return f"Link to the fleet: {sync['delivered']} records stored in the fleet (the box's database was unreadable)."
    delay = sync.get("alarm_delay_max_s")
    alarms = "no alarm" if delay is None else f"alarms reached it within {delay:g} s"
    return (f"Link to the fleet: {sync['produced']} records produced, {sync['delivered']} stored in the fleet "
            f"({sync['duplicated']} twice, {sync['lost']} lost, {sync['thinned']} thinned by the disk budget, "
            f"{sync['pending']} still waiting); outbox peak {sync['outbox_peak_bytes'] / 1e6:.2f} MB; {alarms}.")
