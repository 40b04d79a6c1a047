"""Alarms through a real `hameau-fleet serve` and a real Mosquitto: a box that dies without DISCONNECT is an
offline alarm within seconds (the broker publishes its last will), cleared when it comes back online."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess, wait_s
from mqtt_probe import MqttProbe

from fleet import protocol

DEVICE = "box-a"
OPEN_OFFLINE = "SELECT id, severity, evidence FROM alarms WHERE device = ? AND kind = 'offline' AND state = 'open'"


@pytest.fixture
def serve(broker: Broker, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(broker, tmp_path)
    try:
        yield process.start()
    finally:
        process.close()


def status(state: str, at: float) -> bytes:
    """The status payload a box publishes (and leaves as its will), as the protocol builds it."""
    return protocol.encode(protocol.Status(DEVICE, state, "boot-1", "0.9.0", 3, at).to_message())


def connect(broker: Broker) -> MqttProbe:
    """The box connects with its last will armed, then says it is online (what edge/link/client.py does)."""
    at = time.time()
    client = broker.client(DEVICE, will=(protocol.topic(DEVICE, "status"), status("offline", at), True))
    assert client.publish(protocol.topic(DEVICE, "status"), status("online", at + 0.001), retain=True) == 0
    return client


def die(client: MqttProbe) -> None:
    """The box loses power: its socket closes without a DISCONNECT packet, the will stays armed."""
    sock = client.paho.socket()
    assert sock is not None
    sock.close()
    client.paho.loop_stop()


def test_fleet_alarms_box_dying_without_disconnect_is_offline_within_seconds(broker: Broker,
                                                                              serve: ServeProcess) -> None:
    broker.add_device(DEVICE)
    client = connect(broker)
    assert wait_s(lambda: serve.rows("SELECT online FROM devices WHERE id = ?", DEVICE) == [(1,)])
    assert serve.rows(OPEN_OFFLINE, DEVICE) == []
    died = time.monotonic()
    die(client)
    assert wait_s(lambda: serve.rows(OPEN_OFFLINE, DEVICE), 10.0), f"no offline alarm; serve log:\n{serve.log()}"
    delay_s = time.monotonic() - died
    ((_, severity, evidence),) = serve.rows(OPEN_OFFLINE, DEVICE)
    assert severity == "warning" and json.loads(evidence)["state"] == "offline"
    print(f"offline alarm {delay_s:.2f} s after the box died")
    assert delay_s < 10.0
    again = connect(broker)
    try:
        assert wait_s(lambda: serve.rows(OPEN_OFFLINE, DEVICE) == [], 10.0)
        cleared = serve.rows("SELECT state, cleared_by FROM alarms WHERE device = ? AND kind = 'offline'", DEVICE)
        assert cleared == [("cleared", "online again (boot boot-1)")]
    finally:
        again.close()
