"""What a box shows Home Assistant: its readings as sensors (by the unit suffix of their names), its relays as
switches; and the topics of each (discovery config, state, availability, command).

Reading names carry their unit (drivers/reading.py, drivers/registers.py): `illuminance_lx`, `temperature_c`,
`relative_humidity_pct`, `flow_lph`, `volume_total_l` (total lane), `import_energy_kwh`, `active_power_w`...
A relay's state is the `on` of the latest "decision" event naming it (edge/controllers/relay_controller.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.protocol import DEVICE_PATTERN, SHARE_GROUP

SENSOR, SWITCH = "sensor", "switch"
#: A relay's state payloads, and the command payloads Home Assistant sends (its defaults).
ON, OFF = "ON", "OFF"
#: Availability payloads (Home Assistant's defaults).
ONLINE, OFFLINE = "online", "offline"
#: Sensor ids, relay ids and reading names that can be a topic level and a discovery object id.
OBJECT_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class SensorKind:
    """How Home Assistant should show readings of one unit: device class, unit, state class, a word."""

    device_class: str
    unit: str
    state_class: str
    label: str


#: Unit suffix of a reading name -> its Home Assistant sensor (longest suffix first: `_lph` before `_l`).
SUFFIXES: tuple[tuple[str, SensorKind], ...] = (
    ("_lph", SensorKind("volume_flow_rate", "L/h", "measurement", "flow")),
    ("_kwh", SensorKind("energy", "kWh", "total_increasing", "energy")),
    ("_pct", SensorKind("humidity", "%", "measurement", "humidity")),
    ("_lx", SensorKind("illuminance", "lx", "measurement", "illuminance")),
    ("_hz", SensorKind("frequency", "Hz", "measurement", "frequency")),
    ("_c", SensorKind("temperature", "°C", "measurement", "temperature")),
    ("_l", SensorKind("water", "L", "total_increasing", "water")),
    ("_w", SensorKind("power", "W", "measurement", "power")),
    ("_v", SensorKind("voltage", "V", "measurement", "voltage")),
    ("_a", SensorKind("current", "A", "measurement", "current")),
)


def sensor_kind(name: str) -> SensorKind | None:
    """The Home Assistant sensor of a reading name, or None (not shown: no unit Home Assistant knows)."""
    if OBJECT_PATTERN.fullmatch(name) is None:
        return None
    if name.endswith("_pct") and "humidity" not in name:
        return None
    return next((kind for suffix, kind in SUFFIXES if name.endswith(suffix) and len(name) > len(suffix)), None)


@dataclass(frozen=True, slots=True)
class Entity:
    """One Home Assistant entity of a box: a sensor (source = sensor id, name = reading name) or a switch
    (source = relay id, name = "")."""

    device: str
    component: str
    source: str
    name: str = ""

    @property
    def object_id(self) -> str:
        """The discovery topic's object id (unique within the box)."""
        return f"{self.source}_{self.name}" if self.component == SENSOR else self.source

    @property
    def unique_id(self) -> str:
        """Home Assistant's unique id of the entity (unique across every integration)."""
        return f"hameau_{self.device}_{self.component}_{self.object_id}"


def reading_entity(device: str, body: Mapping[str, Any]) -> Entity | None:
    """The sensor a reading record's body feeds, or None."""
    sensor, name = body.get("sensor"), body.get("name")
    if not isinstance(sensor, str) or not isinstance(name, str) or OBJECT_PATTERN.fullmatch(sensor) is None:
        return None
    return Entity(device, SENSOR, sensor, name) if sensor_kind(name) is not None else None


def relay_state(device: str, body: Mapping[str, Any]) -> tuple[Entity, str] | None:
    """The switch and its state ("ON"/"OFF") an event record's body tells (a "decision" with relay and on)."""
    if body.get("kind") != "decision":
        return None
    data = body.get("data")
    if not isinstance(data, Mapping):
        return None
    relay, on = data.get("relay"), data.get("on")
    if not isinstance(relay, str) or DEVICE_PATTERN.fullmatch(relay) is None or not isinstance(on, bool):
        return None
    return Entity(device, SWITCH, relay), ON if on else OFF


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic layout under the configured prefixes."""

    discovery_prefix: str
    state_prefix: str

    def config(self, entity: Entity) -> str:
        """`<discovery_prefix>/<component>/<node_id>/<object_id>/config` (node id = the device id)."""
        return f"{self.discovery_prefix}/{entity.component}/{entity.device}/{entity.object_id}/config"

    def state(self, entity: Entity) -> str:
        """Where the entity's state is published (retained)."""
        if entity.component == SWITCH:
            return f"{self.state_prefix}/{entity.device}/relay/{entity.source}/state"
        return f"{self.state_prefix}/{entity.device}/sensor/{entity.source}/{entity.name}"

    def command(self, entity: Entity) -> str:
        """Where Home Assistant sends a switch's ON/OFF."""
        return f"{self.state_prefix}/{entity.device}/relay/{entity.source}/set"

    def availability(self, device: str) -> str:
        """The box's online/offline (retained), from its own status messages."""
        return f"{self.state_prefix}/{device}/availability"

    @property
    def command_filter(self) -> str:
        """Every switch's command topic, as one MQTT filter."""
        return f"{self.state_prefix}/+/relay/+/set"

    @property
    def command_subscription(self) -> str:
        """The fleet's shared subscription to the command topics: one serve process takes each command."""
        return f"$share/{SHARE_GROUP}/{self.command_filter}"

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """(device, relay) of a command topic, or None when the topic is not one."""
        head = f"{self.state_prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 4 or parts[1] != "relay" or parts[3] != "set":
            return None
        device, relay = parts[0], parts[2]
        if DEVICE_PATTERN.fullmatch(device) is None or DEVICE_PATTERN.fullmatch(relay) is None:
            return None
        return device, relay
