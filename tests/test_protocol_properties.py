"""Wire protocol properties: any bytes or JSON is parsed or refused with a ProtocolError; valid messages round-trip."""

from __future__ import annotations

import json
import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

PARSERS = (parse_batch, parse_status, parse_ack, parse_config, parse_command)
DEVICES = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,62}", fullmatch=True)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(-(2**63), 2**63 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | int64 | finite | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


def _only_protocol_errors(payload: bytes, device: str = "box-1") -> None:
    for parse in PARSERS:
        try:
            parse(device, payload)
        except ProtocolError as error:
            assert error.reason and str(error) == error.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_protocol_any_bytes_are_parsed_or_refused(data: bytes) -> None:
    for payload in (data, b"{" + data, zlib.compress(data), zlib.compress(b"{" + data)[: len(data) + 3]):
        _only_protocol_errors(payload)


@FAST
@given(json_values)
def test_protocol_any_json_value_is_parsed_or_refused(value: Any) -> None:
    text = json.dumps(value).encode()
    for payload in (text, zlib.compress(text), json.dumps({"v": 1, "device": "box-1", "x": value}).encode()):
        _only_protocol_errors(payload)


# --- valid messages ---------------------------------------------------------------------------------

names = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30)
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)
boots = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=64)
seq_ints = st.integers(1, 2**63 - 1)
counts = st.integers(1, 10**9)
command_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)

BODIES = {
    "reading": st.fixed_dictionaries({"sensor": names, "name": names, "value": finite}),
    "event": st.fixed_dictionaries({"kind": names, "source": names, "reason": texts, "data": json_objects}),
    "aggregate": st.tuples(names, names, finite, finite, finite, finite, finite, counts).map(
        lambda t: {"sensor": t[0], "name": t[1], "from_s": min(t[2], t[3]), "to_s": max(t[2], t[3]),
                   "min": min(t[4], t[6]), "mean": t[5], "max": max(t[4], t[6]), "count": t[7]}),
    "thinned": st.tuples(st.sampled_from(["event", "total", "raw"]), st.integers(1, 10**6),
                         st.integers(0, 1000), texts).flatmap(
        lambda t: st.integers(1, t[2] + 1).map(
            lambda n: {"lane": t[0], "seq_from": t[1], "seq_to": t[1] + t[2], "count": n, "reason": t[3]})),
    "command_result": st.fixed_dictionaries({
        "id": command_ids, "action": names, "status": st.sampled_from(["done", "refused", "failed"]),
        "detail": texts}),
    "config_report": st.fixed_dictionaries({
        "version": st.integers(0, 2**63 - 1), "status": st.sampled_from(["applied", "rejected", "rolled_back"]),
        "reasons": st.lists(texts, max_size=3)}),
}
LANE_TYPES = {"event": ["event", "thinned", "command_result", "config_report"], "total": ["reading", "aggregate"],
              "raw": ["reading", "aggregate"]}


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    """A valid batch: 1..12 records of one lane, seqs strictly increasing after `after` (gaps were thinned)."""
    lane = draw(st.sampled_from(["event", "total", "raw"]))
    after = draw(st.integers(0, 10**12))
    gaps = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=12))
    seqs = [after + sum(gaps[: i + 1]) for i in range(len(gaps))]
    records = []
    for seq in seqs:
        kind = draw(st.sampled_from(LANE_TYPES[lane]))
        records.append(Record(
            seq=seq, boot=draw(boots), mono_s=draw(st.floats(0, 1e9)), wall_s=draw(finite),
            clock=draw(st.sampled_from(["synced", "unsynced", "corrected"])), type=kind, body=draw(BODIES[kind]),
        ))
    return Batch(
        device=draw(DEVICES), boot=draw(boots), lane=lane, after=after, seq_first=seqs[0], seq_last=seqs[-1],
        sent_at=draw(finite), clock_synced=draw(st.booleans()),
        clock_offsets=draw(st.dictionaries(boots, finite, max_size=3)), records=tuple(records),
    )


@FAST
@given(batches())
def test_protocol_valid_batches_round_trip_exactly(batch: Batch) -> None:
    parsed = parse_batch(batch.device, encode_batch(batch))
    assert parsed == batch
    assert [r.to_message() for r in parsed.records] == [r.to_message() for r in batch.records]


actions = st.one_of(
    st.tuples(st.just("override"), st.fixed_dictionaries(
        {"relay": DEVICES, "state": st.sampled_from(["on", "off"]),
         "duration_s": st.floats(0, 604800, exclude_min=True)},
        optional={"reason": texts})),
    st.tuples(st.just("clear_override"), st.fixed_dictionaries({"relay": DEVICES})),
    st.tuples(st.just("ack_alarm"), st.fixed_dictionaries({"alarm_id": seq_ints, "by": names})),
    st.tuples(st.sampled_from(["status", "reload_config"]), st.just({})),
)
commands = st.builds(
    lambda device, command_id, action, expires_at: Command(device, command_id, action[0], action[1], expires_at),
    DEVICES, command_ids, actions, finite,
)
statuses = st.builds(
    Status, device=DEVICES, state=st.sampled_from(["online", "offline"]), boot=boots, version=names,
    config_version=st.none() | st.integers(0, 2**63 - 1), at=finite, link=st.none() | json_objects,
)
configs = st.builds(
    Config, device=DEVICES, version=st.integers(1, 2**63 - 1),
    config=json_objects.filter(lambda c: not {"device", "link"} & set(c)),
)
acks = st.builds(
    Ack, device=DEVICES,
    acked=st.fixed_dictionaries({lane: st.integers(0, 2**63 - 1) for lane in ("event", "total", "raw")}),
)
PARSER_OF = {Batch: parse_batch, Command: parse_command, Status: parse_status, Config: parse_config, Ack: parse_ack}


@FAST
@given(st.one_of(commands, statuses, configs, acks))
def test_protocol_valid_commands_status_config_and_acks_round_trip(message: Any) -> None:
    assert PARSER_OF[type(message)](message.device, encode(message.to_message())) == message


@FAST
@given(st.one_of(batches(), commands, statuses, configs, acks), st.data())
def test_protocol_a_message_with_any_field_replaced_is_parsed_or_refused(message: Any, data: st.DataObject) -> None:
    wire = message.to_message()
    path = data.draw(st.sampled_from(list(_paths(wire))))
    target = wire
    for key in path[:-1]:
        target = target[key]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(json_values)
    _only_protocol_errors(encode(wire), message.device)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Any:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*prefix, key)
        yield from _paths(inner, (*prefix, key))


@settings(max_examples=40, deadline=None)
@given(json_objects)
def test_protocol_any_json_object_survives_encode_and_decode(message: dict[str, Any]) -> None:
    assert decode(encode(message)) == message


@FAST
@given(DEVICES, st.sampled_from(["up", "status", "ack", "config", "cmd"]), st.text(max_size=80), st.binary(max_size=80))
def test_protocol_topics_round_trip_and_anything_else_is_refused(device: str, kind: str, text: str, data: bytes) -> None:
    assert parse_topic(topic(device, kind)) == (device, kind)
    assert parse_topic(topic(device, kind).encode()) == (device, kind)
    for name in (text, data, f"hameau/v1/{text}/up", b"hameau/v1/" + data + b"/cmd"):
        try:
            parsed = parse_topic(name)
        except ProtocolError:
            continue
        assert topic(*parsed) == (name.decode() if isinstance(name, bytes) else name)
