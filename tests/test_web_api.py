"""The JSON API on both engines: boxes with their health, alarms listed and acknowledged, commands queued with the
CLI's own checks; refusals are JSON `{"detail": ...}` with 400/404/409; the OpenAPI document describes every
/api/v1 route's answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_helpers import NOW, client, login, web_app

from fleet import protocol
from fleet.alarms.model import Raise
from fleet.alarms.table import apply_raise
from fleet.registry.devices import add_device
from fleet.store import open_store
from fleet.web.app import route_table


@pytest.fixture
def fleet(store_url: str) -> Iterator[tuple[FastAPI, str, dict[str, str]]]:
    store = open_store(store_url)
    try:
        add_device(store.db, "box-a", "Mairie", now=NOW - 86400, latitude=45.19, longitude=5.72)
        add_device(store.db, "box-b", "École", now=NOW - 86400)
        store.store_status(protocol.Status("box-a", "online", "b1", "1.0", None, NOW - 3600), NOW - 3600)
        with store.db.transaction():
            leak = apply_raise(store.db, "box-a", Raise(
                kind="leak", source="leak-main", severity="critical", message="night flow 40 L/h",
                evidence={"min_flow_lph": 40.0}, at=NOW - 7200, order=3.0, box_ref="leak-main/night_flow"))
            offline = apply_raise(store.db, "box-b", Raise(
                kind="offline", source="fleet", severity="warning", message="offline", evidence={}, at=NOW - 600,
                order=NOW - 600))
    finally:
        store.close()
    with web_app(store_url) as app:
        yield app, store_url, {"leak": leak, "offline": offline}


def test_api_devices_lists_boxes_with_health(fleet: tuple[FastAPI, str, dict[str, str]]) -> None:
    app, url, _ = fleet
    viewer, _ = login(app, url, "vera", "viewer")
    answer = viewer.get("/api/v1/devices")
    assert answer.status_code == 200
    boxes = {box["device"]: box for box in answer.json()}
    assert list(boxes) == ["box-a", "box-b"]
    assert (boxes["box-a"]["site"], boxes["box-a"]["latitude"], boxes["box-a"]["longitude"]) == ("Mairie", 45.19, 5.72)
    assert (boxes["box-a"]["state"], boxes["box-a"]["since"], boxes["box-a"]["open_alarms"]) == ("online", NOW - 3600, 1)
    assert (boxes["box-b"]["state"], boxes["box-b"]["last_seen"], boxes["box-b"]["open_alarms"]) == ("never seen", None, 1)
    detail = viewer.get("/api/v1/devices/box-a").json()
    assert [(a["kind"], a["severity"], a["evidence"]) for a in detail["alarms"]] == [
        ("leak", "critical", {"min_flow_lph": 40.0})]
    missing = viewer.get("/api/v1/devices/box-z")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no device 'box-z'"})


def test_api_alarms_filter_by_state_and_device(fleet: tuple[FastAPI, str, dict[str, str]]) -> None:
    app, url, ids = fleet
    viewer, _ = login(app, url, "vera", "viewer")
    assert [a["id"] for a in viewer.get("/api/v1/alarms").json()] == [ids["leak"], ids["offline"]]
    assert [a["id"] for a in viewer.get("/api/v1/alarms?device=box-b&state=open").json()] == [ids["offline"]]
    assert viewer.get("/api/v1/alarms?state=cleared").json() == []
    bad = viewer.get("/api/v1/alarms?state=shut")
    assert bad.status_code == 422 and "state" in bad.json()["detail"]


def test_api_ack_records_the_user_and_tells_the_box(fleet: tuple[FastAPI, str, dict[str, str]]) -> None:
    app, url, ids = fleet
    viewer, viewer_csrf = login(app, url, "vera", "viewer")
    assert viewer.post(f"/api/v1/alarms/{ids['leak']}/ack", headers={"X-CSRF-Token": viewer_csrf}).status_code == 403
    tech, csrf = login(app, url, "tom", "technician")
    assert tech.post(f"/api/v1/alarms/{ids['leak']}/ack", json={}).status_code == 403  # no CSRF token
    answer = tech.post(f"/api/v1/alarms/{ids['leak']}/ack", json={"note": "plumber called"},
                       headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert (done["alarm"]["acked_by"], done["alarm"]["acked_at"], done["alarm"]["ack_note"]) == (
        "tom", NOW, "plumber called")
    commands = tech.get("/api/v1/devices/box-a/commands").json()
    assert [(c["id"], c["action"], c["args"], c["state"]) for c in commands] == [
        (done["command_id"], "ack_alarm", {"key": "leak-main/night_flow", "by": "fleet:tom"}, "pending")]
    again = tech.post(f"/api/v1/alarms/{ids['leak']}/ack", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and again.json() == {"detail": f"alarm {ids['leak']} was already acknowledged by tom"}
    missing = tech.post("/api/v1/alarms/0123456789abcdef/ack", headers={"X-CSRF-Token": csrf})
    assert (missing.status_code, missing.json()) == (404, {"detail": "no alarm '0123456789abcdef'"})


def post_command(browser: TestClient, csrf: str, body: dict[str, object], device: str = "box-a"):  # type: ignore[no-untyped-def]
    return browser.post(f"/api/v1/devices/{device}/commands", json=body, headers={"X-CSRF-Token": csrf})


def test_api_commands_queue_with_the_cli_checks(fleet: tuple[FastAPI, str, dict[str, str]]) -> None:
    app, url, _ = fleet
    tech, csrf = login(app, url, "tom", "technician")
    answer = post_command(tech, csrf, {"action": "override", "relay": "street-lights", "state": "on", "for": "2h",
                                       "reason": "fête du village"})
    assert answer.status_code == 201, answer.text
    command = answer.json()
    assert (command["device"], command["action"], command["state"], command["created_by"]) == (
        "box-a", "override", "pending", "tom")
    assert command["args"] == {"relay": "street-lights", "state": "on", "duration_s": 7200.0,
                               "reason": "fête du village"}
    assert (command["created_at"], command["expires_at"]) == (NOW, NOW + 600)  # the CLI's 10 min default
    status = post_command(tech, csrf, {"action": "status", "ttl": "1h"})
    assert status.status_code == 201 and status.json()["expires_at"] == NOW + 3600
    listed = tech.get("/api/v1/devices/box-a/commands?state=pending").json()
    assert {c["id"] for c in listed} == {command["id"], status.json()["id"]}
    for body, code, detail in (
        ({"action": "override", "state": "on"}, 400, "override: give relay, for"),
        ({"action": "override", "relay": "r", "state": "on", "for": "2 parsecs"}, 400, "for: "),
        ({"action": "override", "relay": "r", "state": "on", "for": "8d"}, 400, "7 days"),
        ({"action": "status", "ttl": "8d"}, 400, "7 days"),
        ({"action": "ack-alarm"}, 400, "ack-alarm: give alarm"),
        ({"action": "reboot"}, 422, "action"),
        ({"action": "status", "user": "mallory"}, 422, "user"),
    ):
        refused = post_command(tech, csrf, body)
        assert refused.status_code == code and detail in refused.json()["detail"], (body, refused.text)
    missing = post_command(tech, csrf, {"action": "status"}, device="box-z")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no device 'box-z'"})
    assert len(tech.get("/api/v1/devices/box-a/commands").json()) == 2  # nothing refused was queued
    viewer, viewer_csrf = login(app, url, "vera", "viewer")
    assert post_command(viewer, viewer_csrf, {"action": "status"}).status_code == 403


def test_api_openapi_describes_every_route_answer(fleet: tuple[FastAPI, str, dict[str, str]]) -> None:
    app, url, _ = fleet
    assert client(app).get("/api/v1/openapi.json").status_code == 401
    viewer, _ = login(app, url, "vera", "viewer")
    document = viewer.get("/api/v1/openapi.json").json()
    routes = [r for r in route_table(app.routes)
              if isinstance(r, APIRoute) and r.path.startswith("/api/v1/") and r.include_in_schema]
    assert len(routes) >= 9
    for route in routes:
        for method in route.methods - {"HEAD"}:
            operation = document["paths"][route.path][method.lower()]
            answers = {code: spec for code, spec in operation["responses"].items() if code.startswith("2")}
            assert answers, f"{method} {route.path}: no success answer described"
            for code, spec in answers.items():
                if code != "204":
                    assert any(c.get("schema") for c in spec.get("content", {}).values()), f"{method} {route.path}"
    schemas = document["components"]["schemas"]
    assert {"DeviceOut", "DeviceDetailOut", "AlarmOut", "AckOut", "CommandIn", "CommandOut", "SeriesOut",
            "ErrorOut"} <= set(schemas)
    ok = document["paths"]["/api/v1/devices"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"type": "array", "items": {"$ref": "#/components/schemas/DeviceOut"},
                  "title": "Response Devices Api V1 Devices Get"}
    ack = document["paths"]["/api/v1/alarms/{id}/ack"]["post"]["responses"]
    assert ack["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    csv_ = document["paths"]["/api/v1/devices/{device}/series.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv_) == ["text/csv"]
