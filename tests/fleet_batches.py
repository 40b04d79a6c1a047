"""`up` payloads built as the sync spec writes them, for the fleet's store and serve tests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: 2026-01-01T00:00:00Z, a time the fleet believes.
T0 = 1_767_225_600.0


def reading(seq: int, *, value: float = 1.0, boot: str = "b1", mono_s: float | None = None,
            wall_s: float | None = None, clock: str = "synced") -> dict[str, Any]:
    """A raw reading record; its times default to T0 + seq seconds."""
    return {
        "seq": seq, "boot": boot, "mono_s": float(seq) if mono_s is None else mono_s,
        "wall_s": T0 + seq if wall_s is None else wall_s, "clock": clock, "type": "reading",
        "sensor": "lux", "name": "illuminance", "value": value,
    }


def thinned(seq: int, *, lane: str, seq_from: int, seq_to: int, count: int, boot: str = "b1") -> dict[str, Any]:
    """An event-lane record reporting seqs of `lane` deleted unsent."""
    return {
        "seq": seq, "boot": boot, "mono_s": float(seq), "wall_s": T0 + seq, "clock": "synced",
        "type": "thinned", "lane": lane, "seq_from": seq_from, "seq_to": seq_to, "count": count,
        "reason": "disk budget",
    }


def up_message(lane: str, after: int, records: Sequence[Mapping[str, Any]], *, device: str = "box-a",
               boot: str = "b1", offsets: Mapping[str, float] | None = None) -> dict[str, Any]:
    """An `up` message of `records` (seq_first/seq_last taken from them)."""
    return {
        "v": 1, "device": device, "boot": boot, "lane": lane, "after": after,
        "seq_first": records[0]["seq"], "seq_last": records[-1]["seq"], "sent_at": T0,
        "clock": {"synced": True, "offsets": dict(offsets or {})}, "records": [dict(r) for r in records],
    }


def up_payload(*args: Any, **kwargs: Any) -> bytes:
    """The JSON bytes of up_message(...)."""
    return json.dumps(up_message(*args, **kwargs)).encode()


def raw_range(first: int, last: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Raw readings first..last inclusive."""
    return [reading(seq, **kwargs) for seq in range(first, last + 1)]


class Published:
    """A JobContext.publish that keeps what it is given (thread-safe: list.append)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, int, bool]] = []

    def __call__(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.messages.append((topic, payload, qos, retain))
