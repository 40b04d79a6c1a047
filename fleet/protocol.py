"""Wire protocol v1 between boxes and the fleet: topics, encoding, messages (standard library only).

The public import for everything: helpers live in fleet/protocol_*.py and are re-exported here.
See /work/notes/sync_spec.md and DESIGN.md "Wire protocol".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.protocol_checks import (
    MAX_BOOT,
    MAX_INT,
    MAX_STR,
    MAX_TEXT,
    check_float,
    check_header,
    check_str,
    get_bool,
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
from fleet.protocol_codec import (
    DEVICE_PATTERN,
    FLEET_SUBSCRIPTIONS,
    KINDS,
    MAX_JSON_BYTES,
    MAX_PAYLOAD_BYTES,
    PREFIX,
    SHARE_GROUP,
    VERSION,
    ProtocolError,
    decode,
    encode,
    fail,
    parse_topic,
    topic,
)
from fleet.protocol_records import (
    CLOCK_STATES,
    COMMAND_ID_PATTERN,
    LANE_PRIORITY,
    LANE_TYPES,
    LANES,
    TOTAL_QUANTITIES,
    TYPE_FIELDS,
    Record,
    check_record,
    lane_of_quantity,
    parse_record,
)

__all__ = [
    "ACTIONS", "CLOCK_STATES", "COMMAND_ID_PATTERN", "DEVICE_PATTERN", "FLEET_SUBSCRIPTIONS", "KINDS",
    "LANES", "LANE_PRIORITY", "LANE_TYPES", "LOCAL_TABLES", "MAX_DURATION_S", "MAX_INT", "MAX_JSON_BYTES",
    "MAX_PAYLOAD_BYTES", "MAX_RECORDS", "MAX_STR", "MAX_TEXT", "PREFIX", "SHARE_GROUP", "TOTAL_QUANTITIES",
    "TYPE_FIELDS", "VERSION", "Ack", "Batch", "Command", "Config", "ProtocolError", "Record", "Status",
    "check_record", "decode", "encode", "encode_batch", "lane_of_quantity", "parse_ack", "parse_batch",
    "parse_command", "parse_config", "parse_status", "parse_topic", "topic",
]

#: Most records in one `up` batch.
MAX_RECORDS = 5000
#: Longest relay override a command may ask for: 7 days.
MAX_DURATION_S = 7 * 24 * 3600.0
#: Command actions and the keys of their `args` (override's `reason` is optional).
ACTIONS = {
    "override": ("relay", "state", "duration_s", "reason"),
    "clear_override": ("relay",),
    "ack_alarm": ("alarm_id", "key", "by"),  # the alarm's number on the box, or its key (exactly one)
    "status": (),
    "reload_config": (),
}
#: Config tables that stay local on the box and never travel in `config`.
LOCAL_TABLES = ("device", "link")


@dataclass(frozen=True, slots=True)
class Batch:
    """An `up` message: records of one lane, seq_first..seq_last, chained after `after`."""

    device: str
    boot: str
    lane: str
    after: int
    seq_first: int
    seq_last: int
    sent_at: float
    clock_synced: bool
    clock_offsets: Mapping[str, float]
    records: tuple[Record, ...]

    def to_message(self) -> dict[str, Any]:
        """The batch as the JSON object of an `up` payload."""
        return {
            "v": VERSION,
            "device": self.device,
            "boot": self.boot,
            "lane": self.lane,
            "after": self.after,
            "seq_first": self.seq_first,
            "seq_last": self.seq_last,
            "sent_at": self.sent_at,
            "clock": {"synced": self.clock_synced, "offsets": dict(self.clock_offsets)},
            "records": [record.to_message() for record in self.records],
        }


@dataclass(frozen=True, slots=True)
class Status:
    """A `status` message (retained; also the last will, state "offline")."""

    device: str
    state: str
    boot: str
    version: str
    config_version: int | None
    at: float
    link: Mapping[str, Any] | None = None

    def to_message(self) -> dict[str, Any]:
        """The status as a JSON object (`link` left out when None)."""
        message = {
            "v": VERSION, "device": self.device, "state": self.state, "boot": self.boot,
            "version": self.version, "config_version": self.config_version, "at": self.at,
        }
        if self.link is not None:
            message["link"] = dict(self.link)
        return message


@dataclass(frozen=True, slots=True)
class Ack:
    """An `ack` message: per lane, every seq <= acked[lane] is held for good by the fleet (or thinned)."""

    device: str
    acked: Mapping[str, int]

    def to_message(self) -> dict[str, Any]:
        """The ack as a JSON object."""
        return {"v": VERSION, "device": self.device, "acked": {lane: self.acked[lane] for lane in LANES}}


@dataclass(frozen=True, slots=True)
class Config:
    """A `config` message: the desired box config (without [device] and [link]) at `version`."""

    device: str
    version: int
    config: Mapping[str, Any]

    def to_message(self) -> dict[str, Any]:
        """The config as a JSON object."""
        return {"v": VERSION, "device": self.device, "version": self.version, "config": dict(self.config)}


@dataclass(frozen=True, slots=True)
class Command:
    """A `cmd` message: `action` with `args`, to be refused once `expires_at` (wall s) has come."""

    device: str
    id: str
    action: str
    args: Mapping[str, Any]
    expires_at: float

    def expired(self, now_s: float) -> bool:
        """Whether the command is expired at wall time `now_s` (expired from `expires_at` on)."""
        return now_s >= self.expires_at

    def to_message(self) -> dict[str, Any]:
        """The command as a JSON object."""
        return {
            "v": VERSION, "device": self.device, "id": self.id, "action": self.action,
            "args": dict(self.args), "expires_at": self.expires_at,
        }


def encode_batch(batch: Batch) -> bytes:
    """The `up` payload of `batch`."""
    return encode(batch.to_message())


_BATCH_KEYS = ("v", "device", "boot", "lane", "after", "seq_first", "seq_last", "sent_at", "clock", "records")


def _offsets(clock: Mapping[str, Any]) -> dict[str, float]:
    offsets = get_object(clock, "offsets", "clock")
    for boot, offset in offsets.items():
        check_str(boot, "clock.offsets", 1, MAX_BOOT)
        offsets[boot] = check_float(offset, f"clock.offsets.{boot}")
    return offsets


def parse_batch(topic_device: str, payload: bytes) -> Batch:
    """Decode and check an `up` payload from `topic_device` in full."""
    message = decode(payload)
    check_header(topic_device, message, _BATCH_KEYS)
    lane = get_choice(message, "lane", LANES)
    after = get_int(message, "after", "", 0)
    seq_first = get_int(message, "seq_first", "", 1)
    seq_last = get_int(message, "seq_last", "", 1)
    if seq_last < seq_first:
        fail("seq_last", "must be >= seq_first")
    if after >= seq_first:
        fail("after", "must be < seq_first")
    clock = get_object(message, "clock")
    only_keys(clock, ("synced", "offsets"), "clock")
    items = get_list(message, "records")
    if not 1 <= len(items) <= MAX_RECORDS:
        fail("records", f"must hold 1..{MAX_RECORDS} records")
    allowed = LANE_TYPES[lane]
    records = []
    previous = after
    for index, item in enumerate(items):
        path = f"records[{index}]"
        record = parse_record(item, path)
        if record.type not in allowed:
            fail(f"{path}.type", f"{record.type} records do not travel in the {lane} lane")
        if record.seq <= previous:
            fail(f"{path}.seq", f"must be > {previous} (seqs strictly increasing, after `after`)")
        previous = record.seq
        records.append(record)
    if records[0].seq != seq_first:
        fail("records[0].seq", f"must equal seq_first ({seq_first})")
    if records[-1].seq != seq_last:
        fail(f"records[{len(records) - 1}].seq", f"must equal seq_last ({seq_last})")
    return Batch(
        device=topic_device,
        boot=get_str(message, "boot", "", 1, MAX_BOOT),
        lane=lane,
        after=after,
        seq_first=seq_first,
        seq_last=seq_last,
        sent_at=get_float(message, "sent_at"),
        clock_synced=get_bool(clock, "synced", "clock"),
        clock_offsets=_offsets(clock),
        records=tuple(records),
    )


def parse_status(topic_device: str, payload: bytes) -> Status:
    """Decode and check a `status` payload from `topic_device`."""
    message = decode(payload)
    check_header(topic_device, message, ("v", "device", "state", "boot", "version", "config_version", "at", "link"))
    config_version = message.get("config_version", ...)
    if config_version is not None:
        config_version = get_int(message, "config_version", "", 0)
    link = get_object(message, "link") if "link" in message else None
    return Status(
        device=topic_device,
        state=get_choice(message, "state", ("online", "offline")),
        boot=get_str(message, "boot", "", 1, MAX_BOOT),
        version=get_str(message, "version"),
        config_version=config_version,
        at=get_float(message, "at"),
        link=link,
    )


def parse_ack(topic_device: str, payload: bytes) -> Ack:
    """Decode and check an `ack` payload for `topic_device`."""
    message = decode(payload)
    check_header(topic_device, message, ("v", "device", "acked"))
    acked = get_object(message, "acked")
    only_keys(acked, LANES, "acked")
    return Ack(device=topic_device, acked={lane: get_int(acked, lane, "acked", 0) for lane in LANES})


def parse_config(topic_device: str, payload: bytes) -> Config:
    """Decode and check a `config` payload for `topic_device` (the config's own keys are the box's job)."""
    message = decode(payload)
    check_header(topic_device, message, ("v", "device", "version", "config"))
    version = get_int(message, "version", "", 1)
    config = get_object(message, "config")
    for table in LOCAL_TABLES:
        if table in config:
            fail(f"config.{table}", "stays local on the box and must not be sent")
    return Config(device=topic_device, version=version, config=config)


def _args(action: str, args: dict[str, Any]) -> dict[str, Any]:
    only_keys(args, ACTIONS[action], "args")
    if action == "override":
        checked: dict[str, Any] = {
            "relay": get_match(args, "relay", DEVICE_PATTERN, "args"),
            "state": get_choice(args, "state", ("on", "off"), "args"),
            "duration_s": get_float(args, "duration_s", "args"),
        }
        if not 0 < checked["duration_s"] <= MAX_DURATION_S:
            fail("args.duration_s", f"must be > 0 and <= {MAX_DURATION_S:g} (7 days)")
        if "reason" in args:
            checked["reason"] = get_text(args, "reason", "args")
        return checked
    if action == "clear_override":
        return {"relay": get_match(args, "relay", DEVICE_PATTERN, "args")}
    if action == "ack_alarm":
        if "key" in args:  # the latched alarm's key: what the fleet knows of it (from the box's "alarm" event)
            if "alarm_id" in args:
                fail("args", "give alarm_id or key, not both")
            return {"key": get_str(args, "key", "args"), "by": get_str(args, "by", "args")}
        return {"alarm_id": get_int(args, "alarm_id", "args", 1), "by": get_str(args, "by", "args")}
    return {}


def parse_command(topic_device: str, payload: bytes) -> Command:
    """Decode and check a `cmd` payload for `topic_device`; once the id parsed, errors carry `command_id`."""
    message = decode(payload)
    check_header(topic_device, message, ("v", "device", "id", "action", "args", "expires_at"))
    command_id = get_match(message, "id", COMMAND_ID_PATTERN)
    try:
        action = get_choice(message, "action", ACTIONS)
        return Command(
            device=topic_device,
            id=command_id,
            action=action,
            args=_args(action, get_object(message, "args")),
            expires_at=get_float(message, "expires_at"),
        )
    except ProtocolError as error:
        raise ProtocolError(error.reason, command_id=command_id) from None
