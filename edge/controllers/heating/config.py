"""Heating zones: one `[[heating]]` table per zone, parsed into HeatingConfig.

```toml
[[heating]]
id = "hall"                  # required; like sensor ids
relay = "hall-heating"       # required; an [[actuators]] id
thermometer = "hall-temp"    # required; a ds18b20 or sht31
comfort_c = 19.0             # setpoint during occupancy periods
eco_c = 16.0                 # setpoint at other times (>= frost_c, <= comfort_c)
frost_c = 7.0                # frost protection: heat below this whatever else is asked
hysteresis_c = 0.5           # heat below setpoint - h, stop above setpoint + h
min_on_s = 300               # minimum times between switchings
min_off_s = 300
fallback_duty = 0.6          # thermometer faulted: heat this fraction of each period ...
fallback_period_s = 3600     # ... (60 % of 1 h: 36 min on, 24 min off)
stale_after_s = 900          # a reading older than this counts as faulted
second_thermometer = "hall-climate"  # optional: frost protection follows the lower of the two
disagree_margin_c = 3.0      # the two differ by more than this ...
disagree_after_s = 1800      # ... for this long: a "disagree" fault naming both
outdoor_thermometer = "outdoor-temp"  # optional: sizes the duty cycle when the zone is blind
frost_margin_c = 3.0         # blind duty cycle sized to hold frost_c + this
design_outdoor_c = -20.0     # the coldest credible outdoor temperature (blind, no outdoor reading)
max_preheat_min = 180        # optimum start: heat at most this long before a comfort period (0: never)
preheat_rate_c_per_h = 2.0   # heating rate assumed until the zone's own is learned

[heating.schedule]           # comfort periods per weekday, local time; other times eco
default = []                 # days not listed (none: eco all day)
mon = ["08:00-12:00", "13:30-18:00"]
sat = ["09:00-24:00"]
```

Blind (every zone thermometer faulted), the duty cycle is sized by frost_duty.py: once the zone's
heater lift (how far above outdoors full power holds it, learned with an outdoor thermometer) is known,
the duty that holds frost_c + frost_margin_c at the outdoor reading (design_outdoor_c without one);
before that, full power for a frost-only zone (never above eco_c, itself at most frost_margin_c above
frost_c: a cabinet), fallback_duty for others. The fallback_duty default is a blind frost guard sized for the worst case: a poorly
insulated hall whose heaters just hold 19 °C at -10 °C outside, in a -12 °C cold snap. Holding
5 °C there needs (5 + 12) / (19 + 10) = 59 % of full power, hence the default 60 % of each hour
(30 % would let such a hall settle near 0 °C at -10 °C). Lower it for well-insulated zones or
oversized heaters; the thermometer fault is reported meanwhile, so the waste is bounded.

Optimum start: the controller learns how fast the zone warms while it heats, and starts heating
early enough to reach comfort_c when a comfort period begins, but never more than max_preheat_min
before it. A slow zone (big hall, small heaters) may need a longer max_preheat_min.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from edge.config.reader import MINUTES_PER_DAY, Invalid, Table, in_range
from edge.controllers.fields import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    ConfigContext,
    check_id,
    fmt_clock,
    parse_span,
    relay_ref,
    sensor_ref,
)

TEMPERATURE_READING = "temperature_c"
DEFAULT_FROST_C = 7.0
DEFAULT_FALLBACK_DUTY = 0.6
DEFAULT_MAX_PREHEAT_MIN = 180.0
DEFAULT_PREHEAT_RATE_C_PER_H = 2.0
DEFAULT_DISAGREE_MARGIN_C = 3.0
DEFAULT_DISAGREE_AFTER_S = 1800.0
DEFAULT_FROST_MARGIN_C = 3.0
DEFAULT_DESIGN_OUTDOOR_C = -20.0


@dataclass(frozen=True, slots=True)
class ComfortPeriod:
    """An occupancy period within one day, local time (end may be 24:00)."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_min < self.end_min <= MINUTES_PER_DAY:
            raise ValueError("a comfort period must start before it ends, within one day")

    def __str__(self) -> str:
        return f"{fmt_clock(self.start_min)}-{fmt_clock(self.end_min)}"


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """Comfort periods for each weekday, Monday first; eco outside them."""

    days: tuple[tuple[ComfortPeriod, ...], ...] = ((),) * 7

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("a weekly schedule needs one entry per weekday")

    def period_at(self, local: datetime) -> ComfortPeriod | None:
        """The comfort period holding at a local wall-clock time, if any."""
        minute = local.hour * 60 + local.minute
        for period in self.days[local.weekday()]:
            if period.start_min <= minute < period.end_min:
                return period
        return None

    @staticmethod
    def describe(local: datetime, period: ComfortPeriod | None) -> str:
        """'Monday 08:00-12:00' or 'Monday outside comfort periods'."""
        day = WEEKDAY_NAMES[local.weekday()]
        return f"{day} {period}" if period is not None else f"{day} outside comfort periods"


@dataclass(frozen=True, slots=True)
class HeatingConfig:
    """One heating zone: its relay, its thermometer, setpoints and schedule."""

    id: str
    relay: str
    thermometer: str
    comfort_c: float = 19.0
    eco_c: float = 16.0
    frost_c: float = DEFAULT_FROST_C
    hysteresis_c: float = 0.5
    min_on_s: float = 300.0
    min_off_s: float = 300.0
    fallback_duty: float = DEFAULT_FALLBACK_DUTY
    fallback_period_s: float = 3600.0
    stale_after_s: float = 900.0
    schedule: WeeklySchedule = field(default_factory=WeeklySchedule)
    max_preheat_min: float = DEFAULT_MAX_PREHEAT_MIN
    preheat_rate_c_per_h: float = DEFAULT_PREHEAT_RATE_C_PER_H
    second_thermometer: str | None = None
    disagree_margin_c: float = DEFAULT_DISAGREE_MARGIN_C
    disagree_after_s: float = DEFAULT_DISAGREE_AFTER_S
    outdoor_thermometer: str | None = None
    frost_margin_c: float = DEFAULT_FROST_MARGIN_C
    design_outdoor_c: float = DEFAULT_DESIGN_OUTDOOR_C

    def __post_init__(self) -> None:
        if not self.frost_c <= self.eco_c <= self.comfort_c:
            raise ValueError("setpoints must satisfy frost_c <= eco_c <= comfort_c")
        if self.hysteresis_c <= 0:
            raise ValueError("hysteresis_c must be > 0")
        if not 0 < self.fallback_duty <= 1 or self.fallback_period_s <= 0:
            raise ValueError("fallback_duty must be in (0, 1] and fallback_period_s > 0")
        if not 0 <= self.max_preheat_min <= MINUTES_PER_DAY or self.preheat_rate_c_per_h <= 0:
            raise ValueError("max_preheat_min must be within 0-1440 and preheat_rate_c_per_h > 0")

    @property
    def temperature_input(self) -> str:
        """The reading the controller needs, 'sensor-id.temperature_c'."""
        return f"{self.thermometer}.{TEMPERATURE_READING}"

    @property
    def thermometers(self) -> tuple[str, ...]:
        """The zone's thermometers: the main one first, then the second if any."""
        return (self.thermometer,) if self.second_thermometer is None else (self.thermometer, self.second_thermometer)

    @property
    def frost_only(self) -> bool:
        """A zone only kept from freezing: it never asks more than eco_c, at most frost_margin_c above frost_c."""
        never_comfort = self.comfort_c == self.eco_c or not any(self.schedule.days)
        return never_comfort and self.eco_c <= self.frost_c + self.frost_margin_c


def _periods(t: Table, name: str, value: list) -> tuple[ComfortPeriod, ...]:
    periods: list[ComfortPeriod] = []
    for item in value:
        try:
            if not isinstance(item, str):
                raise Invalid(f"expected periods 'HH:MM-HH:MM', got {item!r}")
            start, end = parse_span(item, allow_24=True)
            if start >= end:
                raise Invalid(f"{item!r} ends before it starts (periods cannot cross midnight; split them)")
            periods.append(ComfortPeriod(start, end))
        except Invalid as exc:
            t.fail(name, str(exc))
    periods.sort(key=lambda p: p.start_min)
    for before, after in itertools.pairwise(periods):
        if after.start_min < before.end_min:
            t.fail(name, f"periods {before} and {after} overlap")
    return tuple(periods)


def _schedule(t: Table) -> tuple[WeeklySchedule, bool]:
    default = _periods(t, "default", t.get("default", list, []))
    days = tuple(_periods(t, day, t.get(day, list)) if t.has(day) else default for day in WEEKDAYS)
    t.done()
    return WeeklySchedule(days), t.ok


def parse_heating(t: Table, ctx: ConfigContext) -> HeatingConfig | None:
    """Read one [[heating]] table, checked against the box's sensors and relays (None if invalid)."""
    zone_id = t.get("id", str, check=check_id)
    relay = relay_ref(t, "relay", ctx)
    thermometer = sensor_ref(t, "thermometer", ctx, TEMPERATURE_READING, "a thermometer") or ""
    frost = t.get("frost_c", float, DEFAULT_FROST_C, in_range(3, 15, " °C"))
    eco = t.get("eco_c", float, 16.0, in_range(1, 30, " °C"))
    comfort = t.get("comfort_c", float, 19.0, in_range(1, 30, " °C"))
    if eco < frost:
        t.fail("eco_c", f"{eco:g} °C is below frost_c ({frost:g} °C)")
    if comfort < eco:
        t.fail("comfort_c", f"{comfort:g} °C is below eco_c ({eco:g} °C)")
    min_on = t.get("min_on_s", float, 300.0, in_range(0, 3600, " s"))
    min_off = t.get("min_off_s", float, 300.0, in_range(0, 3600, " s"))
    duty = t.get("fallback_duty", float, DEFAULT_FALLBACK_DUTY, in_range(0.05, 1.0))
    period = t.get("fallback_period_s", float, 3600.0, in_range(300, 86_400, " s"))
    if duty < 1 and duty * period < min_on:
        t.fail("fallback_duty", f"{duty:g} of {period:g} s is shorter than min_on_s ({min_on:g} s)")
    if duty < 1 and (1 - duty) * period < min_off:
        t.fail("fallback_duty", f"the off part of {period:g} s is shorter than min_off_s ({min_off:g} s)")
    fields = {
        "hysteresis_c": t.get("hysteresis_c", float, 0.5, in_range(0.1, 3, " °C")),
        "stale_after_s": t.get("stale_after_s", float, 900.0, in_range(60, 86_400, " s")),
        "max_preheat_min": t.get("max_preheat_min", float, DEFAULT_MAX_PREHEAT_MIN, in_range(0, 1440, " min")),
        "preheat_rate_c_per_h": t.get(
            "preheat_rate_c_per_h", float, DEFAULT_PREHEAT_RATE_C_PER_H, in_range(0.1, 20, " °C/h")
        ),
    }
    second = sensor_ref(t, "second_thermometer", ctx, TEMPERATURE_READING, "a thermometer", required=False)
    if second is not None and second == thermometer:
        t.fail("second_thermometer", f"{second!r} is already the zone's thermometer")
    outdoor = sensor_ref(t, "outdoor_thermometer", ctx, TEMPERATURE_READING, "a thermometer", required=False)
    if outdoor is not None and outdoor in (thermometer, second):
        t.fail("outdoor_thermometer", f"{outdoor!r} is a thermometer of the zone itself")
    fields.update(
        second_thermometer=second,
        disagree_margin_c=t.get("disagree_margin_c", float, DEFAULT_DISAGREE_MARGIN_C, in_range(0.5, 20, " °C")),
        disagree_after_s=t.get("disagree_after_s", float, DEFAULT_DISAGREE_AFTER_S, in_range(60, 86_400, " s")),
        outdoor_thermometer=outdoor,
        frost_margin_c=t.get("frost_margin_c", float, DEFAULT_FROST_MARGIN_C, in_range(0.5, 10, " °C")),
        design_outdoor_c=t.get("design_outdoor_c", float, DEFAULT_DESIGN_OUTDOOR_C, in_range(-50, 10, " °C")),
    )
    schedule_table = t.table("schedule")
    schedule, schedule_ok = _schedule(schedule_table) if schedule_table is not None else (WeeklySchedule(), True)
    t.done()
    if not (t.ok and schedule_ok):
        t.ok = False
        return None
    return HeatingConfig(
        id=zone_id,
        relay=relay,
        thermometer=thermometer,
        comfort_c=comfort,
        eco_c=eco,
        frost_c=frost,
        min_on_s=min_on,
        min_off_s=min_off,
        fallback_duty=duty,
        fallback_period_s=period,
        schedule=schedule,
        **fields,
    )
