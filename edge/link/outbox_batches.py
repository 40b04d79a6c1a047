"""From outbox rows to `up` messages: clock correction, records, and batches that always fit the payload limit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.storage.outbox_rows import LANE_NAMES, body_fields
from fleet import protocol

#: (seq, boot, mono_s, wall_s, synced, type, body) as read from the outbox table.
Row = tuple[int, str, float, float, int, str, str]
ROW_COLUMNS = "seq, boot, mono_s, wall_s, synced, type, body"
#: Bytes of JSON a record takes beyond its boot and body (keys, seq, times, clock), counted generously.
RECORD_OVERHEAD_BYTES = 120
#: Uncompressed JSON aimed at per batch: under the protocol's limit, with room for the estimate's error.
JSON_BUDGET_BYTES = protocol.MAX_JSON_BYTES // 2


class Unsendable(ValueError):
    """A record that no message can carry, even cut down (what a hand-edited database may hold)."""

    def __init__(self, seq: int, lane: int) -> None:
        super().__init__(f"record {seq} of the {LANE_NAMES[lane]} lane cannot be encoded in a message")
        self.seq, self.lane = seq, lane


@dataclass(frozen=True, slots=True)
class OutgoingBatch:
    """One `up` message ready to publish: a lane's records seq_first..seq_last, chained after `after`."""

    lane: str
    after: int
    seq_first: int
    seq_last: int
    records: int
    topic: str
    payload: bytes


def record_of(row: Row, offsets: Mapping[str, float]) -> protocol.Record:
    """A row as the record that leaves: an unsynchronised one of a boot whose offset is known is corrected
    (wall = mono + offset, its aggregate span moved by as much)."""
    seq, boot, mono_s, wall_s, synced, kind, body = row
    fields = body_fields(kind, body)
    clock = "synced" if synced else "unsynced"
    offset = offsets.get(boot)
    if not synced and offset is not None:
        corrected = mono_s + offset
        if kind == "aggregate":
            shift = corrected - wall_s
            fields["from_s"], fields["to_s"] = fields["from_s"] + shift, fields["to_s"] + shift
        wall_s, clock = corrected, "corrected"
    return protocol.Record(int(seq), boot, max(0.0, float(mono_s)), float(wall_s), clock, kind, fields)


def _readable(row: Row, offsets: Mapping[str, float]) -> bool:
    try:
        record_of(row, offsets)
    except (ValueError, KeyError, TypeError):
        return False
    return True


def estimated_bytes(row: Row) -> int:
    """A generous estimate of the JSON a row takes in a batch."""
    return len(row[6]) + len(row[1]) + RECORD_OVERHEAD_BYTES


def _shrunk(record: protocol.Record) -> protocol.Record:
    """A record too big for any message, cut down to what says what it was (it must not block its lane)."""
    body: dict[str, Any] = dict(record.body)
    for key in ("data", "reason", "detail", "reasons"):
        if key in body:
            body[key] = {"truncated": True} if key == "data" else ["truncated"] if key == "reasons" else "truncated"
    return protocol.Record(record.seq, record.boot, record.mono_s, record.wall_s, record.clock, record.type, body)


def build_batch(
    device: str,
    boot: str,
    lane: int,
    after: int,
    rows: Sequence[Row],
    *,
    offsets: Mapping[str, float],
    synced: bool,
    sent_at: float,
    max_batch_bytes: int,
) -> OutgoingBatch:
    """The batch of the longest run of `rows` (at least one) whose payload fits `max_batch_bytes`."""
    n, total = 0, 0
    for row in rows:
        total += estimated_bytes(row)
        if n and total > JSON_BUDGET_BYTES:
            break
        n += 1
    try:
        records = [record_of(row, offsets) for row in rows[:n]]
    except (ValueError, KeyError, TypeError) as error:  # a body that is not what its type says
        bad = next(row for row in rows[:n] if not _readable(row, offsets))
        raise Unsendable(int(bad[0]), lane) from error
    while True:
        payload = _encode(device, boot, lane, after, records[:n], offsets, synced, sent_at)
        if payload is not None and len(payload) <= max_batch_bytes:
            break
        if n == 1:
            records[0] = _shrunk(records[0])
            payload = _encode(device, boot, lane, after, records[:1], offsets, synced, sent_at)
            if payload is None or len(payload) > max_batch_bytes:
                raise Unsendable(records[0].seq, lane)
            break
        ratio = 0.5 if payload is None else 0.9 * max_batch_bytes / len(payload)
        n = max(1, min(n - 1, math.floor(n * ratio)))
    return OutgoingBatch(LANE_NAMES[lane], after, records[0].seq, records[n - 1].seq, n,
                         protocol.topic(device, "up"), payload)


def _encode(
    device: str, boot: str, lane: int, after: int, records: Sequence[protocol.Record],
    offsets: Mapping[str, float], synced: bool, sent_at: float,
) -> bytes | None:
    boots = {record.boot for record in records}
    batch = protocol.Batch(
        device=device, boot=boot, lane=LANE_NAMES[lane], after=after, seq_first=records[0].seq,
        seq_last=records[-1].seq, sent_at=sent_at, clock_synced=synced,
        clock_offsets={b: offsets[b] for b in sorted(boots) if b in offsets}, records=tuple(records),
    )
    try:
        return protocol.encode_batch(batch)
    except protocol.ProtocolError:
        return None
