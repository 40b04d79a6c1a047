"""Fleet alarms that the fleet decides or acts on: silence (a periodic job), acknowledgement by a named user
(sent to the box for the box's own alarm, and carried out there), the `alarms` commands, the settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_alarm_box import Box
from fleet_batches import T0, raw_range, up_payload

from edge.config.loader import load_config
from edge.link.commands import DONE, carry_out
from fleet import protocol
from fleet.alarms import AlarmObserver, parse_alarm_settings
from fleet.alarms.ack import AlarmError, acknowledge
from fleet.alarms.model import Alarm, AlarmSettings
from fleet.alarms.silence import check_silence
from fleet.alarms.table import list_alarms
from fleet.app import jobs, observers
from fleet.cli import main
from fleet.errors import FleetConfigError
from fleet.serve.jobs import JobContext
from fleet.settings import FleetSettings
from fleet.store import SqlStore, open_store

HOUR = 3600.0
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"


@pytest.fixture
def fleet(store_url: str) -> Iterator[SqlStore]:
    store = open_store(store_url, (AlarmObserver(),))
    yield store
    store.close()


def raw_batch(after: int, first: int, last: int, device: str = "box-a") -> protocol.Batch:
    return protocol.parse_batch(device, up_payload("raw", after, raw_range(first, last), device=device))


def alarms(fleet: SqlStore, **kwargs: object) -> list[Alarm]:
    return list_alarms(fleet.db, **kwargs)  # type: ignore[arg-type]


def add_user(fleet: SqlStore, name: str, role: str = "technician") -> None:
    fleet.db.execute("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, role, T0))


# -- silence ------------------------------------------------------------------------------------------


def test_fleet_alarms_silence_after_three_hours_then_records_clear_it(fleet: SqlStore) -> None:
    fleet.store_batch(raw_batch(0, 1, 5), T0)
    assert check_silence(fleet.db, T0 + 3 * HOUR - 1.0, 3 * HOUR) == []
    (opened,) = check_silence(fleet.db, T0 + 3 * HOUR + 1.0, 3 * HOUR)
    assert check_silence(fleet.db, T0 + 4 * HOUR, 3 * HOUR) == [], "still the same silent alarm"
    (silent,) = alarms(fleet, open_only=True)
    assert (silent.id, silent.kind, silent.source, silent.severity) == (opened, "silent", "fleet", "warning")
    assert silent.evidence["last_seen"] == T0 and silent.evidence["quiet_s"] == 4 * HOUR
    fleet.store_batch(raw_batch(5, 6, 6), T0 + 5 * HOUR)
    assert alarms(fleet, open_only=True) == []
    assert alarms(fleet)[0].cleared_at == T0 + 5 * HOUR


def test_fleet_alarms_silence_skips_a_box_already_offline_and_a_revoked_one(fleet: SqlStore) -> None:
    fleet.store_status(protocol.Status("box-a", "offline", "b1", "0.9.0", None, T0), T0)
    fleet.store_batch(raw_batch(0, 1, 1, device="box-b"), T0)
    fleet.db.execute("INSERT INTO registry (device, site, added_at, revoked_at) VALUES (?, ?, ?, ?)",
                     ("box-b", "old school", T0 - 86400.0, T0))
    fleet.db.execute("INSERT INTO registry (device, site, added_at) VALUES (?, ?, ?)",
                     ("box-c", "water tower", T0 - HOUR))
    check_silence(fleet.db, T0 + 4 * HOUR, 3 * HOUR)
    found = {(a.device, a.kind) for a in alarms(fleet, open_only=True)}
    assert found == {("box-a", "offline"), ("box-c", "silent")}, "box-c registered 5 h ago and never heard of"


def test_fleet_alarms_silence_run_by_two_processes_at_once_opens_one_alarm(store_url: str) -> None:
    stores = [open_store(store_url, (AlarmObserver(),)) for _ in range(2)]
    try:
        stores[0].store_batch(raw_batch(0, 1, 1), T0)
        barrier, opened = threading.Barrier(2), []

        def run(store: SqlStore) -> None:
            barrier.wait()
            opened.extend(check_silence(store.db, T0 + 4 * HOUR, 3 * HOUR))

        threads = [threading.Thread(target=run, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20.0)
        assert len(opened) == 1 and len(alarms(stores[0], kind="silent")) == 1
    finally:
        for s in stores:
            s.close()


# -- acknowledgement ----------------------------------------------------------------------------------


def test_fleet_alarms_ack_by_unknown_disabled_or_viewer_user_is_refused(fleet: SqlStore) -> None:
    fleet.store_status(protocol.Status("box-a", "offline", "b1", "0.9.0", None, T0), T0)
    (offline,) = alarms(fleet)
    add_user(fleet, "victor", "viewer")
    add_user(fleet, "dora")
    fleet.db.execute("UPDATE users SET disabled_at = ? WHERE name = 'dora'", (T0,))
    for user, says in (("nobody", "no user 'nobody'"), ("victor", "is a viewer"), ("dora", "is disabled")):
        with pytest.raises(AlarmError, match=says):
            acknowledge(fleet.db, offline.id, user, note=None, now=T0 + 60.0)
    assert alarms(fleet)[0].acked_by is None


def test_fleet_alarms_ack_of_a_box_alarm_reaches_the_box_and_clears_it(fleet: SqlStore, tmp_path: Path) -> None:
    box = Box(tmp_path)
    try:
        box.leak_alarm("leak-main", "burst", "burst: 1850 L/h", {"flow_lph": 1850.0, "burst_lph": 1200.0})
        for batch in box.batches("event"):
            box.take_ack(fleet.store_batch(batch, box.now_s()))
        (burst,) = alarms(fleet)
        add_user(fleet, "marie")
        done = acknowledge(fleet.db, burst.id[:8], "marie", note="valve checked", now=box.now_s())
        assert (done.alarm.acked_by, done.alarm.ack_note, done.alarm.state) == ("marie", "valve checked", "open")
        row = fleet.db.one("SELECT device, action, args, created_by, state FROM commands WHERE id = ?",
                           (done.command_id,))
        assert row is not None
        assert (row[0], row[1], json.loads(row[2]), row[3], row[4]) == (
            "box-a", "ack_alarm", {"key": "leak-main/burst", "by": "fleet:marie"}, "marie", "pending")
        # The command as the box gets it, carried out on its store.
        message = protocol.Command("box-a", done.command_id, "ack_alarm", json.loads(row[2]),
                                   box.now_s() + 600.0).to_message()
        command = protocol.parse_command("box-a", protocol.encode(message))
        result = carry_out(command, box.store, load_config(EXAMPLE), box.clock.now(), clock_synced=True,
                           reload_config=lambda: None)
        assert result.status == DONE and box.store.latched_alarms() == []
        for batch in box.batches("event"):
            fleet.store_batch(batch, box.now_s())
        (after,) = alarms(fleet)
        assert (after.state, after.acked_by, after.acked_at) == ("cleared", "marie", box.now_s())
        with pytest.raises(AlarmError, match="already acknowledged by marie"):
            acknowledge(fleet.db, burst.id, "marie", note=None, now=box.now_s())
    finally:
        box.close()


def test_fleet_alarms_ack_ends_a_one_off_and_sends_nothing_for_a_fleet_alarm(fleet: SqlStore) -> None:
    thinned = {"seq": 1, "boot": "b1", "mono_s": 1.0, "wall_s": T0, "clock": "synced", "type": "thinned",
               "lane": "raw", "seq_from": 1, "seq_to": 400, "count": 400, "reason": "disk budget"}
    fleet.store_batch(protocol.parse_batch("box-a", up_payload("event", 0, [thinned])), T0)
    fleet.store_status(protocol.Status("box-a", "offline", "b1", "0.9.0", None, T0), T0)
    add_user(fleet, "marie")
    by_kind = {a.kind: a for a in alarms(fleet)}
    one_off = acknowledge(fleet.db, by_kind["data_thinned"].id, "marie", note=None, now=T0 + 60.0)
    offline = acknowledge(fleet.db, by_kind["offline"].id, "marie", note=None, now=T0 + 60.0)
    assert (one_off.alarm.state, one_off.alarm.cleared_at, one_off.command_id) == ("cleared", T0 + 60.0, None)
    assert (offline.alarm.state, offline.alarm.acked_by, offline.command_id) == ("open", "marie", None)
    assert fleet.db.scalar("SELECT count(*) FROM commands") == 0


# -- command line -------------------------------------------------------------------------------------


def test_fleet_alarms_cli_lists_shows_and_refuses_in_one_line(store_url: str, capsys) -> None:
    store = open_store(store_url, (AlarmObserver(),))
    try:
        store.store_status(protocol.Status("box-a", "offline", "b1", "0.9.0", None, T0), T0)
        alarm_id = alarms(store)[0].id
    finally:
        store.close()
    assert main(["alarms", "list", "--open", "--json", "--db", store_url]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["kind"], listed["state"]) == (alarm_id, "offline", "open")
    assert main(["alarms", "show", alarm_id[:10], "--db", store_url]) == 0
    assert f"alarm {alarm_id}: offline from link on box-a, warning, open" in capsys.readouterr().out
    assert main(["alarms", "ack", alarm_id, "--user", "ghost", "--db", store_url]) == 2
    err = capsys.readouterr().err
    assert err == "hameau-fleet alarms ack: no user 'ghost' (add one with hameau-fleet users add)\n"
    assert main(["alarms", "show", "zz", "--db", store_url]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["alarms", "list", "--db", "mysql://nowhere/db"]) == 2
    assert capsys.readouterr().err.startswith("hameau-fleet alarms list: --db 'mysql://nowhere/db': expected")
    store = open_store(store_url)
    try:
        add_user(store, "marie")
    finally:
        store.close()
    assert main(["alarms", "ack", alarm_id[:8], "--user", "marie", "--note", "power cut", "--db", store_url]) == 0
    assert capsys.readouterr().out == f"alarm {alarm_id} (offline on box-a) acknowledged by marie\n"
    assert main(["alarms", "show", alarm_id, "--json", "--db", store_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["acked_by"], shown["ack_note"], shown["state"]) == ("marie", "power cut", "open")


def test_fleet_alarms_settings_name_the_key_and_reason() -> None:
    assert parse_alarm_settings({"silent_after_s": 7200}, "fleet.toml [alarms]") == AlarmSettings(
        silent_after_s=7200.0)
    for table, says in (({"silent_after_s": float("nan")}, "fleet.toml [alarms].silent_after_s: must be"),
                        ({"silent_after_s": "3h"}, "silent_after_s: must be a number of seconds"),
                        ({"ack_ttl_s": 8 * 86400.0}, "ack_ttl_s: must be 60..604800 s"),
                        ({"silence_after": 1}, "unknown key 'silence_after'")):
        with pytest.raises(FleetConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
            parse_alarm_settings(table, "fleet.toml [alarms]")


def test_fleet_alarms_ack_command_names_one_alarm_by_key_or_number() -> None:
    def parse(args: dict) -> dict:
        message = protocol.Command("box-a", "c-1", "ack_alarm", args, T0).to_message()
        return dict(protocol.parse_command("box-a", protocol.encode(message)).args)

    assert parse({"key": "leak-main/burst", "by": "fleet:marie"}) == {"key": "leak-main/burst", "by": "fleet:marie"}
    assert parse({"alarm_id": 3, "by": "marie"}) == {"alarm_id": 3, "by": "marie"}
    with pytest.raises(protocol.ProtocolError, match="give alarm_id or key, not both"):
        parse({"alarm_id": 3, "key": "leak-main/burst", "by": "marie"})
    with pytest.raises(protocol.ProtocolError, match="args.key"):
        parse({"key": "", "by": "marie"})


def test_fleet_alarms_box_refuses_an_ack_for_a_key_not_latched(tmp_path: Path) -> None:
    box = Box(tmp_path)
    try:
        box.leak_alarm("leak-main", "night_flow", "night flow 14 L/h", {"night_flows_lph": [14.0]})
        command = protocol.Command("box-a", "c-2", "ack_alarm", {"key": "leak-main/burst", "by": "fleet:marie"},
                                   box.now_s() + 600.0)
        result = carry_out(command, box.store, load_config(EXAMPLE), box.clock.now(), clock_synced=True,
                           reload_config=lambda: None)
        assert result.status == "refused" and "no latched alarm leak-main/burst" in result.detail
        assert [a.key for a in box.store.latched_alarms()] == ["leak-main/night_flow"]
    finally:
        box.close()


def test_fleet_alarms_silence_job_is_wired_into_serve(fleet: SqlStore) -> None:
    (job,) = [j for j in jobs(FleetSettings()) if j.name == "alarms-silence"]
    assert job.interval_s == 60.0
    fleet.store_batch(raw_batch(0, 1, 1), T0)
    job.run(JobContext(db=fleet.db, now=T0 + 3 * HOUR + 1.0, publish=lambda *_: None))
    assert [a.kind for a in alarms(fleet, open_only=True)] == ["silent"]
    assert any(isinstance(o, AlarmObserver) for o in observers(FleetSettings()))
