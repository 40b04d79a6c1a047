"""Commands from the fleet, carried out on a real store file the way a technician's are: once, never expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.clock import SimClock
from edge.config.loader import load_config
from edge.link.commands import DONE, REFUSED, carry_out
from edge.storage.store import Store
from fleet.protocol import Command

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"
NOW = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)


@pytest.fixture
def box(tmp_path: Path):
    config = load_config(EXAMPLE)
    store = Store(tmp_path / "box.db", monotonic=SimClock().monotonic)
    yield config, store
    store.close()


def _cmd(command_id: str, action: str, args: dict, expires_in_s: float = 600.0) -> Command:
    return Command("saint-aubin-mairie", command_id, action, args, NOW.timestamp() + expires_in_s)


def _run(box, command: Command, *, synced: bool = True, reloads: list | None = None):
    config, store = box
    return carry_out(command, store, config, NOW, clock_synced=synced,
                     reload_config=lambda: (reloads if reloads is not None else []).append(command.id))


def _command_events(store: Store) -> list[dict]:
    return [e.data for e in store.events(kind="command")]


def test_remote_command_override_lands_in_the_store_for_its_duration(box):
    _, store = box
    result = _run(box, _cmd("c-1", "override", {"relay": "street-lights", "state": "on", "duration_s": 7200.0,
                                                  "reason": "village fete"}))
    assert result.status == DONE
    override = store.overrides()["street-lights"]
    assert override.on is True
    assert override.until == NOW + timedelta(hours=2)
    assert override.by == "fleet:c-1" and override.reason == "village fete"
    assert _command_events(store) == [{"id": "c-1", "action": "override", "status": "done", "detail": result.detail}]


def test_remote_command_repeated_id_is_refused_and_changes_nothing(box):
    _, store = box
    _run(box, _cmd("c-2", "override", {"relay": "street-lights", "state": "off", "duration_s": 600.0}))
    first = store.overrides()["street-lights"]
    again = _run(box, _cmd("c-2", "override", {"relay": "street-lights", "state": "on", "duration_s": 3600.0}))
    assert again.status == REFUSED and "already received" in again.detail
    assert store.overrides()["street-lights"] == first
    assert [e["status"] for e in _command_events(store)] == ["done", "refused"]


def test_remote_command_expired_is_refused(box):
    _, store = box
    result = _run(box, _cmd("c-3", "override", {"relay": "street-lights", "state": "on", "duration_s": 60.0},
                            expires_in_s=0.0))
    assert result.status == REFUSED and "expired" in result.detail
    assert store.overrides() == {}
    late = _run(box, _cmd("c-3b", "status", {}, expires_in_s=-1.0))
    assert late.status == REFUSED


def test_remote_command_refused_while_the_clock_is_not_synchronised(box):
    _, store = box
    result = _run(box, _cmd("c-4", "override", {"relay": "street-lights", "state": "on", "duration_s": 60.0}),
                  synced=False)
    assert result.status == REFUSED and "clock" in result.detail
    assert store.overrides() == {}


def test_remote_command_unknown_relay_is_refused_naming_the_known_ones(box):
    result = _run(box, _cmd("c-5", "override", {"relay": "fountain", "state": "on", "duration_s": 60.0}))
    assert result.status == REFUSED
    assert "street-lights" in result.detail and "hall-heating" in result.detail


def test_remote_command_interlocked_relay_is_refused(box):
    _, store = box
    store.save_status({"at": NOW.isoformat(), "interlocks": {"hall-heating": "frost protection: 3.5 °C"}})
    store.commit()
    result = _run(box, _cmd("c-6", "override", {"relay": "hall-heating", "state": "off", "duration_s": 3600.0}))
    assert result.status == REFUSED and "frost protection" in result.detail
    assert "hall-heating" not in store.overrides()


def test_remote_command_clear_override_gives_the_relay_back(box):
    _, store = box
    _run(box, _cmd("c-7", "override", {"relay": "street-lights", "state": "on", "duration_s": 600.0}))
    result = _run(box, _cmd("c-8", "clear_override", {"relay": "street-lights"}))
    assert result.status == DONE and store.overrides() == {}


def test_remote_command_acknowledges_an_alarm_by_name(box):
    _, store = box
    alarm_id = store.raise_alarm("leak/water-main", "night_flow", "leak", "night flow 12 L/h", {"flow_lph": 12.0},
                                 NOW - timedelta(hours=3))
    result = _run(box, _cmd("c-9", "ack_alarm", {"alarm_id": alarm_id, "by": "Mme Leroy"}))
    assert result.status == DONE
    alarm = store.alarm(alarm_id)
    assert alarm is not None and alarm.acked_by == "Mme Leroy" and alarm.acked_at == NOW
    missing = _run(box, _cmd("c-10", "ack_alarm", {"alarm_id": alarm_id + 100, "by": "Mme Leroy"}))
    assert missing.status == REFUSED and f"#{alarm_id + 100}" in missing.detail


def test_remote_command_status_answers_with_the_box_summary(box):
    result = _run(box, _cmd("c-11", "status", {}))
    assert result.status == DONE
    assert json.loads(result.detail)["device"] == "saint-aubin-mairie"


def test_remote_command_reload_asks_the_agent(box):
    reloads: list[str] = []
    result = _run(box, _cmd("c-12", "reload_config", {}), reloads=reloads)
    assert result.status == DONE and reloads == ["c-12"]


def test_remote_command_result_travels_as_a_command_result_record(box):
    _, store = box
    _run(box, _cmd("c-13", "clear_override", {"relay": "street-lights"}))
    rows = store.conn.execute("SELECT lane, type, body FROM outbox WHERE type != 'reading'").fetchall()
    assert [(lane, kind) for lane, kind, _ in rows] == [(0, "command_result")]
    assert json.loads(rows[0][2])[:3] == ["c-13", "clear_override", "done"]
