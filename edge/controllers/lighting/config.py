"""Street-lighting circuits: one `[[lighting]]` table per circuit, parsed into LightingConfig.

```toml
[[lighting]]
id = "street-main"           # required; like sensor ids
relay = "street-lights"      # required; an [[actuators]] id
lux_sensor = "lux-roof"      # optional (a bh1750 or veml7700); without it: astronomical clock only
on_below_lx = 30.0           # dark when below this ...
off_above_lx = 60.0          # ... and light when above this (must be higher)
confirm_s = 180              # each confirmed for this long (clouds, headlights)
sunset_offset_min = 0        # astronomical fallback: on at sunset + offset (positive: later)
sunrise_offset_min = 0       # ... off at sunrise + offset
min_on_s = 300               # minimum times between switchings (contactors)
min_off_s = 300
lux_checks = true            # judge the lux sensor against the sun and the circuit's own lamps
lux_check_s = 900            # a reading against the sun for this long: the sensor is not believed

[lighting.cutoff]            # night cut-off windows; absent: no cut-off
default = "23:00-05:30"      # every night not listed below ("none" if absent)
sat = "00:30-05:30"          # a key per night: "sat" is Saturday night (into Sunday)
sun = "none"                 # no cut-off that night

[[lighting.exceptions]]      # dated nights that differ from the week
date = "2026-07-14"          # the night that begins on this evening
cutoff = "none"              # or another window, e.g. "01:00-05:30"
```

Nights are named after their evening, as in "Saturday night": a window starting at or after
noon begins on that evening's date, one starting before noon (such as 00:30) begins after
midnight, on the next date. A window ends at the first end time after its start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from edge.config.reader import Invalid, Table, in_range
from edge.controllers.fields import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    ConfigContext,
    check_id,
    fmt_clock,
    parse_date,
    parse_span,
    relay_ref,
    sensor_ref,
)

NOON_MIN = 12 * 60
NO_CUTOFF = "none"
LUX_READING = "illuminance_lx"


@dataclass(frozen=True, slots=True)
class CutoffWindow:
    """A night cut-off from one local time to another, e.g. 23:00-05:30."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not (0 <= self.start_min < 1440 and 0 <= self.end_min < 1440):
            raise ValueError("cut-off times must be within a day")
        if self.start_min == self.end_min:
            raise ValueError("a cut-off window cannot start and end at the same time")

    def __str__(self) -> str:
        return f"{fmt_clock(self.start_min)}-{fmt_clock(self.end_min)}"

    def bounds(self, night: date) -> tuple[datetime, datetime]:
        """Local wall-clock start and end (naive) of this window on the night of `night`."""
        start_day = night if self.start_min >= NOON_MIN else night + timedelta(days=1)
        midnight = datetime.combine(start_day, time(0))
        start = midnight + timedelta(minutes=self.start_min)
        end = midnight + timedelta(minutes=self.end_min)
        if end <= start:
            end += timedelta(days=1)
        return start, end


@dataclass(frozen=True, slots=True)
class CutoffException:
    """A dated night with its own window (None: no cut-off that night)."""

    night: date
    window: CutoffWindow | None


@dataclass(frozen=True, slots=True)
class ActiveCutoff:
    """The cut-off window holding now, the night it belongs to, and the exception behind it."""

    window: CutoffWindow
    night: date
    exception: CutoffException | None = None

    def describe(self) -> str:
        """'cut-off 23:00-05:30 (Monday night)'."""
        if self.exception is not None:
            return f"cut-off {self.window} (exception for the night of {self.night.isoformat()})"
        return f"cut-off {self.window} ({WEEKDAY_NAMES[self.night.weekday()]} night)"


@dataclass(frozen=True, slots=True)
class CutoffSchedule:
    """A cut-off window per night of the week (Monday night first) and dated exceptions."""

    weekly: tuple[CutoffWindow | None, ...] = (None,) * 7
    exceptions: tuple[CutoffException, ...] = ()

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("a cut-off schedule needs one entry per night of the week")

    def window_for(self, night: date) -> tuple[CutoffWindow | None, CutoffException | None]:
        """The window of a night, and the exception that set it if any."""
        for exception in self.exceptions:
            if exception.night == night:
                return exception.window, exception
        return self.weekly[night.weekday()], None

    def active_at(self, local: datetime) -> ActiveCutoff | None:
        """The cut-off holding at a local wall-clock time (naive), if any."""
        local = local.replace(tzinfo=None)
        for days_back in (0, 1, 2):
            night = local.date() - timedelta(days=days_back)
            window, exception = self.window_for(night)
            if window is None:
                continue
            start, end = window.bounds(night)
            if start <= local < end:
                return ActiveCutoff(window, night, exception)
        return None


@dataclass(frozen=True, slots=True)
class LightingConfig:
    """One street-lighting circuit: its relay, its lux sensor and its rules."""

    id: str
    relay: str
    lux_sensor: str | None = None
    on_below_lx: float = 30.0
    off_above_lx: float = 60.0
    confirm_s: float = 180.0
    sunset_offset_min: float = 0.0
    sunrise_offset_min: float = 0.0
    min_on_s: float = 300.0
    min_off_s: float = 300.0
    cutoff: CutoffSchedule = field(default_factory=CutoffSchedule)
    #: Judge the lux sensor against the sun and the circuit's own lamps (trust.py), and for how long a
    #: reading must contradict the sun before the sensor is not believed.
    lux_checks: bool = True
    lux_check_s: float = 900.0

    def __post_init__(self) -> None:
        if self.off_above_lx <= self.on_below_lx:
            raise ValueError("off_above_lx must be above on_below_lx")

    @property
    def lux_input(self) -> str | None:
        """The reading the controller needs, 'sensor-id.illuminance_lx'."""
        return None if self.lux_sensor is None else f"{self.lux_sensor}.{LUX_READING}"


def parse_window(text: str) -> CutoffWindow | None:
    """'23:00-05:30' -> a window; 'none' -> None."""
    if text.strip().lower() == NO_CUTOFF:
        return None
    try:
        start, end = parse_span(text)
        return CutoffWindow(start, end)
    except (ValueError, Invalid) as exc:
        raise Invalid(f"{text!r}: {exc}") from None


def _window_field(t: Table, name: str, default: str) -> CutoffWindow | None:
    text = t.get(name, str, default)
    try:
        return parse_window(text)
    except Invalid as exc:
        t.fail(name, f"{exc} (use 'HH:MM-HH:MM' or 'none')")
        return None


def _cutoff(t: Table) -> tuple[tuple[CutoffWindow | None, ...], bool]:
    default = _window_field(t, "default", NO_CUTOFF)
    weekly = tuple(_window_field(t, day, str(default) if default else NO_CUTOFF) for day in WEEKDAYS)
    t.done()
    return weekly, t.ok


def _exceptions(t: Table) -> tuple[tuple[CutoffException, ...], bool]:
    ok = True
    exceptions: list[CutoffException] = []
    seen: dict[date, str] = {}
    for _, sub in t.tables("exceptions"):
        text = sub.get("date", str)
        night: date | None = None
        if sub.has("date") and isinstance(sub.raw["date"], str):
            try:
                night = parse_date(text)
            except Invalid as exc:
                sub.fail("date", str(exc))
        window = _window_field(sub, "cutoff", NO_CUTOFF) if sub.has("cutoff") else None
        if not sub.has("cutoff"):
            sub.fail("cutoff", "missing; expected 'HH:MM-HH:MM' or 'none'")
        sub.done()
        if night is not None and night in seen:
            sub.fail("date", f"the night of {night.isoformat()} is already listed at {seen[night]}")
        ok = ok and sub.ok
        if night is not None and sub.ok:
            seen[night] = sub.path
            exceptions.append(CutoffException(night, window))
    return tuple(exceptions), ok


def parse_lighting(t: Table, ctx: ConfigContext) -> LightingConfig | None:
    """Read one [[lighting]] table, checked against the box's sensors and relays (None if invalid)."""
    circuit_id = t.get("id", str, check=check_id)
    relay = relay_ref(t, "relay", ctx)
    lux_sensor = sensor_ref(t, "lux_sensor", ctx, LUX_READING, "a lux sensor", required=False)
    on_below = t.get("on_below_lx", float, 30.0, in_range(0, 10_000, " lx"))
    off_above = t.get("off_above_lx", float, 60.0, in_range(0, 10_000, " lx"))
    if off_above <= on_below:
        t.fail("off_above_lx", f"{off_above:g} lx must be above on_below_lx ({on_below:g} lx)")
    fields = {
        "confirm_s": t.get("confirm_s", float, 180.0, in_range(0, 3600, " s")),
        "sunset_offset_min": t.get("sunset_offset_min", float, 0.0, in_range(-180, 180, " min")),
        "sunrise_offset_min": t.get("sunrise_offset_min", float, 0.0, in_range(-180, 180, " min")),
        "min_on_s": t.get("min_on_s", float, 300.0, in_range(0, 3600, " s")),
        "min_off_s": t.get("min_off_s", float, 300.0, in_range(0, 3600, " s")),
        "lux_checks": t.get("lux_checks", bool, True),
        "lux_check_s": t.get("lux_check_s", float, 900.0, in_range(60, 7200, " s")),
    }
    cutoff_table = t.table("cutoff")
    weekly, cutoff_ok = _cutoff(cutoff_table) if cutoff_table is not None else ((None,) * 7, True)
    exceptions, exceptions_ok = _exceptions(t)
    t.done()
    if not (t.ok and cutoff_ok and exceptions_ok):
        t.ok = False
        return None
    return LightingConfig(
        id=circuit_id,
        relay=relay,
        lux_sensor=lux_sensor,
        on_below_lx=on_below,
        off_above_lx=off_above,
        cutoff=CutoffSchedule(weekly, exceptions),
        **fields,
    )
