"""A simulation's report told in plain words: one sentence per thing the box did, for a mayor's secretary.

Pure: everything comes from the report dict (`simulate`'s, with its `timeline`), nothing from the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: The price of a kWh the savings are counted at, unless told another (a French commune's tariff, roughly).
PRICE_EUR_PER_KWH = 0.25

#: What each leak alarm means, in words.
_ALARM_WORDS = {
    "continuous_flow": "water had run without a one-hour pause for a whole day",
    "night_flow": "the night flow rose above its usual level",
    "burst": "the flow passed the burst threshold",
    "profile_burst": "the flow jumped far above the usual for that hour",
    "intermittent_night_flow": "water ran in most night hours, night after night",
    "implausible_baseline": "water ran every night when the building should use none",
}
_INCIDENT_WORDS = {"leak": "A leak", "burst": "A burst pipe"}


def _when(iso: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso).astimezone(tz)


def _day(when: datetime) -> str:
    """'Tue 6 Jan'."""
    return f"{when:%a} {when.day} {when:%b}"


def _clock(when: datetime) -> str:
    return f"{when:%H:%M}"


def _span(delta: timedelta) -> str:
    """'42 min', '3 h', '1 h 29 min', '2 days 4 h'."""
    minutes = round(abs(delta.total_seconds()) / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} day{'s' if days > 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    return " ".join(parts) or "0 min"


def _sunset(report: Mapping[str, Any], day: datetime, tz: ZoneInfo) -> datetime | None:
    """The sunset of a local day, from the timeline."""
    sunsets = (_when(s["sunset"], tz) for s in report["timeline"]["sun"] if "sunset" in s)
    return next((s for s in sunsets if s.date() == day.date()), None)


def _inside(when: datetime, spell: Mapping[str, Any], tz: ZoneInfo) -> bool:
    return _when(spell["start"], tz) <= when < _when(spell["end"], tz)


def _after_sunset(report: Mapping[str, Any], on: datetime, tz: ZoneInfo) -> str:
    """', 21 min after sunset' (or before), '' when the day's sunset is not known."""
    sunset = _sunset(report, on, tz)
    if sunset is None:
        return ""
    return f", {_span(on - sunset)} {'after' if on >= sunset else 'before'} sunset"


def lights(report: Mapping[str, Any], circuit: str, tz: ZoneInfo) -> list[str]:
    """A usual evening of a lighting circuit, and how a storm changed it."""
    timeline = report["timeline"]
    switchings = [(_when(s["at"], tz), s) for s in timeline["lighting"][circuit]["switchings"]]
    storms = timeline["world"]["storms"]
    faults = _sensor_faults(report, circuit, tz)
    sentences = []
    usual = next(
        (i for i, (at, s) in enumerate(switchings)
         if s["on"] and s["why"] == "light" and at.hour >= 12
         and not any(_inside(at, storm, tz) for storm in storms)
         and not any(start <= at < end for start, end in faults)),
        None,
    )
    if usual is not None:
        on = switchings[usual][0]
        text = f"The street lights ({circuit}) came on at {_clock(on)} on {_day(on)} when it got dark"
        text += _after_sunset(report, on, tz)
        off = next(((at, s) for at, s in switchings[usual + 1:] if not s["on"]), None)
        if off is not None and off[1]["why"] == "cutoff":
            text += f", and went off at the {_clock(off[0])} cut-off, when the village sleeps"
        elif off is not None:
            text += f", and went off at {_clock(off[0])}"
        sentences.append(text + ".")
    for storm in storms:
        start = _when(storm["start"], tz)
        lit = next((at for at, s in switchings if s["on"] and _inside(at, storm, tz)), None)
        head = f"During the storm on {_day(start)} ({_clock(start)}-{_clock(_when(storm['end'], tz))})"
        if lit is None:
            sentences.append(f"{head} it never got dark enough to light them.")
        else:
            sentences.append(f"{head} they came on at {_clock(lit)}{_after_sunset(report, lit, tz)}, "
                             "because the street was dark, not because a clock said so.")
    return sentences


def _sensor_faults(report: Mapping[str, Any], circuit: str, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The fault episodes of a circuit's lux sensor."""
    sensor = report["timeline"]["lighting"][circuit].get("lux_sensor")
    end = _when(report["end"], tz)
    return [(_when(f["start"], tz), _when(f["end"], tz) if f["end"] else end)
            for f in report["faults"] if sensor is not None and f["source"] == sensor]


def lux_fallback(report: Mapping[str, Any], circuit: str, tz: ZoneInfo) -> list[str]:
    """Each failure of a circuit's lux sensor, and what the lamps did meanwhile."""
    switchings = [(_when(s["at"], tz), s) for s in report["timeline"]["lighting"][circuit]["switchings"]]
    dark = report["lighting"][circuit].get("dark_unlit_minutes_by_cause", {}).get("sensor_fallback", 0.0)
    sentences = []
    for start, end in _sensor_faults(report, circuit, tz):
        mended = end < _when(report["end"], tz)
        until = f"it was mended at {_clock(end)} on {_day(end)}" if mended else "the end of the run"
        text = f"On {_day(start)} the light sensor failed at {_clock(start)}"
        on = next((at for at, s in switchings if start <= at < end and s["on"] and s["why"] == "sun_clock"), None)
        if on is None:
            sentences.append(f"{text}; the lamps had no need of it before {until}.")
            continue
        text += (f"; the lights followed the sunset clock instead, on at {_clock(on)}"
                 f"{_after_sunset(report, on, tz)}, until {until}")
        sentences.append(text + (", with no dark minutes." if not dark else f", with {dark:g} dark minutes."))
    return sentences


def leaks(report: Mapping[str, Any], tz: ZoneInfo) -> list[str]:
    """Each leak or burst, when it started and how fast the box caught it."""
    sentences = []
    for meter, watch in report["leak"].items():
        alarms = [(_when(a["raised_at"], tz), a) for a in watch["alarms"]]
        for incident in watch["incidents"]:
            start = _when(incident["start"], tz)
            head = (f"{_INCIDENT_WORDS.get(incident['kind'], 'A leak')} of {incident['rate_lph']:g} L/h "
                    f"started on {_day(start)} at {_clock(start)} behind meter {meter}")
            delay_h = incident["detected_after_h"]
            if delay_h is None:
                sentences.append(f"{head}, and no alarm had caught it by the end of the run.")
                continue
            caught = start + timedelta(hours=delay_h)
            alarm = min(alarms, key=lambda a: abs((a[0] - caught).total_seconds()), default=None)
            why = f" ({_ALARM_WORDS.get(alarm[1]['kind'], alarm[1]['kind'])})" if alarm is not None else ""
            lost_l = incident["rate_lph"] * delay_h
            sentences.append(f"{head} and was caught {_span(caught - start)} later, on {_day(caught)} at "
                             f"{_clock(caught)}{why}, with about {lost_l:,.0f} L lost by then.")
        false = watch["false_alarms"]
        if false:
            sentences.append(f"The leak watch on meter {meter} raised {false} alarm{'s' if false > 1 else ''} with no "
                             "leak behind it.")
        elif not watch["incidents"]:
            sentences.append(f"Nothing leaked behind meter {meter}, and the leak watch raised no false alarm.")
    return sentences


def frost(report: Mapping[str, Any], tz: ZoneInfo) -> list[str]:
    """Each spell a heated zone had no thermometer, and how warm it stayed."""
    snaps = report["timeline"]["world"]["cold_snaps"]
    sentences = []
    for zone, heating in report["timeline"]["heating"].items():
        coldest = report["heating"].get(zone, {}).get("min_temperature_c")
        if not heating["blind"] and coldest is not None and math.isfinite(coldest):
            sentences.append(f"The {zone} never fell below {coldest:.1f} °C (frost line {heating['frost_c']:g} °C).")
        for spell in heating["blind"]:
            start, end = _when(spell["start"], tz), _when(spell["end"], tz)
            snap = next((s for s in snaps if _when(s["start"], tz) < end and start < _when(s["end"], tz)), None)
            low = f"{spell['min_outdoor_c']:.1f} °C outside"
            cold = f"in a {snap['temperature_c']:g} °C cold snap (down to {low})" if snap else f"and down to {low}"
            sentences.append(
                f"With its thermometers broken {cold}, the {zone} "
                f"never fell below {spell['min_c']:.1f} °C (frost line {heating['frost_c']:g} °C): from {_day(start)} "
                f"{_clock(start)} to {_day(end)} {_clock(end)} the box heated on a timed duty instead."
            )
    return sentences


def comfort(report: Mapping[str, Any]) -> list[str]:
    """How much of its comfort periods each zone was warm, with the time it was not."""
    sentences = []
    for zone, figures in report["heating"].items():
        scheduled_min = figures.get("comfort_minutes_scheduled", 0.0)
        if scheduled_min <= 0:
            continue
        missed_min = figures["comfort_minutes_missed"]
        warm_pct = 100 * (1 - missed_min / scheduled_min)
        hours = scheduled_min / 60
        if missed_min <= 0:
            sentences.append(f"The {zone} was warm for all {hours:.0f} h of its opening hours.")
        else:
            sentences.append(
                f"The {zone} was warm for {warm_pct:.0f} % of its {hours:.0f} h of opening hours; "
                f"it was below its comfort temperature for {_span(timedelta(minutes=missed_min))} in all."
            )
    return sentences


def savings(report: Mapping[str, Any], circuit: str, price_eur_per_kwh: float) -> list[str]:
    """Lamp hours against a dusk-to-dawn clock, and the energy and money that saves."""
    figures = report["lighting"][circuit]
    lit_h, clock_h = figures["on_hours"], figures["baseline_on_hours"]
    if clock_h <= 0:
        return []
    load_w = report["timeline"]["lighting"][circuit]["load_w"]
    text = (f"The lamps were lit {lit_h:.0f} h against {clock_h:.0f} h for a dusk-to-dawn clock: "
            f"{100 * (1 - lit_h / clock_h):.0f} % less")
    if load_w > 0:
        kwh = (clock_h - lit_h) * load_w / 1000
        text += (f", about {kwh:.0f} kWh and {kwh * price_eur_per_kwh:.2f} € saved "
                 f"(lamps of {load_w:g} W, at {price_eur_per_kwh:g} € per kWh)")
    return [text + "."]


def sync(report: Mapping[str, Any], tz: ZoneInfo) -> list[str]:
    """The link to the fleet: its outages, what reached the fleet, how long an alarm waited."""
    figures = report.get("sync")
    if not figures or figures.get("produced") is None:
        return []
    cuts = [f"from {_day(a)} {_clock(a)} to {_day(b)} {_clock(b)}"
            for a, b in ((_when(start, tz), _when(end, tz)) for start, end in figures.get("outages", []))]
    said = f"The link to the fleet was cut {', '.join(cuts)}; " if cuts else ""
    produced, delivered = figures["produced"], figures["delivered"]
    if delivered == produced and not figures["lost"] and not figures["duplicated"]:
        said += f"{'the' if cuts else 'The'} fleet received all {produced:,} records the box produced, each once"
    else:
        said += (f"{'the' if cuts else 'The'} fleet received {delivered:,} of the {produced:,} records the box "
                 f"produced ({figures['lost']} lost, {figures['duplicated']} stored twice, {figures['thinned']} "
                 f"thinned to fit the disk, {figures['pending']} still waiting)")
    delay = figures.get("alarm_delay_max_s")
    if delay is not None and delay >= 60:
        said += f"; the longest an alarm waited for the link was {_span(timedelta(seconds=delay))}"
    return [said + "."]


def tell(report: Mapping[str, Any], price_eur_per_kwh: float = PRICE_EUR_PER_KWH) -> list[str]:
    """The whole story of a run, one sentence per thing that happened, in the box's local time."""
    tz = ZoneInfo(report["timezone"])
    circuits: Sequence[str] = list(report["lighting"])
    sentences: list[str] = []
    for circuit in circuits:
        sentences += lights(report, circuit, tz)
        sentences += lux_fallback(report, circuit, tz)
    sentences += leaks(report, tz)
    sentences += frost(report, tz)
    sentences += comfort(report)
    sentences += sync(report, tz)
    for circuit in circuits:
        sentences += savings(report, circuit, price_eur_per_kwh)
    return sentences


def format_story(report: Mapping[str, Any], price_eur_per_kwh: float = PRICE_EUR_PER_KWH) -> str:
    """The story as text: a heading, then one paragraph per sentence."""
    tz = ZoneInfo(report["timezone"])
    start, end = _when(report["start"], tz), _when(report["end"], tz)
    head = f"What the box did from {_day(start)} to {_day(end)} {end.year}:"
    return "\n".join([head, *(f"- {s}" for s in tell(report, price_eur_per_kwh))])
