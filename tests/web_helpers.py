"""The dashboard under FastAPI's TestClient: an app on a store, users with passwords, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleet.registry.groups import add_user, get_user
from fleet.settings import FleetSettings, parse_settings
from fleet.store import open_store
from fleet.web.accounts import set_password
from fleet.web.app import create_app

#: Every user made here has this password (long enough for the policy).
PASSWORD = "correct horse battery staple"
#: The tests' hashes cost OWASP's argon2id floor (19 MiB, 2 passes), not the default 64 MiB x 3: same code path.
QUICK = parse_settings({"web": {"password_hash_memory_mib": 19, "password_hash_iterations": 2}}, "tests")
#: Tests' clock: 2026-06-15 12:00:00 UTC.
NOW = 1781524800.0


class Clock:
    """A settable clock for create_app."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def add_login(url: str, name: str, role: str, *, password: str = PASSWORD, now: float = NOW) -> None:
    """A fleet user `name` with `role` and a dashboard password (created when missing)."""
    store = open_store(url)
    try:
        if get_user(store.db, name) is None:
            add_user(store.db, name, role, now=now)
        set_password(store.db, name, password, now=now, settings=QUICK.web)
    finally:
        store.close()


@contextmanager
def web_app(url: str, settings: FleetSettings | None = None, clock: Clock | None = None) -> Iterator[FastAPI]:
    """The app on the store at `url`; its connections closed after."""
    app = create_app(url, QUICK if settings is None else settings, clock=clock or Clock())
    try:
        yield app
    finally:
        app.state.web.pool.close()


def client(app: FastAPI) -> TestClient:
    """A browser-like client (keeps cookies, does not follow redirects)."""
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def login(app: FastAPI, url: str, name: str, role: str, *, form: bool = False) -> tuple[TestClient, str]:
    """A client logged in as a new user `name` with `role`, and its CSRF token (through the form or the API)."""
    add_login(url, name, role)
    browser = client(app)
    if form:
        page = browser.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None, page.text
        answer = browser.post("/login", data={"username": name, "password": PASSWORD, "csrf": token.group(1)})
        assert answer.status_code == 303, answer.text
        who = browser.get("/api/v1/session")
        assert who.status_code == 200, who.text
        return browser, who.json()["csrf"]
    answer = browser.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return browser, answer.json()["csrf"]


def form_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)
