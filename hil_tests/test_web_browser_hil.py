"""The dashboard in a real headless Chromium: log in, the village's boxes and map, a box's charts with their
data, acknowledging a leak alarm, the savings page; a screenshot of each page kept; no browser error at all."""

from __future__ import annotations

import time
from pathlib import Path

from web_browser import Browser, chromium, web_process
from web_village import seed_village

from fleet.registry.groups import add_user
from fleet.store import open_store
from fleet.web.accounts import set_password

PASSWORD = "secretaire de mairie 2026"


def _seeded(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(url)
    try:
        village = seed_village(store.db, time.time())
        add_user(store.db, "secretaire", "technician", now=time.time())
        set_password(store.db, "secretaire", PASSWORD, now=time.time())
        add_user(store.db, "elu", "viewer", now=time.time())
        set_password(store.db, "elu", PASSWORD, now=time.time())
    finally:
        store.close()
    return url, village


def _log_in(browser: Browser, user: str) -> None:
    page = browser.open("/")
    assert "/login" in page.url  # no page without a login
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(browser.base + "/")


def _chart_points(page, chart) -> int:  # type: ignore[no-untyped-def]
    return int(chart.locator("[data-x], [data-y], [data-value]").count())


def test_web_dashboard_in_chromium_from_login_to_acknowledged_leak(tmp_path: Path) -> None:
    url, village = _seeded(tmp_path)
    shots: list[Path] = []
    with web_process(url, tmp_path) as base, chromium(base) as browser:
        page = browser.open("/")
        shots.append(browser.shot("01-login"))
        _log_in(browser, "secretaire")
        main = page.inner_text("main")
        for site in village.sites:
            assert site in main
        assert page.locator("svg.map [data-device]").count() == 3  # every box has coordinates: all on the map
        shots.append(browser.shot("02-boxes-and-map"))

        page.click(f"a[href='/boxes/{village.hall}']")
        page.wait_for_url(f"{base}/boxes/{village.hall}")
        charts = page.locator("svg.chart")
        assert charts.count() >= 4  # lux and lamps, the leak chart, energy per day, the heated zone
        for i in range(charts.count()):
            assert _chart_points(page, charts.nth(i)) > 0, charts.nth(i).inner_html()[:300]
        shots.append(browser.shot("03-box-mairie"))

        page.click("text=Download its series as CSV")
        page.wait_for_url(f"{base}/boxes/{village.hall}/export")
        shots.append(browser.shot("03b-box-mairie-export"))
        with page.expect_download() as download:
            page.locator("tr[data-series='lux-roof/illuminance_lx'] button[type=submit]").click()
        lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert lines[0] == "time_utc,time_local,device,site,sensor,reading,value_lx", lines[0]
        assert len(lines) == 1 + 17 * 12  # the seeded night: a reading every 5 min from 16:00 to 09:00
        assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"300.0", "40.0", "0.4"}

        page = browser.open("/alarms")
        row = page.locator(f"#alarm-{village.leak_alarm}")
        assert "leak" in row.inner_text()
        shots.append(browser.shot("04-alarms"))
        row.locator("input[name=note]").fill("plumber called")
        row.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
        page = browser.open("/alarms?show=all")
        acked = page.locator(f"#alarm-{village.leak_alarm}").inner_text()
        assert "by secretaire" in acked and "plumber called" in acked
        shots.append(browser.shot("05-alarm-acknowledged"))

        page = browser.open("/savings")
        assert page.locator("svg.chart").count() >= 1
        shots.append(browser.shot("06-savings"))
        assert browser.problems == []
    for shot in shots:
        assert shot.stat().st_size > 5000  # a rendered page, not an empty one


def test_web_dashboard_in_chromium_viewer_sees_no_acknowledge_button(tmp_path: Path) -> None:
    url, village = _seeded(tmp_path)
    with web_process(url, tmp_path) as base, chromium(base, phone=False) as browser:
        _log_in(browser, "elu")
        page = browser.open("/alarms")
        assert "leak" in page.locator(f"#alarm-{village.leak_alarm}").inner_text()
        assert page.locator("form.ack").count() == 0
        browser.shot("07-alarms-as-viewer-desktop")
        assert browser.problems == []
