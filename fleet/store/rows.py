"""A parsed batch as the rows a store writes: records, thinned reports, clock offsets, boots to fix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet import protocol
from fleet.store.api import trusted_ts

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class BatchRows:
    """Rows of one batch, ready for executemany."""

    records: list[tuple[Any, ...]]
    thinned: list[tuple[Any, ...]]
    offsets: Mapping[str, float]
    untrusted_boots: set[str]


def batch_rows(batch: protocol.Batch, received_at: float) -> BatchRows:
    """The rows of a batch, each record's ts decided by the time-trust rule."""
    device, lane = batch.device, batch.lane
    records: list[tuple[Any, ...]] = []
    thinned: list[tuple[Any, ...]] = []
    untrusted: set[str] = set()
    for record in batch.records:
        body = record.body
        ts = trusted_ts(record.clock, record.wall_s, received_at)
        if ts is None:
            untrusted.add(record.boot)
        records.append((
            device, lane, record.seq, record.boot, record.mono_s, record.wall_s, ts, record.clock, record.type,
            _ENCODER.encode(dict(body)), received_at,
        ))
        if record.type == "thinned":
            thinned.append(
                (device, body["lane"], body["seq_from"], body["seq_to"], body["count"], body["reason"], record.seq)
            )
    return BatchRows(records=records, thinned=thinned, offsets=dict(batch.clock_offsets), untrusted_boots=untrusted)
