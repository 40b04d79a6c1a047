"""Desired configs on both engines: the merge of group and device fragments, the box loader's refusal, versions,
publishing in the box's own message format, and what boxes report back."""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.link.remote_config import check
from fleet import protocol
from fleet.app import open_fleet
from fleet.cli import main
from fleet.configs.desired import set_fragment, unset_fragment
from fleet.configs.merge import FragmentError
from fleet.configs.publish import publish_configs, run
from fleet.configs.view import config_state
from fleet.serve.jobs import JobContext
from fleet.store.db import Database
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0, Published, up_payload

VALLEY = """
[agent]
tick_s = 5.0
keep_readings_days = 60.0

[buses.i2c1]
type = "i2c"
number = 1

[[sensors]]
id = "lux-roof"
driver = "bh1750"
bus = "i2c1"
address = 0x23
interval_s = 60
"""
NORTH = """
[agent]
tick_s = 2.0

[buses.w1]
type = "onewire"
path = "/sys/bus/w1/devices"
"""
SENSORS = """
[[sensors]]
id = "hall-temp"
driver = "ds18b20"
bus = "w1"
rom_id = "28-0316a2794aff"
"""
BOX_1 = """
[agent]
commit_interval_s = 10.0
""" + SENSORS
#: valley (priority 0), then north (priority 10), then box-1's own: the oracle of the merge rule.
MERGED_BOX_1 = """
[agent]
tick_s = 2.0
keep_readings_days = 60.0
commit_interval_s = 10.0

[buses.i2c1]
type = "i2c"
number = 1

[buses.w1]
type = "onewire"
path = "/sys/bus/w1/devices"

[[sensors]]
id = "hall-temp"
driver = "ds18b20"
bus = "w1"
rom_id = "28-0316a2794aff"
"""


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """The fleet store with box-1, box-2 registered; groups valley (priority 0) and north (10) hold box-1."""
    fleet = open_fleet(store_url)
    db = fleet.db
    for device in ("box-1", "box-2"):
        db.execute("INSERT INTO registry (device, site, added_at) VALUES (?, 'Saint-Aubin', ?)", (device, T0))
    for name, priority in (("valley", 0), ("north", 10)):
        db.execute("INSERT INTO groups (name, priority, created_at) VALUES (?, ?, ?)", (name, priority, T0))
        db.execute("INSERT INTO group_members (group_name, device, added_at) VALUES (?, 'box-1', ?)", (name, T0))
    yield fleet
    fleet.close()


def _context(db: Database, now: float = T0) -> tuple[JobContext, Published]:
    published = Published()
    return JobContext(db=db, now=now, publish=published), published


def _set_all(db: Database) -> None:
    set_fragment(db, "group", "north", NORTH, by="alice", now=T0)
    set_fragment(db, "group", "valley", VALLEY, by="alice", now=T0)
    set_fragment(db, "device", "box-1", BOX_1, by="alice", now=T0)


def test_config_merge_applies_groups_by_priority_then_the_device(store: SqlStore, tmp_path: Path) -> None:
    _set_all(store.db)
    context, published = _context(store.db)
    assert publish_configs(context) == 1
    [(topic, payload, qos, retain)] = published.messages
    assert (topic, qos, retain) == ("hameau/v1/box-1/config", 1, True)
    message = protocol.parse_config("box-1", payload)
    assert dict(message.config) == tomllib.loads(MERGED_BOX_1)
    # The box's own check (its local [device] with the fleet's tables) takes what was published.
    local = tmp_path / "box.toml"
    local.write_text('[device]\nid = "box-1"\nlatitude = 45.2\nlongitude = 5.7\ntimezone = "Europe/Paris"\n')
    box_config = check(local, message.version, message.config)
    assert [s.id for s in box_config.sensors] == ["hall-temp"]
    assert box_config.agent.tick_s == 2.0


def test_config_invalid_merge_is_refused_with_the_loader_reason_and_nothing_published(store: SqlStore) -> None:
    _set_all(store.db)
    publish_configs(_context(store.db)[0])
    before = config_state(store.db, "box-1")
    with pytest.raises(FragmentError) as refused:
        set_fragment(store.db, "device", "box-1", BOX_1 + "\n[simulation]\nunplugged = ['no-such']\n",
                     by="alice", now=T0 + 60)
    assert "fleet config for box-1" in str(refused.value)
    assert "simulation.unplugged: no sensor 'no-such' to unplug" in str(refused.value)
    with pytest.raises(FragmentError, match=r"agent\.tick_s: 0\.1 s is out of range"):
        set_fragment(store.db, "group", "north", NORTH.replace("2.0", "0.1"), by="alice", now=T0 + 60)
    assert config_state(store.db, "box-1") == before
    assert store.db.scalar("SELECT text FROM config_fragments WHERE scope = 'group' AND name = 'north'") == NORTH
    context, published = _context(store.db, T0 + 60)
    assert publish_configs(context) == 0 and published.messages == []


def test_config_fragment_keeping_device_or_link_is_refused(store: SqlStore) -> None:
    with pytest.raises(FragmentError, match=r"device box-1 fragment: link: \[link\] stays in the box's own file"):
        set_fragment(store.db, "device", "box-1", BOX_1 + "\n[link]\nbroker = 'mqtts://x:8883'\n", by="a", now=T0)
    with pytest.raises(FragmentError, match="not valid TOML"):
        set_fragment(store.db, "device", "box-1", "[agent\n", by="a", now=T0)
    assert store.db.scalar("SELECT count(*) FROM config_fragments") == 0


def test_config_version_goes_up_only_when_the_merged_content_changes(store: SqlStore) -> None:
    _set_all(store.db)
    assert config_state(store.db, "box-1")["desired"]["version"] == 3  # three changes of box-1's merge
    same = set_fragment(store.db, "device", "box-1", "# a comment\n" + BOX_1, by="bob", now=T0 + 1)
    hidden = set_fragment(store.db, "group", "valley", VALLEY.replace("tick_s = 5.0", "tick_s = 7.0"),
                          by="bob", now=T0 + 2)  # north's tick_s wins: box-1's merge is the same
    assert [(o.version, o.changed) for o in same + hidden] == [(3, False), (3, False)]
    changed = set_fragment(store.db, "group", "north", NORTH.replace("2.0", "3.0"), by="bob", now=T0 + 3)
    assert [(o.device, o.version, o.changed) for o in changed] == [("box-1", 4, True)]


def test_config_version_starts_past_the_one_the_box_runs(store: SqlStore) -> None:
    store.store_status(protocol.Status("box-2", "online", "b1", "1.0", 7, T0), T0)
    [outcome] = set_fragment(store.db, "device", "box-2", NORTH + SENSORS, by="alice", now=T0)
    assert (outcome.device, outcome.version, outcome.changed) == ("box-2", 8, True)


def test_config_membership_change_is_merged_and_published_by_the_job(store: SqlStore) -> None:
    set_fragment(store.db, "group", "north", NORTH + SENSORS, by="alice", now=T0)
    store.db.execute("INSERT INTO group_members (group_name, device, added_at) VALUES ('north', 'box-2', ?)", (T0,))
    context, published = _context(store.db, T0 + 5)
    run(context)
    assert sorted(topic for topic, *_ in published.messages) == ["hameau/v1/box-1/config", "hameau/v1/box-2/config"]
    box_2 = config_state(store.db, "box-2")
    assert (box_2["desired"]["version"], box_2["published"]["version"]) == (1, 1)
    assert box_2["desired"]["config"] == tomllib.loads(NORTH + SENSORS)
    run(context)  # nothing new: nothing published again
    assert len(published.messages) == 2


def test_config_unset_merges_what_is_left_and_clears_when_nothing_is(store: SqlStore) -> None:
    set_fragment(store.db, "device", "box-2", NORTH + SENSORS, by="alice", now=T0)
    publish_configs(_context(store.db)[0])
    [outcome] = unset_fragment(store.db, "device", "box-2", by="alice", now=T0 + 1)
    assert (outcome.version, outcome.changed, outcome.cleared) == (2, True, True)
    context, published = _context(store.db, T0 + 2)
    publish_configs(context)
    assert published.messages == [("hameau/v1/box-2/config", b"", 1, True)]
    assert config_state(store.db, "box-2")["state"] == "no desired config (cleared)"


def _report(store: SqlStore, seq: int, version: int, status: str, reasons: list[str]) -> None:
    record = {"seq": seq, "boot": "b1", "mono_s": float(seq), "wall_s": T0 + seq, "clock": "synced",
              "type": "config_report", "version": version, "status": status, "reasons": reasons}
    store.store_batch(protocol.parse_batch("box-1", up_payload("event", seq - 1, [record], device="box-1")), T0 + 99)


def test_config_reports_from_the_box_are_kept_newest_first(store: SqlStore) -> None:
    _set_all(store.db)
    publish_configs(_context(store.db)[0])
    _report(store, 1, 3, "rejected", ["fleet config v3: agent.tick_s: too fast"])
    refused = config_state(store.db, "box-1")
    assert refused["state"] == "refused by the box"
    assert refused["reported"] == {"version": 3, "state": "refused", "reason": "fleet config v3: agent.tick_s: too fast",
                                   "at": T0 + 1}
    _report(store, 2, 3, "applied", [])
    _report(store, 1, 3, "rejected", ["fleet config v3: agent.tick_s: too fast"])  # the old batch again
    applied = config_state(store.db, "box-1")
    assert applied["state"] == "in sync"
    assert (applied["reported"]["version"], applied["reported"]["state"]) == (3, "applied")


def test_config_cli_set_show_and_one_line_refusals(
    store: SqlStore, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fragment = tmp_path / "box-2.toml"
    fragment.write_text(NORTH + SENSORS, encoding="utf-8")
    assert main(["config", "set", "--device", "box-2", str(fragment), "--user", "alice", "--db", store_url]) == 0
    assert capsys.readouterr().out == "box-2: desired config v1\n"
    assert main(["config", "show", "box-2", "--json", "--db", store_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["desired"]["version"], shown["desired"]["by"]) == (
        "waiting to be published", 1, "alice")
    assert shown["desired"]["config"] == tomllib.loads(NORTH + SENSORS)
    fragment.write_text(NORTH.replace("2.0", "0.1") + SENSORS, encoding="utf-8")
    for argv, says in (
        (["set", "--device", "box-2", str(fragment)], "agent.tick_s: 0.1 s is out of range"),
        (["set", "--device", "box-2", str(tmp_path / "none.toml")], "none.toml: cannot be read"),
        (["set", "--group", "nowhere", str(fragment)], "no group 'nowhere'"),
        (["unset", "--device", "box-1"], "no config fragment for device 'box-1'"),
        (["show", "box-9"], "no config known for device 'box-9'"),
    ):
        assert main(["config", *argv, "--db", store_url]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"hameau-fleet config {argv[0]}: ") and says in err, err
        assert len(err.strip().splitlines()) == 1


def test_config_membership_making_a_bad_merge_keeps_the_previous_desired(store: SqlStore) -> None:
    unplug = "\n[simulation]\nunplugged = ['hall-temp']\n"
    set_fragment(store.db, "group", "north", NORTH + SENSORS + unplug, by="alice", now=T0)
    set_fragment(store.db, "device", "box-2", VALLEY, by="alice", now=T0)
    publish_configs(_context(store.db)[0])
    store.db.execute("INSERT INTO group_members (group_name, device, added_at) VALUES ('north', 'box-2', ?)", (T0,))
    context, published = _context(store.db, T0 + 5)
    run(context)
    box_2 = config_state(store.db, "box-2")
    assert "simulation.unplugged: no sensor 'hall-temp' to unplug" in box_2["desired"]["error"]
    assert (box_2["desired"]["version"], box_2["desired"]["config"]) == (1, tomllib.loads(VALLEY))
    assert published.messages == []
    store.db.execute("DELETE FROM group_members WHERE device = 'box-2'")
    run(context)
    box_2 = config_state(store.db, "box-2")
    assert (box_2["desired"]["version"], box_2["desired"]["error"], published.messages) == (1, None, [])


def test_config_two_serve_processes_publish_each_version_once(store: SqlStore, store_url: str) -> None:
    devices = [f"box-{i}" for i in range(3, 15)]
    for device in devices:
        set_fragment(store.db, "device", device, NORTH + SENSORS, by="alice", now=T0)
    published = Published()
    others = [open_fleet(store_url) for _ in range(2)]
    threads = [threading.Thread(target=publish_configs, args=(JobContext(o.db, T0 + 1, published),)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert sorted(topic for topic, *_ in published.messages) == sorted(f"hameau/v1/{d}/config" for d in devices)
