"""Tonight's street-lighting schedule of a commune, for its inhabitants: from the desired configs of its boxes'
`[[lighting]]` circuits, without naming a box or a circuit.

Per circuit, for the night named by its evening (edge/controllers/lighting/config.py): lit at dusk = sunset +
sunset_offset_min (SunCalendar at the box's registry coordinates; a lux sensor decides within minutes of it), off
at the start of the night's cut-off window (its exception if the night is one, else its weekday's), on again at
the window's end, off at dawn = sunrise + sunrise_offset_min. A window is clipped to the dark hours: one that ends
after dawn leaves the lights off until morning, one that lies wholly in daylight cuts nothing. Circuits with the
same cut-off are grouped, with a count and the earliest and latest dusk and dawn among them.

Tonight is the night that is not over yet: yesterday's while it is before the earliest dawn of yesterday's night,
else today's (before any sun time is known: yesterday's before noon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.lighting.config import CutoffWindow, LightingConfig
from edge.controllers.sun import SunCalendar
from fleet.registry.model import Device
from fleet.store.db import Database
from fleet.web.views.box_config import box_setup
from fleet.web.views.public_fr import nuit_nommee

#: How far ahead the coming exceptions are listed.
COMING_DAYS = 60


@dataclass(frozen=True, slots=True)
class NightGroup:
    """Circuits that share tonight's cut-off: how many, their dusk and dawn range, and the cut-off ("HH:MM")."""

    circuits: int
    dusk_from: str | None
    dusk_to: str | None
    #: Lights off at cutoff_from and on again at cutoff_to; cutoff_to None: off until dawn; both None: all night.
    cutoff_from: str | None
    cutoff_to: str | None
    dawn_from: str | None
    dawn_to: str | None

    @property
    def all_night(self) -> bool:
        """No cut-off tonight: lit from dusk to dawn."""
        return self.cutoff_from is None


@dataclass(frozen=True, slots=True)
class ExceptionNight:
    """A dated night that differs from the week, for some circuits: its window ("HH:MM") or none (all night)."""

    night: date
    cutoff_from: str | None
    cutoff_to: str | None
    circuits: int
    #: Its name when it falls on a fixed holiday ("Fête nationale"), else None.
    name: str | None

    @property
    def all_night(self) -> bool:
        """No cut-off that night."""
        return self.cutoff_from is None


@dataclass(frozen=True, slots=True)
class LightingTonight:
    """The commune's lighting tonight, its exceptions tonight and in the next COMING_DAYS days."""

    night: date
    circuits: int
    groups: tuple[NightGroup, ...]
    exceptions_tonight: tuple[ExceptionNight, ...]
    coming: tuple[ExceptionNight, ...]
    #: Whether some circuit has a lux sensor (it switches within minutes of the computed dusk and dawn).
    lux_sensor: bool


@dataclass(frozen=True, slots=True)
class _Circuit:
    config: LightingConfig
    calendar: SunCalendar | None
    zone: ZoneInfo


def _hhmm(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    rounded = moment + timedelta(seconds=30)
    return f"{rounded.hour:02d}:{rounded.minute:02d}"


def _sun(circuit: _Circuit, night: date) -> tuple[datetime | None, datetime | None]:
    """Dusk on the evening of `night` and dawn the next morning, as naive local wall times (None: unknown)."""
    if circuit.calendar is None:
        return None, None
    cfg = circuit.config
    sunset = circuit.calendar.times(night).sunset
    sunrise = circuit.calendar.times(night + timedelta(days=1)).sunrise
    dusk = None if sunset is None else sunset + timedelta(minutes=cfg.sunset_offset_min)
    dawn = None if sunrise is None else sunrise + timedelta(minutes=cfg.sunrise_offset_min)
    return (None if dusk is None else dusk.astimezone(circuit.zone).replace(tzinfo=None),
            None if dawn is None else dawn.astimezone(circuit.zone).replace(tzinfo=None))


def _cut(window: CutoffWindow | None, night: date, dusk: datetime | None, dawn: datetime | None
         ) -> tuple[str | None, str | None]:
    """The window as it acts in the dark: (off, on again), on again None when off until dawn; (None, None): no cut."""
    if window is None:
        return None, None
    start, end = window.bounds(night)
    if dusk is None or dawn is None:
        return _hhmm(start), _hhmm(end)
    start, end = max(start, dusk), min(end, dawn)
    if start >= end:
        return None, None
    return _hhmm(start), None if end >= dawn else _hhmm(end)


def _circuits(db: Database, devices: Sequence[Device], zone: ZoneInfo) -> list[_Circuit]:
    found: list[_Circuit] = []
    for device in devices:
        place_zone = zone
        calendar = None
        try:
            place_zone = ZoneInfo(device.timezone) if device.timezone else zone
            if device.latitude is not None and device.longitude is not None:
                calendar = SunCalendar(device.latitude, device.longitude, place_zone.key, cache_days=4)
        except (ValueError, KeyError):
            calendar = None
        found.extend(_Circuit(cfg, calendar, place_zone) for cfg in box_setup(db, device.device).lighting)
    return found


def _tonight(circuits: Sequence[_Circuit], local_now: datetime) -> date:
    today = local_now.date()
    yesterday = today - timedelta(days=1)
    dawns = [dawn for c in circuits if (dawn := _sun(c, yesterday)[1]) is not None]
    if not dawns:
        return yesterday if local_now.hour < 12 else today
    return yesterday if local_now.replace(tzinfo=None) < min(dawns) else today


def _exception_nights(circuits: Sequence[_Circuit], first: date, last: date) -> tuple[ExceptionNight, ...]:
    counts: dict[tuple[date, str | None, str | None], int] = {}
    for circuit in circuits:
        for exception in circuit.config.cutoff.exceptions:
            if first <= exception.night <= last:
                start, end = (None, None) if exception.window is None else exception.window.bounds(exception.night)
                key = (exception.night, _hhmm(start), _hhmm(end))
                counts[key] = counts.get(key, 0) + 1
    return tuple(ExceptionNight(night, a, b, n, nuit_nommee(night))
                 for (night, a, b), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")))


def lighting_tonight(db: Database, devices: Sequence[Device], zone: ZoneInfo, now: float) -> LightingTonight:
    """The schedule of the commune's circuits (boxes `devices`, not revoked) for tonight, as the module says."""
    circuits = _circuits(db, devices, zone)
    night = _tonight(circuits, datetime.fromtimestamp(now, UTC).astimezone(zone))
    groups: dict[tuple[str | None, str | None], list[tuple[datetime | None, datetime | None]]] = {}
    for circuit in circuits:
        dusk, dawn = _sun(circuit, night)
        window, _exception = circuit.config.cutoff.window_for(night)
        groups.setdefault(_cut(window, night, dusk, dawn), []).append((dusk, dawn))

    def span(times: list[datetime | None]) -> tuple[str | None, str | None]:
        known = [t for t in times if t is not None]
        return (_hhmm(min(known)), _hhmm(max(known))) if known else (None, None)

    made = []
    for (off, on_again), suns in groups.items():
        dusk_span, dawn_span = span([s[0] for s in suns]), span([s[1] for s in suns])
        made.append(NightGroup(len(suns), *dusk_span, off, on_again, *dawn_span))
    made.sort(key=lambda g: (-g.circuits, g.cutoff_from or "99", g.cutoff_to or "99"))
    return LightingTonight(
        night=night, circuits=len(circuits), groups=tuple(made),
        exceptions_tonight=_exception_nights(circuits, night, night),
        coming=_exception_nights(circuits, night + timedelta(days=1), night + timedelta(days=COMING_DAYS)),
        lux_sensor=any(c.config.lux_sensor is not None for c in circuits),
    )
