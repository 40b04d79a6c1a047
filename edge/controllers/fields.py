"""Config pieces shared by controller sections: what they are checked against, clock times, weekdays, references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from edge.config.model import DeviceConfig, SensorConfig
from edge.config.reader import Invalid, Table, check_id, parse_clock
from edge.parts.part import Registry
from edge.parts.registry import REGISTRY
from edge.parts.relay.config import RelayConfig

__all__ = ["ConfigContext", "check_id", "parse_clock", "parse_span", "relay_ref", "sensor_ref"]

#: Weekday keys, Monday first (datetime.weekday() order).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class ConfigContext:
    """What a controller's config section is checked against: the box's device, sensors, relays and parts."""

    device: DeviceConfig
    sensors: Mapping[str, SensorConfig]
    relays: Mapping[str, RelayConfig]
    parts: Registry = REGISTRY
    #: Ids of sensors and actuators declared with mistakes of their own (already reported): naming one is no
    #: second mistake, but the section naming it cannot be built either.
    unusable: frozenset[str] = frozenset()

    def already_reported(self, t: Table, ref: str | None) -> bool:
        """Whether `ref` names a part whose own definition was refused; the table is then marked not ok."""
        if ref is None or ref not in self.unusable:
            return False
        t.ok = False
        return True

    def readings(self, sensor_id: str) -> tuple[str, ...]:
        """The readings a configured sensor gives (none for an unknown one)."""
        sensor = self.sensors.get(sensor_id)
        return () if sensor is None else self.parts.of(sensor).readings_of(sensor)

    def resolution(self, sensor_id: str, reading: str) -> float:
        """The smallest step of one of a sensor's readings (0 for fine values)."""
        sensor = self.sensors[sensor_id]
        return self.parts.of(sensor).resolution(sensor, reading)


def parse_span(text: str, *, allow_24: bool = False) -> tuple[int, int]:
    """The two ends of 'HH:MM-HH:MM', in minutes since midnight."""
    parts = text.split("-")
    if len(parts) != 2:
        raise Invalid(f"{text!r} is not a time span 'HH:MM-HH:MM'")
    return parse_clock(parts[0].strip()), parse_clock(parts[1].strip(), allow_24=allow_24)


def fmt_clock(minutes: int) -> str:
    """'HH:MM' for minutes since midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_date(text: str) -> date:
    """A calendar date 'YYYY-MM-DD'."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date 'YYYY-MM-DD'") from None


def relay_ref(t: Table, name: str, ctx: ConfigContext) -> str:
    """A reference to a relay declared under [[actuators]]."""
    relay = t.get(name, str)
    if isinstance(t.raw.get(name), str) and relay not in ctx.relays and not ctx.already_reported(t, relay):
        known = ", ".join(sorted(ctx.relays)) or "none declared"
        t.fail(name, f"no relay {relay!r} under [[actuators]] (declared: {known})")
    return relay


def sensor_ref(t: Table, name: str, ctx: ConfigContext, reading: str, what: str, *, required: bool = True) -> str | None:
    """A reference to a sensor declared under [[sensors]] that gives `reading` (e.g. a lux sensor)."""
    sensor_id = t.get(name, str) if required else t.optional(name, str)
    if sensor_id is None or not isinstance(t.raw.get(name), str):
        return sensor_id
    sensor = ctx.sensors.get(sensor_id)
    if sensor is None and ctx.already_reported(t, sensor_id):
        return sensor_id
    if sensor is None:
        known = ", ".join(sorted(ctx.sensors)) or "none declared"
        t.fail(name, f"no sensor {sensor_id!r} under [[sensors]] (declared: {known})")
    elif reading not in ctx.readings(sensor_id):
        drivers = " or ".join(ctx.parts.giving(reading)) or "a part giving it"
        t.fail(name, f"sensor {sensor_id!r} is not {what}: it gives no {reading} (needs a {drivers})")
    return sensor_id

