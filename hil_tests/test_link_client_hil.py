"""The box's MQTT client against a real Mosquitto (TLS, password and ACL files like production): retained status
online and the offline will after a SIGKILL, reconnection after broker restarts with a bounded number of
attempts, and refusals (wrong CA, password file open to others, wrong password, denied publish) that never
connect, never fall back to plaintext and are counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from broker import Broker

from edge.config.link import LinkConfig
from edge.link.client import LinkClient
from edge.runtime.clock import SystemClock
from fleet import protocol

DEVICE = "ecole-01"
STATUS = f"hameau/v1/{DEVICE}/status"
ROOT = Path(__file__).resolve().parent.parent


def _status(state: str) -> bytes:
    return protocol.encode(protocol.Status(DEVICE, state, "boot-1", "0.1.0", None, 1.7e9).to_message())


def _password_file(folder: Path, password: str, mode: int = 0o600) -> Path:
    path = folder / "password"
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def _config(broker: Broker, password_file: Path, ca: Path | None = None, **overrides: float) -> LinkConfig:
    values = {"keepalive_s": 60, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5} | overrides
    return LinkConfig(broker_url=broker.url, host=broker.host, port=broker.port, ca_file=ca or broker.ca_path,
                      password_file=password_file, username=DEVICE, **values)  # type: ignore[arg-type]


@pytest.fixture
def make_client() -> Iterator[Callable[[LinkConfig], LinkClient]]:
    """Start LinkClients; stopped at the end."""
    clients: list[LinkClient] = []

    def make(config: LinkConfig) -> LinkClient:
        client = LinkClient(config, device=DEVICE, clock=SystemClock(), on_message=lambda topic, payload: None,
                            status=_status, random=lambda: 0.5)
        client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()


def _wait(condition: Callable[[], bool], timeout_s: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s"
        time.sleep(0.01)
    return time.monotonic() - start


def _state(payload: bytes) -> str:
    return protocol.parse_status(DEVICE, payload).state


def test_link_client_hil_tls_connect_publishes_retained_online(broker: Broker, make_client, tmp_path: Path) -> None:
    client = make_client(_config(broker, _password_file(tmp_path, broker.add_device(DEVICE))))
    _wait(lambda: client.connected, 5)
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    fleet.subscribe(STATUS)
    message = fleet.wait_for(STATUS)
    assert message.retain and _state(message.payload) == "online"
    assert client.counters()["connects"] == 1 and client.counters()["connect_failures"] == 0


def test_link_client_hil_sigkill_leaves_the_offline_will(broker: Broker, tmp_path: Path) -> None:
    password_file = _password_file(tmp_path, broker.add_device(DEVICE))
    script = (
        "import time, sys; from pathlib import Path\n"
        "from edge.config.link import LinkConfig\nfrom edge.link.client import LinkClient\n"
        "from edge.runtime.clock import SystemClock\n"
        "from fleet import protocol\n"
        f"_status = lambda state: protocol.encode(protocol.Status({DEVICE!r}, state, 'b', '0', None, 1.7e9).to_message())\n"
        f"c = LinkConfig(broker_url={broker.url!r}, host={broker.host!r}, port={broker.port}, "
        f"ca_file=Path({str(broker.ca_path)!r}), password_file=Path({str(password_file)!r}), username={DEVICE!r})\n"
        f"client = LinkClient(c, device={DEVICE!r}, clock=SystemClock(), on_message=lambda t, p: None, status=_status)\n"
        "client.start()\ntime.sleep(60)\n"
    )
    box = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
        fleet.subscribe(STATUS)
        assert _state(fleet.wait_for(STATUS, timeout_s=15).payload) == "online"
        box.send_signal(signal.SIGKILL)
        box.wait(5)
        _wait(lambda: any(_state(m.payload) == "offline" for m in fleet.received(STATUS)), 5)
    finally:
        box.kill()
        box.wait(5)
    fleet.close()
    again = broker.client(*broker.fleet_credentials, client_id="fleet-probe-2")
    again.subscribe(STATUS)
    retained = again.wait_for(STATUS)
    assert retained.retain and _state(retained.payload) == "offline"


def test_link_client_hil_reconnects_after_broker_restarts(broker: Broker, make_client, tmp_path: Path) -> None:
    client = make_client(_config(broker, _password_file(tmp_path, broker.add_device(DEVICE)),
                                 reconnect_min_s=0.2, reconnect_max_s=1.0))
    _wait(lambda: client.connected, 5)
    for restart in range(1, 4):
        down_at = time.monotonic()
        broker.stop()
        time.sleep(1.0)  # the broker stays down a while: the client must keep trying, not spin
        broker.start()
        took_s = _wait(lambda r=restart: client.counters()["connects"] == r + 1, 10)
        down_s = time.monotonic() - down_at
        assert took_s <= 1.0 + 0.5  # at most the longest backoff delay after the broker is back, and a handshake
        counters = client.counters()
        # Attempts while down: delays start at 0.2 s and double up to 1 s: never more than down / 0.2 + 1.
        failures = counters["connect_failures"]
        assert failures <= restart * (down_s / 0.2 + 1)
    assert client.counters()["loop_restarts"] == 0  # a broker that closes cleanly is a disconnect, not a dead loop
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    fleet.subscribe(STATUS)
    assert _state(fleet.wait_for(STATUS).payload) == "online"  # told again after each restart


def test_link_client_hil_wrong_ca_is_refused_without_plaintext(broker: Broker, make_client, tmp_path: Path) -> None:
    client = make_client(_config(broker, _password_file(tmp_path, broker.add_device(DEVICE)), broker.pki.other_ca))
    _wait(lambda: client.counters()["connect_failures"] >= 3, 5)
    assert not client.connected and client.counters()["connects"] == 0
    assert "CERTIFICATE_VERIFY_FAILED" in client.counters()["last_error"]
    assert f"as {DEVICE}" not in broker.log_text()  # no CONNECT ever reached the broker


def test_link_client_hil_password_file_open_to_others_never_leaves(broker: Broker, make_client, tmp_path: Path) -> None:
    client = make_client(_config(broker, _password_file(tmp_path, broker.add_device(DEVICE), mode=0o644)))
    _wait(lambda: client.counters()["connect_failures"] >= 2, 5)
    assert not client.connected and "chmod 600" in client.counters()["last_error"]
    assert f"as {DEVICE}" not in broker.log_text()


def test_link_client_hil_wrong_password_is_a_counted_refusal(broker: Broker, make_client, tmp_path: Path) -> None:
    broker.add_device(DEVICE)
    client = make_client(_config(broker, _password_file(tmp_path, "not-the-password")))
    _wait(lambda: client.counters()["refused_logins"] >= 2, 5)
    assert not client.connected and client.counters()["connects"] == 0
    assert "0x8" in client.counters()["last_error"]  # CONNACK 0x86 bad user name or password / 0x87


def test_link_client_hil_denied_publish_is_refused_not_delivered(broker: Broker, make_client, tmp_path: Path) -> None:
    broker.add_devices(DEVICE, "mairie-02")
    client = make_client(_config(broker, _password_file(tmp_path, broker.password(DEVICE))))
    _wait(lambda: client.connected, 5)
    handle = client.publish(protocol.topic("mairie-02", "up"), b'{"v":1}')
    assert handle.wait(5) and handle.reason_code == 0x87 and not handle.accepted
    assert client.counters()["publish_refused"] == 1
    own = client.publish(protocol.topic(DEVICE, "up"), b'{"v":1}')
    assert own.wait(5) and own.accepted
