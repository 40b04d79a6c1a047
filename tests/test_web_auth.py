"""Dashboard logins: argon2id hashes, expiring sessions, CSRF, the login rate limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from web_helpers import (
    NOW,
    PASSWORD,
    Clock,
    add_login,
    client,
    form_token,
    login,
    web_app,
)

from fleet.errors import FleetConfigError
from fleet.registry.groups import disable_user
from fleet.settings import FleetSettings, parse_settings
from fleet.store import open_store
from fleet.web.accounts import set_password
from fleet.web.server import check_transport, parse_http
from fleet.web.settings import WebSettings


def _form_login(browser, name: str, password: str, *, next_path: str = "/"):  # type: ignore[no-untyped-def]
    token = form_token(browser.get("/login").text)
    return browser.post("/login", data={"username": name, "password": password, "csrf": token, "next": next_path})


def test_web_login_form_opens_a_session_and_goes_to_next(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    with web_app(store_url) as app:
        browser = client(app)
        answer = _form_login(browser, "marie", PASSWORD, next_path="/alarms?state=open")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/alarms?state=open"
        cookie = answer.headers["set-cookie"]
        assert "hameau_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain HTTP on loopback without a TLS proxy: a Secure cookie would be lost
        assert browser.get("/api/v1/session").json()["user"] == "marie"


def test_web_login_never_follows_next_off_site(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    with web_app(store_url) as app:
        for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            answer = _form_login(client(app), "marie", PASSWORD, next_path=evil)
            assert answer.status_code == 303 and answer.headers["location"] == "/", evil


def test_web_login_wrong_password_and_unknown_user_say_the_same(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    with web_app(store_url) as app:
        wrong = _form_login(client(app), "marie", "not the password at all")
        unknown = _form_login(client(app), "nobody", PASSWORD)
        assert wrong.status_code == unknown.status_code == 401
        assert "Wrong user name or password" in wrong.text and "Wrong user name or password" in unknown.text
        assert "hameau_session" not in wrong.headers.get("set-cookie", "")


def test_web_login_form_without_its_cookie_token_is_refused(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    with web_app(store_url) as app:
        browser = client(app)
        token = form_token(browser.get("/login").text)
        stranger = client(app)  # a cross-site form post carries no login cookie
        answer = stranger.post("/login", data={"username": "marie", "password": PASSWORD, "csrf": token})
        assert answer.status_code == 403
        assert "hameau_session" not in answer.headers.get("set-cookie", "")


def test_web_password_stored_as_argon2id_never_in_clear(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    store = open_store(store_url)
    try:
        set_password(store.db, "marie", PASSWORD, now=NOW)  # the default cost, as `users passwd` uses
        stored = store.db.scalar("SELECT password_hash FROM users WHERE name = 'marie'")
    finally:
        store.close()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106's second recommended option
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_web_password_policy_refuses_short_passwords(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    store = open_store(store_url)
    try:
        with pytest.raises(FleetConfigError, match="at least 10 characters"):
            set_password(store.db, "marie", "123456789", now=NOW)
    finally:
        store.close()


def test_web_login_rate_limit_per_user_then_window_reopens(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    clock = Clock()
    with web_app(store_url, clock=clock) as app:
        for _ in range(5):
            assert _form_login(client(app), "marie", "guessing wrongly 1").status_code == 401
        limited = _form_login(client(app), "marie", PASSWORD)
        assert limited.status_code == 429  # even the right password: the limit is on attempts, not on luck
        assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
        clock.now += 15 * 60 - 1
        assert _form_login(client(app), "marie", PASSWORD).status_code == 429
        clock.now += 2
        assert _form_login(client(app), "marie", PASSWORD).status_code == 303


def test_web_login_rate_limit_per_client_across_user_names(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    settings = parse_settings({"web": {"login_failures_per_client": 3, "password_hash_memory_mib": 19,
                                       "password_hash_iterations": 2}}, "fleet.toml")
    with web_app(store_url, settings) as app:
        for name in ("a1", "a2", "a3"):
            assert _form_login(client(app), name, "whatever you like").status_code == 401
        assert _form_login(client(app), "marie", PASSWORD).status_code == 429


def test_web_four_failures_then_success_resets_the_user_count(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")
    with web_app(store_url) as app:
        for _ in range(4):
            assert _form_login(client(app), "marie", "guessing wrongly 2").status_code == 401
        assert _form_login(client(app), "marie", PASSWORD).status_code == 303
        for _ in range(4):
            assert _form_login(client(app), "marie", "guessing wrongly 3").status_code == 401
        assert _form_login(client(app), "marie", PASSWORD).status_code == 303


def test_web_session_expires_when_idle(store_url: str) -> None:
    clock = Clock()
    with web_app(store_url, clock=clock) as app:
        browser, _csrf = login(app, store_url, "marie", "viewer")
        clock.now += 29 * 60
        assert browser.get("/api/v1/session").status_code == 200  # used: the idle clock restarts
        clock.now += 29 * 60
        assert browser.get("/api/v1/session").status_code == 200
        clock.now += 30 * 60 + 1
        assert browser.get("/api/v1/session").status_code == 401


def test_web_session_ends_after_its_maximum_even_when_used(store_url: str) -> None:
    clock = Clock()
    with web_app(store_url, clock=clock) as app:
        browser, _csrf = login(app, store_url, "marie", "viewer")
        for _ in range(12 * 2):
            clock.now += 20 * 60
            if clock.now - NOW > 12 * 3600:
                break
            assert browser.get("/api/v1/session").status_code == 200
        clock.now = NOW + 12 * 3600 + 1
        assert browser.get("/api/v1/session").status_code == 401


def test_web_session_ends_when_user_disabled_or_password_changed(store_url: str) -> None:
    with web_app(store_url) as app:
        first, _ = login(app, store_url, "marie", "viewer")
        second, _ = login(app, store_url, "paul", "viewer")
        store = open_store(store_url)
        try:
            set_password(store.db, "marie", "a brand new password", now=NOW)
            disable_user(store.db, "paul", now=NOW)
        finally:
            store.close()
        assert first.get("/api/v1/session").status_code == 401
        assert second.get("/api/v1/session").status_code == 401


def test_web_logout_ends_the_session_server_side(store_url: str) -> None:
    with web_app(store_url) as app:
        browser, csrf = login(app, store_url, "marie", "viewer")
        cookie = browser.cookies.get("hameau_session")
        assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        replay = client(app)
        replay.cookies.set("hameau_session", cookie)
        assert replay.get("/api/v1/session").status_code == 401


def test_web_unsafe_request_without_or_with_wrong_csrf_is_refused(store_url: str) -> None:
    with web_app(store_url) as app:
        browser, csrf = login(app, store_url, "marie", "viewer")
        assert browser.delete("/api/v1/session").status_code == 403
        assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf[:-1] + "x"}).status_code == 403
        assert browser.post("/logout", data={"csrf": "nope"}).status_code == 403
        assert browser.get("/api/v1/session").status_code == 200  # none of them logged out
        cross = browser.post("/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        assert browser.post("/logout", data={"csrf": csrf}, headers={"Origin": "http://testserver"}).status_code == 303


def test_web_api_without_login_is_401_and_page_redirects_to_login(store_url: str) -> None:
    with web_app(store_url) as app:
        anonymous = client(app)
        assert anonymous.get("/api/v1/session").status_code == 401
        answer = anonymous.post("/logout", data={})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_web_answers_carry_security_headers(store_url: str) -> None:
    with web_app(store_url) as app:
        answer = client(app).get("/login")
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"


def test_web_plain_http_beyond_loopback_is_refused() -> None:
    check_transport("127.0.0.1", WebSettings())
    check_transport("::1", WebSettings())
    for host in ("0.0.0.0", "192.168.1.10", "mairie.example"):
        with pytest.raises(FleetConfigError, match="refusing plain HTTP"):
            check_transport(host, WebSettings())
    assert parse_http("[::1]:8443") == ("::1", 8443)
    for bad in ("8080", "host:", "host:0", "host:65536", ":80"):
        with pytest.raises(FleetConfigError, match="HOST:PORT"):
            parse_http(bad)


def test_web_settings_errors_name_file_key_reason() -> None:
    cases = (
        ("session_idle_min = 0", "session_idle_min", "must be within"),
        ("login_failures_per_user = 2.5", "login_failures_per_user", "must be an integer"),
        ("password_hash_memory_mib = 8", "password_hash_memory_mib", "must be within 19..4096"),
        ('tls_cert_file = "cert.pem"', "tls_key_file", "go together"),
        ('behind_tls_proxy = "yes"', "behind_tls_proxy", "true or false"),
        ('colour = "green"', "colour", "unknown key"),
    )
    for line, key, reason in cases:
        with pytest.raises(FleetConfigError) as caught:
            parse_settings(tomllib.loads(f"[web]\n{line}\n"), "fleet.toml")
        assert f"fleet.toml: [web] {key}: " in str(caught.value) and reason in str(caught.value)


def test_web_sessions_table_holds_no_usable_cookie(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    with web_app(url) as app:
        browser, _csrf = login(app, url, "marie", "viewer")
        cookie = browser.cookies.get("hameau_session")
    rows = sqlite3.connect(tmp_path / "fleet.db").execute("SELECT token_hash FROM web_sessions").fetchall()
    assert len(rows) == 1 and cookie not in rows[0][0] and len(rows[0][0]) == 64


def test_web_admin_adds_a_user_who_logs_in_then_disables_them(store_url: str) -> None:
    with web_app(store_url) as app:
        admin, csrf = login(app, store_url, "maire", "admin")
        added = admin.post("/api/v1/users", headers={"X-CSRF-Token": csrf},
                           json={"name": "agent", "role": "technician", "password": "a long enough one"})
        assert added.status_code == 201 and added.json()["role"] == "technician"
        assert "password" not in added.text and "argon2" not in admin.get("/api/v1/users").text
        agent = client(app)
        assert agent.post("/api/v1/session", json={"username": "agent", "password": "a long enough one"}
                          ).status_code == 201
        assert admin.post("/api/v1/users", headers={"X-CSRF-Token": csrf},
                          json={"name": "agent", "role": "viewer", "password": "another long one"}).status_code == 409
        assert admin.post("/api/v1/users", headers={"X-CSRF-Token": csrf},
                          json={"name": "x", "role": "mayor", "password": "another long one"}).status_code == 400
        assert admin.delete("/api/v1/users/maire", headers={"X-CSRF-Token": csrf}).status_code == 409
        assert admin.delete("/api/v1/users/agent", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert agent.get("/api/v1/session").status_code == 401


def test_web_login_upgrades_a_cheaper_hash_to_the_settings_cost(store_url: str) -> None:
    add_login(store_url, "marie", "viewer")  # hashed at 19 MiB, 2 passes
    with web_app(store_url, FleetSettings()) as app:  # the default cost
        assert client(app).post("/api/v1/session", json={"username": "marie", "password": PASSWORD}
                                ).status_code == 201
    store = open_store(store_url)
    try:
        stored = store.db.scalar("SELECT password_hash FROM users WHERE name = 'marie'")
    finally:
        store.close()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PasswordHasher().verify(stored, PASSWORD)
