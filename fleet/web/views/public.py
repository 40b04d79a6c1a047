"""A commune's public page, as one object the page and its API both render: what it saved this month and this
year, the leaks its boxes caught, tonight's lighting and the temperature kept in its public buildings.

Only what an inhabitant may see: no box, circuit, meter, building or zone is named, no coordinates, no time finer
than the published lighting schedule, figures by day at most and up to yesterday (the data arrive a day late).
Savings come from fleet/tenants/figures.py (definitions in fleet/web/views/savings.py): this month and this year up
to yesterday, against lighting from dusk to dawn, and against the same days a year earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fleet.registry.devices import list_devices
from fleet.registry.model import RegistryError
from fleet.store.db import Database
from fleet.tenants.communes import get_commune
from fleet.tenants.figures import CommuneFigures, a_year_before, commune_figures
from fleet.tenants.model import Commune, check_commune_name
from fleet.web.cache import TimedCache
from fleet.web.views.public_heat import DayTemperature, temperatures_kept
from fleet.web.views.public_lighting import LightingTonight, lighting_tonight


@dataclass(frozen=True, slots=True)
class SpanSavings:
    """Lighting saved over local days first..last, against dusk to dawn and against the same days a year before.

    Hours and kWh are None when no circuit has lighting data over the span (kWh also when a circuit's load is
    unknown); the `previous_*` and `more_*` ones when the year before has none.
    """

    first: date
    last: date
    lit_h: float | None
    saved_h: float | None
    saved_kwh: float | None
    saved_eur: float | None
    saved_co2_kg: float | None
    previous_first: date
    previous_last: date
    previous_lit_h: float | None
    #: Hours lit less than over the same days a year before (negative: more).
    fewer_h_than_previous: float | None
    #: kWh, euros and kg CO2 saved beyond what the same days a year before saved (negative: less).
    more_saved_kwh: float | None
    more_saved_eur: float | None
    more_saved_co2_kg: float | None


@dataclass(frozen=True, slots=True)
class LeaksCaught:
    """Leaks found over local days first..last: how many, the water they lost, the water a quarterly reading loses."""

    first: date
    last: date
    leaks: int
    water_lost_l: float
    water_caught_l: float


@dataclass(frozen=True, slots=True)
class PublicView:
    """Everything the commune's public page and its API show."""

    commune: str
    title: str
    #: The commune's own words, in paragraphs.
    paragraphs: tuple[str, ...]
    #: The last day the figures cover (yesterday).
    data_to: date
    tariff_eur_per_kwh: float
    co2_kg_per_kwh: float
    lighting: LightingTonight
    #: None on the first day of the month (or year): nothing complete to count yet.
    month: SpanSavings | None
    year: SpanSavings | None
    leaks: LeaksCaught | None
    temperatures: tuple[DayTemperature, ...]


def paragraphs(text: str) -> tuple[str, ...]:
    """The commune's text in paragraphs (split at blank lines; lines inside a paragraph joined)."""
    blocks = [" ".join(line.strip() for line in block.splitlines() if line.strip())
              for block in text.replace("\r\n", "\n").split("\n\n")]
    return tuple(b for b in blocks if b)


def _difference(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _span(this: CommuneFigures, before: CommuneFigures) -> SpanSavings:
    known, known_before = this.astronomical_h > 0, before.astronomical_h > 0
    saved_kwh = this.saved_kwh if known else None
    before_kwh = before.saved_kwh if known_before else None
    more_kwh = _difference(saved_kwh, before_kwh)
    return SpanSavings(
        first=this.first, last=this.last, lit_h=this.lit_h if known else None,
        saved_h=this.saved_h if known else None, saved_kwh=saved_kwh,
        saved_eur=this.saved_eur if known else None, saved_co2_kg=this.saved_co2_kg if known else None,
        previous_first=before.first, previous_last=before.last,
        previous_lit_h=before.lit_h if known_before else None,
        fewer_h_than_previous=_difference(before.lit_h if known_before else None, this.lit_h if known else None),
        more_saved_kwh=more_kwh,
        more_saved_eur=None if more_kwh is None else more_kwh * this.tariff_eur_per_kwh,
        more_saved_co2_kg=None if more_kwh is None else more_kwh * this.co2_kg_per_kwh,
    )


def span_savings(db: Database, commune: Commune, first: date, last: date, zone: ZoneInfo, now: float
                 ) -> tuple[SpanSavings, CommuneFigures] | None:
    """Savings over first..last against dusk to dawn and a year before, and the span's figures; None if empty."""
    if first > last:
        return None
    this = commune_figures(db, commune, first, last, zone, now)
    before = commune_figures(db, commune, a_year_before(first), a_year_before(last), zone, now)
    return _span(this, before), this


def public_view(db: Database, commune: Commune, zone: ZoneInfo, now: float) -> PublicView:
    """The public page of `commune` at `now` (days in `zone`)."""
    today = datetime.fromtimestamp(now, zone).date()
    yesterday = today - timedelta(days=1)
    devices = list_devices(db, commune=commune.name, include_revoked=False)
    month = span_savings(db, commune, today.replace(day=1), yesterday, zone, now)
    year = span_savings(db, commune, today.replace(month=1, day=1), yesterday, zone, now)
    leaks = None
    if year is not None:
        figures = year[1]
        leaks = LeaksCaught(figures.first, figures.last, figures.leaks, figures.water_lost_l, figures.water_caught_l)
    return PublicView(
        commune=commune.name, title=commune.title, paragraphs=paragraphs(commune.public_text), data_to=yesterday,
        tariff_eur_per_kwh=commune.tariff_eur_per_kwh, co2_kg_per_kwh=commune.co2_kg_per_kwh,
        lighting=lighting_tonight(db, devices, zone, now),
        month=None if month is None else month[0], year=None if year is None else year[0], leaks=leaks,
        temperatures=temperatures_kept(db, [d.device for d in devices], zone, now),
    )


def cached_public_view(cache: TimedCache, db: Database, commune: Commune, zone: ZoneInfo, now: float) -> PublicView:
    """`public_view`, reused from `cache` for the same commune settings and local day while it is fresh."""
    day = datetime.fromtimestamp(now, zone).date()
    return cache.get((commune, zone.key, day), now, lambda: public_view(db, commune, zone, now))


def public_commune(db: Database, name: str) -> Commune | None:
    """The commune called `name` when it has a public page; None when the name is not one, or its page is off."""
    try:
        check_commune_name(name)
    except RegistryError:
        return None
    found = get_commune(db, name)
    return found if found is not None and found.public_page else None
