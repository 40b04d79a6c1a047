"""`hameau-fleet serve` under hypothesis-generated bad `up` batches, interleaved with good ones, on a real Mosquitto.

One serve process for the whole run. Each burst publishes a few batches as a box would (its own credentials):
good batches chained in the event and raw lanes, and bad ones, each broken in one place by construction
(garbage bytes, not an object, invalid UTF-8, over 256 KiB, a zlib bomb, NaN, another device, a field of the
wrong type or out of range, a broken record). Every good batch must be stored and acknowledged; every bad one
counted under a reason that names the place it was broken; the process never stops.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from broker import Broker
from fleet_serve_process import ServeProcess, wait_s
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fleet import protocol

DEVICE = "box-a"
T0 = 1_767_225_600.0  # 2026-01-01
MAX = protocol.MAX_PAYLOAD_BYTES
Message = dict[str, Any]


def _records(lane: str, first: int, count: int) -> list[Message]:
    """Records first..first+count-1 of a lane: fault events, or lux readings."""
    common = [{"seq": s, "boot": "b1", "mono_s": float(s), "wall_s": T0 + s, "clock": "synced"}
              for s in range(first, first + count)]
    if lane == "event":
        return [c | {"type": "event", "kind": "fault", "source": "lux", "reason": "no answer", "data": {"n": c["seq"]}}
                for c in common]
    return [c | {"type": "reading", "sensor": "lux", "name": "illuminance", "value": float(c["seq"])} for c in common]


def _batch(lane: str, after: int, count: int, device: str = DEVICE) -> Message:
    records = _records(lane, after + 1, count)
    return {"v": 1, "device": device, "boot": "b1", "lane": lane, "after": after, "seq_first": after + 1,
            "seq_last": after + count, "sent_at": T0, "clock": {"synced": True, "offsets": {}}, "records": records}


def _json(message: object) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


# -- bad batches: (payload, the path its reason must name) built on a batch that would chain after `after` -------

def garbage(data: bytes, compress: bool, template: Message) -> tuple[bytes, str]:
    return (zlib.compress(data) if compress else data), "payload"


def not_object(value: object, template: Message) -> tuple[bytes, str]:
    return _json(value), "payload"


def bad_utf8(bad: bytes, compress: bool, template: Message) -> tuple[bytes, str]:
    payload = _json(template).replace(b'"b1"', b'"b' + bad + b'1"', 1)
    return (zlib.compress(payload) if compress else payload), "payload"


def oversize(size: int, template: Message) -> tuple[bytes, str]:
    template["records"][0]["data"] = {"pad": ""}
    template["records"][0]["data"]["pad"] = "p" * (size - len(_json(template)))
    payload = _json(template)
    assert len(payload) == size > MAX
    return payload, "payload"


def bomb(size: int, template: Message) -> tuple[bytes, str]:
    return zlib.compress(b"{" + b" " * size + b"}", 9), "payload"


def nan(field: str, template: Message) -> tuple[bytes, str]:
    return _json(template).replace(f'"{field}":{T0 + template["seq_first"]}'.encode(), f'"{field}":NaN'.encode(),
                                   1), "payload"


def another_device(device: str, template: Message) -> tuple[bytes, str]:
    return _json(template | {"device": device}), "device"


def wrong_field(key: str, value: object, template: Message) -> tuple[bytes, str]:
    return _json(template | {key: value}), key


def chain_broken(after_delta: int, template: Message) -> tuple[bytes, str]:
    """`after` at or past seq_first: the batch claims to skip nothing it holds."""
    return _json(template | {"after": template["seq_first"] + after_delta}), "after"


def unknown_key(name: str, in_record: bool, template: Message) -> tuple[bytes, str]:
    if in_record:
        template["records"][-1][name] = 1
        return _json(template), f"records[].{name}"
    return _json(template | {name: 1}), name


def bad_record(field: str, value: object, template: Message) -> tuple[bytes, str]:
    template["records"][-1][field] = value
    return _json(template), f"records[].{field}"


def no_records(template: Message) -> tuple[bytes, str]:
    return _json(template | {"records": []}), "records"


# -- strategies --------------------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=10))
NOT_INT = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.floats(allow_nan=False, allow_infinity=False),
                    st.lists(SCALARS, max_size=2), st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))
NOT_NUMBER = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.lists(SCALARS, max_size=2))
NOT_TEXT = st.one_of(st.none(), st.booleans(), st.integers(), st.lists(SCALARS, max_size=2))
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
OTHER_DEVICES = st.from_regex(protocol.DEVICE_PATTERN, fullmatch=True).filter(lambda d: d != DEVICE)
WRONG_FIELDS = st.one_of(
    st.tuples(st.just("v"), st.one_of(st.integers().filter(lambda v: v != 1), st.text(max_size=3), st.none())),
    st.tuples(st.just("after"), st.one_of(NOT_INT, st.integers(max_value=-1))),
    st.tuples(st.sampled_from(("seq_first", "seq_last")), st.one_of(NOT_INT, st.integers(max_value=0))),
    st.tuples(st.just("lane"), st.one_of(NOT_TEXT, st.text(max_size=8).filter(lambda s: s not in protocol.LANES))),
    st.tuples(st.just("boot"), st.one_of(NOT_TEXT, st.just(""), st.text(min_size=65, max_size=80))),
    st.tuples(st.just("sent_at"), NOT_NUMBER),
    st.tuples(st.just("clock"), st.one_of(NOT_TEXT, st.just({}), st.just({"synced": "yes", "offsets": {}}))),
    st.tuples(st.just("records"), st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                                            st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))),
)
BAD_RECORD_FIELDS = st.one_of(
    st.tuples(st.just("seq"), NOT_INT),
    st.tuples(st.just("boot"), st.one_of(NOT_TEXT, st.just(""))),
    st.tuples(st.just("mono_s"), st.one_of(NOT_NUMBER, st.floats(max_value=-0.001, allow_infinity=False))),
    st.tuples(st.just("wall_s"), NOT_NUMBER),
    st.tuples(st.just("clock"), st.one_of(NOT_TEXT, st.text(max_size=10).filter(
        lambda c: c not in protocol.CLOCK_STATES))),
    st.tuples(st.just("type"), st.one_of(NOT_TEXT, st.text(max_size=10).filter(
        lambda t: t not in ("event", "reading", "aggregate", "thinned", "command_result", "config_report")))),
)
BAD = st.one_of(
    st.builds(partial, st.just(garbage), st.binary(min_size=1, max_size=2000), st.booleans()),
    st.builds(partial, st.just(not_object), st.one_of(SCALARS, st.lists(SCALARS, max_size=4))),
    st.builds(partial, st.just(bad_utf8), st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")),
              st.booleans()),
    st.builds(partial, st.just(oversize), st.integers(MAX + 1, MAX + 3000)),
    st.builds(partial, st.just(bomb), st.integers(protocol.MAX_JSON_BYTES, 2 * protocol.MAX_JSON_BYTES)),
    st.builds(partial, st.just(nan), st.just("wall_s")),
    st.builds(partial, st.just(another_device), OTHER_DEVICES),
    st.builds(lambda kv: partial(wrong_field, *kv), WRONG_FIELDS),
    st.builds(partial, st.just(chain_broken), st.integers(0, 1000)),
    st.builds(partial, st.just(unknown_key), NAMES.filter(lambda n: n not in (
        "v", "device", "boot", "lane", "after", "seq_first", "seq_last", "sent_at", "clock", "records", "seq",
        "mono_s", "wall_s", "type", "kind", "source", "reason", "data", "sensor", "name", "value")), st.booleans()),
    st.builds(lambda kv: partial(bad_record, *kv), BAD_RECORD_FIELDS),
    st.builds(partial, st.just(no_records)),
)
#: A burst item: a good batch (lane, record count) or a bad one.
GOOD = st.tuples(st.sampled_from(("event", "raw")), st.integers(1, 40))
ITEMS = st.booleans().flatmap(lambda good: GOOD if good else BAD)  # as many good as bad (one_of would flatten BAD)


def _path(reason: str) -> str:
    return reason.split(": ", 1)[0]


def _names(path: str, marker: str) -> bool:
    """Whether a reason's path is the place a batch was broken (or inside it: clock -> clock.synced)."""
    return path == marker or path.startswith(marker + ".")


class Run:
    """What the box sent so far: the chain of each lane, each good batch's last seq, each bad one's marker."""

    def __init__(self, broker: Broker, serve: ServeProcess) -> None:
        broker.add_device(DEVICE)
        self.serve = serve
        self.box = broker.client(DEVICE)
        self.box.subscribe(protocol.topic(DEVICE, "ack"))
        self.last = dict.fromkeys(("event", "raw"), 0)
        self.good: dict[str, list[int]] = {"event": [], "raw": []}
        self.bad: Counter[str] = Counter()

    def send(self, items: list) -> None:
        for item in items:
            if isinstance(item, tuple):
                lane, count = item
                payload = protocol.encode(_batch(lane, self.last[lane], count))  # compressed when it pays
                self.last[lane] += count
                self.good[lane].append(self.last[lane])
            else:
                payload, marker = item(_batch("event", self.last["event"], 3))
                self.bad[marker] += 1
            assert self.box.publish(protocol.topic(DEVICE, "up"), payload) in (0, 0x10)
        # Stored (the fleet's high-water marks) and counted; the acks are checked at the end (they may lag).
        settled = wait_s(lambda: self.counted() == self.bad and self.stored() == self.last, 30.0)
        assert settled, (self.counted(), self.bad, self.stored(), self.last)
        assert self.serve.alive

    def acks(self) -> list[dict[str, int]]:
        return [{lane: protocol.parse_ack(DEVICE, m.payload).acked[lane] for lane in self.last}
                for m in self.box.received(protocol.topic(DEVICE, "ack"))]

    def stored(self) -> dict[str, int]:
        """The fleet store's high-water mark per lane (every seq up to it stored, or known thinned)."""
        hwm = dict(self.serve.rows("SELECT lane, hwm FROM lanes WHERE device = ?", DEVICE))
        return {lane: int(hwm.get(lane, 0)) for lane in self.last}

    def acked(self) -> dict[str, int]:
        """The last ack received (zeros before any)."""
        return (self.acks() or [dict.fromkeys(self.last, 0)])[-1]

    def counted(self) -> Counter[str]:
        """The serve's reject counters, each under the marker its reason's path names (or as unexpected)."""
        counted: Counter[str] = Counter()
        for (device, reason), n in self.serve.rejects().items():
            markers = [m for m in self.bad if _names(_path(reason), m)]
            counted[markers[0] if device == DEVICE and len(markers) == 1 else f"unexpected {device}: {reason}"] += n
        return counted


def test_fleet_serve_fuzz_stores_every_good_batch_and_counts_every_bad_one(broker: Broker, tmp_path: Path) -> None:
    serve = ServeProcess(broker, tmp_path).start()
    try:
        run = Run(broker, serve)

        # No shrinking: the serve keeps its store from burst to burst, the first failing burst is the one to read.
        @settings(max_examples=80, deadline=None, database=None, phases=(Phase.generate,),
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(ITEMS, min_size=1, max_size=6))
        def burst(items: list) -> None:
            run.send(items)

        burst()
        good = len(run.good["event"]) + len(run.good["raw"])
        assert sum(run.bad.values()) >= 80 and good >= 40, (run.bad, good)
        # Every good batch stored once and acknowledged by its own ack; no bad one acknowledged.
        assert wait_s(lambda: len(run.acks()) >= good and run.acked() == run.last, 20.0), (len(run.acks()), good)
        time.sleep(0.5)
        acks = run.acks()
        assert len(acks) == good
        for lane in ("event", "raw"):
            assert set(run.good[lane]) <= {a[lane] for a in acks}
            assert serve.seqs(DEVICE, lane) == list(range(1, run.last[lane] + 1))
        assert serve.alive and "Traceback" not in serve.log()
        assert serve.log().count(f"rejected message from device {DEVICE}") == sum(run.bad.values())
    finally:
        serve.close()
