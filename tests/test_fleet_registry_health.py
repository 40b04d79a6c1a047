"""`hameau-fleet devices list|show`: each box's health from what the ingest, configs and alarms stored (both engines).

The scenario is written here: batches and status messages go through the real store; config reports and
alarms are rows of their contract tables (device_configs, alarms) inserted with plain SQL.
"""

from __future__ import annotations

import json

import pytest
from fleet_batches import T0, raw_range, thinned, up_payload

from fleet import protocol
from fleet.cli import main
from fleet.registry.devices import add_device, list_devices, revoke_device
from fleet.registry.groups import create_group
from fleet.registry.health import device_health
from fleet.store import open_store

RECEIVED = T0 + 3600.0


def batch(device: str, lane: str, after: int, records: list) -> protocol.Batch:
    return protocol.parse_batch(device, up_payload(lane, after, records, device=device))


def status(device: str, state: str, at: float, config_version: int | None = None) -> protocol.Status:
    return protocol.Status(device, state, "b1", "1.0", config_version, at)


def alarm(db, device: str, kind: str, state: str, n: int) -> None:
    db.execute(
        "INSERT INTO alarms (id, device, kind, source, severity, state, first_seen, last_seen, message, evidence,"
        " order_first, order_last) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (f"a{n}", device, kind, f"src-{n}", "warning", state, RECEIVED, RECEIVED, kind, "{}", RECEIVED, RECEIVED),
    )


@pytest.fixture
def fleet(store_url: str):
    """Four registered boxes and one stranger, in the states the tests read back."""
    store = open_store(store_url)
    db = store.db
    create_group(db, "commune-a", now=T0)
    for device in ("box-on", "box-off", "box-new", "box-gone"):
        add_device(db, device, f"Site {device}", now=T0, groups=["commune-a"] if device != "box-new" else [])
    # box-on: raw 1..10 received at +0, raw 11..12 at +100 (box time T0 + 12, the newest record), then two
    # thinned reports (5 + 7; box time T0 + 2) received last, at +150.
    store.store_batch(batch("box-on", "raw", 0, raw_range(1, 10)), RECEIVED)
    store.store_status(status("box-on", "online", T0, config_version=3), RECEIVED + 10)
    store.store_status(status("box-on", "online", T0 + 60, config_version=3), RECEIVED + 70)  # still since +10
    store.store_batch(batch("box-on", "raw", 10, raw_range(11, 12)), RECEIVED + 100)
    store.store_batch(batch("box-on", "event", 0, [
        thinned(1, lane="raw", seq_from=100, seq_to=104, count=5),
        thinned(2, lane="raw", seq_from=200, seq_to=206, count=7)]), RECEIVED + 150)
    # box-off: online, then its last will.
    store.store_status(status("box-off", "online", T0), RECEIVED + 5)
    store.store_status(status("box-off", "offline", T0 + 1), RECEIVED + 900)
    # box-gone: seen, then revoked. stranger: seen, never registered.
    store.store_status(status("box-gone", "online", T0), RECEIVED)
    store.store_status(status("stranger", "online", T0), RECEIVED)
    revoke_device(db, "box-gone", now=RECEIVED + 1000)
    with db.transaction() as conn:
        conn.execute("INSERT INTO device_configs (device, desired_version, desired_at, desired_by, inputs,"
                     " reported_version, reported_state, reported_at) VALUES (?,?,?,?,?,?,?,?)",
                     ("box-on", 4, RECEIVED, "test", "[]", 3, "applied", RECEIVED))
        for n, (kind, state) in enumerate([("leak", "open"), ("sensor_fault", "open"), ("relay_feedback", "open"),
                                           ("storage_fault", "cleared"), ("offline", "cleared")]):
            alarm(conn, "box-on", kind, state, n)
        alarm(conn, "box-off", "offline", "open", 9)
    yield store
    store.close()


def test_fleet_registry_health_of_each_state(fleet) -> None:
    health = {h.device: h for h in device_health(fleet.db, list_devices(fleet.db))}
    assert list(health) == ["box-gone", "box-new", "box-off", "box-on"]  # the stranger is not registered
    on = health["box-on"]
    assert (on.state, on.since, on.last_seen) == ("online", RECEIVED + 10, RECEIVED + 150)
    assert (on.last_record_at, on.last_record_ts) == (RECEIVED + 150, T0 + 12)
    assert (on.config_desired, on.config_reported, on.config_state) == (4, 3, "applied")
    assert (on.open_alarms, on.faults, on.thinned) == (3, 2, 12)
    off = health["box-off"]
    assert (off.state, off.since, off.last_record_at, off.open_alarms, off.faults) == (
        "offline", RECEIVED + 900, None, 1, 0)
    assert (off.config_desired, off.config_reported) == (None, None)
    new = health["box-new"]
    assert (new.state, new.since, new.last_seen, new.thinned, new.groups) == ("never seen", None, None, 0, ())
    gone = health["box-gone"]
    assert (gone.state, gone.since, gone.revoked_at) == ("revoked", RECEIVED + 1000, RECEIVED + 1000)


def test_fleet_registry_health_reported_version_falls_back_to_status(fleet) -> None:
    with fleet.db.transaction() as conn:
        conn.execute("DELETE FROM device_configs")
    [on] = device_health(fleet.db, [d for d in list_devices(fleet.db) if d.device == "box-on"])
    assert (on.config_desired, on.config_reported, on.config_state) == (None, 3, None)


def test_fleet_registry_health_list_cli_text_and_json(fleet, store_url: str, capsys) -> None:
    assert main(["devices", "list", "--db", store_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["DEVICE", "SITE", "STATE", "SINCE", "LAST", "RECORD", "CONFIG", "WANT/HAS", "ALARMS",
                                "FAULTS", "THINNED"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "never seen" in rows["box-new"] and "revoked" in rows["box-gone"]
    assert rows["box-on"].split()[-5:] == ["4/3", "applied", "3", "2", "12"]
    assert rows["box-on"].split()[3:6] == ["online", "2026-01-01", "01:00Z"]
    assert main(["devices", "list", "--group", "commune-a", "--json", "--db", store_url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["device"] for d in data] == ["box-gone", "box-off", "box-on"]
    assert data[2]["groups"] == ["commune-a"] and data[2]["open_alarms"] == 3 and data[2]["state"] == "online"


def test_fleet_registry_health_show_cli(fleet, store_url: str, capsys) -> None:
    assert main(["devices", "show", "box-off", "--db", store_url]) == 0
    out = capsys.readouterr().out
    assert "state: offline since 2026-01-01 01:15Z" in out and "groups: commune-a" in out
    assert main(["devices", "show", "box-new", "--json", "--db", store_url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["state"], data["last_record_at"], data["added_at"]) == ("never seen", None, T0)
    assert main(["devices", "show", "stranger", "--db", store_url]) == 2
    assert capsys.readouterr().err == "hameau-fleet devices show: device 'stranger' is not registered\n"
