"""The values and references every section of a world file reads, checked against the box's config."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from edge.config.box import BoxConfig
from edge.config.model import DeviceConfig
from edge.config.reader import Invalid, Table, parse_duration

#: What a fault's sensor measures, by what the world can make its twin see.
ROLES: dict[str, str] = {"illuminance": "illuminance", "temperature": "temperature", "flow": "water",
                         "electricity": "energy"}
#: What the world's sections call the sensors they drive, by what they make them see.
NOUNS: dict[str, str] = {"illuminance": "a lux sensor", "temperature": "a thermometer", "flow": "a pulse meter",
                         "electricity": "an energy meter", "contact": "a digital input"}


class WorldReader:
    """Reads the values of one world file, checking names against the box's config."""

    def __init__(self, device: DeviceConfig, box: BoxConfig) -> None:
        self.device = device
        self.tz = zoneinfo.ZoneInfo(device.timezone)
        self.sensors = {s.id: s for s in box.sensors}
        self.parts = box.parts
        self.relays = {a.id: a for a in box.actuators}
        self.driven: dict[str, str] = {}
        self.zone_ids: set[str] = set()

    def when(self, t: Table, name: str, required: bool = True) -> datetime | None:
        """A local date-time field, as an aware UTC datetime."""
        if not t.has(name):
            if required:
                t.fail(name, "missing; expected a local date and time like '2026-01-20T15:00'")
            return None
        value = t.get(name, object)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                t.fail(name, f"{value!r} is not a date and time like '2026-01-20T15:00'")
                return None
        if not isinstance(value, datetime):
            t.fail(name, f"expected a local date and time like '2026-01-20T15:00', got {value!r}")
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(UTC)

    def duration(self, t: Table, name: str) -> timedelta | None:
        """A duration field ("90m", "3h", "5d")."""
        text = t.optional(name, str)
        if text is None:
            return None
        try:
            return parse_duration(text)
        except Invalid as exc:
            t.fail(name, str(exc))
            return None

    def spell(self, t: Table, end_required: bool = True) -> tuple[datetime, datetime | None] | None:
        """`start` plus `end` or `duration`; None when something is wrong."""
        start = self.when(t, "start")
        end = self.when(t, "end", required=False)
        length = self.duration(t, "duration")
        if end is not None and length is not None:
            t.fail("duration", "give either end or duration, not both")
        elif start is not None and length is not None:
            end = start + length
        elif end is None and end_required and t.ok:
            t.fail("end", "missing; give end (a local date and time) or duration (like '3h')")
        if start is not None and end is not None and end <= start:
            t.fail("end", "must come after start")
        if not t.ok or start is None:
            return None
        return start, end

    def sees(self, sensor_id: str) -> frozenset[str]:
        """What the world can make a sensor's twin see ("illuminance", "temperature", "flow", ...)."""
        sensor = self.sensors.get(sensor_id)
        return frozenset() if sensor is None else self.parts.of(sensor).world_inputs

    def what(self, world_input: str) -> str:
        """'a lux sensor (bh1750, veml7700)': the sensors a section may name."""
        drivers = sorted(p.driver for p in self.parts if world_input in p.world_inputs)
        return f"{NOUNS[world_input]} ({', '.join(drivers)})"

    def sensor_ref(self, t: Table, name: str, value: str, world_input: str | None) -> bool:
        """Whether a sensor id names a sensor of the box the world can drive with `world_input` (None: any)."""
        if value not in self.sensors:
            known = ", ".join(sorted(self.sensors)) or "none"
            t.fail(name, f"no sensor {value!r} in the box config (sensors: {known})")
            return False
        if world_input is not None and world_input not in self.sees(value):
            t.fail(name, f"sensor {value!r} is not {self.what(world_input)}")
            return False
        return True

    def claim(self, t: Table, name: str, value: object, world_input: str) -> str | None:
        """A sensor id the world drives (each sensor is driven by one section only)."""
        if not isinstance(value, str):
            t.fail(name, f"expected a sensor id (a string), got {value!r}")
            return None
        if not self.sensor_ref(t, name, value, world_input):
            return None
        if value in self.driven:
            t.fail(name, f"sensor {value!r} is already driven by {self.driven[value]}")
            return None
        self.driven[value] = t.key(name)
        return value

    def sensor_list(self, t: Table, name: str, world_input: str) -> tuple[str, ...]:
        """A list of sensor ids the world drives."""
        claimed = (self.claim(t, name, value, world_input) for value in t.get(name, list, []))
        return tuple(s for s in claimed if s is not None)

    def relay_ref(self, t: Table, name: str, required: bool = False) -> str | None:
        """A relay id of the box."""
        value = t.get(name, str) if required else t.optional(name, str)
        if value is not None and value not in self.relays:
            known = ", ".join(sorted(self.relays)) or "none"
            t.fail(name, f"no relay {value!r} in the box config (relays: {known})")
            return None
        return value
