"""Whether the agent runs comes from the lock it holds while alive; a database belongs to one device."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.clock import SimClock
from edge.config.loader import parse_config
from edge.runtime.lock import (
    AgentLock,
    AgentLockedError,
    Holder,
    StopRequest,
    agent_holder,
    lock_paths,
    signal_cause,
)
from edge.storage.device import claim_device, device_refusal, recorded_device
from edge.storage.store import Store
from edge.technician.render import render_status
from edge.technician.reports import Liveness, status_report

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
NOW = datetime(2026, 1, 10, 21, 0, tzinfo=UTC)  # 22:00 in Paris
STARTED = datetime(2026, 1, 8, 7, 30, tzinfo=UTC)


def test_lock_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    with AgentLock(db, "saint-aubin-mairie", STARTED) as lock:
        assert lock.path == tmp_path / "hameau.db.lock"
        with pytest.raises(AgentLockedError) as refused:
            AgentLock(db, "saint-aubin-mairie", NOW).acquire()
    assert str(refused.value) == (
        f"another agent (pid {os.getpid()} since 2026-01-08T07:30:00+00:00) already runs on the database {db}: "
        "refusing to start a second one"
    )
    with AgentLock(db, "saint-aubin-mairie", NOW):  # free again once released
        pass


def test_lock_test_finds_the_holder_without_disturbing_it(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    assert agent_holder(db) is None, "no lock file: no agent"
    lock = AgentLock(db, "saint-aubin-mairie", STARTED)
    lock.acquire()
    for _ in range(3):
        holder = agent_holder(db)
        assert holder is not None and (holder.pid, holder.since, holder.device) == (
            os.getpid(), "2026-01-08T07:30:00+00:00", "saint-aubin-mairie")
    with pytest.raises(AgentLockedError):  # still held after being tested
        AgentLock(db, "saint-aubin-mairie", NOW).acquire()
    lock.release()
    assert agent_holder(db) is None, "released: no agent, though the file still names the last pid"
    assert (tmp_path / "hameau.db.lock").exists()


def test_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    code = ("import sys, time; from datetime import datetime, UTC; from pathlib import Path; "
            "from edge.runtime.lock import AgentLock; AgentLock(Path(sys.argv[1]), 'x', datetime.now(UTC)).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        holder = agent_holder(db)
        assert holder is not None and holder.pid == child.pid
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert agent_holder(db) is None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_lock_in_ram_is_found_and_blocks_a_lock_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    beside, in_ram = lock_paths(db)
    assert beside == tmp_path / "hameau.db.lock" and in_ram.name.startswith("hameau-agent-")
    fd = os.open(in_ram, os.O_RDWR | os.O_CREAT, 0o644)  # an agent that had to lock in RAM
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b'{"pid": 77, "since": null, "device": "saint-aubin-mairie"}')
        holder = agent_holder(db)
        assert holder is not None and (holder.pid, holder.path) == (77, in_ram)
        with pytest.raises(AgentLockedError, match=r"another agent \(pid 77\)"):
            AgentLock(db, "saint-aubin-mairie", NOW).acquire()
    finally:
        os.close(fd)
        in_ram.unlink(missing_ok=True)


def test_stop_request_keeps_its_first_cause() -> None:
    stop = StopRequest()
    assert not stop.is_set() and stop.cause is None
    stop.request(signal_cause(signal.SIGINT))
    stop.request(signal_cause(signal.SIGTERM))
    assert stop.is_set() and stop.cause == "SIGINT (Ctrl-C)"
    assert signal_cause(signal.SIGTERM) == "SIGTERM"


def test_device_is_recorded_on_first_use_and_another_device_refused(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    assert device_refusal(db, "saint-aubin-mairie", "box.toml") is None
    assert not db.exists(), "a reading command must not create the database"
    with Store(db, monotonic=SimClock().monotonic) as store:  # a database from before the device was recorded
        assert recorded_device(store) is None
    assert device_refusal(db, "saint-aubin-mairie", "hall.toml") is None  # adopts it
    with Store(db, monotonic=SimClock().monotonic) as store:
        assert recorded_device(store) == "saint-aubin-mairie"
        assert claim_device(store, "saint-aubin-mairie") is None
        assert claim_device(store, "saint-aubin-chateau-eau") == "saint-aubin-mairie"
        assert recorded_device(store) == "saint-aubin-mairie", "a refused device does not take it over"
    assert device_refusal(db, "saint-aubin-chateau-eau", "inlet.toml") == (
        f"the database {db} belongs to device 'saint-aubin-mairie', not to 'saint-aubin-chateau-eau' (inlet.toml): "
        "refusing to use it"
    )


def test_device_unreadable_database_is_left_to_the_command(tmp_path: Path) -> None:
    db = tmp_path / "hameau.db"
    db.write_bytes(b"not a database at all, " * 100)
    assert device_refusal(db, "saint-aubin-mairie", "hall.toml") is None


def _stopped_snapshot(at: datetime, by: str | None) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "agent": {"pid": 4242, "started_at": STARTED.isoformat(), "version": "0.3.0",
                  "stopped": {"at": at.isoformat(), "by": by}},
        "relays": {
            "street-lights": {"on": True, "decided_by": "agent stopped", "reason": "released at the stop: safe state",
                              "until": None, "feedback": None},
            "hall-heating": {"on": False, "decided_by": "agent stopped", "reason": "released at the stop: safe state",
                             "until": None, "feedback": None},
        },
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(tmp_path / "hameau.db", monotonic=SimClock().monotonic)
    yield s
    s.close()


def _config(tmp_path: Path) -> Any:
    text = EXAMPLE.read_text(encoding="utf-8").replace("~/.local/state/hameau/village-hall.db",
                                                        str(tmp_path / "hameau.db"))
    return parse_config(text, tmp_path / "box.toml")


def test_status_after_a_clean_stop_says_when_and_by_what(store: Store, tmp_path: Path) -> None:
    store.save_status(_stopped_snapshot(NOW - timedelta(minutes=5), "SIGTERM"))
    report = status_report(store, _config(tmp_path), NOW, liveness=Liveness(None))
    assert report["agent"]["running"] is False and report["agent"]["stopped_cleanly"] is True
    text = render_status(report)
    assert "agent: not running; stopped at 21:55:00 CET by SIGTERM, 5 min ago; relays below are as it left them" \
        in text
    assert "  street-lights  ON  by agent stopped: released at the stop: safe state\n" in text
    assert "  hall-heating   OFF by agent stopped: released at the stop: safe state\n" in text
    # Another day: the date too; a stop asked without a signal (a test, a simulation) says so.
    store.save_status(_stopped_snapshot(NOW - timedelta(days=1, hours=2), None))
    text = render_status(status_report(store, _config(tmp_path), NOW, liveness=Liveness(None)))
    assert "agent: not running; stopped at Fri 09 Jan 20:00:00 CET (a clean stop), 1 d 2 h ago;" in text


def test_status_of_a_new_agent_over_a_stopped_ones_snapshot_says_running(store: Store, tmp_path: Path) -> None:
    store.save_status(_stopped_snapshot(NOW - timedelta(minutes=5), "SIGTERM"))
    holder = Holder(5150, (NOW - timedelta(seconds=2)).isoformat(), "saint-aubin-mairie", tmp_path / "x.lock")
    report = status_report(store, _config(tmp_path), NOW, liveness=Liveness(holder))
    assert report["agent"]["running"] is True and report["agent"]["stopped"] is None
    assert report["agent"]["pid"] == 5150, "the live agent's pid, not the stopped one's"
    assert "agent: running, pid 5150, since Sat 10 Jan 21:59 CET, version 0.3.0; snapshot 5 min ago" \
        in render_status(report)
