"""A commune's savings: lighting hours against a plain astronomical clock, energy, leak water caught and how early.

Definitions (the page and the README say the same):
- Astronomical clock: lamps lit from sunset to sunrise every night, the sun computed with astral at the box's
  registry coordinates rounded to 0.05° (edge/controllers/sun.py; sunrise/sunset = the sun's centre at -0.833°): per local day,
  the hours before sunrise plus those after sunset (fleet/rollups/maths.py dark_seconds); the roll-ups' own
  figure (lighting_days.dark_s, the same sum at the box's exact coordinates) when they hold it. Hours lit are the
  roll-ups' lit_s (the circuit's relay on). Hours saved = astronomical - lit. A box without coordinates has no
  astronomical hours (its circuits are counted apart).
- Energy saved against lighting all night = hours saved x the circuit relay's load (load_w in the desired
  config); unknown without it. Energy used: every register of the commune's meters, per month, from energy_days.
- A leak: an alarm of kind leak, continuous_flow or burst. Its flow is the flow above normal the box's
  evidence gives (excess_lph of a night-flow alarm, flow_lph of a burst, average_flow_lph of a continuous
  flow). It started at the beginning of the night window (01:00 by default) of the first of the consecutive
  nights above baseline + spread before the alarm (a night-flow alarm), at above_since (a burst), at
  flowing_since (continuous flow), or at the alarm when the evidence says nothing. Found after = alarm time -
  start. Water lost = flow x (clearing, or now, - start). Without the box, a leak is found at the next
  meter reading, on average half a reading period after it starts, and repaired as fast: water caught =
  flow x (half the period - found after), at least 0, for a monthly (30.44 d) and a quarterly (91.31 d) reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.controllers.sun import SunCalendar
from fleet.alarms.model import ALARM_COLUMNS, Alarm, alarm_from_row
from fleet.rollups.maths import dark_seconds
from fleet.rollups.queries import energy_days, lighting_days
from fleet.store.db import Database
from fleet.web.views.box_config import box_setup

LEAK_KINDS = ("leak", "continuous_flow", "burst")
MONTH_S, QUARTER_S = 30.4375 * 86400.0, 91.3125 * 86400.0
DEFAULT_NIGHT_START = time(1, 0)
#: Places are rounded to this many degrees for the sun's times (0.05°: about 5 km, sunrise moves by seconds).
PLACE_DEG = 0.05


@dataclass(frozen=True, slots=True)
class LightingMonth:
    """A month of the commune's circuits (those with coordinates): hours lit, astronomical, saved, kWh saved."""

    month: str
    lit_h: float
    astronomical_h: float
    saved_kwh: float | None

    @property
    def saved_h(self) -> float:
        """Astronomical hours minus hours lit."""
        return self.astronomical_h - self.lit_h


@dataclass(frozen=True, slots=True)
class EnergyMonth:
    """A month's energy over every meter register of the commune, and over how many days it was counted."""

    month: str
    kwh: float
    days: int

    @property
    def kwh_per_day(self) -> float:
        """Mean energy per counted day."""
        return self.kwh / self.days if self.days else 0.0


@dataclass(frozen=True, slots=True)
class LeakCaught:
    """One leak alarm with its flow, start, time to detection, water lost and water caught."""

    device: str
    alarm_id: str
    kind: str
    flow_lph: float | None
    started_at: float
    alarm_at: float
    ended_at: float | None
    found_after_s: float
    lost_l: float | None
    caught_monthly_l: float | None
    caught_quarterly_l: float | None


@dataclass(frozen=True, slots=True)
class Savings:
    """The savings page's figures for a set of boxes over local days first..last."""

    devices: tuple[str, ...]
    first: date
    last: date
    lighting: tuple[LightingMonth, ...]
    #: Circuits whose box has no coordinates (no astronomical hours).
    circuits_without_place: tuple[str, ...]
    energy: tuple[EnergyMonth, ...]
    leaks: tuple[LeakCaught, ...]

    @property
    def lit_h(self) -> float:
        """Hours lit in all."""
        return sum(m.lit_h for m in self.lighting)

    @property
    def astronomical_h(self) -> float:
        """Astronomical hours in all."""
        return sum(m.astronomical_h for m in self.lighting)

    @property
    def caught_quarterly_l(self) -> float:
        """Water caught against a quarterly reading, all leaks."""
        return sum(x.caught_quarterly_l or 0.0 for x in self.leaks)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _instant(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp() if text else None
    except ValueError:
        return None


def leak_start(alarm: Alarm, zone: ZoneInfo, night_start: time = DEFAULT_NIGHT_START) -> float:
    """When the leak began, as the module's docstring defines it."""
    ev: Mapping[str, Any] = alarm.evidence if isinstance(alarm.evidence, Mapping) else {}
    for key in ("above_since", "flowing_since"):
        at = _instant(ev.get(key))
        if at is not None:
            return min(at, alarm.first_seen)
    base, spread = _number(ev.get("baseline_lph")), _number(ev.get("spread_lph")) or 0.0
    nights = ev.get("night_flows_lph")
    if base is None or not isinstance(nights, list):
        return alarm.first_seen
    first: str | None = None
    for night in reversed(nights):
        mnf = _number(night.get("mnf_lph")) if isinstance(night, Mapping) else None
        if mnf is None or mnf <= base + spread:
            break
        first = str(night.get("date"))
    if first is None:
        return alarm.first_seen
    try:
        night_end = date.fromisoformat(first)  # the box names a night by the date it ends on
    except ValueError:
        return alarm.first_seen
    begins = night_end - timedelta(days=1) if night_start >= time(12, 0) else night_end
    return min(datetime.combine(begins, night_start, zone).timestamp(), alarm.first_seen)


def leak_flow(alarm: Alarm) -> float | None:
    """The flow above normal the alarm's evidence gives (L/h), None when it gives none."""
    ev = alarm.evidence if isinstance(alarm.evidence, Mapping) else {}
    for key in ("excess_lph", "flow_lph", "average_flow_lph"):
        value = _number(ev.get(key))
        if value is not None:
            return max(0.0, value)
    return None


def leak_caught(alarm: Alarm, zone: ZoneInfo, now: float, night_start: time = DEFAULT_NIGHT_START) -> LeakCaught:
    """One leak's figures (module docstring)."""
    start = leak_start(alarm, zone, night_start)
    flow = leak_flow(alarm)
    end = alarm.cleared_at
    found_after = alarm.first_seen - start

    def litres(seconds: float) -> float | None:
        return None if flow is None else flow * max(0.0, seconds) / 3600.0

    return LeakCaught(
        alarm.device, alarm.id, alarm.kind, flow, start, alarm.first_seen, end, found_after,
        litres((end if end is not None else now) - start), litres(MONTH_S / 2 - found_after),
        litres(QUARTER_S / 2 - found_after),
    )


class _DarkHours:
    """Astronomical night per box and day, worked out once per place rounded to PLACE_DEG (boxes of a commune
    share a few places; 0.05° moves sunrise by seconds)."""

    def __init__(self, db: Database, devices: Sequence[str], zone: ZoneInfo) -> None:
        marks = ",".join("?" * len(devices))
        self.places: dict[str, tuple[float, float, str]] = {}
        for device, lat, lon, tz in db.query(
            f"SELECT device, latitude, longitude, timezone FROM registry WHERE device IN ({marks})", list(devices)
        ):
            if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
                self.places[device] = (round(float(lat) / PLACE_DEG) * PLACE_DEG,
                                       round(float(lon) / PLACE_DEG) * PLACE_DEG, tz or zone.key)
        self.calendars: dict[tuple[float, float, str], SunCalendar] = {}
        self.seconds: dict[tuple[tuple[float, float, str], str], float] = {}

    def __call__(self, device: str, day: str) -> float | None:
        place = self.places.get(device)
        if place is None:
            return None
        found = self.seconds.get((place, day))
        if found is None:
            calendar = self.calendars.get(place)
            if calendar is None:
                try:
                    calendar = self.calendars[place] = SunCalendar(*place, cache_days=2)
                except (ValueError, KeyError):
                    self.places.pop(device)
                    return None
            found = self.seconds[(place, day)] = dark_seconds(calendar, date.fromisoformat(day))
        return found


def _lighting(db: Database, devices: Sequence[str], first: date, last: date, zone: ZoneInfo
              ) -> tuple[tuple[LightingMonth, ...], tuple[str, ...]]:
    dark_of = _DarkHours(db, devices, zone)
    months: dict[str, list[float]] = {}
    loads: dict[str, dict[str, float | None]] = {}
    apart = set()
    for device, circuit, day, lit_s, stored_dark, _switches in lighting_days(
        db, devices, first=first.isoformat(), last=last.isoformat()
    ):
        dark = float(stored_dark) if stored_dark is not None and device in dark_of.places else dark_of(device, day)
        if dark is None:
            apart.add(f"{device}/{circuit}")
            continue
        if device not in loads:
            setup = box_setup(db, device)
            loads[device] = {c.id: setup.load_w(c.relay) for c in setup.lighting}
        load = loads[device].get(circuit)
        acc = months.setdefault(day[:7], [0.0, 0.0, 0.0, 1.0])
        acc[0] += float(lit_s)
        acc[1] += dark
        if load is None:
            acc[3] = 0.0
        else:
            acc[2] += (dark - float(lit_s)) / 3600.0 * load / 1000.0
    return tuple(
        LightingMonth(m, a[0] / 3600.0, a[1] / 3600.0, a[2] if a[3] else None) for m, a in sorted(months.items())
    ), tuple(sorted(apart))


def savings(db: Database, devices: Sequence[str], first: date, last: date, zone: ZoneInfo, now: float) -> Savings:
    """The savings of `devices` over local days first..last."""
    devices = tuple(devices)
    if not devices:
        return Savings((), first, last, (), (), (), ())
    lighting, apart = _lighting(db, devices, first, last, zone)
    energy: dict[str, tuple[float, set[str]]] = {}
    for _d, _m, _r, day, kwh, _s, _x in energy_days(db, devices, first=first.isoformat(), last=last.isoformat()):
        total, days = energy.get(day[:7], (0.0, set()))
        days.add(day)
        energy[day[:7]] = (total + float(kwh), days)
    t0 = datetime.combine(first, time(0), zone).timestamp()
    t1 = datetime.combine(last + timedelta(days=1), time(0), zone).timestamp()
    marks, kinds = ",".join("?" * len(devices)), ",".join("?" * len(LEAK_KINDS))
    alarms = [alarm_from_row(r) for r in db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms WHERE device IN ({marks}) AND kind IN ({kinds})"
        " AND first_seen >= ? AND first_seen < ? ORDER BY first_seen, id",
        (*devices, *LEAK_KINDS, t0, t1),
    )]
    night_starts = {}
    for device in {a.device for a in alarms}:
        watches = box_setup(db, device).leak
        night_starts[device] = watches[0].night_start if len(watches) == 1 else DEFAULT_NIGHT_START
    leaks = tuple(leak_caught(a, zone, now, night_starts[a.device]) for a in alarms)
    return Savings(
        devices, first, last, lighting, apart,
        tuple(EnergyMonth(m, kwh, len(days)) for m, (kwh, days) in sorted(energy.items())), leaks,
    )
