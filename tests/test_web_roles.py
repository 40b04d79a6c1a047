"""Every route of the app, tried with no login and with each role: only the roles its guard allows get through.

The routes are enumerated from the app itself, so a new route without a guard, or with a path parameter this
test has no value for, fails here until it is given one.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount
from web_helpers import NOW, client, login, web_app

from fleet.alarms.model import Raise
from fleet.alarms.table import apply_raise
from fleet.registry.devices import add_device
from fleet.registry.groups import add_user
from fleet.reports.store import submit_report
from fleet.store import open_store
from fleet.tenants.communes import create_commune, new_commune
from fleet.web.app import create_app, route_table
from fleet.web.auth import Guard

ROLES = ("viewer", "technician", "admin")
RANK = {None: -1, "viewer": 0, "technician": 1, "admin": 2}


def _seed(url: str) -> dict[str, str]:
    store = open_store(url)
    try:
        add_device(store.db, "box-a", "Mairie", now=NOW, latitude=45.19, longitude=5.72)
        with store.db.transaction():
            alarm = apply_raise(store.db, "box-a", Raise(kind="leak", source="fleet", severity="critical",
                                                        message="night flow 40 L/h", evidence={}, at=NOW, order=NOW))
        add_user(store.db, "someone", "viewer", now=NOW)
        create_commune(store.db, new_commune("village", "Le Village", now=NOW))
        report = submit_report(store.db, "village", kind="light_out", street="Grande Rue", now=NOW).id
    finally:
        store.close()
    return {"device": "box-a", "alarm_id": alarm, "id": alarm, "name": "someone", "commune": "village",
            "report_id": report, "ticket": report}


def _guards(route: APIRoute) -> list[Guard]:
    return [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]


def _path(route: APIRoute, values: dict[str, str]) -> str:
    missing = [name for name in route.param_convertors if name not in values]
    assert not missing, f"{route.path}: give this test a value for path parameter {missing[0]!r}"
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values[m.group(1)], route.path)


def test_web_every_route_has_exactly_one_guard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        for route in route_table(app.routes):
            if isinstance(route, Mount):
                assert route.path == "/static", f"unexpected mount {route.path}"
                continue
            assert isinstance(route, APIRoute), f"{route}: routes are FastAPI APIRoutes with a guard"
            assert len(_guards(route)) == 1, f"{sorted(route.methods)} {route.path}: needs exactly one guard"
    finally:
        app.state.web.pool.close()


def _expect(answer, needed: str | None, role: str | None, api: bool, where: str) -> None:  # type: ignore[no-untyped-def]
    if RANK[role] >= RANK[needed]:
        assert answer.status_code not in (401, 403), f"{where} as {role}: refused ({answer.status_code})"
        assert answer.status_code < 500, f"{where} as {role}: {answer.status_code} {answer.text[:200]}"
        assert not answer.headers.get("location", "").startswith("/login?next="), f"{where} as {role}: sent to log in"
    elif role is None:
        if api:
            assert answer.status_code == 401, f"{where} without login: {answer.status_code}"
        else:
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), where
    else:
        assert answer.status_code == 403, f"{where} as {role}: {answer.status_code}, expected 403"


@pytest.mark.parametrize("role", (None, *ROLES))
def test_web_every_route_allows_exactly_its_roles(store_url: str, role: str | None) -> None:
    values = _seed(store_url)
    with web_app(store_url) as app:
        routes = [r for r in route_table(app.routes) if isinstance(r, APIRoute)]
        assert len(routes) >= 3
        tried = 0
        browser, csrf = login(app, store_url, f"u-{role}", role) if role else (client(app), "")
        for route in routes:
            (guard,) = _guards(route)
            path = _path(route, values)
            api = path.startswith("/api/") or path == "/metrics"
            for method in sorted(route.methods - {"HEAD"}):
                headers = {"X-CSRF-Token": csrf} if method not in ("GET", "OPTIONS") and csrf else {}
                answer = browser.request(method, path, headers=headers,
                                         json={} if method in ("POST", "PUT", "PATCH") else None)
                _expect(answer, guard.role, role, api, f"{method} {path}")
                tried += 1
                if role and browser.get("/api/v1/session").status_code == 401:  # that call logged out
                    browser, csrf = login(app, store_url, f"u-{role}", role)
        assert tried >= len(routes)
