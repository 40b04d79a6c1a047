"""The inhabitants' report form through the app (TestClient): a report taken, linked to the box and shown to the
service; each refusal answered with a French sentence and counted; the limits per address (429, Retry-After);
a technician closing it (alarm cleared, "fixed" e-mail queued to the inhabitant, address erased); a viewer may
not close; the inhabitant's e-mail appears in no answer."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from web_helpers import NOW, Clock, client, login, web_app

from fleet.registry.devices import add_device
from fleet.settings import parse_settings
from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.model import parse_outline
from tests.web_seed import desire, hall_tables

SQUARE = json.dumps({"type": "Polygon", "coordinates": [[[4.9, 44.95], [5.1, 44.95], [5.1, 45.1], [4.9, 45.1],
                                                         [4.9, 44.95]]]})
EMAIL = "marie.dupont@example.org"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM = {"kind": "light_out", "street": "", "latitude": "45.001", "longitude": "5.0", "description": "Rue sombre",
        "email": "", "answer": "  CINQ ", "website": ""}


@pytest.fixture
def url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    found = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(found)
    try:
        create_commune(store.db, new_commune("aubin", "Saint-Aubin", now=0.0))
        update_commune(store.db, "aubin", outline=parse_outline(SQUARE, "test"),
                       report_question="Combien font deux et trois ?", report_answer="cinq")
        create_commune(store.db, new_commune("other", "Autre", now=0.0))
        create_commune(store.db, new_commune("closed", "Fermée", now=0.0))
        update_commune(store.db, "closed", public_page=False)
        add_device(store.db, "box-a", "Mairie", now=0.0, latitude=45.0, longitude=5.0, commune="aubin")
        desire(store.db, "box-a", hall_tables())
    finally:
        store.close()
    return found


def _text(answer) -> str:  # type: ignore[no-untyped-def]
    """An answer's text as read (entities such as &#39; unescaped)."""
    return html.unescape(answer.text)


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return found.group(1)


def _send(browser: TestClient, clock: Clock, *, wait_s: float = 5.0, photo: bytes | None = None,
          **changes: str):  # type: ignore[no-untyped-def]
    form = browser.get("/c/aubin/report")
    assert form.status_code == 200, form.text[:300]
    clock.now += wait_s
    data = {**FORM, "token": _token(form.text), **changes}
    files = {"photo": ("photo.png", photo, "image/png")} if photo is not None else None
    return browser.post("/c/aubin/report", data=data, files=files)


def _rows(url: str, sql: str) -> list[tuple]:
    store = open_store(url)
    try:
        return store.db.query(sql)
    finally:
        store.close()


def test_report_form_is_french_with_no_inline_script_or_style(url: str) -> None:
    with web_app(url) as app:
        page = client(app).get("/c/aubin/report")
        assert page.status_code == 200
        assert "Qu'avez-vous vu" in _text(page) and "Combien font deux et trois ?" in page.text
        assert 'id="report-map"' in page.text and "<polygon" in page.text  # the outline to tap on
        assert "style=" not in page.text and "<style" not in page.text and " on" + "click" not in page.text
        assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/report.js" defer>']
        assert client(app).get("/static/report.js").status_code == 200
        for missing in ("/c/nowhere/report", "/c/closed/report", "/c/BAD!/report"):
            answer = client(app).get(missing)
            assert answer.status_code == 404 and "Cette page n'existe pas" in _text(answer), missing


def test_report_taken_linked_and_status_shows_only_kind_day_and_state(url: str) -> None:
    clock = Clock()
    with web_app(url, clock=clock) as app:
        sent = _send(client(app), clock, photo=PNG, email=EMAIL)
        assert sent.status_code == 303, sent.text[:500]
        ticket = re.fullmatch(r"/c/aubin/report/([0-9a-f]{32})\?merci=1", sent.headers["location"]).group(1)
        status = client(app).get(sent.headers["location"])
        assert status.status_code == 200 and ticket in status.text and "Merci" in status.text
        assert "Un lampadaire éteint la nuit" in status.text and "15/06/2026" in status.text
        assert "En cours de traitement" in status.text
        assert EMAIL not in status.text and "Rue sombre" not in status.text and "box-a" not in status.text
        assert client(app).get(f"/c/other/report/{ticket}").status_code == 404  # another commune's page
        viewer, _ = login(app, url, "val", "viewer")
        (listed,) = viewer.get("/api/v1/reports").json()
        # 0.001 deg north of box-a: 111.2 m (R * 0.001 deg).
        assert (listed["device"], listed["circuit"], round(listed["distance_m"])) == ("box-a", "street-main", 111)
        assert listed["asked_notice"] is True and listed["has_photo"] is True
        photo = viewer.get(f"/reports/{ticket}/photo")
        assert (photo.content, photo.headers["content-type"], photo.headers["x-content-type-options"]) == (
            PNG, "image/png", "nosniff")
        alarms = viewer.get("/api/v1/alarms").json()
        assert [(a["device"], a["kind"], a["source"], a["severity"]) for a in alarms] == [
            ("box-a", "report", ticket, "warning")]


@pytest.mark.parametrize(("changes", "wait_s", "photo", "status", "words", "reason"), [
    ({"answer": "six"}, 5.0, None, 400, "La réponse à la question n'est pas la bonne", "wrong_answer"),
    ({"website": "http://spam.example"}, 5.0, None, 400, "rempli par un robot", "honeypot"),
    ({}, 1.0, None, 400, "Formulaire envoyé trop vite", "too_fast"),
    ({}, 2 * 3600.0 + 1, None, 400, "Ce formulaire a expiré", "stale"),
    ({"token": "123.forged"}, 5.0, None, 400, "n'a pas été servi par ce site", "token"),
    ({"latitude": "45.2", "longitude": "5.0"}, 5.0, None, 400, "en dehors de la commune", "outside"),
    ({}, 5.0, b"GIF89a" + b"\x00" * 32, 400, "JPEG, PNG ou WebP", "photo_type"),
    ({}, 5.0, b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), 413, "La photo dépasse 5 Mo", "photo_size"),
    ({"kind": "fire"}, 5.0, None, 400, "Choisissez ce que vous avez vu", "malformed"),
    ({"latitude": "", "longitude": ""}, 5.0, None, 400, "Indiquez où", "no_place"),
])
def test_report_refusal_is_a_french_page_and_is_counted(url: str, changes: dict, wait_s: float,
                                                        photo: bytes | None, status: int, words: str,
                                                        reason: str) -> None:
    clock = Clock()
    with web_app(url, clock=clock) as app:
        answer = _send(client(app), clock, wait_s=wait_s, photo=photo, email=EMAIL, **changes)
        assert answer.status_code == status, answer.text[:300]
        assert words in _text(answer) and "Traceback" not in answer.text
        assert 'name="token"' in answer.text  # the form again, to try once more
    assert _rows(url, "SELECT count(*) FROM reports") == [(0,)]
    assert _rows(url, "SELECT reason FROM report_attempts") == [(reason,)]


def test_report_body_the_parser_refuses_is_malformed_and_counted(url: str) -> None:
    with web_app(url) as app:
        two = {"photo": ("a.png", PNG, "image/png"), "photo2": ("b.png", PNG, "image/png")}  # one file at most
        answer = client(app).post("/c/aubin/report", data={"kind": "light_out"}, files=two)
        assert answer.status_code == 400 and "Le formulaire reçu est illisible" in _text(answer)
    assert _rows(url, "SELECT reason FROM report_attempts") == [("malformed",)]


def test_report_limit_per_address_answers_429_with_retry_after(url: str) -> None:
    clock = Clock()
    with web_app(url, clock=clock) as app:
        browser = client(app)
        for _ in range(3):  # reports at NOW+5, NOW+10, NOW+15
            assert _send(browser, clock).status_code == 303
        fourth = _send(browser, clock)  # at NOW+20: the first leaves the hour at NOW+3605, 3585 s later
        assert fourth.status_code == 429 and "Trop de signalements" in fourth.text
        assert int(fourth.headers["retry-after"]) == 3585 + 1
        other = TestClient(app, base_url="http://testserver", follow_redirects=False, client=("192.0.2.7", 5000))
        assert _send(other, clock).status_code == 303  # another address is not held back
        clock.now += 3586 - 5
        assert _send(browser, clock).status_code == 303
    assert _rows(url, "SELECT count(*) FROM reports") == [(5,)]


def test_close_by_technician_queues_the_e_mail_and_erases_the_address(url: str) -> None:
    clock = Clock()
    with web_app(url, clock=clock) as app:
        sent = _send(client(app), clock, photo=PNG, email=EMAIL)
        ticket = sent.headers["location"].split("/")[-1].split("?")[0]
        tech, csrf = login(app, url, "tina", "technician")
        page = tech.get(f"/reports/{ticket}")
        assert page.status_code == 200 and "street-main" in page.text and "<svg" in page.text
        assert "Close the report" in page.text and "lux-roof" in page.text  # the lux sensor of the evidence
        refused = tech.post(f"/reports/{ticket}/close", data={"csrf": csrf, "note": "  "})
        assert refused.status_code == 400 and "note is required" in refused.text
        clock.now += 600
        closed = tech.post(f"/reports/{ticket}/close", data={"csrf": csrf, "note": "lampe changée"})
        assert closed.status_code == 303 and closed.headers["location"] == f"/reports/{ticket}?closed=1"
        seen = [client(app).get(f"/c/aubin/report/{ticket}"), tech.get("/reports"), tech.get(f"/reports/{ticket}"),
                tech.get("/api/v1/reports"), tech.get(f"/api/v1/reports/{ticket}"), tech.get("/alarms?show=all"),
                tech.get("/api/v1/alarms")]
        assert "Réparé" in seen[0].text, seen[0].text[-800:]
        detail = seen[4].json()
        assert (detail["state"], detail["closed_by"], detail["note"]) == ("closed", "tina", "lampe changée")
        assert detail["notified_at"] == NOW + 5 + 600 and detail["asked_notice"] is True
        alarm = seen[6].json()[0]
        assert (alarm["state"], alarm["cleared_by"]) == ("cleared", "tina")
        for answer in seen:
            assert answer.status_code == 200 and EMAIL not in answer.text and "client_hash" not in answer.text
        again = tech.post(f"/api/v1/reports/{ticket}/close", json={"note": "again"}, headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409
    assert _rows(url, "SELECT channel, target, kind FROM notify_outbox") == [("email", EMAIL, "report_fixed")]
    assert _rows(url, "SELECT email, state FROM reports") == [(None, "closed")]


def test_viewer_cannot_close_and_another_commune_cannot_see(url: str) -> None:
    clock = Clock()
    with web_app(url, clock=clock) as app:
        ticket = _send(client(app), clock, photo=PNG).headers["location"].split("/")[-1].split("?")[0]
        viewer, csrf = login(app, url, "vic", "viewer")
        assert viewer.post(f"/reports/{ticket}/close", data={"csrf": csrf, "note": "x"}).status_code == 403
        assert viewer.post(f"/api/v1/reports/{ticket}/close", json={"note": "x"},
                           headers={"X-CSRF-Token": csrf}).status_code == 403
        store = open_store(url)
        try:
            set_members(store.db, "other", "user", ["vic"])
        finally:
            store.close()
        for path in (f"/reports/{ticket}", f"/reports/{ticket}/photo", f"/api/v1/reports/{ticket}"):
            assert viewer.get(path).status_code == 404, path
        assert viewer.get("/api/v1/reports").json() == []
    assert _rows(url, "SELECT state FROM reports") == [("open",)]


def test_report_limit_behind_our_proxy_counts_the_address_it_saw(url: str) -> None:
    settings = parse_settings({"web": {"password_hash_memory_mib": 19, "password_hash_iterations": 2,
                                       "behind_tls_proxy": True}}, "tests")
    clock = Clock()
    with web_app(url, settings=settings, clock=clock) as app:
        proxy = TestClient(app, base_url="http://testserver", follow_redirects=False, client=("127.0.0.1", 4000))

        def send(forwarded: str) -> int:
            proxy.headers["X-Forwarded-For"] = forwarded
            return _send(proxy, clock).status_code

        assert [send("198.51.100.1") for _ in range(3)] == [303, 303, 303]
        assert send("203.0.113.9, 198.51.100.1") == 429  # what the sender wrote first is not believed
        assert send("198.51.100.2") == 303  # another inhabitant behind the same proxy is not held back
