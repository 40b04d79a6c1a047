"""Many communes, one service: every route of the dashboard and API, tried by commune A's users with commune B's
things (and the service's own box) in its path, query or body, is refused exactly as a missing thing is, and no
answer names anything of B; the same route with A's own things gets through; a service admin sees both.

The routes are enumerated from the app itself (as tests/test_web_roles.py does): a route with a path parameter
this test has no value for fails here, naming the parameter, until it is given one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_helpers import NOW, PASSWORD, Clock, client, login, web_app
from web_seed import status

from fleet.alarms.ack import acknowledge
from fleet.alarms.model import Raise
from fleet.alarms.table import apply_raise
from fleet.commands.queue import enqueue
from fleet.registry.devices import add_device
from fleet.registry.groups import add_user, create_group
from fleet.store import open_store
from fleet.tenants.communes import create_commune, new_commune
from fleet.web.app import route_table
from fleet.web.auth import Guard

A, B = "alpha", "bravo"
TITLES = {A: "Alphaville-sur-Test", B: "Bravoville-les-Bains"}
SITES = {A: "Alpha Mairie", B: "Bravo Lavoir", None: "Service Depot"}
BOXES = {A: "alpha-box", B: "bravo-box", None: "svc-box"}
STREETS = {A: "Rue des Alphonses", B: "Rue des Bravoures"}
#: The first bytes of a PNG file: what a report's photo is checked to start with.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
#: Paths a commune's user never gets (the service's own pages): 404 for them, whatever the resource.
SERVICE_ONLY = ("/service/",)
#: Days and a series for the export routes' required query parameters.
FIXED_QUERY = {"from": "2026-06-01", "to": "2026-06-14", "sensor": "hall", "reading": "temperature_c"}
#: Routes that end the session: the client logs in again after them.
LOGOUTS = {("POST", "/logout"), ("DELETE", "/api/v1/session")}


@dataclass(frozen=True)
class Slot:
    """Where a request names a thing: a path parameter, a query parameter or a body field."""

    where: str
    name: str


@dataclass(frozen=True)
class Values:
    """What a slot is given: A's own thing, a thing that does not exist, and things A may not see."""

    own: str
    missing: str
    others: tuple[str, ...]


@dataclass
class World:
    """What was seeded: per commune (None: the service) its alarm and command ids."""

    alarms: dict[str | None, str] = field(default_factory=dict)
    commands: dict[str | None, str] = field(default_factory=dict)
    #: Inhabitants' reports sent through each commune's public form (when the app has one).
    reports: dict[str, str] = field(default_factory=dict)

    def path_values(self) -> dict[str, Values]:
        """Path parameter -> A's value, a value of nothing, B's (and the service's own) values."""
        alarm = Values(self.alarms[A], "0" * 32, (self.alarms[B], self.alarms[None]))
        values = {"device": Values(BOXES[A], "zz-nobox", (BOXES[B], BOXES[None])), "alarm_id": alarm, "id": alarm,
                  "name": Values("alpha-clerk", "zz-nouser", ("bravo-clerk", "svc-admin")),
                  "commune": Values(A, "zz-nocommune", (B,))}
        if self.reports:
            values["report_id"] = values["ticket"] = Values(self.reports[A], "f" * 32, (self.reports[B],))
        return values

    def query_values(self) -> dict[str, Values]:
        """Query parameter -> its values, for the ones that name a thing."""
        values = self.path_values()
        return {"device": values["device"], "group": Values("alpha-lights", "zz-nogroup", ("bravo-lights", "svc-all")),
                "commune": values["commune"], "acked": values["alarm_id"], "alarm": values["alarm_id"]}

    def values(self, slot: Slot) -> Values:
        """The values of a slot (a body's commune is a commune)."""
        if slot.where == "path":
            return self.path_values()[slot.name]
        return self.query_values()[slot.name if slot.where == "query" else "commune"]

    def foreign(self) -> list[str]:
        """Everything commune A's users must never read: B's and the service's own."""
        return [B, BOXES[B], SITES[B], TITLES[B], "bravo-clerk", "bravo-admin", "bravo-lights", self.alarms[B],
                self.commands[B], BOXES[None], SITES[None], "svc-admin", "svc-all", self.alarms[None], self.commands[None],
                STREETS[B], *([self.reports[B]] if self.reports else [])]

    def own(self) -> list[str]:
        """A's own things (B's public page must not show them)."""
        return [BOXES[A], SITES[A], TITLES[A], "alpha-clerk", self.alarms[A], self.commands[A], STREETS[A],
                *([self.reports[A]] if self.reports else [])]


def seed(url: str) -> World:
    """Communes A and B, each with a box, an alarm, a command, users and a group; and the service's own box."""
    world = World()
    store = open_store(url)
    db = store.db
    try:
        for commune in (A, B):
            create_commune(db, new_commune(commune, TITLES[commune], now=NOW))
            create_group(db, f"{commune}-lights", now=NOW, commune=commune)
            add_user(db, f"{commune}-clerk", "viewer", now=NOW, commune=commune)
            for role in ("viewer", "technician", "admin"):
                add_user(db, f"{commune}-{role}", role, now=NOW, commune=commune)
        add_user(db, "svc-admin", "admin", now=NOW)
        create_group(db, "svc-all", now=NOW)  # the service's own group, holding every box
        for commune, box in BOXES.items():
            add_device(db, box, SITES[commune], now=NOW, latitude=45.2, longitude=5.7, commune=commune,
                       groups=[f"{commune}-lights", "svc-all"] if commune else ["svc-all"])
            with db.transaction() as tx:
                status(tx, box, online=True, since=NOW - 3600, last_seen=NOW - 60)
                world.alarms[commune] = apply_raise(tx, box, Raise(
                    kind="leak", source="fleet", severity="critical", message=f"night flow on {box}",
                    evidence={"flow_lph": 40.0}, at=NOW - 600, order=NOW - 600))
                world.commands[commune] = enqueue(tx, box, "status", {}, created_by="seed", now=NOW, ttl_s=600.0)
        acknowledge(db, world.alarms[None], "svc-admin", note="seen", now=NOW)  # /alarms?acked= would say who
    finally:
        store.close()
    return world


def send_reports(app: FastAPI, clock: Clock, world: World) -> None:
    """A report through each commune's public form (as an inhabitant does: the form, a pause, the post)."""
    routes = {(m, r.path) for r in route_table(app.routes) if isinstance(r, APIRoute) for m in r.methods}
    if ("POST", "/c/{commune}/report") not in routes:
        return
    for commune in (A, B):
        browser = client(app)
        form = browser.get(f"/c/{commune}/report")
        token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token is not None, form.text[:300]
        clock.now += 10.0
        sent = browser.post(f"/c/{commune}/report", data={"kind": "light_out", "street": STREETS[commune],
                                                          "token": token.group(1)},
                            files={"photo": ("lamp.png", PNG, "image/png")})
        assert sent.status_code == 303, sent.text[:500]
        world.reports[commune] = sent.headers["location"].split("/")[-1].split("?")[0]
    clock.now = NOW


def _boundary(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")


def masked(text: str, values: list[str]) -> str:
    """`text` with each value the request itself sent replaced by a mark (an echo is not a leak)."""
    for value in values:
        text = _boundary(value).sub("\u00a7", text)
    return text


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The secrets `text` names."""
    return [s for s in secrets if _boundary(s).search(text)]


def _first_difference(one: tuple[int, str, list[str]], other: tuple[int, str, list[str]]) -> str:
    lines = zip(masked(one[1], one[2]).splitlines(), masked(other[1], other[2]).splitlines(), strict=False)
    return next((f"{a!r}\n  vs a missing one's\n{b!r}" for a, b in lines if a != b), "(lengths differ)")


def _guard(route: APIRoute) -> Guard:
    (guard,) = [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]
    return guard


def _body(method: str, path: str, values: dict[Slot, str], serial: int) -> dict[str, Any]:
    """The request's body: a user to add, a command to send, or nothing much."""
    if (method, path) == ("POST", "/api/v1/users"):
        return {"json": {"name": f"new-user-{serial}", "role": "viewer", "password": PASSWORD,
                         "commune": values[Slot("body", "commune")]}}
    if method == "POST" and path.endswith("/commands"):
        return {"json": {"action": "status"}}
    if method in ("POST", "PUT", "PATCH"):  # a note: an acknowledgement's, or what closing a report says
        return {"json": {"note": "lamp replaced"}} if path.startswith("/api/") else {"data": {"note": "lamp replaced"}}
    return {}


def slots(route: APIRoute, method: str, world: World) -> list[Slot]:
    """Every place the route names a thing; a path parameter without a value here fails the test."""
    known = world.path_values()
    found = []
    for name in route.param_convertors:
        assert name in known, f"{route.path}: give tests/test_web_tenants.py a value for path parameter {name!r}"
        found.append(Slot("path", name))
    found += [Slot("query", q.alias) for q in route.dependant.query_params if q.alias in world.query_values()]
    if (method, route.path) == ("POST", "/api/v1/users"):
        found.append(Slot("body", "commune"))
    return found


@dataclass
class Caller:
    """A logged-in client of one user, logging in again when a route logged it out; counts its requests."""

    app: FastAPI
    url: str
    user: str
    role: str
    browser: TestClient = field(init=False)
    csrf: str = field(init=False)
    tried: int = 0

    def __post_init__(self) -> None:
        self.browser, self.csrf = login(self.app, self.url, self.user, self.role)

    def call(self, method: str, route: APIRoute, values: dict[Slot, str]) -> tuple[int, str, list[str]]:
        """Status, body (and Location, Content-Disposition), and the values sent naming things."""
        self.tried += 1
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values[Slot("path", m.group(1))], route.path)
        params = {q.alias: FIXED_QUERY[q.alias] for q in route.dependant.query_params if q.alias in FIXED_QUERY}
        params.update({s.name: v for s, v in values.items() if s.where == "query"})
        headers = {"X-CSRF-Token": self.csrf} if method not in ("GET", "OPTIONS") else {}
        answer = self.browser.request(method, path, params=params, headers=headers,
                                      **_body(method, route.path, values, self.tried))
        if (method, route.path) in LOGOUTS:
            self.browser, self.csrf = login(self.app, self.url, self.user, self.role)
        text = "\n".join([answer.text, answer.headers.get("location", ""),
                          answer.headers.get("content-disposition", "")])
        return answer.status_code, text, list(values.values())


def _allowed(guard: Guard, role: str) -> bool:
    order = ("viewer", "technician", "admin")
    return guard.role is None or order.index(role) >= order.index(guard.role)


def _check_commune_user(caller: Caller, route: APIRoute, method: str, world: World) -> None:
    guard, where = _guard(route), f"{method} {route.path} as {caller.user}"
    found = slots(route, method, world)
    own_values = {s: world.values(s).own for s in found}
    secrets = world.foreign()
    service_only = route.path.startswith(SERVICE_ONLY)
    for slot in found:
        if guard.role is None and slot.name == "commune":  # a public page of B is public: checked below
            continue
        missing = caller.call(method, route, {**own_values, slot: world.values(slot).missing})
        for value in world.values(slot).others:
            other, said = caller.call(method, route, {**own_values, slot: value}), f"{where} with {slot.name} {value}"
            assert other[0] == missing[0], f"{said}: {other[0]}, a missing one {missing[0]}"
            assert masked(other[1], other[2]) == masked(missing[1], missing[2]), (
                f"{said}: answered unlike a missing one:\n{_first_difference(other, missing)}")
            if slot.where == "path":
                assert other[0] in (403, 404), f"{said}: {other[0]}, expected 404"
            assert not leaks(masked(other[1], other[2]), secrets), f"{said}: names {leaks(other[1], secrets)}"
    status_code, text, sent = caller.call(method, route, own_values)
    assert status_code < 500, f"{where}: {status_code} {text[:300]}"
    assert not leaks(masked(text, sent), secrets), f"{where}: names {leaks(masked(text, sent), secrets)}"
    if guard.role is None and Slot("path", "commune") in found:  # B's public page shows nothing of A
        _status, text_b, _ = caller.call(method, route, {**own_values, Slot("path", "commune"): B})
        assert not leaks(text_b, world.own()), f"{method} {route.path} of {B}: names {leaks(text_b, world.own())}"
    elif service_only:
        assert status_code in (403, 404), f"{where}: a commune's user got the service's page ({status_code})"
    elif found and _allowed(guard, caller.role):
        assert status_code < 400 or status_code == 409, f"{where} with A's own: {status_code} {text[:300]}"


def _routes(app: FastAPI) -> list[tuple[APIRoute, str]]:
    return [(r, m) for r in route_table(app.routes) if isinstance(r, APIRoute) for m in sorted(r.methods - {"HEAD"})]


def test_web_tenants_every_route_refuses_another_communes_things(store_url: str) -> None:
    world, clock = seed(store_url), Clock()
    with web_app(store_url, clock=clock) as app:
        send_reports(app, clock, world)
        routes = _routes(app)
        callers = [Caller(app, store_url, f"{A}-{role}", role) for role in ("viewer", "technician", "admin")]
        for caller in callers:
            for route, method in routes:
                _check_commune_user(caller, route, method, world)
        paths = {r.path for r, _ in routes}
        cases = sum(c.tried for c in callers)
        print(f"tenant isolation: {len(paths)} routes ({len(routes)} route-methods), {cases} cases as {A}'s users")
        assert len(paths) >= 30 and cases >= 300


def _service_sees(caller: Caller, route: APIRoute, method: str, world: World) -> None:
    guard, where = _guard(route), f"{method} {route.path} as the service's admin"
    found = slots(route, method, world)
    if not found and method == "GET":
        status_code, text, _ = caller.call(method, route, {})
        assert status_code < 400, f"{where}: {status_code} {text[:300]}"
    for slot in found:
        values = {s: world.values(s).others[0] for s in found}  # B's everything
        status_code, text, _ = caller.call(method, route, values)
        if guard.role is None and method != "GET":  # a public form posted without its token: refused, no fault
            assert status_code < 500, f"{where}: {status_code} {text[:300]}"
            continue
        assert status_code < 400 or status_code == 409, f"{where} with B's {slot.name}: {status_code} {text[:300]}"
        if slot.where == "path" and guard.role is not None:
            missing = caller.call(method, route, {**values, slot: world.values(slot).missing})
            assert missing[0] == 404, f"{where} with a missing {slot.name}: {missing[0]}"


def test_web_tenants_a_service_admin_sees_every_commune(store_url: str) -> None:
    world, clock = seed(store_url), Clock()
    with web_app(store_url, clock=clock) as app:
        send_reports(app, clock, world)
        admin = Caller(app, store_url, "svc-admin", "admin")
        routes = _routes(app)
        for route, method in routes:
            _service_sees(admin, route, method, world)
        print(f"tenant isolation: {len(routes)} route-methods, {admin.tried} cases as the service's admin")
        if any(r.path == "/service/communes" for r, _ in routes):
            page = admin.browser.get("/service/communes").text
            assert TITLES[A] in page and TITLES[B] in page
        devices = admin.browser.get("/api/v1/devices").json()
        assert [d["device"] for d in devices] == sorted(BOXES.values())
        alarms = admin.browser.get("/api/v1/alarms").json()
        assert sorted(a["id"] for a in alarms) == sorted(world.alarms.values())
        metrics = admin.browser.get("/metrics").text
        assert "hameau_fleet_devices_registered 3.0" in metrics
        assert 'hameau_fleet_alarms_open{kind="leak",severity="critical"} 3.0' in metrics
        boxes = admin.browser.get("/").text
        assert all(box in boxes for box in BOXES.values())
        assert '3 box(es);\n  open alarms: <span class="sev-critical">3 critical</span>' in boxes
        assert "3 box(es)" in admin.browser.get("/savings").text
        assert "1 box(es)" in admin.browser.get("/savings", params={"commune": B}).text
        assert admin.browser.get("/savings", params={"commune": "zz-nocommune"}).status_code == 404


def _names(browser: TestClient) -> list[str]:
    return sorted(u["name"] for u in browser.get("/api/v1/users").json())


def test_web_tenants_lists_and_counts_hold_only_the_users_commune(store_url: str) -> None:
    world, clock = seed(store_url), Clock()
    with web_app(store_url, clock=clock) as app:
        send_reports(app, clock, world)
        viewer = Caller(app, store_url, f"{A}-viewer", "viewer").browser
        assert [d["device"] for d in viewer.get("/api/v1/devices").json()] == [BOXES[A]]
        assert [a["id"] for a in viewer.get("/api/v1/alarms").json()] == [world.alarms[A]]
        metrics = viewer.get("/metrics").text
        assert "hameau_fleet_devices_registered 1.0" in metrics and "hameau_fleet_devices_online 1.0" in metrics
        assert 'hameau_fleet_alarms_open{kind="leak",severity="critical"} 1.0' in metrics
        assert 'hameau_fleet_commands{state="pending"} 1.0' in metrics
        assert "hameau_fleet_notifications" not in metrics  # the outbox is the service's
        page = viewer.get("/").text
        assert BOXES[A] in page and '1 box(es);\n  open alarms: <span class="sev-critical">1 critical</span>' in page
        assert "1 box(es)" in viewer.get("/savings").text
        assert "1 box(es)" in viewer.get("/savings", params={"commune": A}).text
        assert viewer.get("/savings", params={"group": "bravo-lights"}).status_code == 404


def test_web_tenants_a_commune_admin_adds_users_to_their_commune_only(store_url: str) -> None:
    seed(store_url)
    with web_app(store_url) as app:
        admin = Caller(app, store_url, f"{A}-admin", "admin")
        assert _names(admin.browser) == sorted(f"{A}-{r}" for r in ("admin", "clerk", "technician", "viewer"))
        headers = {"X-CSRF-Token": admin.csrf}
        made = admin.browser.post("/api/v1/users", headers=headers,
                                  json={"name": "alpha-new", "role": "technician", "password": PASSWORD})
        assert made.status_code == 201 and made.json()["commune"] == A  # not a service user
        refused = admin.browser.post("/api/v1/users", headers=headers, json={
            "name": "alpha-new2", "role": "viewer", "password": PASSWORD, "commune": B})
        assert (refused.status_code, refused.json()) == (400, {"detail": f"no commune {B!r}"})
        gone = admin.browser.delete("/api/v1/users/bravo-clerk", headers=headers)
        assert (gone.status_code, gone.json()) == (404, {"detail": "no user 'bravo-clerk'"})
        service = Caller(app, store_url, "svc-admin", "admin")
        headers = {"X-CSRF-Token": service.csrf}
        for name, commune in (("bravo-new", B), ("svc-new", None)):
            made = service.browser.post("/api/v1/users", headers=headers,
                                        json={"name": name, "role": "viewer", "password": PASSWORD, "commune": commune})
            assert made.status_code == 201 and made.json()["commune"] == commune
        assert "bravo-new" not in _names(admin.browser) and "alpha-new" in _names(service.browser)



def test_web_tenants_a_report_to_a_communes_page_never_reaches_another(store_url: str) -> None:
    world, clock = seed(store_url), Clock()
    with web_app(store_url, clock=clock) as app:
        send_reports(app, clock, world)
        assert world.reports, "no public report form in the app yet (fleet/web/pages_report_public.py)"
        for commune, other in ((A, B), (B, A)):
            viewer = Caller(app, store_url, f"{commune}-viewer", "viewer").browser
            listed = viewer.get("/api/v1/reports").json()
            assert [r["id"] for r in listed] == [world.reports[commune]]
            for path in ("/reports", "/api/v1/reports", "/api/v1/alarms", "/alarms?show=all", "/"):
                text = viewer.get(path).text
                assert world.reports[other] not in text and STREETS[other] not in text, (commune, path)
            page = viewer.get(f"/reports/{world.reports[commune]}")
            assert page.status_code == 200 and STREETS[commune] in page.text
            for path in (f"/reports/{world.reports[other]}", f"/api/v1/reports/{world.reports[other]}",
                         f"/reports/{world.reports[other]}/photo"):
                assert viewer.get(path).status_code == 404, (commune, path)
        public = client(app).get(f"/c/{A}/report/{world.reports[B]}")
        assert public.status_code == 404 and STREETS[B] not in public.text  # B's ticket is not A's
