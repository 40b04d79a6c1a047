"""One message through the ingest core (parse, store, what to publish), on a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fleet_batches import T0, raw_range, up_payload

from fleet import protocol
from fleet.serve.handler import Handler, Inbound
from fleet.store import SqliteStore


@pytest.fixture
def handler(tmp_path: Path):
    store = SqliteStore(tmp_path / "fleet.db")
    yield Handler(store)
    store.close()


def inbound(topic: bytes, payload: bytes) -> Inbound:
    return Inbound(topic=topic, payload=payload, mid=1, qos=1, generation=1, received_at=T0 + 60)


def test_fleet_handler_stores_a_batch_and_returns_its_retained_ack(handler: Handler) -> None:
    outcome = handler.handle(inbound(b"hameau/v1/box-a/up", up_payload("raw", 0, raw_range(1, 4))))
    assert outcome.ack_topic == "hameau/v1/box-a/ack" and outcome.rejected is None
    assert outcome.ack_payload is not None
    assert protocol.parse_ack("box-a", outcome.ack_payload).acked == {"event": 0, "total": 0, "raw": 4}
    assert [r.seq for r in handler.store.records("box-a", "raw")] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("topic", "device", "reason"),
    [
        (b"hameau/v1/\xff\xfe/up", "", "topic: not valid UTF-8"),
        (b"hameau/v1/box-a/cmd", "box-a", "topic: kind 'cmd' is not one the fleet ingests"),
        (b"hameau/v2/box-a/up", "", "topic: 'hameau/v2/box-a/up' is not hameau/v1/<device>/<kind>"),
    ],
)
def test_fleet_handler_counts_a_message_on_a_bad_topic(handler: Handler, topic: bytes, device: str,
                                                      reason: str) -> None:
    outcome = handler.handle(inbound(topic, up_payload("raw", 0, raw_range(1, 1))))
    assert outcome.ack_topic is None and outcome.rejected == reason
    assert handler.store.rejects() == {(device, reason): 1}
    assert handler.store.counts().records == {"event": 0, "total": 0, "raw": 0}


def test_fleet_handler_counts_records_with_a_bad_seq_under_one_reason(handler: Handler) -> None:
    for bad_index in (1, 2):
        records = raw_range(1, 4)
        records[bad_index]["seq"] = 0
        handler.handle(inbound(b"hameau/v1/box-a/up", up_payload("raw", 0, records)))
    assert handler.store.rejects() == {("box-a", "records[].seq: must be an integer >= 1"): 2}


def test_fleet_handler_status_sets_the_device_online(handler: Handler) -> None:
    status = {"v": 1, "device": "box-a", "state": "online", "boot": "b1", "version": "0.1.0",
              "config_version": 2, "at": T0}
    outcome = handler.handle(inbound(b"hameau/v1/box-a/status", json.dumps(status).encode()))
    assert outcome.ack_topic is None and outcome.rejected is None
    device = handler.store.device("box-a")
    assert device is not None and (device.online, device.online_since, device.version) == (True, T0 + 60, "0.1.0")
