"""How readings and events are copied into the outbox: lanes, stamps, record bodies and sequence numbers.

Every reading and event the store writes is copied, in the same transaction, into the `outbox` table
(schema version 3) of its lane, under the lane's next sequence number (`outbox_lanes.last_seq`, never
reused: it survives restarts and deletes). The copy carries the boot id, the monotonic time and whether the
wall clock was synchronised when the record was produced (a `Stamp`), so that the link can correct its
time before it leaves (edge/link/outbox.py).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fleet.protocol import TOTAL_QUANTITIES, Record, check_record

#: Lanes as the outbox stores them (the number is the lane's priority: lower goes first).
EVENT, TOTAL, RAW = 0, 1, 2
LANE_NAMES = ("event", "total", "raw")
LANE_IDS = {name: lane for lane, name in enumerate(LANE_NAMES)}
#: (boot id, monotonic s, wall clock synchronised) when a record was produced.
Stamp = tuple[str, float, bool]
StampSource = Callable[[], Stamp]
#: The boot id of records stamped without a clock that knows its boot.
UNKNOWN_BOOT = "unknown-boot"
#: Strings the wire protocol bounds (fleet/protocol.py): ids and names, then reasons.
MAX_NAME = 1024
MAX_TEXT = 4096
#: An event's data past this many bytes of JSON is replaced by a note of its size (a record must fit a message).
MAX_DATA_BYTES = 32 * 1024
#: A body is stored as a JSON array of its type's fields in this order (the keys are put back when it is sent).
BODY_FIELDS: dict[str, tuple[str, ...]] = {
    "reading": ("sensor", "name", "value"),
    "event": ("kind", "source", "reason", "data"),
    "aggregate": ("sensor", "name", "from_s", "to_s", "min", "mean", "max", "count"),
    "thinned": ("lane", "seq_from", "seq_to", "count", "reason"),
    "command_result": ("id", "action", "status", "detail"),
    "config_report": ("version", "status", "reasons"),
}
#: (lane, seq, boot, mono_s, wall_s, synced, type, body)
OutboxRow = tuple[int, int, str, float, float, int, str, str]
#: What a row waits as before it has its sequence number: (lane, boot, mono_s, wall_s, synced, type, body).
Unnumbered = tuple[int, str, float, float, int, str, str]

OUTBOX_INSERT = "INSERT INTO outbox (lane, seq, boot, mono_s, wall_s, synced, type, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def stamp_source(monotonic: Callable[[], float]) -> StampSource:
    """Stamps from the clock a `monotonic` bound method belongs to (its boot_id and synced), else from
    `monotonic` alone: an unknown boot whose wall clock is trusted (the store's behaviour before the outbox)."""
    clock = getattr(monotonic, "__self__", None)
    boot_id, synced = getattr(clock, "boot_id", None), getattr(clock, "synced", None)
    if callable(boot_id) and callable(synced):
        return clock_stamp(clock)
    return lambda: (UNKNOWN_BOOT, float(monotonic()), True)


def clock_stamp(clock: Any) -> StampSource:
    """Stamps from a Clock (edge/runtime/clock.py): boot_id(), monotonic(), synced()."""
    return lambda: (str(clock.boot_id()) or UNKNOWN_BOOT, float(clock.monotonic()), bool(clock.synced()))


def reading_lane(quantity: str, value: float) -> int | None:
    """The lane of a reading of `quantity`, or None for a value JSON cannot carry (NaN, infinite)."""
    if not math.isfinite(value):
        return None
    return TOTAL if quantity in TOTAL_QUANTITIES else RAW


#: What a NUL becomes in a record (the protocol refuses NUL in every string: a record holding one would be
#: refused by the fleet and block its lane).
NUL_MARK = "\u2400"


def _string(text: str, limit: int) -> str:
    text = text.replace("\x00", NUL_MARK)
    return _ENCODER.encode(text if len(text) <= limit else text[: limit - 1] + "…")


def reading_body(sensor: str, name: str, value: float) -> str:
    """A reading's record fields as compact JSON (an array in BODY_FIELDS order)."""
    return f"[{_string(sensor, MAX_NAME)},{_string(name, MAX_NAME)},{value!r}]"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value.replace("\x00", NUL_MARK)
    if isinstance(value, dict):
        return {str(k).replace("\x00", NUL_MARK): _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _data(data: str) -> str:
    """An event's data JSON as the protocol takes it: an object, no NaN or Infinity, bounded in size."""
    if len(data) > MAX_DATA_BYTES:
        return _ENCODER.encode({"truncated_bytes": len(data.encode("utf-8"))})
    if data.startswith("{") and "NaN" not in data and "Infinity" not in data and "\\u0000" not in data:
        return data
    try:
        value = _finite(json.loads(data))
    except ValueError:
        return "{}"
    return _ENCODER.encode(value if isinstance(value, dict) else {"value": value})


def event_body(kind: str, source: str, reason: str, data: str) -> str:
    """An event's record fields as compact JSON (its data already JSON text, as the events table has it)."""
    return f"[{_string(kind, MAX_NAME)},{_string(source, MAX_NAME)},{_string(reason, MAX_TEXT)},{_data(data)}]"


def body_text(kind: str, fields: Mapping[str, Any]) -> str:
    """The stored body of a record of type `kind` (a command result, a config report...) from its fields."""
    return _ENCODER.encode([_finite(fields[name]) for name in BODY_FIELDS[kind]])


def body_fields(kind: str, text: str) -> dict[str, Any]:
    """A stored body back as the record's fields (an array in BODY_FIELDS order, or an object)."""
    value = json.loads(text)
    return dict(zip(BODY_FIELDS[kind], value, strict=True)) if isinstance(value, list) else value


#: Event kinds whose data is a record of its own type on the wire: a command's result, a fleet config's report.
TYPED_EVENTS = {"command": "command_result", "config": "config_report"}


def _typed(kind: str, data: str) -> tuple[str, str] | None:
    """The (type, body) a command or config event travels as, or None when its data does not fit the type."""
    record_type = TYPED_EVENTS.get(kind)
    if record_type is None:
        return None
    try:
        fields = json.loads(data)
        body = body_text(record_type, fields)
        check_record(Record(1, "b", 0.0, 0.0, "synced", record_type, body_fields(record_type, body)))
    except (ValueError, TypeError, KeyError):
        return None
    return record_type, body


def event_outbox(row: Sequence[Any], stamp: Stamp) -> Unnumbered:
    """The outbox copy of an events-table row (ts, kind, source, reason, data)."""
    ts, kind, source, reason, data = row
    typed = _typed(kind, data)
    record_type, body = typed if typed is not None else ("event", event_body(kind, source, reason, data))
    return (EVENT, stamp[0], stamp[1], float(ts), int(stamp[2]), record_type, body)


def append(conn: sqlite3.Connection, rows: Iterable[Unnumbered]) -> dict[int, tuple[int, int]]:
    """Number `rows` after each lane's last sequence number and insert them, in the caller's transaction;
    the (first, last) seq given per lane."""
    by_lane: dict[int, list[Unnumbered]] = {}
    for row in rows:
        by_lane.setdefault(row[0], []).append(row)
    given = {}
    for lane, lane_rows in sorted(by_lane.items()):
        last = int(conn.execute("SELECT last_seq FROM outbox_lanes WHERE lane = ?", (lane,)).fetchone()[0])
        conn.executemany(OUTBOX_INSERT, ((lane, last + i, *row[1:]) for i, row in enumerate(lane_rows, 1)))
        conn.execute("UPDATE outbox_lanes SET last_seq = ? WHERE lane = ?", (last + len(lane_rows), lane))
        given[lane] = (last + 1, last + len(lane_rows))
    return given
