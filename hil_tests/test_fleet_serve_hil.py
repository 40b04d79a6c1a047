"""`hameau-fleet serve` as a real process on a real Mosquitto: store then ack, garbage counted, kills survived."""

from __future__ import annotations

import json
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess, wait_s
from mqtt_probe import MqttProbe

from fleet import protocol

DEVICE = "box-a"
T0 = 1_767_225_600.0  # 2026-01-01


@pytest.fixture
def serve(broker: Broker, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(broker, tmp_path)
    try:
        yield process.start()
    finally:
        process.close()


def records(lane: str, first: int, last: int) -> list[dict]:
    """Readings first..last (raw lane: lux; total lane: a water meter's volume)."""
    name = "volume" if lane == "total" else "illuminance"
    return [{"seq": s, "boot": "b1", "mono_s": float(s), "wall_s": T0 + s, "clock": "synced", "type": "reading",
             "sensor": "meter" if lane == "total" else "lux", "name": name, "value": float(s)}
            for s in range(first, last + 1)]


def events(first: int, last: int) -> list[dict]:
    """Event records first..last."""
    return [{"seq": s, "boot": "b1", "mono_s": float(s), "wall_s": T0 + s, "clock": "synced", "type": "event",
             "kind": "fault", "source": "lux", "reason": "no answer", "data": {"n": s}} for s in range(first, last + 1)]


def up(lane: str, after: int, recs: list[dict], device: str = DEVICE) -> bytes:
    """An `up` payload as a box encodes it (compressed when it pays)."""
    return protocol.encode({
        "v": 1, "device": device, "boot": "b1", "lane": lane, "after": after, "seq_first": recs[0]["seq"],
        "seq_last": recs[-1]["seq"], "sent_at": T0, "clock": {"synced": True, "offsets": {}}, "records": recs})


class Box:
    """A simulated box: the device's own credentials, its `up` topic, the retained acks it receives."""

    def __init__(self, broker: Broker, device: str = DEVICE, *, will: bool = False) -> None:
        broker.add_device(device)
        self.device = device
        status_topic = protocol.topic(device, "status")
        offline = json.dumps(self.status("offline")).encode()
        self.client: MqttProbe = broker.client(device, will=(status_topic, offline, True) if will else None)
        self.client.subscribe(protocol.topic(device, "ack"))

    def status(self, state: str) -> dict:
        return {"v": 1, "device": self.device, "state": state, "boot": "b1", "version": "0.1.0",
                "config_version": None, "at": T0}

    def send(self, payload: bytes, kind: str = "up") -> None:
        assert self.client.publish(protocol.topic(self.device, kind), payload) == 0

    def acked(self) -> dict[str, int]:
        """The latest ack received (zeros before any)."""
        acks = self.client.received(protocol.topic(self.device, "ack"))
        if not acks:
            return dict.fromkeys(protocol.LANES, 0)
        return dict(protocol.parse_ack(self.device, acks[-1].payload).acked)

    def wait_acked(self, lane: str, seq: int, timeout_s: float = 10.0) -> dict[str, int]:
        assert wait_s(lambda: self.acked()[lane] >= seq, timeout_s), f"acked {self.acked()}, wanted {lane} {seq}"
        return self.acked()


def test_fleet_serve_acks_each_batch_only_once_its_records_are_stored(broker: Broker, serve: ServeProcess) -> None:
    box = Box(broker)
    seen: list[tuple[int, list[int]]] = []
    for after in range(0, 500, 100):
        box.send(up("raw", after, records("raw", after + 1, after + 100)))
        acked = box.wait_acked("raw", after + 100)["raw"]
        # The moment the ack is in the box's hands, the store already holds every seq it covers.
        seen.append((acked, serve.seqs(DEVICE, "raw")))
    assert [(a, s[:a] == list(range(1, a + 1))) for a, s in seen] == [(n, True) for n in range(100, 501, 100)]
    box.send(up("event", 0, events(1, 3)))
    assert box.wait_acked("event", 3) == {"event": 3, "total": 0, "raw": 500}
    # The ack is retained: a box that (re)connects gets it at once.
    again = broker.client(DEVICE, client_id=DEVICE)
    again.subscribe(protocol.topic(DEVICE, "ack"))
    retained = again.wait_for(protocol.topic(DEVICE, "ack"))
    assert retained.retain and protocol.parse_ack(DEVICE, retained.payload).acked["raw"] == 500
    assert serve.terminate() == 0
    assert "Traceback" not in serve.log()


def test_fleet_serve_acknowledges_every_message_it_stored(broker: Broker, serve: ServeProcess) -> None:
    """Serve PUBACKs by hand after storing: were one forgotten, the broker would stop at 100 in flight."""
    box, batches = Box(broker), 260
    for after in range(0, 2 * batches, 2):
        box.client.paho.publish(protocol.topic(DEVICE, "up"), up("event", after, events(after + 1, after + 2)), qos=1)
    assert box.wait_acked("event", 2 * batches, timeout_s=20.0)["event"] == 2 * batches
    assert serve.seqs(DEVICE, "event") == list(range(1, 2 * batches + 1))


GARBAGE = {
    "bad JSON": b"{not json",
    "wrong types": json.dumps({"v": 1, "device": DEVICE, "boot": "b1", "lane": "raw", "after": "0",
                               "seq_first": 1, "seq_last": 1, "sent_at": T0, "clock": {}, "records": []}).encode(),
    "huge": b"{" + b" " * (protocol.MAX_PAYLOAD_BYTES + 1000) + b"}",
    "zlib bomb": zlib.compress(b"{" + b" " * (protocol.MAX_JSON_BYTES * 2) + b"}"),
    "invalid UTF-8": b'{"v":1,"device":"\xff\xfe"}',
    "another device": up("raw", 0, records("raw", 1, 2), device="box-b"),
    "not an object": b"[1,2,3]",
    "NaN": b'{"v":1,"device":"box-a","x":NaN}',
}


def test_fleet_serve_counts_garbage_on_up_and_still_stores_the_next_batch(broker: Broker, serve: ServeProcess) -> None:
    box = Box(broker)
    for payload in GARBAGE.values():
        box.send(payload)
    box.send(up("raw", 0, records("raw", 1, 50)))
    box.wait_acked("raw", 50)
    assert serve.alive and serve.seqs(DEVICE, "raw") == list(range(1, 51))
    assert wait_s(lambda: sum(serve.rejects().values()) == len(GARBAGE))
    rejects = serve.rejects()
    assert {device for device, _ in rejects} == {DEVICE}
    reasons = " | ".join(reason for _, reason in rejects)
    for expected in ("bad JSON", "after: must be an integer", "byte limit", "not valid UTF-8",
                     "does not match the topic's device", "must start with", "NaN"):
        assert expected in reasons
    log = serve.log()
    assert log.count(f"rejected message from device {DEVICE}") == len(GARBAGE) and "Traceback" not in log


def test_fleet_serve_status_marks_a_box_online_then_offline_from_its_will(broker: Broker, serve: ServeProcess) -> None:
    box = Box(broker, will=True)
    box.send(json.dumps(box.status("online")).encode(), "status")
    online = "SELECT online, version FROM devices WHERE id = ?"
    assert wait_s(lambda: serve.rows(online, DEVICE) == [(1, "0.1.0")])
    box.client.drop_with_will()
    assert wait_s(lambda: serve.rows(online, DEVICE) == [(0, "0.1.0")])
    assert "is offline" in serve.log()


def resend_until_acked(box: Box, lane: str, last: int, size: int, timeout_s: float = 30.0) -> None:
    """The box's link, reduced: while the ack stalls, resend every batch after the acked seq, chained."""
    deadline = time.monotonic() + timeout_s
    while box.acked()[lane] < last:
        assert time.monotonic() < deadline, f"acked {box.acked()} never reached {lane} {last}"
        start = box.acked()[lane]
        for after in range(start, last, size):
            box.send(up(lane, after, records(lane, after + 1, min(after + size, last))))
        wait_s(lambda s=start: box.acked()[lane] >= last, 2.0)


def test_fleet_serve_killed_mid_stream_loses_and_duplicates_nothing(
    broker: Broker, serve: ServeProcess
) -> None:
    box, size, last = Box(broker), 200, 8000
    killed_at = None
    for after in range(0, last, size):
        box.send(up("total", after, records("total", after + 1, after + size)))
        if after == 2000:
            serve.kill()  # SIGKILL while batches stream in: possibly mid-transaction
            killed_at = box.acked()["total"]
        if after == 5000:
            serve.start()
    assert killed_at is not None and killed_at < last
    resend_until_acked(box, "total", last, size)
    stored = serve.seqs(DEVICE, "total")
    assert len(stored) == last and stored == list(range(1, last + 1))
    assert serve.rows("PRAGMA integrity_check") == [("ok",)]
    assert serve.rows("SELECT count(*) FROM lanes WHERE device = ? AND lane = 'total' AND hwm = ?",
                      DEVICE, last) == [(1,)]


def test_fleet_serve_refused_login_and_unreachable_postgresql_are_one_line_exit_2(broker: Broker, tmp_path: Path) -> None:
    wrong = ServeProcess(broker, tmp_path)
    wrong.password_path.write_text("not-the-password\n", encoding="utf-8")
    wrong.start(wait=False)
    assert wrong.process is not None and wrong.process.wait(15) == 2
    assert "refused the login" in wrong.log() and "Traceback" not in wrong.log()
    nowhere = "postgresql://fleet:secret@127.0.0.1:1/fleet"
    command = [a if not a.startswith("sqlite:") else nowhere for a in wrong.command()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "cannot open fleet store postgresql://fleet:***@127.0.0.1:1/fleet" in done.stderr
    assert "secret" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
