"""Config pieces shared by controller sections: ids, clock times, weekdays, sensor and relay references."""

from __future__ import annotations

import re
from datetime import date

from edge.config_reader import Invalid, Table
from edge.controllers.base import ConfigContext

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CLOCK_PATTERN = re.compile(r"^(\d{2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60
#: Weekday keys, Monday first (datetime.weekday() order).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_id(value: str) -> None:
    """A check for controller ids: like sensor ids, lower-case letters, digits, '-' and '_'."""
    if not ID_PATTERN.match(value):
        raise Invalid(f"{value!r} must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """Minutes since midnight of a local time 'HH:MM' ('24:00' too when `allow_24`)."""
    match = CLOCK_PATTERN.match(text)
    if match is not None:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if allow_24 and (hours, minutes) == (24, 0):
            return MINUTES_PER_DAY
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
    raise Invalid(f"{text!r} is not a time of day 'HH:MM' (00:00 to 23:59)")


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
    if isinstance(t.raw.get(name), str) and relay not in ctx.relays:
        known = ", ".join(sorted(ctx.relays)) or "none declared"
        t.fail(name, f"no relay {relay!r} under [[actuators]] (declared: {known})")
    return relay


def sensor_ref(
    t: Table, name: str, ctx: ConfigContext, kinds: tuple[type, ...], what: str, *, required: bool = True
) -> str | None:
    """A reference to a sensor of one of `kinds` (e.g. a lux sensor) declared under [[sensors]]."""
    sensor_id = t.get(name, str) if required else t.optional(name, str)
    if not isinstance(t.raw.get(name), str):
        return sensor_id
    sensor = ctx.sensors.get(sensor_id)
    if sensor is None:
        known = ", ".join(sorted(ctx.sensors)) or "none declared"
        t.fail(name, f"no sensor {sensor_id!r} under [[sensors]] (declared: {known})")
    elif not isinstance(sensor, kinds):
        drivers = " or ".join(k.__name__.removesuffix("Config").lower() for k in kinds)
        t.fail(name, f"sensor {sensor_id!r} is not {what} (needs a {drivers})")
    return sensor_id


def span_field(t: Table, name: str, text: str, *, allow_24: bool = False) -> tuple[int, int] | None:
    """Parse a span read from field `name`, recording a problem there when it is malformed."""
    try:
        return parse_span(text, allow_24=allow_24)
    except Invalid as exc:
        t.fail(name, str(exc))
        return None
