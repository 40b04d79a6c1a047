"""A seeded box for the Home Assistant tests: the town hall box's sensors and relay, as records on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from fleet import protocol
from fleet.app import open_fleet
from fleet.homeassistant.settings import HomeAssistantSettings
from fleet.registry.devices import add_device
from fleet.registry.groups import add_user
from fleet.settings import FleetSettings
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0

DEVICE = "box-a"
SITE = "Mairie de Saint-Aubin"
HA = HomeAssistantSettings(enabled=True, user="tech")


def record(seq: int, record_type: str, **body: Any) -> dict[str, Any]:
    """A record of `record_type` at T0 + seq (synced clock)."""
    return {"seq": seq, "boot": "b1", "mono_s": float(seq), "wall_s": T0 + seq, "clock": "synced", "type": record_type,
            **body}


def reading(seq: int, sensor: str, name: str, value: float) -> dict[str, Any]:
    """A reading record."""
    return record(seq, "reading", sensor=sensor, name=name, value=value)


def decision(seq: int, relay: str, on: bool) -> dict[str, Any]:
    """A controller's decision event switching `relay`."""
    return record(seq, "event", kind="decision", source="lighting-1", reason="dark", data={"relay": relay, "on": on})


def batch(lane: str, after: int, records: list[dict[str, Any]], device: str = DEVICE) -> protocol.Batch:
    """A parsed `up` batch of `records`."""
    message = {
        "v": 1, "device": device, "boot": "b1", "lane": lane, "after": after, "seq_first": records[0]["seq"],
        "seq_last": records[-1]["seq"], "sent_at": T0, "clock": {"synced": True, "offsets": {}}, "records": records,
    }
    return protocol.parse_batch(device, json.dumps(message).encode())


def status(state: str, version: str = "0.1.0", device: str = DEVICE) -> protocol.Status:
    """A parsed `status` message."""
    message = {"v": 1, "device": device, "state": state, "boot": "b1", "version": version, "config_version": None,
               "at": T0}
    return protocol.parse_status(device, json.dumps(message).encode())


#: The seeded box: lux, temperature, flow (raw lane); water and energy totals (total lane); one relay.
RAW = [
    reading(1, "lux-roof", "illuminance_lx", 412.5),
    reading(2, "hall-temp", "temperature_c", 19.25),
    reading(3, "water-main", "flow_lph", 60.0),
    reading(4, "lux-roof", "illuminance_lx", 398.0),
    reading(5, "water-main", "pulse_count", 17.0),  # no unit Home Assistant knows: not shown
]
TOTAL = [reading(1, "water-main", "volume_total_l", 1234.0), reading(2, "energy-lighting", "import_energy_kwh", 12.5)]
EVENTS = [decision(1, "street-lights", True)]


def seed(store: SqlStore, *, register: bool = True, role: str = "technician") -> None:
    """The box registered at its site, a user, its status online and its first batches."""
    if register:
        add_device(store.db, DEVICE, SITE, now=T0)
    add_user(store.db, "tech", role, now=T0)
    store.store_status(status("online"), T0)
    store.store_batch(batch("raw", 0, RAW), T0 + 10)
    store.store_batch(batch("total", 0, TOTAL), T0 + 10)
    store.store_batch(batch("event", 0, EVENTS), T0 + 10)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """A fresh fleet store with Home Assistant enabled (its observer in the ingest)."""
    fleet = open_fleet(store_url, FleetSettings(homeassistant=HA))
    yield fleet
    fleet.close()


def by_topic(messages: list[tuple[str, bytes, int, bool]]) -> Mapping[str, tuple[bytes, int, bool]]:
    """Published messages keyed by topic (the test checks a topic was published once where it matters)."""
    return {topic: (payload, qos, retain) for topic, payload, qos, retain in messages}
