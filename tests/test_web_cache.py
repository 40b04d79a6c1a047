"""The inhabitants' page is computed once per commune every 5 minutes of the clock, not at each visit: a new
figure shows after that, a change of the commune's settings at once."""

from __future__ import annotations

from datetime import date, timedelta

from web_helpers import NOW, Clock, client, web_app
from web_seed import register

from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.web.cache import TimedCache


def test_timed_cache_reuses_within_its_time_and_remakes_after() -> None:
    cache = TimedCache(ttl_s=300.0, max_items=2)
    made: list[str] = []

    def make(value: str):  # type: ignore[no-untyped-def]
        return lambda: made.append(value) or value

    assert cache.get("a", 1000.0, make("a1")) == "a1"
    assert cache.get("a", 1299.0, make("a2")) == "a1"  # 299 s later: kept
    assert cache.get("a", 1300.0, make("a3")) == "a3"  # 300 s after it was made: made again
    assert cache.get("a", 1200.0, make("a4")) == "a4"  # a clock set back: not trusted
    cache.get("b", 1200.0, make("b1"))
    cache.get("c", 1200.0, make("c1"))  # a third key: the least recent ("a") dropped
    assert cache.get("a", 1201.0, make("a5")) == "a5"
    assert made == ["a1", "a3", "a4", "b1", "c1", "a5"]
    cache.clear()
    assert cache.get("a", 1202.0, make("a6")) == "a6"


def test_web_public_page_figures_refresh_after_five_minutes_settings_at_once(store_url: str) -> None:
    store = open_store(store_url)
    try:
        create_commune(store.db, new_commune("aubin", "Saint-Aubin", now=0.0))
        register(store.db, "box-a", "Mairie", 48.8566, 2.3522)
        set_members(store.db, "aubin", "device", ["box-a"])
    finally:
        store.close()
    clock = Clock(NOW)
    with web_app(store_url, clock=clock) as app:
        browser = client(app)
        first = browser.get("/api/v1/public/aubin").json()
        store = open_store(store_url)
        try:  # ten hours lit in the last days of the month: a figure the page did not have
            yesterday = date(2026, 6, 14)
            store.db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
                ("box-a", "lights", (yesterday - timedelta(days=d)).isoformat(), 3600.0, 8 * 3600.0, 2)
                for d in range(3)])
        finally:
            store.close()
        clock.now = NOW + 299.0
        assert browser.get("/api/v1/public/aubin").json() == first
        clock.now = NOW + 300.0
        fresh = browser.get("/api/v1/public/aubin").json()
        assert fresh != first and fresh["month"] != first["month"]
        store = open_store(store_url)
        try:
            update_commune(store.db, "aubin", title="Saint-Aubin-les-Bois")
        finally:
            store.close()
        clock.now = NOW + 301.0
        assert browser.get("/api/v1/public/aubin").json()["title"] == "Saint-Aubin-les-Bois"
        assert "Saint-Aubin-les-Bois" in browser.get("/c/aubin").text
