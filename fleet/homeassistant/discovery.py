"""Home Assistant MQTT discovery payloads (its documented schema: sensor.mqtt and switch.mqtt, the shared
`device` and availability options) for one entity of a box."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fleet.homeassistant.entities import (
    OFF,
    OFFLINE,
    ON,
    ONLINE,
    SENSOR,
    Entity,
    Topics,
    sensor_kind,
)

#: Home Assistant's device page: which part of Hameau publishes it.
ORIGIN = "Hameau fleet"
MODEL = "Hameau village box"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the fleet knows of a box for Home Assistant's device registry."""

    device: str
    manufacturer: str
    sw_version: str | None = None
    suggested_area: str | None = None


def device_block(info: DeviceInfo) -> dict[str, Any]:
    """The `device` map that ties every entity of a box to one Home Assistant device."""
    block: dict[str, Any] = {
        "identifiers": [f"hameau_{info.device}"],
        "name": info.device,
        "manufacturer": info.manufacturer,
        "model": MODEL,
    }
    if info.sw_version:
        block["sw_version"] = info.sw_version
    if info.suggested_area:
        block["suggested_area"] = info.suggested_area
    return block


def config(entity: Entity, info: DeviceInfo, topics: Topics) -> dict[str, Any]:
    """The discovery config of `entity` (published retained on topics.config(entity))."""
    payload: dict[str, Any] = {
        "unique_id": entity.unique_id,
        "state_topic": topics.state(entity),
        "availability_topic": topics.availability(entity.device),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": device_block(info),
        "origin": {"name": ORIGIN},
        "qos": 1,
    }
    if entity.component == SENSOR:
        kind = sensor_kind(entity.name)
        if kind is None:
            raise ValueError(f"reading {entity.name!r} has no Home Assistant sensor kind")
        payload.update(
            name=f"{entity.source} {kind.label}",
            unit_of_measurement=kind.unit,
            device_class=kind.device_class,
            state_class=kind.state_class,
        )
    else:
        payload.update(
            name=f"{entity.source} relay",
            command_topic=topics.command(entity),
            payload_on=ON,
            payload_off=OFF,
            state_on=ON,
            state_off=OFF,
            optimistic=False,
            retain=False,
        )
    return payload


def encode(payload: dict[str, Any]) -> bytes:
    """A discovery payload as the JSON bytes published (keys sorted: the same config, the same bytes)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(data: bytes) -> str:
    """A short fingerprint of a published payload (to tell whether it changed)."""
    return hashlib.sha256(data).hexdigest()[:32]


def state_payload(value: float | str) -> bytes:
    """A state message: a switch's ON/OFF, or a sensor's number as Python writes it shortest."""
    return (value if isinstance(value, str) else repr(float(value))).encode("utf-8")
