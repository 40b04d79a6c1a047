"""Wire protocol v1 (fleet/protocol.py): topics, payload encoding and its limits, every message's schema."""

from __future__ import annotations

import copy
import json
import os
import tracemalloc
import zlib
from typing import Any

import pytest

from fleet import protocol
from fleet.protocol import (
    Ack,
    Batch,
    Command,
    Config,
    ProtocolError,
    Record,
    Status,
    decode,
    encode,
    encode_batch,
    parse_ack,
    parse_batch,
    parse_command,
    parse_config,
    parse_status,
    parse_topic,
    topic,
)

KIB = 1024
MIB = 1024 * 1024


def _refusal(parse: Any, *args: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse(*args)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def _json(message: Any) -> bytes:
    return json.dumps(message).encode()


# --- constants --------------------------------------------------------------------------------------


def test_protocol_constants_are_the_spec() -> None:
    assert protocol.LANES == ("event", "total", "raw")
    assert protocol.LANE_PRIORITY == {"event": 0, "total": 1, "raw": 2}
    assert protocol.TOTAL_QUANTITIES == {"volume", "active_energy", "reactive_energy", "pulse_count", "count"}
    assert protocol.MAX_PAYLOAD_BYTES == 262144 and protocol.MAX_JSON_BYTES == 4194304
    assert protocol.MAX_RECORDS == 5000
    assert protocol.FLEET_SUBSCRIPTIONS == ("$share/hameau-fleet/hameau/v1/+/up", "$share/hameau-fleet/hameau/v1/+/status")


@pytest.mark.parametrize(
    ("quantity", "lane"),
    [("volume", "total"), ("active_energy", "total"), ("reactive_energy", "total"), ("pulse_count", "total"),
     ("count", "total"), ("illuminance", "raw"), ("flow_rate", "raw"), ("temperature", "raw")],
)
def test_protocol_lane_of_quantity_sends_meter_totals_in_the_total_lane(quantity: str, lane: str) -> None:
    assert protocol.lane_of_quantity(quantity) == lane


# --- topics -----------------------------------------------------------------------------------------


def test_protocol_topic_names_every_kind() -> None:
    assert [topic("box-1", k) for k in ("up", "status", "ack", "config", "cmd")] == [
        "hameau/v1/box-1/up", "hameau/v1/box-1/status", "hameau/v1/box-1/ack",
        "hameau/v1/box-1/config", "hameau/v1/box-1/cmd",
    ]


def test_protocol_parse_topic_reads_text_and_bytes() -> None:
    assert parse_topic("hameau/v1/box-1/up") == ("box-1", "up")
    assert parse_topic(b"hameau/v1/a_9/cmd") == ("a_9", "cmd")
    assert parse_topic("hameau/v1/" + "a" * 63 + "/ack") == ("a" * 63, "ack")


@pytest.mark.parametrize(
    "name",
    ["hameau/v1/+/up", "hameau/v1/#", "hameau/v1/box-1/#", "hameau/v1/box\x00/up", "hameau/v2/box-1/up",
     "hameau/v1/box-1/up/more", "hameau/v1/box-1/down", "hameau/v1/Box-1/up", "hameau/v1/-box/up",
     "hameau/v1//up", "hameau/v1/box-1/up\n", "$share/hameau-fleet/hameau/v1/box-1/up",
     "hameau/v1/" + "a" * 64 + "/up", b"hameau/v1/\xff/up", "", 42],
)
def test_protocol_parse_topic_refuses_anything_else(name: Any) -> None:
    assert _refusal(parse_topic, name).startswith("topic: ")


@pytest.mark.parametrize(("device", "kind"), [("box+", "up"), ("#", "up"), ("box-1", "down"), ("", "up")])
def test_protocol_topic_refuses_bad_device_or_kind(device: str, kind: str) -> None:
    assert _refusal(topic, device, kind).startswith("topic: ")


# --- encoding ---------------------------------------------------------------------------------------


def test_protocol_encode_small_message_is_compact_utf8_json() -> None:
    assert encode({"v": 1, "device": "été", "x": [1.5, None]}) == '{"v":1,"device":"été","x":[1.5,null]}'.encode()


def test_protocol_encode_compresses_when_it_pays() -> None:
    message = {"v": 1, "rows": ["the same reading again"] * 500}
    payload = encode(message)
    assert payload[0] == 0x78
    assert len(payload) < 1000  # 12 KB of repeated text
    assert zlib.decompress(payload) == json.dumps(message, separators=(",", ":")).encode()
    assert decode(payload) == message


def test_protocol_encode_compresses_only_when_it_saves_10_percent() -> None:
    saves_4 = {"k": "iK2ZWeqhFWiK2ZWeqhFW"}  # 28 bytes of JSON, 27 compressed
    saves_11 = {"k": "a0OngdsjJzNxl7a0OngdsjJzNxl7"}  # 36 bytes of JSON, 32 compressed
    assert [len(zlib.compress(_compact(m))) for m in (saves_4, saves_11)] == [27, 32]
    assert encode(saves_4) == b'{"k":"iK2ZWeqhFWiK2ZWeqhFW"}'
    assert encode(saves_11) == zlib.compress(b'{"k":"a0OngdsjJzNxl7a0OngdsjJzNxl7"}')
    assert encode({"v": 1}) == b'{"v":1}'


def _compact(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("message", "reason"),
    [({"x": float("nan")}, "message: not encodable"), ({"x": float("inf")}, "message: not encodable"),
     ({"x": {1, 2}}, "message: not encodable"), ({"x": "\ud800"}, "message: not encodable"),
     ({"x": os.urandom(300 * KIB).hex()}, "message: "),
     ({"x": "a" * (4 * MIB)}, "message: 4194312 bytes of JSON, over the 4194304 byte limit"),
     ([1, 2], "message: must be a mapping")],
)
def test_protocol_encode_refuses(message: Any, reason: str) -> None:
    assert _refusal(encode, message).startswith(reason)


def test_protocol_encode_refuses_payload_over_256_kib() -> None:
    assert _refusal(encode, {"x": os.urandom(300 * KIB).hex()}).endswith("over the 262144 byte limit")


def _text_of_length(n: int) -> bytes:
    text = b'{"a":"' + b"x" * (n - 8) + b'"}'
    assert len(text) == n
    return text


def test_protocol_decode_reads_plain_and_zlib_json() -> None:
    assert decode(b'{"v":1,"a":[true,null,2.5,"\\u00e9"]}') == {"v": 1, "a": [True, None, 2.5, "é"]}
    assert decode(zlib.compress(b'{"v":1}')) == {"v": 1}
    assert decode(bytearray(b'{"v":1}')) == {"v": 1}


def test_protocol_decode_accepts_exactly_the_wire_limit() -> None:
    assert len(decode(_text_of_length(256 * KIB))["a"]) == 256 * KIB - 8
    assert _refusal(decode, _text_of_length(256 * KIB + 1)) == "payload: 262145 bytes, over the 262144 byte limit"


def test_protocol_decode_accepts_exactly_the_json_limit_once_inflated() -> None:
    assert len(decode(zlib.compress(_text_of_length(4 * MIB), 9))["a"]) == 4 * MIB - 8
    bomb = zlib.compress(_text_of_length(4 * MIB + 1), 9)
    assert _refusal(decode, bomb) == "payload: decompresses past the 4194304 byte limit"


def test_protocol_decode_refuses_a_zlib_bomb_without_inflating_it() -> None:
    bomb = zlib.compress(b'{"a":"' + b"0" * (64 * MIB) + b'"}')
    assert len(bomb) < 256 * KIB
    tracemalloc.start()
    try:
        assert _refusal(decode, bomb) == "payload: decompresses past the 4194304 byte limit"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * MIB  # inflating it all would take 64 MiB


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "payload: empty"),
        (b"[1,2]", "payload: must start with '{' (JSON) or 0x78 (zlib)"),
        (b' {"v":1}', "payload: must start with '{' (JSON) or 0x78 (zlib)"),
        (b"\xff\xfe", "payload: must start with '{' (JSON) or 0x78 (zlib)"),
        (b'{"a":"\xff"}', "payload: not valid UTF-8 (byte 6)"),
        (b'{"a":"\xed\xa0\x80"}', "payload: not valid UTF-8 (byte 6)"),
        (zlib.compress(b'{"a":"\xc3"}'), "payload: not valid UTF-8 (byte 6)"),
        (zlib.compress(b"[1]"), "payload: top level must be a JSON object"),
        (zlib.compress(b'"text"'), "payload: top level must be a JSON object"),
        (b'{"a":NaN}', "payload: NaN is not allowed in JSON"),
        (b'{"a":Infinity}', "payload: Infinity is not allowed in JSON"),
        (b'{"a":-Infinity}', "payload: -Infinity is not allowed in JSON"),
        (b'{"a":1e999}', "payload: number 1e999 is out of range"),
        (b'{"a":"\\ud800"}', "payload: a string holds a lone UTF-16 surrogate"),
        (b'{"a":' + b"[" * 50_000, "payload: JSON nested too deeply"),
        (zlib.compress(b'{"v":1}')[:-3], "payload: truncated zlib stream"),
        (zlib.compress(b'{"v":1}') + b"junk", "payload: bytes after the end of the zlib stream"),
        (b"\x78\x00garbage", "payload: bad zlib data"),
        (b'{"v":1', "payload: bad JSON"),
        (b'{"v":1}{"v":1}', "payload: bad JSON"),
        (b'{"a":' + b"1" * 5000 + b"}", "payload: bad JSON"),
    ],
)
def test_protocol_decode_refuses(payload: bytes, reason: str) -> None:
    assert _refusal(decode, payload).startswith(reason)


def test_protocol_decode_refuses_text() -> None:
    assert _refusal(decode, '{"v":1}') == "payload: must be bytes"


# --- up batches -------------------------------------------------------------------------------------


def _event_batch() -> dict[str, Any]:
    """A batch of the event lane holding every event-lane record type (seqs 12, 13, 15, 16)."""
    common = {"boot": "b-7", "mono_s": 30.5, "clock": "synced"}
    return {
        "v": 1, "device": "box-1", "boot": "b-7", "lane": "event", "after": 11, "seq_first": 12, "seq_last": 16,
        "sent_at": 1764300000.25, "clock": {"synced": True, "offsets": {"b-6": 1764200000.5, "b-7": 1764299000}},
        "records": [
            {"seq": 12, **common, "wall_s": 1764299030.5, "type": "event", "kind": "alarm", "source": "leak.main",
             "reason": "flow 900 L/h > burst 600 L/h for 5 min", "data": {"flow_lph": 900, "tags": ["x"]}},
            {"seq": 13, **common, "wall_s": 1764299031, "type": "thinned", "lane": "raw", "seq_from": 100,
             "seq_to": 199, "count": 90, "reason": "outbox budget"},
            {"seq": 15, **common, "wall_s": 1764299032.0, "type": "command_result", "id": "c-1.x:9",
             "action": "frobnicate", "status": "refused", "detail": ""},
            {"seq": 16, **common, "wall_s": 1764299033.0, "type": "config_report", "version": 3,
             "status": "rejected", "reasons": ["lighting.circuits[0].relay: unknown", ""]},
        ],
    }


def _raw_batch() -> dict[str, Any]:
    """A raw-lane batch: a reading and an aggregate, from an unsynced boot at 1970."""
    common = {"boot": "b-1", "mono_s": 0, "wall_s": 12.0, "clock": "unsynced"}
    return {
        "v": 1, "device": "box-1", "boot": "b-1", "lane": "raw", "after": 0, "seq_first": 1, "seq_last": 2,
        "sent_at": 13.0, "clock": {"synced": False, "offsets": {}},
        "records": [
            {"seq": 1, **common, "type": "reading", "sensor": "lux", "name": "illuminance_lx", "value": -0.0},
            {"seq": 2, **common, "type": "aggregate", "sensor": "lux", "name": "illuminance_lx", "from_s": 0,
             "to_s": 3600, "min": 1.5, "mean": 2, "max": 2.5, "count": 60},
        ],
    }


def test_protocol_parse_batch_reads_every_event_lane_record() -> None:
    batch = parse_batch("box-1", _json(_event_batch()))
    assert (batch.device, batch.boot, batch.lane, batch.after, batch.seq_first, batch.seq_last) == (
        "box-1", "b-7", "event", 11, 12, 16)
    assert batch.sent_at == 1764300000.25 and batch.clock_synced is True
    assert batch.clock_offsets == {"b-6": 1764200000.5, "b-7": 1764299000.0}
    assert [r.seq for r in batch.records] == [12, 13, 15, 16]
    assert [r.type for r in batch.records] == ["event", "thinned", "command_result", "config_report"]
    assert batch.records[0] == Record(
        seq=12, boot="b-7", mono_s=30.5, wall_s=1764299030.5, clock="synced", type="event",
        body={"kind": "alarm", "source": "leak.main", "reason": "flow 900 L/h > burst 600 L/h for 5 min",
              "data": {"flow_lph": 900, "tags": ["x"]}},
    )
    assert batch.records[1].body == {"lane": "raw", "seq_from": 100, "seq_to": 199, "count": 90,
                                     "reason": "outbox budget"}
    assert batch.records[3].body["reasons"] == ["lighting.circuits[0].relay: unknown", ""]


def test_protocol_parse_batch_reads_raw_lane_and_makes_numbers_floats() -> None:
    batch = parse_batch("box-1", _json(_raw_batch()))
    first, second = batch.records
    assert first.mono_s == 0.0 and isinstance(first.mono_s, float)
    assert second.body == {"sensor": "lux", "name": "illuminance_lx", "from_s": 0.0, "to_s": 3600.0,
                           "min": 1.5, "mean": 2.0, "max": 2.5, "count": 60}
    assert isinstance(second.body["from_s"], float) and isinstance(second.body["count"], int)


@pytest.mark.parametrize("make", [_event_batch, _raw_batch])
def test_protocol_batch_round_trips_through_its_message(make: Any) -> None:
    message = make()
    batch = parse_batch("box-1", encode(message))
    assert json.loads(json.dumps(batch.to_message())) == message
    assert parse_batch("box-1", encode_batch(batch)) == batch


def _mutated(path: tuple[Any, ...], value: Any, make: Any = _event_batch) -> bytes:
    message = copy.deepcopy(make())
    target = message
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return _json(message)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("v",), 2, "v: must be 1"),
        (("v",), True, "v: must be 1"),
        (("v",), KeyError, "v: must be 1"),
        (("device",), "box-2", "device: 'box-2' does not match the topic's device 'box-1'"),
        (("device",), KeyError, "device: missing"),
        (("device",), ["box-1"], "device: must be a string"),
        (("extra",), 1, "extra: unknown key"),
        (("lane",), "fast", "lane: must be one of event, raw, total"),
        (("after",), -1, "after: must be an integer >= 0"),
        (("after",), 12, "after: must be < seq_first"),
        (("after",), 11.0, "after: must be an integer >= 0"),
        (("seq_first",), 13, "records[0].seq: must equal seq_first (13)"),
        (("seq_last",), 15, "records[3].seq: must equal seq_last (15)"),
        (("seq_last",), 11, "seq_last: must be >= seq_first"),
        (("sent_at",), "now", "sent_at: must be a number"),
        (("boot",), "b" * 65, "boot: must be 1..64 characters long"),
        (("clock", "synced"), 1, "clock.synced: must be true or false"),
        (("clock", "offsets", "b-6"), "x", "clock.offsets.b-6: must be a number"),
        (("clock", "skew"), 0, "clock.skew: unknown key"),
        (("records",), [], "records: must hold 1..5000 records"),
        (("records",), {}, "records: must be an array"),
        (("records", 0), [], "records[0]: must be an object"),
        (("records", 0, "seq"), True, "records[0].seq: must be an integer >= 1"),
        (("records", 0, "seq"), 0, "records[0].seq: must be an integer >= 1"),
        (("records", 0, "seq"), 2**63, "records[0].seq: must be an integer >= 1"),
        (("records", 0, "seq"), 11, "records[0].seq: must be > 11 (seqs strictly increasing, after `after`)"),
        (("records", 2, "seq"), 13, "records[2].seq: must be > 13 (seqs strictly increasing, after `after`)"),
        (("records", 3, "unit"), "L", "records[3].unit: unknown key"),
        (("records", 3, "reasons"), [1], "records[3].reasons[0]: must be a string"),
        (("records", 0, "type"), "reading", "records[0].data: unknown key"),
        (("records", 0, "type"), "gossip", ("records[0].type: must be one of aggregate, command_result, "
                                            "config_report, event, reading, thinned")),
        (("records", 0, "wall_s"), KeyError, "records[0].wall_s: missing"),
        (("records", 0, "mono_s"), -0.5, "records[0].mono_s: must be >= 0"),
        (("records", 0, "clock"), "maybe", "records[0].clock: must be one of corrected, synced, unsynced"),
        (("records", 0, "boot"), "", "records[0].boot: must be 1..64 characters long"),
        (("records", 0, "source"), "", "records[0].source: must be 1..1024 characters long"),
        (("records", 0, "kind"), "k" * 1025, "records[0].kind: must be 1..1024 characters long"),
        (("records", 0, "kind"), "a\x00b", "records[0].kind: must not contain NUL"),
        (("records", 0, "reason"), "r" * 4097, "records[0].reason: must be 0..4096 characters long"),
        (("records", 0, "data"), [1], "records[0].data: must be an object"),
        (("records", 1, "lane"), "slow", "records[1].lane: must be one of event, raw, total"),
        (("records", 1, "count"), 101, "records[1].count: must be <= 100 (seq_from..seq_to)"),
        (("records", 1, "seq_to"), 99, "records[1].seq_to: must be >= seq_from"),
        (("records", 2, "id"), "has space", "records[2].id: must match [A-Za-z0-9_.:-]{1,64}"),
        (("records", 2, "status"), "ok", "records[2].status: must be one of done, failed, refused"),
        (("records", 3, "version"), -1, "records[3].version: must be an integer >= 0"),
        (("records", 3, "status"), "ok", "records[3].status: must be one of applied, rejected, rolled_back"),
    ],
)
def test_protocol_parse_batch_refuses(path: tuple[Any, ...], value: Any, reason: str) -> None:
    assert _refusal(parse_batch, "box-1", _mutated(path, value)) == reason


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("lane",), "event", "records[0].type: reading records do not travel in the event lane"),
        (("records", 0, "value"), "3", "records[0].value: must be a number"),
        (("records", 0, "value"), True, "records[0].value: must be a number"),
        (("records", 0, "value"), 10**400, "records[0].value: must be a finite number"),
        (("records", 1, "count"), 0, "records[1].count: must be an integer >= 1"),
        (("records", 1, "max"), 1.0, "records[1].max: must be >= min"),
        (("records", 1, "to_s"), -1, "records[1].to_s: must be >= from_s"),
    ],
)
def test_protocol_parse_batch_refuses_raw_lane(path: tuple[Any, ...], value: Any, reason: str) -> None:
    assert _refusal(parse_batch, "box-1", _mutated(path, value, _raw_batch)) == reason


def test_protocol_parse_batch_refuses_events_in_a_meter_lane() -> None:
    payload = _mutated(("lane",), "total")
    assert _refusal(parse_batch, "box-1", payload) == "records[0].type: event records do not travel in the total lane"


def _readings(count: int) -> dict[str, Any]:
    message = _raw_batch()
    reading = message["records"][0]
    message["records"] = [{**reading, "seq": seq} for seq in range(1, count + 1)]
    message["seq_last"] = count
    return message


def test_protocol_parse_batch_takes_5000_records_not_5001() -> None:
    assert len(parse_batch("box-1", encode(_readings(5000))).records) == 5000
    assert _refusal(parse_batch, "box-1", encode(_readings(5001))) == "records: must hold 1..5000 records"


def test_protocol_parse_batch_refuses_a_bad_topic_device() -> None:
    message = {**_raw_batch(), "device": "Box 1"}
    assert _refusal(parse_batch, "Box 1", _json(message)) == "topic: device id is not valid"


# --- status, ack, config --------------------------------------------------------------------------


STATUS = {"v": 1, "device": "box-1", "state": "online", "boot": "b-7", "version": "0.1.0", "config_version": 4,
          "at": 1764300000, "link": {"loop_restarts": 2}}


def test_protocol_parse_status_reads_online_and_last_will() -> None:
    assert parse_status("box-1", _json(STATUS)) == Status(
        device="box-1", state="online", boot="b-7", version="0.1.0", config_version=4, at=1764300000.0,
        link={"loop_restarts": 2})
    will = {k: v for k, v in STATUS.items() if k != "link"} | {"state": "offline", "config_version": None}
    status = parse_status("box-1", _json(will))
    assert status.state == "offline" and status.config_version is None and status.link is None
    assert status.to_message() == will | {"at": 1764300000.0}


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"state": "asleep"}, "state: must be one of offline, online"),
     ({"config_version": True}, "config_version: must be an integer >= 0"),
     ({"config_version": "4"}, "config_version: must be an integer >= 0"),
     ({"link": []}, "link: must be an object"), ({"uptime": 3}, "uptime: unknown key"),
     ({"at": None}, "at: must be a number"), ({"version": ""}, "version: must be 1..1024 characters long"),
     ({"device": "box-2"}, "device: 'box-2' does not match the topic's device 'box-1'")],
)
def test_protocol_parse_status_refuses(change: dict[str, Any], reason: str) -> None:
    assert _refusal(parse_status, "box-1", _json(STATUS | change)) == reason


def test_protocol_parse_status_refuses_a_missing_config_version() -> None:
    message = {k: v for k, v in STATUS.items() if k != "config_version"}
    assert _refusal(parse_status, "box-1", _json(message)) == "config_version: missing"


ACK = {"v": 1, "device": "box-1", "acked": {"event": 16, "total": 0, "raw": 9000000000}}


def test_protocol_parse_ack_reads_the_three_lanes() -> None:
    ack = parse_ack("box-1", _json(ACK))
    assert ack == Ack(device="box-1", acked={"event": 16, "total": 0, "raw": 9000000000})
    assert ack.to_message() == ACK


@pytest.mark.parametrize(
    ("acked", "reason"),
    [({"event": 1, "total": 2}, "acked.raw: missing"), ({"event": 1, "total": 2, "raw": -1}, "acked.raw: must be an integer >= 0"),
     ({"event": False, "total": 2, "raw": 3}, "acked.event: must be an integer >= 0"),
     ({"event": 1, "total": 2.0, "raw": 3}, "acked.total: must be an integer >= 0"),
     ({"event": 1, "total": 2, "raw": 3, "alarm": 4}, "acked.alarm: unknown key"), ([1, 2, 3], "acked: must be an object")],
)
def test_protocol_parse_ack_refuses(acked: Any, reason: str) -> None:
    assert _refusal(parse_ack, "box-1", _json(ACK | {"acked": acked})) == reason


CONFIG = {"v": 1, "device": "box-1", "version": 7, "config": {"lighting": {"circuits": [{"id": "street"}]}}}


def test_protocol_parse_config_reads_the_desired_config() -> None:
    config = parse_config("box-1", encode(CONFIG))
    assert config == Config(device="box-1", version=7, config={"lighting": {"circuits": [{"id": "street"}]}})
    assert config.to_message() == CONFIG


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"version": 0}, "version: must be an integer >= 1"), ({"config": "x"}, "config: must be an object"),
     ({"config": {"device": {"id": "box-9"}}}, "config.device: stays local on the box and must not be sent"),
     ({"config": {"link": {}}}, "config.link: stays local on the box and must not be sent"),
     ({"signature": "x"}, "signature: unknown key"), ({"device": "box-2"}, "device: 'box-2' does not match the topic's device 'box-1'")],
)
def test_protocol_parse_config_refuses(change: dict[str, Any], reason: str) -> None:
    assert _refusal(parse_config, "box-1", _json(CONFIG | change)) == reason


# --- commands -------------------------------------------------------------------------------------


def _cmd(action: str, args: dict[str, Any], **change: Any) -> bytes:
    return _json({"v": 1, "device": "box-1", "id": "c-42", "action": action, "args": args,
                  "expires_at": 1764300060} | change)


@pytest.mark.parametrize(
    ("action", "args", "parsed"),
    [
        ("override", {"relay": "pump", "state": "on", "duration_s": 3600},
         {"relay": "pump", "state": "on", "duration_s": 3600.0}),
        ("override", {"relay": "pump", "state": "off", "duration_s": 604800, "reason": "repair"},
         {"relay": "pump", "state": "off", "duration_s": 604800.0, "reason": "repair"}),
        ("override", {"relay": "pump", "state": "off", "duration_s": 0.001},
         {"relay": "pump", "state": "off", "duration_s": 0.001}),
        ("clear_override", {"relay": "hall_lights"}, {"relay": "hall_lights"}),
        ("ack_alarm", {"alarm_id": 3, "by": "marie"}, {"alarm_id": 3, "by": "marie"}),
        ("status", {}, {}),
        ("reload_config", {}, {}),
    ],
)
def test_protocol_parse_command_reads_every_action(action: str, args: dict[str, Any], parsed: dict[str, Any]) -> None:
    command = parse_command("box-1", _cmd(action, args))
    assert command == Command(device="box-1", id="c-42", action=action, args=parsed, expires_at=1764300060.0)
    assert parse_command("box-1", encode(command.to_message())) == command


@pytest.mark.parametrize(
    ("action", "args", "reason"),
    [
        ("reboot", {}, "action: must be one of ack_alarm, clear_override, override, reload_config, status"),
        ("override", {"relay": "pump", "state": "on", "duration_s": 0}, "args.duration_s: must be > 0 and <= 604800 (7 days)"),
        ("override", {"relay": "pump", "state": "on", "duration_s": 604800.5},
         "args.duration_s: must be > 0 and <= 604800 (7 days)"),
        ("override", {"relay": "pump", "state": "on"}, "args.duration_s: missing"),
        ("override", {"relay": "pump", "state": "dim", "duration_s": 60}, "args.state: must be one of off, on"),
        ("override", {"relay": "Pump!", "state": "on", "duration_s": 60}, "args.relay: must match [a-z0-9][a-z0-9_-]{0,62}"),
        ("override", {"relay": "pump", "state": "on", "duration_s": 60, "force": True}, "args.force: unknown key"),
        ("clear_override", {}, "args.relay: missing"),
        ("ack_alarm", {"alarm_id": 0, "by": "marie"}, "args.alarm_id: must be an integer >= 1"),
        ("ack_alarm", {"alarm_id": True, "by": "marie"}, "args.alarm_id: must be an integer >= 1"),
        ("ack_alarm", {"alarm_id": 3, "by": ""}, "args.by: must be 1..1024 characters long"),
        ("status", {"verbose": True}, "args.verbose: unknown key"),
        ("status", [], "args: must be an object"),
    ],
)
def test_protocol_parse_command_refuses_and_names_the_command(action: str, args: Any, reason: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_command("box-1", _cmd(action, args))
    assert (caught.value.reason, caught.value.command_id) == (reason, "c-42")


def test_protocol_parse_command_refuses_a_missing_expiry_with_its_id() -> None:
    payload = _json({"v": 1, "device": "box-1", "id": "c-42", "action": "status", "args": {}})
    with pytest.raises(ProtocolError) as caught:
        parse_command("box-1", payload)
    assert (caught.value.reason, caught.value.command_id) == ("expires_at: missing", "c-42")


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"id": "has space"}, "id: must match [A-Za-z0-9_.:-]{1,64}"), ({"id": "i" * 65}, "id: must match [A-Za-z0-9_.:-]{1,64}"),
     ({"id": ""}, "id: must match [A-Za-z0-9_.:-]{1,64}"), ({"id": 42}, "id: must match [A-Za-z0-9_.:-]{1,64}"),
     ({"device": "box-2"}, "device: 'box-2' does not match the topic's device 'box-1'"), ({"v": 0}, "v: must be 1"),
     ({"sig": "x"}, "sig: unknown key")],
)
def test_protocol_parse_command_refuses_without_an_id(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_command("box-1", _cmd("status", {}, **change))
    assert (caught.value.reason, caught.value.command_id) == (reason, None)


def test_protocol_command_expires_at_its_expiry() -> None:
    command = parse_command("box-1", _cmd("status", {}, expires_at=1000.0))
    assert [command.expired(now) for now in (0.0, 999.999, 1000.0, 1000.001, 2e9)] == [False, False, True, True, True]


# --- building messages on the box -----------------------------------------------------------------


def test_protocol_batch_to_message_is_the_wire_form() -> None:
    record = Record(seq=5, boot="b", mono_s=1.5, wall_s=2.5, clock="corrected", type="reading",
                    body={"sensor": "meter", "name": "volume_l", "value": 12.0})
    batch = Batch(device="box-1", boot="b", lane="total", after=4, seq_first=5, seq_last=5, sent_at=3.0,
                  clock_synced=True, clock_offsets={"b": 1.0}, records=(record,))
    assert zlib.decompress(encode_batch(batch)) == (  # 289 bytes of JSON compress to 196
        b'{"v":1,"device":"box-1","boot":"b","lane":"total","after":4,"seq_first":5,"seq_last":5,"sent_at":3.0,'
        b'"clock":{"synced":true,"offsets":{"b":1.0}},"records":[{"seq":5,"boot":"b","mono_s":1.5,"wall_s":2.5,'
        b'"clock":"corrected","type":"reading","sensor":"meter","name":"volume_l","value":12.0}]}'
    )
    assert parse_batch("box-1", encode_batch(batch)) == batch


def test_protocol_check_record_says_what_the_fleet_would_refuse() -> None:
    reading = Record(seq=9, boot="b", mono_s=0.0, wall_s=1.0, clock="synced", type="reading",
                     body={"sensor": "lux", "name": "illuminance_lx", "value": 5.0})
    protocol.check_record(reading)
    protocol.check_record(reading, "raw")
    assert _refusal(protocol.check_record, reading, "event") == (
        "record 9.type: reading records do not travel in the event lane")
    event = Record(seq=10, boot="b", mono_s=0.0, wall_s=1.0, clock="synced", type="event",
                   body={"kind": "fault", "source": "lux", "reason": "r" * 5000, "data": {}})
    assert _refusal(protocol.check_record, event) == "record 10.reason: must be 0..4096 characters long"
    nan = Record(seq=11, boot="b", mono_s=float("nan"), wall_s=1.0, clock="synced", type="reading",
                 body={"sensor": "lux", "name": "illuminance_lx", "value": 5.0})
    assert _refusal(protocol.check_record, nan) == "record 11.mono_s: must be a finite number"
