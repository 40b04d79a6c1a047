"""The inhabitants' page `/c/{commune}`, its JSON `/api/v1/public/{commune}` and its poster `/c/{commune}/poster`:
no login, only the allowed fields, nothing of the boxes (ids, sites, coordinates, meters), a commune's own figures
only, French, light, no inline style or script, and a QR code of the page's address."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from web_helpers import Clock, client, web_app
from web_seed import (
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
    new_commune,
    set_members,
    update_commune,
)
from fleet.web.render import STATIC

#: Tuesday 14 July 2026, 18:00 UTC (20:00 in Paris): an exception night, with another exception to come.
BASTILLE = datetime(2026, 7, 14, 18, tzinfo=UTC).timestamp()
_SPAN = ("first", "last", "lit_h", "saved_h", "saved_kwh", "saved_eur", "saved_co2_kg", "previous_first",
         "previous_last", "previous_lit_h", "fewer_h_than_previous", "more_saved_kwh", "more_saved_eur",
         "more_saved_co2_kg")
_NIGHT = ("night", "cutoff_from", "cutoff_to", "circuits", "name", "all_night")
#: Every key path the public may read (a list's items: "[]"). Anything else the API or the page shows fails.
ALLOWED = frozenset({
    "commune", "title", "paragraphs", "data_to", "tariff_eur_per_kwh", "co2_kg_per_kwh",
    "lighting", "lighting.night", "lighting.circuits", "lighting.lux_sensor", "lighting.groups",
    *(f"lighting.groups[].{k}" for k in ("circuits", "dusk_from", "dusk_to", "cutoff_from", "cutoff_to",
                                          "dawn_from", "dawn_to", "all_night")),
    "lighting.exceptions_tonight", *(f"lighting.exceptions_tonight[].{k}" for k in _NIGHT),
    "lighting.coming", *(f"lighting.coming[].{k}" for k in _NIGHT),
    "month", *(f"month.{k}" for k in _SPAN), "year", *(f"year.{k}" for k in _SPAN),
    "leaks", *(f"leaks.{k}" for k in ("first", "last", "leaks", "water_lost_l", "water_caught_l")),
    "temperatures", *(f"temperatures[].{k}" for k in ("day", "lowest_c", "mean_c", "zones")),
})
#: What a thief or a vandal would like: the seeded boxes' ids, sites, coordinates, controllers' and meters' ids.
SECRETS: dict[str, Any] = {"device": "boite-q7x3", "site": "12 rue des Secrets", "lat": 48.85671, "lon": 2.35219}
RENAMED = {"street-main": "circ-zx81", "street-lights": "relay-qv27", "lux-roof": "lux-kw55",
           "water-main": "meter-jh93", "leak-hall": "watch-pp12", "hall-temp": "therm-yy04",
           "hall-climate": "therm-cc31", "outdoor-temp": "therm-oo77", "hall-heating": "relay-hh48",
           "energy-lighting": "meter-en66", "hall": "zone-mairie9"}


def _tables(renamed: bool = False) -> dict[str, Any]:
    tables = hall_tables()
    tables["lighting"][0]["exceptions"].append({"date": "2026-08-15", "cutoff": "01:00-05:00"})
    text = json.dumps(tables)
    for old, new in RENAMED.items() if renamed else ():
        text = text.replace(f'"{old}"', f'"{new}"')
    return json.loads(text)


def _seed(url: str) -> None:
    """Commune paris (its box with distinctive names) and commune lyon, each with its own figures."""
    store = open_store(url)
    db = store.db
    try:
        create_commune(db, new_commune("paris", "Ville de Paris", now=0.0))
        update_commune(db, "paris", public_text="Chers habitants,\n\nnous <b>éteignons</b> à 23 h.",
                       tariff_eur_per_kwh=0.20)
        create_commune(db, new_commune("lyon", "Lyon", now=0.0))
        create_commune(db, new_commune("hidden", "Cachée", now=0.0))
        update_commune(db, "hidden", public_page=False)
        device = SECRETS["device"]
        register(db, device, SECRETS["site"], SECRETS["lat"], SECRETS["lon"])
        register(db, "box-lyon", "Hôtel de ville", 45.764, 4.8357)
        set_members(db, "paris", "device", [device])
        set_members(db, "lyon", "device", ["box-lyon"])
        desire(db, device, _tables(renamed=True))
        desire(db, "box-lyon", _tables())
        db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
            (device, RENAMED["street-main"], "2026-07-10", 2 * 3600.0, None, 2),
            (device, RENAMED["street-main"], "2025-07-10", 3 * 3600.0, None, 2),
            ("box-lyon", "street-main", "2026-07-10", 7 * 3600.0, None, 2)])
        leak = raise_alarm(db, device, "burst", "critical", at(date(2026, 3, 3), 3), source=RENAMED["leak-hall"],
                           message=f"burst on {RENAMED['water-main']} at {SECRETS['site']}",
                           evidence={"flow_lph": 100.0, "meter": RENAMED["water-main"]})
        clear_alarm(db, leak, at(date(2026, 3, 3), 5))
        for source in ("leak-a", "leak-b", "leak-c"):
            raise_alarm(db, "box-lyon", "burst", "critical", at(date(2026, 4, 1), 3), source=source,
                        evidence={"flow_lph": 7.0})
        Records(db, device).reading(at(date(2026, 7, 13), 10), RENAMED["hall-temp"], "temperature_c", 18.5)
        Records(db, "box-lyon").reading(at(date(2026, 7, 13), 10), "hall-temp", "temperature_c", 12.25)
    finally:
        store.close()


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value; a list's items are "[]"."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found |= {path} | _paths(item, path)
        return found
    if isinstance(value, list):
        return set().union(*(_paths(item, f"{prefix}[]") for item in value)) if value else set()
    return set()


def _fields(html: str) -> set[str]:
    return set(re.findall(r'data-field="([^"]*)"', html))


def test_public_api_and_page_show_only_allowed_fields(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        api = browser.get("/api/v1/public/paris")
        page = browser.get("/c/paris")
    assert api.status_code == 200 and page.status_code == 200, (api.text[:200], page.text[:200])
    found = _paths(api.json())
    assert found - ALLOWED == set(), f"fields not on the allowed list: {sorted(found - ALLOWED)}"
    # The scenario fills every allowed field, so the list is the API's exact shape.
    assert ALLOWED - found == set(), f"allowed but not seen (extend the scenario): {sorted(ALLOWED - found)}"
    shown = _fields(page.text)
    assert shown - ALLOWED == set(), f"the page shows fields not on the allowed list: {sorted(shown - ALLOWED)}"
    assert {"lighting.groups[].dusk_from", "lighting.exceptions_tonight[].name", "lighting.coming[].night",
            "month.saved_kwh", "year.saved_eur", "year.saved_co2_kg", "year.more_saved_kwh", "leaks.leaks",
            "leaks.water_lost_l", "leaks.water_caught_l", "temperatures[].lowest_c", "temperatures[].mean_c"} <= shown


def test_public_pages_reveal_no_box_site_place_or_meter(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        answers = [browser.get(p) for p in ("/c/paris", "/api/v1/public/paris", "/c/paris/poster")]
    assert [a.status_code for a in answers] == [200, 200, 200]
    lat, lon = f"{SECRETS['lat']:.4f}", f"{SECRETS['lon']:.4f}"
    secrets = [SECRETS["device"], SECRETS["site"], "rue des Secrets", "q7x3", lat, lon, lat.replace(".", ","),
               lon.replace(".", ","), "48.85", "2.352", *RENAMED.values()]
    for answer in answers:
        text = answer.text.lower()
        leaked = [s for s in secrets if s.lower() in text]
        assert leaked == [], f"{answer.url}: shows {leaked}"
    assert '"relay' not in answers[1].text and "latitude" not in answers[1].text


def test_public_commune_shows_only_its_own_figures(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        lyon, paris = browser.get("/api/v1/public/lyon").json(), browser.get("/api/v1/public/paris").json()
        lyon_page = browser.get("/c/lyon").text
    # Lyon: 3 leaks at 7 L/h, 7 h lit on 10 July, 12.25 °C on 13 July; Paris: 1 leak, 2 h lit, 18.5 °C.
    assert (lyon["title"], lyon["leaks"]["leaks"], lyon["year"]["lit_h"]) == ("Lyon", 3, 7.0)
    assert lyon["temperatures"][-1] == {"day": "2026-07-13", "lowest_c": 12.25, "mean_c": 12.25, "zones": 1}
    assert lyon["year"]["previous_lit_h"] is None and lyon["tariff_eur_per_kwh"] == 0.25
    assert (paris["leaks"]["leaks"], paris["year"]["lit_h"], paris["year"]["previous_lit_h"]) == (1, 2.0, 3.0)
    assert paris["temperatures"][-1]["lowest_c"] == 18.5 and paris["tariff_eur_per_kwh"] == 0.20
    assert "Ville de Paris" not in lyon_page and "habitants" not in lyon_page
    assert "12,2\u00a0°C" in lyon_page and "18,5" not in lyon_page  # 12.25 rounds half to even: 12,2


def test_public_page_is_french_light_and_strict(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        page = browser.get("/c/paris")
        poster = browser.get("/c/paris/poster")
        css = browser.get("/static/public.css")
    html = page.text
    assert page.headers["content-type"].startswith("text/html") and '<html lang="fr">' in html
    assert 'name="viewport"' in html and "<h1 data-field=\"title\">Ville de Paris</h1>" in html
    # The commune's own words, autoescaped, in paragraphs.
    assert "<p data-field=\"paragraphs\">nous &lt;b&gt;éteignons&lt;/b&gt; à 23 h.</p>" in html
    # 14 July: the exception named, all night; 15 August's window among the coming nights.
    assert "Fête nationale" in html and "éclairé toute la nuit" in html and "samedi 15 août" in html
    # French figures: 100 L/h for 2 h lost; caught against a quarterly reading 100 x 1095.75 h = 109 575 L.
    assert "200\u00a0L" in html and "109\u202f575\u00a0L" in html and "0,200\u00a0€" in html
    assert 'href="/c/paris/report"' in html and 'href="/c/paris/poster"' in html
    links = set(re.findall(r'href="([^"]+)"', html))
    assert links == {"/static/public.css", "/static/favicon.svg", "/c/paris/report", "/c/paris/poster", "/login"}
    for text in (html, poster.text):
        assert not re.search(r"\sstyle=|<style|<script|\son\w+=|https?://(?!testserver)", text), text[:300]
    weight = len(page.content) + len(css.content)
    assert css.status_code == 200 and len(css.content) == (STATIC / "public.css").stat().st_size
    assert weight < 20_000, f"page + CSS: {weight} bytes"


def test_public_missing_or_closed_commune_is_a_french_404(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        for name in ("nowhere", "hidden", "Bad%21name", "a" * 70):
            for path in (f"/c/{name}", f"/c/{name}/poster"):
                answer = browser.get(path)
                assert answer.status_code == 404, path
                assert '<html lang="fr">' in answer.text and "Page introuvable" in answer.text, path
                assert "Traceback" not in answer.text
            api = browser.get(f"/api/v1/public/{name}")
            assert api.status_code == 404 and "no public page" in api.json()["detail"]


def test_public_page_of_a_commune_without_boxes_says_so(store_url: str) -> None:
    store = open_store(store_url)
    try:
        create_commune(store.db, new_commune("vide", "Village sans boîtier", now=0.0))
    finally:
        store.close()
    with web_app(store_url, clock=Clock(BASTILLE)) as app:
        browser = client(app)
        page, api = browser.get("/c/vide"), browser.get("/api/v1/public/vide").json()
    assert page.status_code == 200 and "Aucun circuit d'éclairage" in page.text
    assert "Aucun bâtiment chauffé" in page.text and "pas encore connu" in page.text
    assert (api["lighting"]["circuits"], api["lighting"]["groups"], api["leaks"]["leaks"]) == (0, [], 0)
    assert api["month"]["saved_kwh"] is None and api["year"]["lit_h"] is None and api["paragraphs"] == []
