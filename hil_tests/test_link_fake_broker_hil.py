"""The box's MQTT client against a TLS fake broker that misbehaves: malformed packets never leave it silently
disconnected (it reconnects within a bounded time and counts loop restarts), refusals are counted, never taken
for success, and no byte of plaintext MQTT ever leaves it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.config.link import LinkConfig
from edge.link.client import LinkClient
from edge.runtime.clock import SystemClock
from fleet import protocol
from hil_tests.fake_broker import FakeBroker, make_ca

DEVICE = "ecole-01"
TLS_RECORD = 0x16  # a TLS handshake record: what a ClientHello starts with
PLAIN_CONNECT = 0x10  # what a plaintext MQTT CONNECT starts with


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for localhost it signed."""
    return make_ca(tmp_path_factory.mktemp("fake-ca"))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text("s3cret\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _config(port: int, ca: Path, password_file: Path, **overrides: float) -> LinkConfig:
    values = {"keepalive_s": 60, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2} | overrides
    return LinkConfig(broker_url=f"mqtts://localhost:{port}", host="localhost", port=port, ca_file=ca,
                      password_file=password_file, username=DEVICE, **values)  # type: ignore[arg-type]


def _status(state: str) -> bytes:
    return protocol.encode(protocol.Status(DEVICE, state, "boot-1", "0.1.0", None, 1.7e9).to_message())


@pytest.fixture
def run_client(pki: tuple[Path, Path, Path], password_file: Path) -> Iterator[Callable[..., tuple[LinkClient, FakeBroker, list]]]:
    """Start a fake broker playing `modes` and a client against it; both stopped at the end."""
    started: list[tuple[LinkClient, FakeBroker]] = []

    def run(modes: list[str], *, ca: Path | None = None, **overrides: float) -> tuple[LinkClient, FakeBroker, list]:
        broker = FakeBroker(pki[1], pki[2], modes).start()
        events: list[tuple[str, str]] = []
        client = LinkClient(_config(broker.port, ca or pki[0], password_file, **overrides), device=DEVICE,
                            clock=SystemClock(), on_message=lambda topic, payload: None, status=_status,
                            on_event=lambda kind, reason: events.append((kind, reason)), random=lambda: 0.5)
        client.start()
        started.append((client, broker))
        return client, broker, events

    yield run
    for client, broker in started:
        client.stop()
        broker.stop()


def _wait(condition: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until `condition` held; fails after `timeout_s`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_link_client_connects_over_tls_with_its_login_will_and_subscriptions(run_client, password_file) -> None:
    client, broker, _ = run_client(["normal"])
    _wait(lambda: client.connected and len(broker.seen[0].publishes) >= 1, 5)
    seen = broker.seen[0]
    assert seen.first_byte == TLS_RECORD and seen.tls_ok
    assert (seen.client_id, seen.username, seen.password) == (DEVICE, DEVICE, b"s3cret")
    assert (seen.will_topic, seen.will_retain) == (f"hameau/v1/{DEVICE}/status", True)
    topic, payload, retained = seen.publishes[0]
    assert (topic, retained) == (f"hameau/v1/{DEVICE}/status", True)
    assert protocol.parse_status(DEVICE, payload).state == "online"
    _wait(lambda: len(seen.subscriptions) == 3, 5)
    assert sorted(seen.subscriptions) == sorted(f"hameau/v1/{DEVICE}/{k}" for k in ("ack", "cmd", "config"))


@pytest.mark.parametrize("mode", ["bad_topic", "bad_length"])
def test_link_client_malformed_publish_from_the_broker_restarts_the_loop(run_client, mode: str) -> None:
    client, broker, events = run_client([mode, "normal"])
    took_s = _wait(lambda: client.connected and len(broker.seen) >= 2, 5)
    assert took_s < 5
    counters = client.counters()
    assert counters["loop_restarts"] == 1 and counters["connects"] == 2
    assert [kind for kind, _ in events] == ["link_loop_restart"]
    if mode == "bad_topic":
        assert counters["malformed_in"] == 1 and "UnicodeDecodeError" in events[0][1]


def test_link_client_truncated_packet_is_noticed_by_keepalive(run_client) -> None:
    # The broker sends a PUBLISH cut short, then never answers again: only the keepalive can tell.
    client, broker, events = run_client(["truncated", "normal"], keepalive_s=1)
    _wait(lambda: client.connected, 5)
    took_s = _wait(lambda: len(broker.seen) >= 2 and client.connected, 10)
    assert took_s <= 2 * 1 + 1.5  # two keepalives, a backoff and the handshake
    assert client.counters()["loop_restarts"] == 1
    assert events and "keepalive" in events[0][1]


def test_link_client_refused_login_is_retried_with_backoff_never_connected(run_client) -> None:
    client, _broker, _ = run_client(["refuse"], reconnect_min_s=0.1, reconnect_max_s=0.4)
    time.sleep(1.5)
    counters = client.counters()
    assert not client.connected and counters["connects"] == 0
    # Delays 0.1, then uniform(0.1, 0.2) = 0.15, then 0.25, then 0.4 (ceiling) each: about 5 tries in 1.5 s.
    assert 3 <= counters["refused_logins"] <= 7
    assert "0x87" in counters["last_error"]


def test_link_client_denied_publish_is_a_counted_refusal(run_client) -> None:
    client, _broker, _ = run_client(["deny"])
    _wait(lambda: client.connected, 5)
    handle = client.publish(protocol.topic(DEVICE, "up"), b'{"v":1}', qos=1)
    assert handle.wait(5)
    assert handle.reason_code == 0x87 and not handle.accepted
    assert client.counters()["publish_refused"] >= 1


def test_link_client_oversize_payload_never_leaves(run_client) -> None:
    client, broker, _ = run_client(["normal"])
    # Connected, then subscribed, then "online": count once that status has arrived.
    _wait(lambda: client.connected and bool(broker.seen) and len(broker.seen[0].publishes) >= 1, 5)
    before = len(broker.seen[0].publishes)
    handle = client.publish(protocol.topic(DEVICE, "up"), b"x" * (protocol.MAX_PAYLOAD_BYTES + 1))
    assert handle.done.is_set() and handle.reason_code is None and "over" in (handle.error or "")
    time.sleep(0.3)
    assert len(broker.seen[0].publishes) == before and client.counters()["oversize_refused"] == 1


def test_link_client_wrong_ca_is_refused_without_any_plaintext(run_client, tmp_path: Path) -> None:
    other_ca, _cert, _key = make_ca(tmp_path / "other-ca")
    client, broker, _ = run_client(["normal"], ca=other_ca, reconnect_min_s=0.1, reconnect_max_s=0.2)
    _wait(lambda: client.counters()["connect_failures"] >= 3, 5)
    assert not client.connected and client.counters()["connects"] == 0
    assert "CERTIFICATE_VERIFY_FAILED" in client.counters()["last_error"]
    assert broker.seen and all(s.first_byte == TLS_RECORD for s in broker.seen)
    assert not any(s.first_byte == PLAIN_CONNECT or s.tls_ok for s in broker.seen)


def test_link_client_password_file_opened_to_others_is_not_sent(run_client, password_file: Path) -> None:
    password_file.chmod(0o644)
    client, broker, _ = run_client(["normal"], reconnect_min_s=0.1, reconnect_max_s=0.2)
    _wait(lambda: client.counters()["connect_failures"] >= 2, 5)
    assert broker.seen == [] and "chmod 600" in client.counters()["last_error"]


def test_link_client_stop_publishes_offline_and_disconnects(run_client) -> None:
    client, broker, _ = run_client(["normal"])
    _wait(lambda: client.connected, 5)
    client.stop()
    _topic, payload, retained = broker.seen[0].publishes[-1]
    assert retained and protocol.parse_status(DEVICE, payload).state == "offline"
    assert not client.connected
