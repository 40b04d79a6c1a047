"""A commune's figures: its own boxes only, euros and CO2 at its own factors, and the same span a year before."""

from __future__ import annotations

from datetime import date

import pytest
from web_seed import PARIS, at, desire, hall_tables, raise_alarm, register

from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    get_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.figures import a_year_before, commune_figures

NOW = 1781524800.0  # 2026-06-15 12:00 UTC
D = date(2026, 1, 14)


@pytest.fixture
def db(store_url: str):  # type: ignore[no-untyped-def]
    store = open_store(store_url)
    try:
        yield store.db
    finally:
        store.close()


def _two_communes(db) -> None:  # type: ignore[no-untyped-def]
    create_commune(db, new_commune("paris", "Paris", now=0.0))
    create_commune(db, new_commune("lyon", "Lyon", now=0.0))
    update_commune(db, "paris", tariff_eur_per_kwh=0.20, co2_kg_per_kwh=0.1)
    register(db, "box-a", "Mairie", 48.8566, 2.3522)
    register(db, "box-b", "Mairie", 45.76, 4.84)
    set_members(db, "paris", "device", ["box-a"])
    set_members(db, "lyon", "device", ["box-b"])
    desire(db, "box-a", hall_tables())  # street-main on relay street-lights, load_w 740 W
    desire(db, "box-b", hall_tables())


def test_commune_figures_count_only_the_communes_boxes_at_its_factors(db) -> None:  # type: ignore[no-untyped-def]
    _two_communes(db)
    db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
        ("box-a", "street-main", D.isoformat(), 10 * 3600.0, None, 4),
        ("box-b", "street-main", D.isoformat(), 2 * 3600.0, None, 4),
    ])
    db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
        ("box-a", "energy-lighting", "import_energy_kwh", D.isoformat(), 10.0, 5, 0),
        ("box-b", "energy-lighting", "import_energy_kwh", D.isoformat(), 50.0, 5, 0),
    ])
    raise_alarm(db, "box-b", "burst", "critical", at(D, 3), evidence={"flow_lph": 100.0})
    paris = get_commune(db, "paris")
    assert paris is not None
    found = commune_figures(db, paris, date(2026, 1, 1), date(2026, 1, 31), PARIS, NOW)
    # Paris almanac, 14 Jan 2026: sunrise 08:40, sunset 17:20 CET: 15 h 20 of night; lit 10 h: 5 h 20 saved.
    assert (found.boxes, found.lit_h) == (1, pytest.approx(10.0))
    assert found.saved_h == pytest.approx(5 + 20 / 60, abs=2 / 60)
    saved_kwh = 0.740 * (5 + 20 / 60)
    assert found.saved_kwh == pytest.approx(saved_kwh, abs=0.740 * 2 / 60)
    assert found.saved_eur == pytest.approx(saved_kwh * 0.20, abs=0.740 * 0.20 * 2 / 60)
    assert found.saved_co2_kg == pytest.approx(saved_kwh * 0.1, abs=0.740 * 0.1 * 2 / 60)
    assert (found.energy_kwh, found.leaks) == (pytest.approx(10.0), 0)


def test_commune_figures_without_a_load_have_no_kwh(db) -> None:  # type: ignore[no-untyped-def]
    create_commune(db, new_commune("paris", "Paris", now=0.0))
    register(db, "box-a", "Mairie", 48.8566, 2.3522)
    set_members(db, "paris", "device", ["box-a"])
    db.execute("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", ("box-a", "lights", D.isoformat(), 36000.0, None, 2))
    paris = get_commune(db, "paris")
    assert paris is not None
    found = commune_figures(db, paris, D, D, PARIS, NOW)
    assert found.saved_kwh is None and found.saved_eur is None and found.saved_co2_kg is None
    assert found.saved_h == pytest.approx(5 + 20 / 60, abs=2 / 60)


def test_a_year_before_keeps_the_day_and_folds_29_february() -> None:
    assert a_year_before(date(2026, 3, 31)) == date(2025, 3, 31)
    assert a_year_before(date(2028, 2, 29)) == date(2027, 2, 28)


def test_commune_figures_take_the_rollups_dark_time_when_they_hold_it(db) -> None:  # type: ignore[no-untyped-def]
    create_commune(db, new_commune("paris", "Paris", now=0.0))
    register(db, "box-a", "Mairie", 48.8566, 2.3522)
    register(db, "box-n", "Dépôt", None, None)  # no place: its stored dark time is not an astronomical clock
    set_members(db, "paris", "device", ["box-a", "box-n"])
    db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
        ("box-a", "lights", D.isoformat(), 36000.0, 14 * 3600.0, 2),
        ("box-n", "lights", D.isoformat(), 36000.0, 14 * 3600.0, 2)])
    paris = get_commune(db, "paris")
    assert paris is not None
    found = commune_figures(db, paris, D, D, PARIS, NOW)
    assert (found.lit_h, found.astronomical_h) == (pytest.approx(10.0), pytest.approx(14.0))
