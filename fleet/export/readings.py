"""Raw readings of one series (device, sensor id, reading name) from the `records` table, in chunks by time.

Bodies are JSON text (no JSON operators: the same SQL on SQLite and PostgreSQL). The ingest writes a reading's
body compactly with its keys in the protocol's order, `{"sensor":...,"name":...,"value":...}` (fleet/store/
rows.py), so the text before `"value":` names the series: the query compares that prefix, and each row's body
is decoded and checked again in Python. Readings whose time is not trusted yet (`ts` NULL) carry no time to
place them in a range: they are not exported, and `series()` counts them.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fleet.protocol_records import LANE_TYPES
from fleet.store.db import Database

#: The lanes that carry readings ("total" for meter totals, "raw" for the rest).
READING_LANES = tuple(lane for lane, types in LANE_TYPES.items() if "reading" in types)
#: Rows fetched per query: a year of a series is streamed, never held.
CHUNK_ROWS = 5000
#: The first time window read, and the widest (a sparse series over a year takes a few queries).
FIRST_WINDOW_S = 86400.0
MAX_WINDOW_S = 64 * 86400.0
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
#: The body's text before `"value":` (NULL when there is none), per engine.
_PREFIX = {
    "sqlite": "CASE WHEN instr(body, '\"value\":') > 0 THEN substr(body, 1, instr(body, '\"value\":') - 1) END",
    "postgresql": "CASE WHEN strpos(body, '\"value\":') > 0 THEN substr(body, 1, strpos(body, '\"value\":') - 1) END",
}
#: Unit suffixes of reading names (drivers/reading.py: `temperature_c`, `flow_lph`...) and their symbols.
UNITS = {
    "lx": "lx", "c": "°C", "pct": "%", "l": "L", "lph": "L/h", "v": "V", "a": "A", "w": "W", "va": "VA",
    "var": "var", "hz": "Hz", "kwh": "kWh", "kvarh": "kvarh", "hpa": "hPa", "s": "s",
}


def unit_suffix(reading: str) -> str | None:
    """The unit suffix a reading's name ends with (`temperature_c` -> `c`), or None (a count, a state)."""
    head, _, suffix = reading.rpartition("_")
    return suffix if head and suffix in UNITS else None


def body_prefix(sensor: str, reading: str) -> str:
    """The text a reading body of this series starts with, up to `"value":`."""
    return _ENCODER.encode({"sensor": sensor, "name": reading})[:-1] + ","


def _series_of(prefix: str | None) -> tuple[str, str] | None:
    if not prefix or not prefix.endswith(","):
        return None
    try:
        body = json.loads(prefix[:-1] + "}")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    sensor, name = body.get("sensor"), body.get("name")
    return (sensor, name) if isinstance(sensor, str) and isinstance(name, str) else None


@dataclass(frozen=True, slots=True)
class ReadingSeries:
    """One series of raw readings a device has: how many with a trusted time, from when to when, how many without."""

    sensor: str
    reading: str
    count: int
    first_s: float | None
    last_s: float | None
    untrusted: int


def reading_series(db: Database, device: str, start_s: float, end_s: float) -> list[ReadingSeries]:
    """The series of `device` with readings in `start_s <= ts < end_s`, plus those with untrusted readings only."""
    prefix = _PREFIX[db.dialect]
    lanes = ", ".join("?" * len(READING_LANES))
    found: dict[tuple[str, str], list[Any]] = {}
    for head, count, first, last in db.query(
        f"SELECT {prefix}, count(*), min(ts), max(ts) FROM records WHERE device = ? AND lane IN ({lanes})"
        f" AND ts >= ? AND ts < ? AND type = 'reading' GROUP BY {prefix}",
        (device, *READING_LANES, start_s, end_s),
    ):
        key = _series_of(head)
        if key is not None:
            entry = found.setdefault(key, [0, None, None, 0])
            entry[0] += int(count)
            entry[1] = first if entry[1] is None else min(entry[1], first)
            entry[2] = last if entry[2] is None else max(entry[2], last)
    for head, count in db.query(
        f"SELECT {prefix}, count(*) FROM records WHERE device = ? AND ts IS NULL AND type = 'reading'"
        f" GROUP BY {prefix}", (device,),
    ):
        key = _series_of(head)
        if key is not None:
            found.setdefault(key, [0, None, None, 0])[3] += int(count)
    return [ReadingSeries(s, r, c, first, last, u) for (s, r), (c, first, last, u) in sorted(found.items())]


def untrusted_count(db: Database, device: str, sensor: str, reading: str) -> int:
    """How many readings of the series have no trusted time yet (not exported)."""
    return int(db.scalar(
        f"SELECT count(*) FROM records WHERE device = ? AND ts IS NULL AND type = 'reading'"
        f" AND {_PREFIX[db.dialect]} = ?", (device, body_prefix(sensor, reading)),
    ))


def _lane_rows(db: Database, device: str, lane: str, head: str, start_s: float, end_s: float,
               chunk_rows: int) -> Iterator[tuple[float, str, int, str]]:
    """The lane's rows of the series in (ts, seq) order, read `chunk_rows` at most per query, each query within a
    time window: the engines cannot tell how selective the body test is, and without a window PostgreSQL sorts
    every remaining row of the range for each chunk. The window halves when a chunk fills it, doubles when
    it holds few rows."""
    sql = (
        f"SELECT ts, seq, body FROM records WHERE device = ? AND lane = ? AND ts >= ? AND ts < ?"
        f" AND (ts > ? OR seq > ?) AND type = 'reading' AND {_PREFIX[db.dialect]} = ?"
        " ORDER BY ts, seq LIMIT ?"
    )
    low, after_seq, window = start_s, -1, FIRST_WINDOW_S
    while low < end_s:
        high = min(end_s, low + window)
        rows = db.query(sql, (device, lane, low, high, low, after_seq, head, chunk_rows))
        for ts, seq, body in rows:
            yield float(ts), lane, int(seq), body
        if len(rows) >= chunk_rows:  # the window holds more: go on after the last row, in a smaller window
            low, after_seq = float(rows[-1][0]), int(rows[-1][1])
            window = max(window / 2, 1.0)
        else:
            low, after_seq = high, -1
            if len(rows) < chunk_rows // 2:
                window = min(window * 2, MAX_WINDOW_S)


def reading_rows(db: Database, device: str, sensor: str, reading: str, start_s: float, end_s: float,
                 *, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[float, float]]:
    """(ts, value) of the series' readings with `start_s <= ts < end_s`, in time order, `chunk_rows` per query."""
    head = body_prefix(sensor, reading)
    lanes = [_lane_rows(db, device, lane, head, start_s, end_s, chunk_rows) for lane in READING_LANES]
    for ts, _lane, _seq, text in heapq.merge(*lanes):
        body = json.loads(text)
        if body.get("sensor") == sensor and body.get("name") == reading:
            yield ts, float(body["value"])
