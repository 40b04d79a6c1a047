"""The inhabitants' page's figures (fleet/web/views/public*.py): tonight's lighting against a Paris almanac, the
savings this month and this year against a year before, the leaks caught, the temperatures kept; and the French
formatting. Expected values are worked out by hand from the scenario each test writes."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from web_seed import (
    PARIS,
    Records,
    at,
    clear_alarm,
    desire,
    hall_tables,
    raise_alarm,
    register,
)

from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    get_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.model import Commune
from fleet.web.views import public_fr
from fleet.web.views.public import paragraphs, public_view

NOW = 1781524800.0  # Monday 2026-06-15 12:00 UTC, 14:00 in Paris
PARIS_LL = (48.8566, 2.3522)
LYON_LL = (45.7640, 4.8357)


@pytest.fixture
def db(store_url: str):  # type: ignore[no-untyped-def]
    store = open_store(store_url)
    try:
        yield store.db
    finally:
        store.close()


def _utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()


def _minutes(hhmm: str | None) -> int:
    assert hhmm is not None
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _near(hhmm: str | None, expected: str, tolerance_min: int = 2) -> bool:
    return abs(_minutes(hhmm) - _minutes(expected)) <= tolerance_min


def _commune(db, name: str, boxes: dict[str, tuple[tuple[float, float], dict[str, Any] | None]],  # type: ignore[no-untyped-def]
             **changes: Any) -> Commune:
    create_commune(db, new_commune(name, name.title(), now=0.0))
    if changes:
        update_commune(db, name, **changes)
    for device, ((lat, lon), tables) in boxes.items():
        register(db, device, "Mairie", lat, lon)
        if tables is not None:
            desire(db, device, tables)
    set_members(db, name, "device", list(boxes))
    found = get_commune(db, name)
    assert found is not None
    return found


def _lighting(**changes: Any) -> dict[str, Any]:
    tables = copy.deepcopy(hall_tables())
    tables["lighting"][0].update(changes)
    return tables


def test_public_lighting_tonight_follows_the_almanac_and_the_cutoff(db) -> None:  # type: ignore[no-untyped-def]
    # examples/village-hall.toml: cut-off 23:00-05:30, Friday and Saturday nights 00:30-05:30, 13 and 14 July none.
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())})
    lit = public_view(db, paris, PARIS, NOW).lighting
    # Sun times here are NOAA's solar equations worked for each date and place (the sun's centre at -0.833°):
    # Paris, Monday 15 June 2026: sunset 21:56 CEST; Tuesday 16 June: sunrise 05:46 CEST.
    assert (lit.night, lit.circuits, len(lit.groups), lit.lux_sensor) == (date(2026, 6, 15), 1, 1, True)
    (group,) = lit.groups
    assert _near(group.dusk_from, "21:56") and group.dusk_to == group.dusk_from
    assert (group.cutoff_from, group.cutoff_to, group.all_night) == ("23:00", "05:30", False)
    assert _near(group.dawn_from, "05:46") and group.dawn_to == group.dawn_from
    assert lit.exceptions_tonight == ()
    assert [(e.night, e.all_night, e.circuits, e.name) for e in lit.coming] == [
        (date(2026, 7, 13), True, 1, "veille de la Fête nationale"), (date(2026, 7, 14), True, 1, "Fête nationale")]


def test_public_lighting_names_the_weekday_window_and_tonights_exception(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())})
    friday = public_view(db, paris, PARIS, _utc(2026, 6, 19, 12)).lighting
    assert friday.night == date(2026, 6, 19)
    assert (friday.groups[0].cutoff_from, friday.groups[0].cutoff_to) == ("00:30", "05:30")
    # 14 July 2026, 20:00 CEST: the Fête nationale, lit all night. Paris: sunset 21:50, sunrise (15th) 06:03.
    bastille = public_view(db, paris, PARIS, _utc(2026, 7, 14, 18)).lighting
    assert bastille.night == date(2026, 7, 14)
    assert [(e.night, e.all_night, e.name) for e in bastille.exceptions_tonight] == [
        (date(2026, 7, 14), True, "Fête nationale")]
    (group,) = bastille.groups
    assert group.all_night and (group.cutoff_from, group.cutoff_to) == (None, None)
    assert _near(group.dusk_from, "21:50") and _near(group.dawn_from, "06:03")
    assert bastille.coming == ()  # 13 July is past; nothing else within 60 nights


def test_public_lighting_tonight_is_last_night_until_dawn(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())})
    # Tuesday 16 June, 01:00 CEST (23:00 UTC the day before): still Monday's night; 06:30 CEST: Tuesday's.
    assert public_view(db, paris, PARIS, _utc(2026, 6, 15, 23)).lighting.night == date(2026, 6, 15)
    assert public_view(db, paris, PARIS, _utc(2026, 6, 16, 4, 30)).lighting.night == date(2026, 6, 16)


def test_public_lighting_groups_circuits_by_cutoff_with_counts_and_ranges(db) -> None:  # type: ignore[no-untyped-def]
    until_dawn = _lighting(cutoff={"default": "22:00-06:00"}, exceptions=[
        {"date": "2026-06-01", "cutoff": "none"},           # past
        {"date": "2026-08-14", "cutoff": "01:00-05:00"},    # 60 nights after the 15th: listed
        {"date": "2026-08-15", "cutoff": "none"}])          # 61: not yet
    all_night = _lighting(cutoff={"default": "none"}, exceptions=[], sunset_offset_min=15)
    paris = _commune(db, "paris", {
        "box-1": (PARIS_LL, hall_tables()), "box-2": (LYON_LL, hall_tables()),
        "box-3": (PARIS_LL, until_dawn), "box-4": (PARIS_LL, all_night), "box-5": (PARIS_LL, until_dawn),
    })
    db.execute("UPDATE registry SET revoked_at = 1.0 WHERE device = 'box-5'")  # a revoked box lights nothing
    lit = public_view(db, paris, PARIS, NOW).lighting
    assert lit.circuits == 4
    groups = {(g.cutoff_from, g.cutoff_to): g for g in lit.groups}
    assert set(groups) == {("23:00", "05:30"), ("22:00", None), (None, None)}
    usual = groups[("23:00", "05:30")]
    # Lyon, 15 June 2026: sunset 21:32 CEST, sunrise (16th) 05:50; Paris: 21:56 and 05:46.
    assert usual.circuits == 2 and _near(usual.dusk_from, "21:32") and _near(usual.dusk_to, "21:56")
    assert _near(usual.dawn_from, "05:46") and _near(usual.dawn_to, "05:50")
    # 22:00-06:00 ends after the 05:46 dawn: off from 22:00 until morning.
    assert groups[("22:00", None)].circuits == 1 and not groups[("22:00", None)].all_night
    # No cut-off, lit at sunset + 15 min.
    assert groups[(None, None)].all_night and _near(groups[(None, None)].dusk_from, "22:11")
    assert [(e.night, e.cutoff_from, e.cutoff_to, e.circuits) for e in lit.coming] == [
        (date(2026, 7, 13), None, None, 2), (date(2026, 7, 14), None, None, 2),
        (date(2026, 8, 14), "01:00", "05:00", 1)]
    assert "box-" not in repr(lit) and "street-main" not in repr(lit)


def test_public_savings_this_month_and_year_against_dusk_to_dawn_and_a_year_before(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())}, tariff_eur_per_kwh=0.20,
                     co2_kg_per_kwh=0.1)
    _commune(db, "lyon", {"box-9": (LYON_LL, hall_tables())})
    rows = [("box-1", "2026-01-14", 10), ("box-1", "2025-01-14", 12), ("box-1", "2026-06-03", 3),
            ("box-1", "2025-06-03", 4), ("box-1", "2026-06-15", 1),  # today: not counted yet
            ("box-9", "2026-06-03", 1)]  # another commune's
    db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)",
                   [(d, "street-main", day, h * 3600.0, None, 2) for d, day, h in rows])
    view = public_view(db, paris, PARIS, NOW)
    month, year = view.month, view.year
    assert month is not None and year is not None and view.data_to == date(2026, 6, 14)
    assert (month.first, month.last, year.first, year.last) == (
        date(2026, 6, 1), date(2026, 6, 14), date(2026, 1, 1), date(2026, 6, 14))
    assert (year.previous_first, year.previous_last) == (date(2025, 1, 1), date(2025, 6, 14))
    assert (month.lit_h, month.previous_lit_h, month.fewer_h_than_previous) == (3.0, 4.0, 1.0)
    assert (year.lit_h, year.previous_lit_h, year.fewer_h_than_previous) == (13.0, 16.0, 3.0)
    # Paris (NOAA's equations): 14 Jan 2026, night 15 h 19 (sunrise 08:39, sunset 17:20); 3 June, 8 h 03 (05:50, 21:48).
    assert year.saved_h is not None and year.saved_kwh is not None and year.more_saved_kwh is not None
    assert month.more_saved_kwh is not None
    assert year.saved_h == pytest.approx((15 + 19 / 60 - 10) + (8 + 3 / 60 - 3), abs=3 / 60)
    assert year.saved_kwh == pytest.approx(0.740 * year.saved_h, rel=1e-9)  # street-lights: load_w 740
    assert year.saved_eur == pytest.approx(year.saved_kwh * 0.20, rel=1e-9)
    assert year.saved_co2_kg == pytest.approx(year.saved_kwh * 0.1, rel=1e-9)
    # A year before, the same dates' nights last within a minute of these: 3 h more lit -> 3 x 0.740 kWh.
    assert year.more_saved_kwh == pytest.approx(3 * 0.740, abs=0.740 * 2 / 60)
    assert year.more_saved_eur == pytest.approx(year.more_saved_kwh * 0.20, rel=1e-9)
    assert month.more_saved_kwh == pytest.approx(1 * 0.740, abs=0.740 * 1 / 60)
    assert (view.tariff_eur_per_kwh, view.co2_kg_per_kwh) == (0.20, 0.1)


def test_public_savings_without_data_are_unknown_and_the_first_days_have_none(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())})
    db.execute("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", ("box-1", "street-main", "2026-06-30", 3600.0, None, 2))
    first_of_july = public_view(db, paris, PARIS, _utc(2026, 7, 1, 10))
    assert first_of_july.month is None and first_of_july.year is not None
    assert first_of_july.year.lit_h == 1.0 and first_of_july.year.previous_lit_h is None
    assert first_of_july.year.more_saved_kwh is None and first_of_july.year.fewer_h_than_previous is None
    new_year = public_view(db, paris, PARIS, _utc(2027, 1, 1, 10))
    assert (new_year.month, new_year.year, new_year.leaks) == (None, None, None)
    empty = public_view(db, paris, PARIS, NOW)
    assert empty.month is not None and (empty.month.saved_h, empty.month.saved_kwh, empty.month.lit_h) == (
        None, None, None)


def test_public_leaks_this_year_count_water_lost_and_caught(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables())})
    _commune(db, "lyon", {"box-9": (LYON_LL, hall_tables())})
    burst = raise_alarm(db, "box-1", "burst", "critical", at(date(2026, 3, 3), 3), evidence={"flow_lph": 100.0})
    clear_alarm(db, burst, at(date(2026, 3, 3), 5))
    raise_alarm(db, "box-1", "burst", "critical", at(date(2025, 12, 30), 3), evidence={"flow_lph": 50.0})
    raise_alarm(db, "box-1", "burst", "critical", at(date(2026, 6, 15), 9), evidence={"flow_lph": 70.0})  # today
    raise_alarm(db, "box-9", "burst", "critical", at(date(2026, 3, 3), 3), evidence={"flow_lph": 900.0})
    leaks = public_view(db, paris, PARIS, NOW).leaks
    assert leaks is not None and (leaks.first, leaks.last, leaks.leaks) == (date(2026, 1, 1), date(2026, 6, 14), 1)
    assert leaks.water_lost_l == pytest.approx(100.0 * 2)  # 100 L/h from 03:00 to its repair at 05:00
    # Found at once; a quarterly reading finds it half a quarter (91.3125 d / 2 = 1095.75 h) later on average.
    assert leaks.water_caught_l == pytest.approx(100.0 * 1095.75)


def test_public_temperatures_per_day_lowest_and_mean_of_zones(db) -> None:  # type: ignore[no-untyped-def]
    paris = _commune(db, "paris", {"box-1": (PARIS_LL, hall_tables()), "box-2": (PARIS_LL, hall_tables())})
    _commune(db, "lyon", {"box-9": (LYON_LL, hall_tables())})
    one, two, other = Records(db, "box-1"), Records(db, "box-2"), Records(db, "box-9")
    one.reading(at(date(2026, 6, 14), 8), "hall-temp", "temperature_c", 19.0)
    one.reading(at(date(2026, 6, 14), 20), "hall-temp", "temperature_c", 21.0)
    two.reading(at(date(2026, 6, 14), 10), "hall-temp", "temperature_c", 16.0)
    two.reading(at(date(2026, 6, 14), 10), "hall-climate", "temperature_c", 5.0)  # a second thermometer: not it
    one.reading(at(date(2026, 6, 15), 9), "hall-temp", "temperature_c", 3.0)  # today: not complete
    one.reading(at(date(2026, 6, 7), 12), "hall-temp", "temperature_c", 2.0)  # eight days back
    one.reading(at(date(2026, 6, 8), 0, 30), "hall-temp", "temperature_c", 17.0)
    other.reading(at(date(2026, 6, 14), 10), "hall-temp", "temperature_c", 1.0)  # another commune's
    days = public_view(db, paris, PARIS, NOW).temperatures
    assert [d.day for d in days] == [date(2026, 6, d) for d in range(8, 15)]
    assert (days[0].lowest_c, days[0].mean_c, days[0].zones) == (17.0, 17.0, 1)
    assert all((d.lowest_c, d.mean_c, d.zones) == (None, None, 0) for d in days[1:6])
    # 14 June: box-1's zone 19 and 21 (mean 20), box-2's 16: lowest 16, mean of the zones (20 + 16) / 2 = 18.
    assert (days[6].lowest_c, days[6].mean_c, days[6].zones) == (16.0, pytest.approx(18.0), 2)


def test_public_french_numbers_days_and_paragraphs() -> None:
    assert public_fr.nombre(1234.5) == "1\u202f234,5"
    assert public_fr.quantite(1234567.25, "kWh", 2) == "1\u202f234\u202f567,25\u00a0kWh"
    assert public_fr.nombre(-0.01) == "0,0" and public_fr.nombre(-12.5, 0) == "-12"
    assert public_fr.quantite(None, "kWh") == public_fr.UNKNOWN
    assert public_fr.heure("05:30") == "5\u00a0h\u00a030" and public_fr.heure("23:00") == "23\u00a0h\u00a000"
    assert public_fr.jour(date(2026, 7, 14)) == "mardi 14 juillet"
    assert public_fr.jour(date(2026, 6, 1), weekday=False, year=True) == "1er juin 2026"
    assert paragraphs("Bonjour,\nvoici notre page.\n\n\nÀ bientôt.\n") == ("Bonjour, voici notre page.", "À bientôt.")
