"""A commune's figures over a span of days: what its lighting saved against a dusk-to-dawn clock, in kWh, euros
and CO2, the energy its meters counted, and the leaks its boxes caught.

Built on the dashboard's savings (fleet/web/views/savings.py: the definitions are there). Euros = kWh saved x the
commune's tariff; CO2 = kWh saved x its emission factor. Water caught is counted against a quarterly meter
reading (what a commune without boxes would have done). Every box that was ever the commune's counts, revoked
ones too: their past belongs to the commune.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from fleet.store.db import Database
from fleet.tenants.model import Commune
from fleet.web.views.savings import Savings, savings


@dataclass(frozen=True, slots=True)
class CommuneFigures:
    """One commune's totals over local days first..last."""

    commune: str
    title: str
    first: date
    last: date
    boxes: int
    lit_h: float
    astronomical_h: float
    #: kWh saved against lighting dusk to dawn, over the months whose every lit circuit has a known load
    #: (load_w); None when there is no such month.
    saved_kwh: float | None
    tariff_eur_per_kwh: float
    co2_kg_per_kwh: float
    energy_kwh: float
    energy_days: int
    leaks: int
    water_lost_l: float
    water_caught_l: float

    @property
    def saved_h(self) -> float:
        """Hours of lighting saved against the astronomical clock."""
        return self.astronomical_h - self.lit_h

    @property
    def saved_eur(self) -> float | None:
        """Euros saved at the commune's tariff."""
        return None if self.saved_kwh is None else self.saved_kwh * self.tariff_eur_per_kwh

    @property
    def saved_co2_kg(self) -> float | None:
        """kg of CO2 not emitted, at the commune's factor."""
        return None if self.saved_kwh is None else self.saved_kwh * self.co2_kg_per_kwh


def commune_devices(db: Database, commune: str) -> list[str]:
    """Every box registered to the commune, revoked ones too, in id order."""
    return [str(r[0]) for r in db.query("SELECT device FROM registry WHERE commune = ? ORDER BY device", (commune,))]


def figures_from(commune: Commune, found: Savings) -> CommuneFigures:
    """The commune's totals from its savings."""
    known = [m.saved_kwh for m in found.lighting if m.saved_kwh is not None]
    return CommuneFigures(
        commune=commune.name, title=commune.title, first=found.first, last=found.last, boxes=len(found.devices),
        lit_h=found.lit_h, astronomical_h=found.astronomical_h, saved_kwh=sum(known) if known else None,
        tariff_eur_per_kwh=commune.tariff_eur_per_kwh, co2_kg_per_kwh=commune.co2_kg_per_kwh,
        energy_kwh=sum(m.kwh for m in found.energy), energy_days=sum(m.days for m in found.energy),
        leaks=len(found.leaks), water_lost_l=sum(x.lost_l or 0.0 for x in found.leaks),
        water_caught_l=found.caught_quarterly_l,
    )


def commune_figures(db: Database, commune: Commune, first: date, last: date, zone: ZoneInfo,
                    now: float) -> CommuneFigures:
    """The commune's totals over local days first..last (leaks: those found in the span)."""
    return figures_from(commune, savings(db, commune_devices(db, commune.name), first, last, zone, now))


def a_year_before(day: date) -> date:
    """The same day a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)
