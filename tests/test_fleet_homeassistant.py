"""Home Assistant discovery on both engines: the retained discovery configs (checked field by field against Home
Assistant's documented MQTT sensor/switch schema), states on new readings and relay decisions, availability from
the box's status, re-publication when the box changes, clearing on revocation, and two serve processes at once."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from fleet.app import open_fleet
from fleet.configs.desired import set_fragment
from fleet.homeassistant.job import publish
from fleet.registry.devices import revoke_device
from fleet.serve.jobs import JobContext
from fleet.settings import FleetSettings
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0, Published
from tests.fleet_ha_helpers import (
    HA,
    SITE,
    batch,
    by_topic,
    decision,
    reading,
    seed,
    status,
    store,
)

__all__ = ["store"]

DEVICE_BLOCK = {
    "identifiers": ["hameau_box-a"],
    "name": "box-a",
    "manufacturer": "Hameau",
    "model": "Hameau village box",
    "sw_version": "0.1.0",
    "suggested_area": SITE,
}
AVAILABILITY = {
    "availability_topic": "hameau/ha/box-a/availability",
    "payload_available": "online",
    "payload_not_available": "offline",
}
CONFIG = "homeassistant/{}/box-a/{}/config"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"


def _turn(store: SqlStore, at: float = T0 + 20) -> Published:
    published = Published()
    publish(JobContext(store.db, at, published), HA)
    return published


def _config(published: Published, component: str, object_id: str) -> dict[str, object]:
    payload, qos, retain = by_topic(published.messages)[CONFIG.format(component, object_id)]
    assert (qos, retain) == (1, True)
    return json.loads(payload)


def _sensor(object_id: str, name: str, state_topic: str, unit: str, device_class: str, state_class: str) -> dict:
    return {
        "unique_id": f"hameau_box-a_sensor_{object_id}", "name": name, "state_topic": state_topic,
        "unit_of_measurement": unit, "device_class": device_class, "state_class": state_class,
        **AVAILABILITY, "device": DEVICE_BLOCK, "origin": {"name": "Hameau fleet"}, "qos": 1,
    }


def test_homeassistant_discovery_configs_follow_the_documented_schema(store: SqlStore) -> None:
    seed(store)
    published = _turn(store)
    configs = sorted(t for t, *_ in published.messages if t.endswith("/config"))
    assert configs == [
        "homeassistant/sensor/box-a/energy-lighting_import_energy_kwh/config",
        "homeassistant/sensor/box-a/hall-temp_temperature_c/config",
        "homeassistant/sensor/box-a/lux-roof_illuminance_lx/config",
        "homeassistant/sensor/box-a/water-main_flow_lph/config",
        "homeassistant/sensor/box-a/water-main_volume_total_l/config",
        "homeassistant/switch/box-a/street-lights/config",
    ]
    assert _config(published, "sensor", "lux-roof_illuminance_lx") == _sensor(
        "lux-roof_illuminance_lx", "lux-roof illuminance", "hameau/ha/box-a/sensor/lux-roof/illuminance_lx",
        "lx", "illuminance", "measurement")
    assert _config(published, "sensor", "hall-temp_temperature_c") == _sensor(
        "hall-temp_temperature_c", "hall-temp temperature", "hameau/ha/box-a/sensor/hall-temp/temperature_c",
        "°C", "temperature", "measurement")
    assert _config(published, "sensor", "water-main_flow_lph") == _sensor(
        "water-main_flow_lph", "water-main flow", "hameau/ha/box-a/sensor/water-main/flow_lph",
        "L/h", "volume_flow_rate", "measurement")
    assert _config(published, "sensor", "water-main_volume_total_l") == _sensor(
        "water-main_volume_total_l", "water-main water", "hameau/ha/box-a/sensor/water-main/volume_total_l",
        "L", "water", "total_increasing")
    assert _config(published, "sensor", "energy-lighting_import_energy_kwh") == _sensor(
        "energy-lighting_import_energy_kwh", "energy-lighting energy",
        "hameau/ha/box-a/sensor/energy-lighting/import_energy_kwh", "kWh", "energy", "total_increasing")
    assert _config(published, "switch", "street-lights") == {
        "unique_id": "hameau_box-a_switch_street-lights", "name": "street-lights relay",
        "state_topic": "hameau/ha/box-a/relay/street-lights/state",
        "command_topic": "hameau/ha/box-a/relay/street-lights/set",
        "payload_on": "ON", "payload_off": "OFF", "state_on": "ON", "state_off": "OFF",
        "optimistic": False, "retain": False,
        **AVAILABILITY, "device": DEVICE_BLOCK, "origin": {"name": "Hameau fleet"}, "qos": 1,
    }


def test_homeassistant_states_and_availability_published_retained_once(store: SqlStore) -> None:
    seed(store)
    messages = by_topic(_turn(store).messages)
    assert messages["hameau/ha/box-a/sensor/lux-roof/illuminance_lx"] == (b"398.0", 1, True)  # seq 4, the latest
    assert messages["hameau/ha/box-a/sensor/hall-temp/temperature_c"] == (b"19.25", 1, True)
    assert messages["hameau/ha/box-a/sensor/water-main/volume_total_l"] == (b"1234.0", 1, True)
    assert messages["hameau/ha/box-a/relay/street-lights/state"] == (b"ON", 1, True)
    assert messages["hameau/ha/box-a/availability"] == (b"online", 1, True)
    assert len(messages) == 6 + 6 + 1  # six configs, six states, one availability: pulse_count is not shown
    assert _turn(store).messages == []  # nothing new, nothing published


def test_homeassistant_new_readings_and_relay_events_publish_states_and_old_ones_do_not(store: SqlStore) -> None:
    seed(store)
    _turn(store)
    store.store_batch(batch("raw", 5, [reading(6, "lux-roof", "illuminance_lx", 3.5)]), T0 + 30)
    store.store_batch(batch("event", 1, [decision(2, "street-lights", False)]), T0 + 30)
    assert sorted(_turn(store, T0 + 40).messages) == [
        ("hameau/ha/box-a/relay/street-lights/state", b"OFF", 1, True),
        ("hameau/ha/box-a/sensor/lux-roof/illuminance_lx", b"3.5", 1, True),
    ]
    store.store_batch(batch("raw", 0, [reading(1, "lux-roof", "illuminance_lx", 412.5)]), T0 + 50)  # sent again
    assert _turn(store, T0 + 60).messages == []


def test_homeassistant_new_sensor_is_discovered_and_a_new_version_republishes_the_box(store: SqlStore) -> None:
    seed(store)
    _turn(store)
    store.store_batch(batch("raw", 6, [reading(7, "outdoor-temp", "temperature_c", -2.0)]), T0 + 30)
    topics = sorted(t for t, *_ in _turn(store, T0 + 40).messages)
    assert topics == ["hameau/ha/box-a/sensor/outdoor-temp/temperature_c",
                      "homeassistant/sensor/box-a/outdoor-temp_temperature_c/config"]
    store.store_status(status("online", version="0.2.0"), T0 + 50)
    published = _turn(store, T0 + 60)
    configs = [json.loads(p) for t, p, *_ in published.messages if t.endswith("/config")]
    assert len(configs) == 7 and {c["device"]["sw_version"] for c in configs} == {"0.2.0"}


def test_homeassistant_availability_follows_the_box_status(store: SqlStore) -> None:
    seed(store)
    _turn(store)
    store.store_status(status("offline"), T0 + 30)
    assert _turn(store, T0 + 40).messages == [("hameau/ha/box-a/availability", b"offline", 1, True)]
    store.store_status(status("online"), T0 + 50)
    assert _turn(store, T0 + 60).messages == [("hameau/ha/box-a/availability", b"online", 1, True)]


def test_homeassistant_revoked_box_discovery_cleared_with_empty_retained_payloads(store: SqlStore) -> None:
    seed(store)
    _turn(store)
    revoke_device(store.db, "box-a", now=T0 + 30)
    messages = _turn(store, T0 + 40).messages
    configs = [m for m in messages if m[0].endswith("/config")]
    assert len(configs) == 6 and all(payload == b"" and retain for _t, payload, _q, retain in configs)
    assert ("hameau/ha/box-a/relay/street-lights/state", b"", 1, True) in messages
    assert ("hameau/ha/box-a/availability", b"", 1, True) in messages
    assert len(messages) == 6 + 6 + 1
    store.store_batch(batch("raw", 6, [reading(7, "lux-roof", "illuminance_lx", 5.0)]), T0 + 50)  # late batch
    assert _turn(store, T0 + 60).messages == []


def test_homeassistant_two_serve_processes_publish_each_message_once(store: SqlStore, store_url: str) -> None:
    seed(store)
    others = [open_fleet(store_url, FleetSettings(homeassistant=HA)) for _ in range(2)]
    published = Published()
    threads = [threading.Thread(target=publish, args=(JobContext(o.db, T0 + 20, published), HA)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    topics = [t for t, *_ in published.messages]
    assert len(topics) == 13 and len(set(topics)) == 13


def test_homeassistant_relays_of_the_desired_config_shown_before_their_first_decision(store: SqlStore) -> None:
    seed(store)
    text = re.sub(r"(?ms)^\[device\]\n.*?(?=^\[)", "", EXAMPLE.read_text(encoding="utf-8"))
    set_fragment(store.db, "device", "box-a", text, by="tech", now=T0 + 15)
    messages = by_topic(_turn(store).messages)
    heating = json.loads(messages["homeassistant/switch/box-a/hall-heating/config"][0])
    assert heating["command_topic"] == "hameau/ha/box-a/relay/hall-heating/set"
    assert "hameau/ha/box-a/relay/hall-heating/state" not in messages  # its state is not known yet
    assert messages["hameau/ha/box-a/relay/street-lights/state"] == (b"ON", 1, True)
    store.store_batch(batch("event", 1, [decision(2, "hall-heating", False)]), T0 + 30)
    assert _turn(store, T0 + 40).messages == [("hameau/ha/box-a/relay/hall-heating/state", b"OFF", 1, True)]
