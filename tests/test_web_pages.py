"""The dashboard's pages under TestClient on both engines: the seeded boxes and map, a box's charts holding the
seeded data, alarms acknowledged by a technician (403 for a viewer), the savings page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from web_helpers import Clock, client, login, web_app

from fleet.store import open_store
from tests.web_seed import (
    Records,
    at,
    desire,
    hall_tables,
    raise_alarm,
    register,
    status,
)

TODAY = date(2026, 3, 20)
NOW = at(TODAY, 12)
WED = date(2026, 3, 18)
SVG = "{http://www.w3.org/2000/svg}"


def seed(url: str) -> str:
    """Three boxes (one without coordinates), the hall's config, a night, 60 nights of water, energy, a leak alarm."""
    store = open_store(url)
    db = store.db
    register(db, "box-a", "Mairie <b>", 45.187, 5.726, groups=("saint-aubin",))
    register(db, "box-b", "Ecole", 45.19, 5.73, groups=("saint-aubin",))
    register(db, "box-c", "Chateau d'eau", None, None)
    status(db, "box-a", online=True, since=NOW - 3600, last_seen=NOW - 60)
    desire(db, "box-a", hall_tables())
    rec = Records(db, "box-a")
    rec.decision(at(WED, 18, 5), "street-main", "street-lights", True, mode="lux", lux=12.0)
    rec.decision(at(WED, 23), "street-main", "street-lights", False, mode="cut-off", lux=0.5)
    for hh, lx in ((16, 420.0), (17, 95.0), (18, 12.5), (19, 0.5)):
        rec.reading(at(WED, hh), "lux-roof", "illuminance_lx", lx)
    rec.reading(at(WED, 9), "hall-temp", "temperature_c", 18.25)
    db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", [
        ("box-a", "water-main", (TODAY - timedelta(days=i)).isoformat(), 0.25 if i > 5 else 6.5, 48, 5.0)
        for i in range(1, 100)
    ])
    db.execute("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)",
               ("box-a", "energy-lighting", "import_energy_kwh", WED.isoformat(), 4.75, 288, 0))
    db.execute("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)",
               ("box-a", "street-main", WED.isoformat(), 7 * 3600.0, None, 2))
    alarm = raise_alarm(db, "box-a", "leak", "critical", at(TODAY, 5, 15), box_ref="leak-hall/night_flow",
                        message="night flow 6.5 L/h against a usual 0.3 L/h",
                        evidence={"excess_lph": 6.25, "baseline_lph": 0.25, "spread_lph": 0.5, "night_flows_lph": [
                            {"date": "2026-03-19", "mnf_lph": 6.5}, {"date": "2026-03-20", "mnf_lph": 6.5}]})
    store.close()
    return alarm


@pytest.fixture
def app(store_url: str):
    alarm = seed(store_url)
    with web_app(store_url, clock=Clock(NOW)) as app:
        app.state.seeded_alarm = alarm
        yield app


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)]


def series(root: ET.Element, name: str) -> list[list]:
    for g in root.iter(f"{SVG}g"):
        if g.get("data-series") == name:
            return json.loads(g.find(f"{SVG}desc").text)
    raise AssertionError(f"no series {name}")


def test_pages_send_a_stranger_to_the_login(app) -> None:
    browser = client(app)
    for path in ("/", "/boxes/box-a", "/alarms", "/savings"):
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=/"), path


def test_boxes_page_shows_the_boxes_and_the_map(app, store_url: str) -> None:
    browser, _ = login(app, store_url, "vera", "viewer")
    page = browser.get("/")
    assert page.status_code == 200
    assert all(f'data-device="{d}"' in page.text for d in ("box-a", "box-b", "box-c"))
    assert "Mairie &lt;b&gt;" in page.text and "Mairie <b>" not in page.text
    (map_svg,) = [s for s in svgs(page.text) if s.get("class") == "map"]
    dots = {c.get("data-device"): c for c in map_svg.iter(f"{SVG}circle")}
    assert set(dots) == {"box-a", "box-b"} and dots["box-a"].get("data-health") == "alarm"
    assert 'href="/boxes/box-c"' in page.text.split("Without coordinates")[1]
    assert "1 critical" in page.text
    assert browser.get("/?group=saint-aubin").text.count('<tr data-device=') == 2
    assert browser.get("/?group=nowhere").status_code == 404


def test_box_page_charts_hold_the_seeded_data(app, store_url: str) -> None:
    browser, _ = login(app, store_url, "vera", "viewer")
    page = browser.get(f"/boxes/box-a?night={WED.isoformat()}")
    assert page.status_code == 200, page.text[:400]
    charts = svgs(page.text)
    lux = next(s for s in charts if "lux and lamps" in s.find(f"{SVG}title").text)
    assert series(lux, "lux") == [[at(WED, 16), 420.0], [at(WED, 17), 95.0], [at(WED, 18), 12.5], [at(WED, 19), 0.5]]
    bands = [(r.get("class"), float(r.get("data-x0")), float(r.get("data-x1")))
             for r in lux.iter(f"{SVG}rect") if r.get("data-x0")]
    assert ("band-lit", at(WED, 18, 5), at(WED, 23)) in bands
    assert ("band-cutoff", at(WED, 23), at(WED + timedelta(days=1), 5, 30)) in bands
    water = next(s for s in charts if "minimum night flow" in s.find(f"{SVG}title").text)
    flows = {int(x): y for x, y in series(water, "min_night_flow")}
    assert flows[(TODAY - timedelta(days=1)).toordinal()] == 6.5 and flows[WED.toordinal() - 10] == 0.25
    assert any(r.get("class") == "band-alarm" for r in water.iter(f"{SVG}rect"))
    energy = next(s for s in charts if "energy per day" in s.find(f"{SVG}title").text)
    assert [(r.get("data-x"), r.get("data-y")) for r in energy.iter(f"{SVG}rect") if r.get("data-x")] == [
        ("18 Mar", "4.75")]
    heating = next(s for s in charts if "frost line" in s.find(f"{SVG}title").text)
    assert series(heating, "temperature hall-temp") == [[at(WED, 9), 18.25]]
    assert [line.get("data-y") for line in heating.iter(f"{SVG}line") if line.get("data-y")] == ["7"]
    assert "Street lighting, night of 2026-03-19" in browser.get("/boxes/box-a").text  # last night by default
    assert browser.get("/boxes/nobox").status_code == 404
    for night in ("yesterday", "9999-12-31", "0001-01-01"):
        assert browser.get(f"/boxes/box-a?night={night}").status_code == 400


def test_ack_works_for_a_technician_and_is_refused_to_a_viewer(app, store_url: str) -> None:
    alarm = app.state.seeded_alarm
    viewer, viewer_csrf = login(app, store_url, "vera", "viewer")
    listing = viewer.get("/alarms")
    assert f'data-alarm="{alarm}"' in listing.text and "excess_lph" in listing.text
    assert "Acknowledge</button>" not in listing.text
    assert viewer.post(f"/alarms/{alarm}/ack", data={"csrf": viewer_csrf}).status_code == 403
    tech, csrf = login(app, store_url, "theo", "technician")
    assert tech.post(f"/alarms/{alarm}/ack", data={"note": "plumber"}).status_code == 403  # no CSRF token
    page = tech.get("/alarms")
    assert "Acknowledge</button>" in page.text
    done = tech.post(f"/alarms/{alarm}/ack", data={"csrf": csrf, "note": "plumber called"})
    assert done.status_code == 303 and done.headers["location"] == f"/alarms?show=open&acked={alarm}"
    after = tech.get(done.headers["location"])
    assert "acknowledged by theo" in after.text and "plumber called" in after.text
    store = open_store(store_url)
    try:
        row = store.db.one("SELECT acked_by, ack_note, ack_command FROM alarms WHERE id = ?", (alarm,))
        assert row[0] == "theo" and row[1] == "plumber called" and row[2] is not None
    finally:
        store.close()
    again = tech.post(f"/alarms/{alarm}/ack", data={"csrf": csrf})
    assert again.status_code == 409 and "already acknowledged" in again.text


def test_savings_page_shows_hours_energy_and_leaks(app, store_url: str) -> None:
    browser, _ = login(app, store_url, "vera", "viewer")
    page = browser.get("/savings?group=saint-aubin")
    assert page.status_code == 200, page.text[:300]
    assert 'data-month="2026-03"' in page.text and "4.8" in page.text  # 4.75 kWh
    assert f'data-alarm="{app.state.seeded_alarm}"' in page.text
    # The leak ran from 01:00 on 19 March (first night above 0.25 + 0.5 L/h) to the alarm at 05:15 the next day.
    assert "28.2 h" in page.text
    assert browser.get("/savings?first=2026-04-01&last=2026-03-01").status_code == 400
    assert browser.get("/savings?first=soon").status_code == 400
    assert browser.get("/savings?first=0001-01-01&last=0001-12-31").status_code == 400
    assert browser.get("/savings?show=x&group=nowhere").status_code == 404
