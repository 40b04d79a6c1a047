"""End to end on a real Mosquitto (production-style TLS, passwords, ACL) and a real `hameau-fleet serve` with
`[homeassistant] enabled`: a box's status and batches come in, Home Assistant's broker user sees the retained
discovery configs and states, publishes ON on the switch's command topic as Home Assistant does, and the fleet
queues the relay override in the configured user's name and sends it to the box. Home Assistant's user may not
touch the boxes' own topics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess, wait_s

from fleet import broker_files, protocol
from fleet.app import open_fleet
from fleet.homeassistant.acl import acl_extras
from fleet.homeassistant.settings import HomeAssistantSettings
from fleet.registry.devices import add_device
from fleet.registry.groups import add_user

DEVICE = "box-a"
HA_USER = "homeassistant.hameau"
SWITCH_CONFIG = f"homeassistant/switch/{DEVICE}/street-lights/config"
LUX_CONFIG = f"homeassistant/sensor/{DEVICE}/lux-roof_illuminance_lx/config"
COMMAND = f"hameau/ha/{DEVICE}/relay/street-lights/set"
SETTINGS = '[homeassistant]\nenabled = true\nuser = "tech"\ninterval_s = 0.5\ncommand_ttl_s = 300\n'


def _up(lane: str, record: dict[str, object], now: float) -> bytes:
    record = {"seq": 1, "boot": "b1", "mono_s": 1.0, "wall_s": now, "clock": "synced", **record}
    return json.dumps({
        "v": 1, "device": DEVICE, "boot": "b1", "lane": lane, "after": 0, "seq_first": 1, "seq_last": 1,
        "sent_at": now, "clock": {"synced": True, "offsets": {}}, "records": [record],
    }).encode()


@pytest.fixture
def fleet(broker: Broker, tmp_path: Path) -> Iterator[ServeProcess]:
    """Serve with Home Assistant enabled; the broker's ACL as the registry writes it when enabled."""
    extras = acl_extras(HomeAssistantSettings(enabled=True, user="tech"))
    broker.add_devices(DEVICE, HA_USER)
    Broker._write(broker.acl_path, broker_files.acl_text(
        ("fleet.hameau", "fleet.hameau-2"), fleet_extra=extras.fleet_rules, extra_users=extras.users))
    broker.reload()
    directory = tmp_path / "fleet"
    directory.mkdir()
    settings = directory / "fleet.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    serve = ServeProcess(broker, directory)
    store = open_fleet(serve.db_url)
    add_device(store.db, DEVICE, "Mairie de Saint-Aubin", now=time.time())
    add_user(store.db, "tech", "technician", now=time.time())
    store.close()
    try:
        yield serve.start("--settings", str(settings))
    finally:
        serve.close()


def test_fleet_homeassistant_hil_discovery_seen_and_on_from_home_assistant_queued(
    fleet: ServeProcess, broker: Broker
) -> None:
    box = broker.client(DEVICE)
    box.subscribe(f"hameau/v1/{DEVICE}/cmd")
    now = time.time()
    status = {"v": 1, "device": DEVICE, "state": "online", "boot": "b1", "version": "0.3.0", "config_version": None,
              "at": now}
    assert box.publish(f"hameau/v1/{DEVICE}/status", json.dumps(status).encode(), retain=True) in (0, 0x10)
    decision = {"type": "event", "kind": "decision", "source": "lighting-1", "reason": "dark",
                "data": {"relay": "street-lights", "on": True}}
    lux = {"type": "reading", "sensor": "lux-roof", "name": "illuminance_lx", "value": 3.5}
    assert box.publish(f"hameau/v1/{DEVICE}/up", _up("event", decision, now)) in (0, 0x10)
    assert box.publish(f"hameau/v1/{DEVICE}/up", _up("raw", lux, now)) in (0, 0x10)
    assert wait_s(lambda: len(fleet.rows("SELECT config_digest FROM ha_entities WHERE config_digest IS NOT NULL"))
                  == 2 and fleet.rows("SELECT availability FROM ha_devices") == [("online",)], 15.0), fleet.log()[-3000:]

    # Home Assistant connects afterwards: the broker hands it the retained configs, states and availability.
    ha = broker.client(HA_USER)
    ha.subscribe("homeassistant/#", "hameau/ha/#")
    switch = ha.wait_for(SWITCH_CONFIG, timeout_s=10.0)
    config = json.loads(switch.payload)
    assert switch.retain and config["command_topic"] == COMMAND
    assert config["availability_topic"] == f"hameau/ha/{DEVICE}/availability"
    assert config["device"]["sw_version"] == "0.3.0" and config["device"]["suggested_area"] == "Mairie de Saint-Aubin"
    sensor = ha.wait_for(LUX_CONFIG, timeout_s=10.0)
    assert sensor.retain and json.loads(sensor.payload)["device_class"] == "illuminance"
    assert ha.wait_for(f"hameau/ha/{DEVICE}/sensor/lux-roof/illuminance_lx", b"3.5", timeout_s=10.0).retain
    assert ha.wait_for(f"hameau/ha/{DEVICE}/relay/street-lights/state", b"ON", timeout_s=10.0).retain
    assert ha.wait_for(f"hameau/ha/{DEVICE}/availability", b"online", timeout_s=10.0).retain

    # As Home Assistant does on a click: ON on the command topic, not retained.
    sent_at = time.time()
    assert ha.publish(COMMAND, b"ON") in (0, 0x10)
    assert wait_s(lambda: fleet.rows("SELECT 1 FROM commands"), 15.0), fleet.log()[-3000:]
    [(device, action, args, created_by, created_at, expires_at)] = fleet.rows(
        "SELECT device, action, args, created_by, created_at, expires_at FROM commands")
    assert (device, action, created_by) == (DEVICE, "override", "tech")
    assert json.loads(args) == {"relay": "street-lights", "state": "on", "duration_s": 3600.0,
                                "reason": "Home Assistant"}
    assert sent_at - 1 <= created_at <= time.time() and expires_at == pytest.approx(created_at + 300.0)
    command = protocol.parse_command(DEVICE, box.wait_for(f"hameau/v1/{DEVICE}/cmd", timeout_s=10.0).payload)
    assert (command.action, command.args["relay"], command.args["state"]) == ("override", "street-lights", "on")

    # Home Assistant's broker user cannot reach a box itself, nor pose as the fleet.
    assert ha.publish(f"hameau/v1/{DEVICE}/cmd", b"{}") == 0x87
    assert ha.publish(f"homeassistant/switch/{DEVICE}/street-lights/config", b"") == 0x87
    assert ha.publish(COMMAND, b"toggle") in (0, 0x10)
    assert wait_s(lambda: fleet.rows("SELECT count FROM rejects WHERE reason = 'homeassistant: malformed payload'")
                  == [(1,)], 10.0)
    assert len(fleet.rows("SELECT 1 FROM commands")) == 1
