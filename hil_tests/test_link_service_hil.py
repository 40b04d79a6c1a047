"""The link service against a real Mosquitto, with the real store and outbox and a fleet stand-in: events written
by the agent's store reach the fleet, are deleted only on the fleet's ack, are sent again after an ack timeout and
after a broker restart; valid config and commands reach the inbox, malformed ones are rejected and counted and the
link keeps working."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from broker import Broker

from edge.config.link import LinkConfig
from edge.controllers.events import Event
from edge.link.service import Link, LinkEvent, RefusedCommand, default_outbox_factory
from edge.runtime.clock import SystemClock
from edge.storage.store import Store
from fleet import protocol

DEVICE = "ecole-01"
UP = f"hameau/v1/{DEVICE}/up"


def _wait(condition: Callable[[], bool], timeout_s: float, extra: Callable[[], object] | None = None) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s ({extra() if extra else ''})"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def box(broker: Broker, tmp_path: Path) -> Iterator[Callable[..., tuple[Link, Store]]]:
    """A store with the box's database and a started Link on it; both closed at the end."""
    made: list[tuple[Link, Store]] = []

    def make(**overrides: float) -> tuple[Link, Store]:
        password = tmp_path / "password"
        password.write_text(broker.add_device(DEVICE) + "\n", encoding="utf-8")
        password.chmod(0o600)
        values = {"reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "batch_age_event_s": 0.0} | overrides
        config = LinkConfig(broker_url=broker.url, host=broker.host, port=broker.port, ca_file=broker.ca_path,
                            password_file=password, username=DEVICE, **values)  # type: ignore[arg-type]
        clock = SystemClock()
        db = tmp_path / "box.db"
        store = Store(db, monotonic=clock.monotonic)
        link = Link(config, device=DEVICE, clock=clock, version="0.1.0", config_version=lambda: 3,
                    outbox_factory=default_outbox_factory(config, db_path=db, device=DEVICE, clock=clock),
                    tick_s=0.05)
        link.start()
        made.append((link, store))
        return link, store

    yield make
    for link, store in made:
        link.stop()
        store.close()


def _events(store: Store, count: int) -> None:
    for n in range(count):
        store.add_event_now(Event("decision", "test", f"event {n}", datetime.now(UTC), {"n": n}))


def _fleet(broker: Broker):
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    fleet.subscribe(UP)
    return fleet


def _seqs(fleet) -> list[int]:
    return [r.seq for m in fleet.received(UP) for r in protocol.parse_batch(DEVICE, m.payload).records]


def _ack(fleet, event_seq: int) -> None:
    ack = protocol.Ack(DEVICE, {"event": event_seq, "total": 0, "raw": 0})
    assert fleet.publish(protocol.topic(DEVICE, "ack"), protocol.encode(ack.to_message()), retain=True) == 0


def _outbox_rows(link: Link) -> int:
    return link.stats()["outbox"].get("rows", -1)


def test_link_service_hil_delivers_and_deletes_only_on_ack(box, broker: Broker) -> None:
    fleet = _fleet(broker)
    link, store = box(ack_timeout_s=30)
    _events(store, 25)
    _wait(lambda: sorted(set(_seqs(fleet))) == list(range(1, 26)), 10)
    time.sleep(6)  # stats are read every 5 s: the rows are still there, unacked
    assert _outbox_rows(link) == 25
    _ack(fleet, 25)
    _wait(lambda: link.stats()["rows_acked"] == 25, 5)
    stats = link.stats()
    assert stats["acked"]["event"] == 25 and stats["ack_timeouts"] == 0 and stats["batches_refused"] == 0


def test_link_service_hil_ack_timeout_sends_again(box, broker: Broker) -> None:
    fleet = _fleet(broker)
    link, store = box(ack_timeout_s=1.0)
    _events(store, 5)
    _wait(lambda: _seqs(fleet).count(1) >= 2, 5)  # no ack: sent again after the timeout
    assert link.stats()["ack_timeouts"] >= 1
    _ack(fleet, 5)
    _wait(lambda: link.stats()["rows_acked"] == 5, 5)
    sent = len(fleet.received(UP))
    time.sleep(1.5)
    assert len(fleet.received(UP)) == sent  # once acked, nothing goes again


def test_link_service_hil_broker_restart_resends_the_unacked(box, broker: Broker) -> None:
    link, store = box(ack_timeout_s=60)
    _wait(lambda: link.client.connected, 5)
    broker.restart()
    fleet = _fleet(broker)
    _events(store, 3)
    _wait(lambda: link.client.connection_id >= 2 and sorted(set(_seqs(fleet))) == [1, 2, 3], 10)
    assert link.stats()["outbox_restarts"] >= 2


def test_link_service_hil_config_and_commands_reach_the_inbox(box, broker: Broker) -> None:
    link, _store = box()
    _wait(lambda: link.client.connected, 5)
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    config = protocol.Config(DEVICE, 4, {"agent": {"tick_s": 5.0}})
    assert fleet.publish(protocol.topic(DEVICE, "config"), protocol.encode(config.to_message()), retain=True) == 0
    command = protocol.Command(DEVICE, "c-1", "status", {}, time.time() + 600)
    assert fleet.publish(protocol.topic(DEVICE, "cmd"), protocol.encode(command.to_message())) == 0
    got = [link.inbox.get(timeout=5), link.inbox.get(timeout=5)]
    assert got == [config, command]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("cmd", b"garbage"),
        ("cmd", b'{"v":1,"device":"mairie-02","id":"x","action":"status","args":{},"expires_at":1}'),
        ("config", b'{"v":1,"device":"ecole-01","version":"one","config":{}}'),
        ("ack", b'{"v":1,"device":"ecole-01","acked":{"event":-1,"total":0,"raw":0}}'),
        ("cmd", b"\x78" + b"\x00" * 100),
        ("cmd", b"{" + b" " * 200_000 + b"}"),
        ("cmd", b'{"v":1,"device":"ecole-01","id":"c-9","action":"reboot","args":{},"expires_at":1}'),
    ],
)
def test_link_service_hil_malformed_messages_are_rejected_and_counted(box, broker: Broker, kind: str,
                                                                       payload: bytes) -> None:
    link, store = box()
    _wait(lambda: link.client.connected, 5, link.stats)
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    assert fleet.publish(protocol.topic(DEVICE, kind), payload) == 0
    _wait(lambda: link.stats()["rejected_in"] == 1, 5)
    event = link.events.get(timeout=1)
    assert isinstance(event, LinkEvent) and event.kind == "link_message_rejected"
    if b'"c-9"' in payload:  # the id parsed: the agent is told, to report it refused
        refused = link.inbox.get(timeout=1)
        assert isinstance(refused, RefusedCommand) and refused.id == "c-9" and "action" in refused.reason
    else:
        assert link.inbox.empty()
    # Still working: a valid command goes through, and the outbox still delivers.
    command = protocol.Command(DEVICE, "c-2", "status", {}, time.time() + 600)
    assert fleet.publish(protocol.topic(DEVICE, "cmd"), protocol.encode(command.to_message())) == 0
    assert link.inbox.get(timeout=5) == command
    fleet.subscribe(UP)
    _events(store, 1)
    _wait(lambda: _seqs(fleet) == [1], 5)
    assert link.client.connected and link.stats()["service_errors"] == 0


def test_link_service_hil_stop_leaves_status_offline_with_counters(box, broker: Broker) -> None:
    link, _store = box()
    _wait(lambda: link.client.connected, 5)
    link.stop()
    fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
    status_topic = protocol.topic(DEVICE, "status")
    fleet.subscribe(status_topic)
    status = protocol.parse_status(DEVICE, fleet.wait_for(status_topic).payload)
    assert (status.state, status.config_version, status.version) == ("offline", 3, "0.1.0")
    assert status.link is not None and status.link["connects"] == 1
