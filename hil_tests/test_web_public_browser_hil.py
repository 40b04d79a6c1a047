"""The inhabitants' side in a real headless Chromium: a commune's public page on a phone, a report sent through
its form (a tap on the map, the commune's question), the technician of that commune closing it from the
dashboard with the box's evidence beside it, and the inhabitant's ticket then saying it is fixed; another
commune's technician never sees it. No browser error at all; a screenshot of each step kept."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from web_browser import Browser, chromium, web_process
from web_seed import Records, at
from web_village import PARIS, seed_village

from fleet.registry.devices import add_device
from fleet.registry.groups import add_user
from fleet.reports.link import report_evening
from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.model import check_question, parse_outline
from fleet.web.accounts import set_password

PASSWORD = "secretaire de mairie 2026"
WORDS = "Depuis 2025, l'éclairage public s'éteint de 23 h à 5 h 30 : merci à tous !"
#: Saint-Aubin's outline: a rectangle around its three boxes (45.184-45.190 N, 5.721-5.730 E) and more.
OUTLINE = {"type": "Polygon", "coordinates": [[[5.712, 45.178], [5.738, 45.178], [5.738, 45.197], [5.712, 45.197],
                                                [5.712, 45.178]]]}


def _seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    now = time.time()
    store = open_store(url)
    try:
        db = store.db
        seed_village(db, now)
        _tonight_so_far(db, now)
        create_commune(db, new_commune("saint-aubin", "Saint-Aubin", now=now))
        question, answer = check_question("Combien de pattes a un chat ?", "quatre")
        update_commune(db, "saint-aubin", public_text=WORDS, report_question=question, report_answer=answer,
                       outline=parse_outline(json.dumps(OUTLINE), "outline"))
        set_members(db, "saint-aubin", "device", ["mairie", "ecole", "reservoir"])
        set_members(db, "saint-aubin", "group", ["saint-aubin"])
        create_commune(db, new_commune("vaulx", "Vaulx", now=now))
        add_device(db, "vaulx-mairie", "Mairie de Vaulx", now=now, latitude=45.30, longitude=5.80, commune="vaulx")
        for user, commune in (("secretaire", "saint-aubin"), ("agent-vaulx", "vaulx")):
            add_user(db, user, "technician", now=now, commune=commune)
            set_password(db, user, PASSWORD, now=now)
    finally:
        store.close()
    return url


def _tonight_so_far(db, now: float) -> None:  # type: ignore[no-untyped-def]
    """After 14:00 a report is about the night under way: the town hall's lux and lamps of this evening so far
    (dark from 17:30, lamps switched on at 17:40), so that its evidence holds what the box said tonight."""
    evening = report_evening(now, PARIS)
    if evening != datetime.fromtimestamp(now, PARIS).date():
        return  # the report is about last night, which the village's seed holds
    rec = Records(db, "mairie")
    rec.seq = {lane: int(h) for lane, h in db.query("SELECT lane, hwm FROM lanes WHERE device = 'mairie'")}
    ts = at(evening, 16)
    while ts < now - 60:
        hour = datetime.fromtimestamp(ts, PARIS).hour + datetime.fromtimestamp(ts, PARIS).minute / 60
        rec.reading(ts, "lux-roof", "illuminance_lx", 120.0 if hour < 17.5 else 0.4)
        ts += 300
    if now > at(evening, 17, 40):
        rec.decision(at(evening, 17, 40), "street-main", "street-lights", True, mode="lux", lux=0.4)


def _log_in(browser: Browser, user: str) -> None:
    page = browser.open("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(browser.base + "/")


def test_web_public_page_report_and_its_closing_in_chromium(tmp_path: Path) -> None:
    url = _seeded(tmp_path)
    shots: list[Path] = []
    with web_process(url, tmp_path) as base:
        with chromium(base) as browser:
            page = browser.open("/c/saint-aubin")
            assert "Saint-Aubin" in page.locator("h1").inner_text()
            text = page.inner_text("main")
            assert WORDS in text
            for box in ("mairie", "ecole", "reservoir", "Château d'eau", "45.18", "5.72"):
                assert box not in page.content(), box  # no box, site or place on the public page
            assert page.locator("[data-field]").count() >= 5
            shots.append(browser.shot("11-public-page"))

            page.click("a[href='/c/saint-aubin/report']")
            page.wait_for_url(f"{base}/c/saint-aubin/report")
            opened = time.monotonic()
            page.check("input[name=kind][value=light_out]")
            page.fill("input[name=street]", "Rue de l'Église")
            box = page.locator("#report-map").bounding_box()
            assert box is not None
            page.locator("#report-map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
            lat = float(page.input_value("#report-lat"))
            lon = float(page.input_value("#report-lon"))
            assert 45.178 < lat < 45.197 and 5.712 < lon < 5.738, (lat, lon)  # the tap landed in the commune
            page.fill("textarea[name=description]", "Le lampadaire devant l'église est éteint depuis hier soir.")
            page.fill("input[name=email]", "habitant@example.org")
            page.fill("input[name=answer]", "  Quatre ")
            shots.append(browser.shot("12-report-form"))
            time.sleep(max(0.0, 3.5 - (time.monotonic() - opened)))  # a person takes seconds to fill it
            page.click("form.report button[type=submit]")
            page.wait_for_url(f"{base}/c/saint-aubin/report/*")
            ticket = page.url.split("/report/")[1].split("?")[0]
            assert "Merci" in page.inner_text("main") and "En cours" in page.inner_text("main")
            shots.append(browser.shot("13-report-sent"))
            assert browser.problems == []

        with chromium(base, phone=False) as browser:
            _log_in(browser, "agent-vaulx")  # another commune's technician
            page = browser.open("/reports")
            assert ticket not in page.content()
            page = browser.open("/alarms?show=all")
            assert ticket not in page.content() and "mairie" not in page.inner_text("main")
            assert browser.problems == []

        with chromium(base, phone=False) as browser:
            _log_in(browser, "secretaire")
            page = browser.open("/reports")
            page.click(f"a[href='/reports/{ticket}']")
            page.wait_for_url(f"{base}/reports/{ticket}")
            main = page.inner_text("main")
            assert "mairie" in main and "street-main" in main  # linked to the town hall's street lights
            assert "lux-roof" in main  # what the box's lux sensor said that night
            assert "habitant@example.org" not in page.content()
            shots.append(browser.shot("14-report-with-the-box-evidence"))
            page.fill("form[action='/reports/" + ticket + "/close'] input[name=note]", "Lampe remplacée le matin")
            page.click("form[action='/reports/" + ticket + "/close'] button[type=submit]")
            page.wait_for_load_state("load")
            assert "Lampe remplacée le matin" in page.inner_text("main")
            shots.append(browser.shot("15-report-closed"))
            assert browser.problems == []

        with chromium(base) as browser:
            page = browser.open(f"/c/saint-aubin/report/{ticket}")
            assert "Réparé" in page.inner_text("main")
            shots.append(browser.shot("16-ticket-fixed"))
            assert browser.problems == []

    store = open_store(url)
    try:
        queued = store.db.query("SELECT target, subject FROM notify_outbox WHERE kind = 'report_fixed'")
        assert [(t, s) for t, s in queued] == [("habitant@example.org", "Saint-Aubin : votre signalement est traité")]
        assert store.db.scalar("SELECT count(*) FROM reports WHERE email IS NOT NULL") == 0
    finally:
        store.close()
    for shot in shots:
        assert shot.stat().st_size > 5000
