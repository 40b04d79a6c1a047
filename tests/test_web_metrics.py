"""`/metrics` on both engines: the Prometheus exposition, parsed back, holds the counts seeded in the store, and
the route answers a viewer or the configured bearer token only."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_helpers import NOW, Clock, client, login, web_app

from fleet import protocol
from fleet.alarms.model import Clear, Raise
from fleet.alarms.table import apply_clear, apply_raise
from fleet.commands.queue import enqueue
from fleet.registry.devices import add_device, revoke_device
from fleet.settings import FleetSettings
from fleet.store import SqlStore, open_store
from fleet.web.metrics import render_metrics
from fleet.web.settings import WebSettings
from tests.fleet_export_data import store_readings

TOKEN = "s3cret-token-for-prometheus"


def status(store: SqlStore, device: str, state: str, at: float) -> None:
    store.store_status(protocol.Status(device, state, "b1", "1.0", None, at), at)


def raise_alarm(store: SqlStore, device: str, kind: str, severity: str, source: str = "fleet") -> str:
    with store.db.transaction():
        return apply_raise(store.db, device, Raise(kind=kind, source=source, severity=severity, message=kind,
                                                   evidence={}, at=NOW - 600, order=NOW - 600))


def seed(url: str) -> None:
    store = open_store(url)
    try:
        for device in ("box-a", "box-b", "box-c"):
            add_device(store.db, device, f"site {device}", now=NOW - 86400)
        revoke_device(store.db, "box-c", now=NOW - 3600)
        # box-a: 3 readings, then the same batch again (3 resent); box-b: 2 readings. 3 batches in all.
        store_readings(store, [(NOW - 900 + i, "hall", "temperature_c", 20.0) for i in range(3)])
        store_readings(store, [(NOW - 900 + i, "hall", "temperature_c", 20.0) for i in range(3)])
        store_readings(store, [(NOW - 800 + i, "hall", "temperature_c", 20.0) for i in range(2)], device="box-b")
        status(store, "box-a", "online", NOW - 30)  # last heard of 30 s ago
        status(store, "box-b", "offline", NOW - 7200)  # its last will, 2 h ago
        status(store, "box-c", "online", NOW - 10)  # revoked: neither online nor aged
        status(store, "box-x", "online", NOW - 5)  # heard of, not registered
        for device, reason in (("box-a", "schema"), ("box-a", "schema"), ("box-b", "schema"), ("", "unknown_device")):
            store.count_reject(device, reason, "detail", NOW - 60)
        raise_alarm(store, "box-a", "leak", "critical")
        acked = raise_alarm(store, "box-a", "burst", "critical")
        store.db.execute("UPDATE alarms SET acked_by = 'ann', acked_at = ? WHERE id = ?", (NOW - 100, acked))
        raise_alarm(store, "box-b", "offline", "warning")
        raise_alarm(store, "box-b", "sensor_fault", "warning", source="hall")
        with store.db.transaction():
            apply_clear(store.db, "box-b", Clear(kind="sensor_fault", source="hall", at=NOW - 300, order=NOW - 300,
                                                 by="box"))
        store.db.executemany(
            "INSERT INTO notify_outbox (id, channel, target, kind, alarm_ids, subject, body, state, attempts,"
            " next_attempt_at, created_at) VALUES (?,?,'t','opened','[]','s','b',?,?,0,0)",
            [("n1", "email", "pending", 0), ("n2", "email", "pending", 2), ("n3", "email", "sent", 1),
             ("n4", "webhook", "failed", 5), ("n5", "webhook", "failed", 5)])
        ids = [enqueue(store.db, "box-a", "status", {}, created_by="ann", now=NOW - 50, ttl_s=600) for _ in range(3)]
        store.db.execute("UPDATE commands SET state = 'done' WHERE id = ?", (ids[0],))
    finally:
        store.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_exposition_holds_the_seeded_counts(store_url: str) -> None:
    seed(store_url)
    store = open_store(store_url)
    try:
        text = render_metrics(store.db, NOW).decode()
    finally:
        store.close()
    got = samples(text)
    expected = {
        ("hameau_fleet_records_ingested_total", ()): 5,
        ("hameau_fleet_records_resent_total", ()): 3,
        ("hameau_fleet_batches_total", ()): 3,
        ("hameau_fleet_rejects_total", (("reason", "schema"),)): 3,
        ("hameau_fleet_rejects_total", (("reason", "unknown_device"),)): 1,
        ("hameau_fleet_devices_registered", ()): 2,
        ("hameau_fleet_devices_known", ()): 4,
        ("hameau_fleet_devices_online", ()): 2,  # box-a and box-x (heard of, online); box-c is revoked
        ("hameau_fleet_device_last_contact_age_seconds", (("device", "box-a"),)): 30,
        ("hameau_fleet_device_last_contact_age_seconds", (("device", "box-b"),)): 7200,
        ("hameau_fleet_device_last_contact_age_seconds", (("device", "box-x"),)): 5,
        ("hameau_fleet_alarms_open", (("kind", "burst"), ("severity", "critical"))): 1,
        ("hameau_fleet_alarms_open", (("kind", "leak"), ("severity", "critical"))): 1,
        ("hameau_fleet_alarms_open", (("kind", "offline"), ("severity", "warning"))): 1,
        ("hameau_fleet_alarms_open_unacknowledged", (("severity", "critical"),)): 1,
        ("hameau_fleet_alarms_open_unacknowledged", (("severity", "warning"),)): 1,
        ("hameau_fleet_alarms_open_unacknowledged", (("severity", "info"),)): 0,
        ("hameau_fleet_notifications", (("channel", "email"), ("state", "pending"))): 2,
        ("hameau_fleet_notifications", (("channel", "email"), ("state", "sent"))): 1,
        ("hameau_fleet_notifications", (("channel", "email"), ("state", "failed"))): 0,
        ("hameau_fleet_notifications", (("channel", "webhook"), ("state", "pending"))): 0,
        ("hameau_fleet_notifications", (("channel", "webhook"), ("state", "sent"))): 0,
        ("hameau_fleet_notifications", (("channel", "webhook"), ("state", "failed"))): 2,
        ("hameau_fleet_notification_failures", (("channel", "email"),)): 0,
        ("hameau_fleet_notification_failures", (("channel", "webhook"),)): 2,
        ("hameau_fleet_notifications_retrying", (("channel", "email"),)): 1,
        ("hameau_fleet_notifications_retrying", (("channel", "webhook"),)): 0,
        ("hameau_fleet_commands", (("state", "done"),)): 1,
        ("hameau_fleet_commands", (("state", "pending"),)): 2,
        ("hameau_fleet_commands", (("state", "sent"),)): 0,
        ("hameau_fleet_commands", (("state", "expired"),)): 0,
    }
    assert {key: got.get(key) for key in expected} == expected
    assert {name for name, _ in got} == {name for name, _ in expected}
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert types["hameau_fleet_records_ingested"] == "counter" and types["hameau_fleet_rejects"] == "counter"
    assert types["hameau_fleet_devices_online"] == "gauge"


def test_metrics_of_an_empty_store_are_zero(store_url: str) -> None:
    store = open_store(store_url)
    try:
        got = samples(render_metrics(store.db, NOW).decode())
    finally:
        store.close()
    assert got[("hameau_fleet_records_ingested_total", ())] == 0
    assert got[("hameau_fleet_devices_online", ())] == 0
    assert not [key for key in got if key[0] in ("hameau_fleet_rejects_total", "hameau_fleet_alarms_open")]


def test_metrics_route_answers_a_viewer_or_the_bearer_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    seed(url)
    token_file = tmp_path / "metrics.token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    settings = FleetSettings(web=WebSettings(metrics_token_file=token_file))
    with web_app(url, settings, Clock(NOW + 70)) as app:
        anonymous = client(app)
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        scraped = anonymous.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
        got = samples(scraped.text)
        assert got[("hameau_fleet_device_last_contact_age_seconds", (("device", "box-a"),))] == 100
        viewer, _ = login(app, url, "vera", "viewer")
        assert samples(viewer.get("/metrics").text)[("hameau_fleet_records_ingested_total", ())] == 5


@pytest.mark.parametrize("role", ["viewer"])
def test_metrics_route_without_token_file_needs_a_session(tmp_path: Path, role: str) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    with web_app(url) as app:
        assert client(app).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
        browser, _ = login(app, url, "vera", role)
        assert browser.get("/metrics").status_code == 200
