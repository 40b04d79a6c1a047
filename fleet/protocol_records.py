"""Wire protocol v1: lanes and the records a box sends in its `up` batches (stdlib only)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet.protocol_checks import (
    MAX_BOOT,
    at,
    check_str,
    get_choice,
    get_float,
    get_int,
    get_list,
    get_match,
    get_object,
    get_str,
    get_text,
    only_keys,
)
from fleet.protocol_codec import fail

#: The three lanes, in the order the box sends them, with their priority (lower goes first).
LANES = ("event", "total", "raw")
LANE_PRIORITY = {"event": 0, "total": 1, "raw": 2}
#: Reading quantities that are meter totals (the `total` lane); every other reading is `raw`.
TOTAL_QUANTITIES = frozenset({"volume", "active_energy", "reactive_energy", "pulse_count", "count"})
#: Record types each lane may carry.
LANE_TYPES = {
    "event": frozenset({"event", "thinned", "command_result", "config_report"}),
    "total": frozenset({"reading", "aggregate"}),
    "raw": frozenset({"reading", "aggregate"}),
}
#: A record's clock state when it was produced (or corrected before it left).
CLOCK_STATES = ("synced", "unsynced", "corrected")
#: Command ids: 1..64 of [A-Za-z0-9_.:-].
COMMAND_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
COMMON_KEYS = ("seq", "boot", "mono_s", "wall_s", "clock", "type")


def lane_of_quantity(quantity: str) -> str:
    """The lane of a reading of `quantity`: "total" for meter totals, else "raw"."""
    return "total" if quantity in TOTAL_QUANTITIES else "raw"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a lane: common fields, its `type`, and the type's fields in `body`."""

    seq: int
    boot: str
    mono_s: float
    wall_s: float
    clock: str
    type: str
    body: Mapping[str, Any]

    def to_message(self) -> dict[str, Any]:
        """The record as it goes inside an `up` batch."""
        return {
            "seq": self.seq,
            "boot": self.boot,
            "mono_s": self.mono_s,
            "wall_s": self.wall_s,
            "clock": self.clock,
            "type": self.type,
            **self.body,
        }


Getter = Callable[[Mapping[str, Any], str, str], Any]


def _text(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_text(m, key, path)


def _name(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_str(m, key, path)


def _number(m: Mapping[str, Any], key: str, path: str) -> float:
    return get_float(m, key, path)


def _count(m: Mapping[str, Any], key: str, path: str) -> int:
    return get_int(m, key, path, 1)


def _seq(m: Mapping[str, Any], key: str, path: str) -> int:
    return get_int(m, key, path, 1)


def _version(m: Mapping[str, Any], key: str, path: str) -> int:
    return get_int(m, key, path, 0)


def _lane(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_choice(m, key, LANES, path)


def _command_id(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_match(m, key, COMMAND_ID_PATTERN, path)


def _result_status(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_choice(m, key, ("done", "refused", "failed"), path)


def _config_status(m: Mapping[str, Any], key: str, path: str) -> str:
    return get_choice(m, key, ("applied", "rejected", "rolled_back"), path)


def _reasons(m: Mapping[str, Any], key: str, path: str) -> list[str]:
    items = get_list(m, key, path)
    return [check_str(item, f"{at(path, key)}[{i}]", 0, 4096) for i, item in enumerate(items)]


#: Each record type's own fields and how they are checked.
TYPE_FIELDS: dict[str, dict[str, Getter]] = {
    "reading": {"sensor": _name, "name": _name, "value": _number},
    "event": {"kind": _name, "source": _name, "reason": _text, "data": get_object},
    "aggregate": {
        "sensor": _name, "name": _name, "from_s": _number, "to_s": _number,
        "min": _number, "mean": _number, "max": _number, "count": _count,
    },
    "thinned": {"lane": _lane, "seq_from": _seq, "seq_to": _seq, "count": _count, "reason": _text},
    "command_result": {"id": _command_id, "action": _name, "status": _result_status, "detail": _text},
    "config_report": {"version": _version, "status": _config_status, "reasons": _reasons},
}
_ALLOWED = {kind: frozenset(COMMON_KEYS) | frozenset(fields) for kind, fields in TYPE_FIELDS.items()}


def _check_body(kind: str, body: Mapping[str, Any], path: str) -> None:
    if kind == "aggregate":
        if body["from_s"] > body["to_s"]:
            fail(at(path, "to_s"), "must be >= from_s")
        if body["min"] > body["max"]:
            fail(at(path, "max"), "must be >= min")
    elif kind == "thinned":
        span = body["seq_to"] - body["seq_from"] + 1
        if span < 1:
            fail(at(path, "seq_to"), "must be >= seq_from")
        if body["count"] > span:
            fail(at(path, "count"), f"must be <= {span} (seq_from..seq_to)")


def parse_record(value: object, path: str) -> Record:
    """Check one record of an `up` batch (unknown keys refused) and build it."""
    if not isinstance(value, dict):
        fail(path, "must be an object")
    kind = get_choice(value, "type", TYPE_FIELDS, path)
    only_keys(value, _ALLOWED[kind], path)
    seq = get_int(value, "seq", path, 1)
    boot = get_str(value, "boot", path, 1, MAX_BOOT)
    mono_s = get_float(value, "mono_s", path, 0.0)
    wall_s = get_float(value, "wall_s", path)
    clock = get_choice(value, "clock", CLOCK_STATES, path)
    body = {key: getter(value, key, path) for key, getter in TYPE_FIELDS[kind].items()}
    _check_body(kind, body, path)
    return Record(seq=seq, boot=boot, mono_s=mono_s, wall_s=wall_s, clock=clock, type=kind, body=body)


def check_record(record: Record, lane: str | None = None) -> None:
    """Raise the ProtocolError the fleet would refuse `record` with (in `lane`, when given): lets the box
    mend or cut down a record before it blocks its lane."""
    parsed = parse_record(record.to_message(), f"record {record.seq}")
    if lane is not None and parsed.type not in LANE_TYPES.get(lane, ()):
        fail(f"record {record.seq}.type", f"{parsed.type} records do not travel in the {lane} lane")
