"""`hameau-fleet devices show` says why a box refused its config (both engines): the box's own reasons, as its
config_report record carried them through the real ingest, in the text and in `--json`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fleet import protocol
from fleet.app import open_fleet
from fleet.cli import main
from fleet.registry.devices import add_device
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0, up_payload

REASON = "fleet config v3: agent.tick_s: 0.1 s is out of range"


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """box-1 registered; the fleet store with its observers (the configs observer keeps the box's reports)."""
    fleet = open_fleet(store_url)
    add_device(fleet.db, "box-1", "Mairie", now=T0)
    yield fleet
    fleet.close()


def _report(store: SqlStore, seq: int, version: int, status: str, reasons: list[str]) -> None:
    record = {"seq": seq, "boot": "b1", "mono_s": float(seq), "wall_s": T0 + seq, "clock": "synced",
              "type": "config_report", "version": version, "status": status, "reasons": reasons}
    store.store_batch(protocol.parse_batch("box-1", up_payload("event", seq - 1, [record], device="box-1")), T0 + 99)


def test_fleet_cli_devices_show_says_why_the_box_refused_its_config(
    store: SqlStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices", "show", "box-1", "--db", store_url]) == 0
    assert "config report" not in capsys.readouterr().out  # nothing reported yet: nothing said
    assert main(["devices", "show", "box-1", "--json", "--db", store_url]) == 0
    assert json.loads(capsys.readouterr().out)["config_report"] is None
    _report(store, 1, 3, "rejected", [REASON])
    assert main(["devices", "show", "box-1", "--db", store_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"config report: v3 refused at 2026-01-01 00:00Z: {REASON}" in lines
    assert main(["devices", "show", "box-1", "--json", "--db", store_url]) == 0
    assert json.loads(capsys.readouterr().out)["config_report"] == {
        "version": 3, "state": "refused", "reason": REASON, "at": T0 + 1}


def test_fleet_cli_devices_show_applied_config_has_no_reason(
    store: SqlStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(store, 1, 3, "rejected", [REASON])
    _report(store, 2, 4, "applied", [])
    assert main(["devices", "show", "box-1", "--db", store_url]) == 0
    assert "config report: v4 applied at 2026-01-01 00:00Z" in capsys.readouterr().out.splitlines()
    assert main(["devices", "show", "box-1", "--json", "--db", store_url]) == 0
    assert json.loads(capsys.readouterr().out)["config_report"]["reason"] is None
