"""End to end: `hameau-fleet config set` -> a real `hameau-fleet serve` publishes it retained on a real Mosquitto ->
a real box link (run_linked, simulated buses) applies it and reports -> `config show` says applied at that
version; then commands (status, relay override) sent from the CLI come back with the box's results.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess

from drivers.sim.clock import SimClock
from edge.config.loader import load_config
from edge.link.remote_config import FleetConfigFiles, good_version
from edge.link.runner import run_linked
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from fleet.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"
DEVICE = "saint-aubin-mairie"
WAIT_S = 40.0


def _wait(condition: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture
def fleet(broker: Broker, tmp_path: Path) -> Iterator[ServeProcess]:
    """A real serve process on its SQLite store."""
    directory = tmp_path / "fleet"
    directory.mkdir()
    serve = ServeProcess(broker, directory)
    try:
        yield serve.start()
    finally:
        serve.close()


@pytest.fixture
def box(broker: Broker, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The town hall box on simulated buses, ticking every second, on its link (run_linked in a thread); yields
    its database and its config's fleet tables as TOML text (the file without [device] and [link])."""
    password = tmp_path / "password"
    password.write_text(broker.add_device(DEVICE) + "\n", encoding="utf-8")
    password.chmod(0o600)
    db = tmp_path / "state" / "box.db"
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('db_path = "~/.local/state/hameau/village-hall.db"', f'db_path = "{db}"')
    text = text.replace("commit_interval_s = 120\ntick_s = 10", "commit_interval_s = 2\ntick_s = 1")
    fleet_tables, n = re.subn(r"(?ms)^\[device\]\n.*?(?=^\[)", "", text)
    assert n == 1
    text += (f'\n[link]\nbroker = "{broker.url}"\nca_file = "{broker.ca_path}"\npassword_file = "{password}"\n'
             "reconnect_min_s = 0.2\nreconnect_max_s = 1\nbatch_age_total_s = 0.5\nbatch_age_raw_s = 0.5\n")
    path = tmp_path / "box.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    clock = SimClock(epoch=datetime.now(UTC), boot_id="fleet-config-hil-boot")
    last = [time.monotonic()]

    def keep_in_step(hardware: Any) -> None:
        now = time.monotonic()
        hardware.parts.advance(now - last[0])
        last[0] = now

    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            run_linked(config, clock, stop, lambda c: open_simulated_hardware(c, clock), calendar=SimCalendar,
                       before_step=keep_in_step)
        except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in the thread
            failure.append(error)

    thread = threading.Thread(target=run, name="box-under-test")
    thread.start()
    yield db, fleet_tables
    stop.set()
    thread.join(30)
    assert not thread.is_alive(), "the box did not stop"
    assert failure == []


def test_fleet_config_hil_set_published_applied_reported_and_commands_answered(
    fleet: ServeProcess, box: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, fleet_tables = box
    store = fleet.db_url
    _wait(lambda: fleet.rows("SELECT online FROM devices WHERE id = ?", DEVICE) == [(1,)], "the box is online")
    fragment = tmp_path / "cutoff.toml"
    changed, n = re.subn(r'(?m)^default = "23:00-05:30"', 'default = "22:00-06:00"', fleet_tables)
    assert n == 1
    fragment.write_text(changed, encoding="utf-8")
    [outcome] = _cli(capsys, "config", "set", "--device", DEVICE, str(fragment), "--user", "alice",
                     "--db", store, "--json")
    assert (outcome["version"], outcome["changed"]) == (1, True)

    files = FleetConfigFiles(db.parent)
    _wait(lambda: good_version(files) == 1, "the box keeps v1 as its last-known-good")
    saved = json.loads(files.good.read_text(encoding="utf-8"))
    assert saved["config"]["lighting"][0]["cutoff"]["default"] == "22:00-06:00"
    shown = _wait(lambda: (s := _cli(capsys, "config", "show", DEVICE, "--json", "--db", store))["state"] == "in sync"
                  and s, "config show says in sync")
    assert (shown["desired"]["version"], shown["published"]["version"]) == (1, 1)
    assert (shown["reported"]["version"], shown["reported"]["state"], shown["reported"]["reason"]) == (1, "applied", None)

    _cli(capsys, "users", "add", "alice", "--role", "technician", "--db", store, "--json")  # who may send
    status = _cli(capsys, "commands", "send", DEVICE, "status", "--user", "alice", "--db", store, "--json")
    override = _cli(capsys, "commands", "send", DEVICE, "override", "hall-heating", "--state", "on", "--for", "1h",
                    "--user", "alice", "--db", store, "--json")
    done = {}
    for sent in (status, override):
        done[sent["action"]] = _wait(
            lambda sent=sent: (c := _cli(capsys, "commands", "show", sent["id"], "--json", "--db", store))["result"]
            and c, f"the {sent['action']} command's result")
    assert done["status"]["state"] == "done"
    assert done["status"]["result"]["status"] == "done"
    assert isinstance(json.loads(done["status"]["result"]["detail"]), dict)  # the box's status report
    assert (done["override"]["state"], done["override"]["result"]["action"]) == ("done", "override")
    assert done["override"]["sent_at"] <= done["override"]["done_at"]
