"""What `status` shows of the link, through the real run_linked (link + agent) on simulated buses, a real Mosquitto
and a real `hameau-fleet serve`: connected since when and the last ack; NOT CONNECTED with the cause while the
broker is down, the backlog waiting; connected again once it is back."""

from __future__ import annotations

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
from edge.config.box import BoxConfig
from edge.config.loader import load_config
from edge.link.runner import run_linked
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.store import Store
from edge.technician.render import render_status
from edge.technician.reports import status_report

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"
DEVICE = "saint-aubin-mairie"


def _when(config: BoxConfig, clock: SimClock, wanted: Callable[[dict[str, Any]], Any], what: str,
          timeout_s: float = 20.0) -> dict[str, Any]:
    """The first link part of the status that `wanted` accepts (polled)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        link = _link(config, clock)
        if wanted(link):
            return link
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:g} s: {what}; last seen {_link(config, clock)}")


@pytest.fixture
def serve(broker: Broker, tmp_path: Path) -> Iterator[ServeProcess]:
    """The fleet's ingest, subscribed before the box connects (what is sent before goes again only after the
    ack timeout)."""
    process = ServeProcess(broker, tmp_path).start()
    yield process
    process.close()


@pytest.fixture
def box(broker: Broker, tmp_path: Path, serve: ServeProcess) -> Iterator[tuple[BoxConfig, SimClock]]:
    """The town hall on simulated buses, snapshot every 5 s, run by run_linked in a thread (real time)."""
    password = tmp_path / "password"
    password.write_text(broker.add_device(DEVICE) + "\n", encoding="utf-8")
    password.chmod(0o600)
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('db_path = "~/.local/state/hameau/village-hall.db"', f'db_path = "{tmp_path / "box.db"}"')
    text = text.replace("commit_interval_s = 120\ntick_s = 10", "commit_interval_s = 5\ntick_s = 1")
    text += (f'\n[link]\nbroker = "{broker.url}"\nca_file = "{broker.ca_path}"\npassword_file = "{password}"\n'
             "reconnect_min_s = 0.2\nreconnect_max_s = 1\n")
    (tmp_path / "box.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "box.toml")
    clock = SimClock(epoch=datetime.now(UTC), boot_id="status-test-boot")
    last = [time.monotonic()]

    def keep_in_step(hardware) -> None:
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
    yield config, clock
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and failure == []


def _link(config: BoxConfig, clock: SimClock) -> dict[str, Any]:
    """The status's link part as `status` computes it (the agent runs in this process: its snapshot's age tells)."""
    with Store(config.agent.db_path, monotonic=clock.monotonic) as store:
        report = status_report(store, config, clock.now())
    report["link"]["text"] = render_status(report)
    return report["link"]


def test_technician_link_hil_status_follows_the_connection(broker: Broker, box) -> None:
    config, clock = box
    up = _when(config, clock, lambda link: link["connected"] and link["last_ack_at"], "connected, acknowledged")
    assert up["broker"] == broker.url and up["since"] is not None and up["last_ack_age_s"] < 15
    assert f"link: to {broker.url}, connected since " in up["text"]
    broker.stop()
    down = _when(config, clock, lambda link: not link["connected"], "disconnected")
    assert down["since"] > up["since"] and down["last_error"] and "NOT CONNECTED since" in down["text"]
    assert down["outbox"]["lanes"]["raw"]["records"] > 0  # raw readings wait up to 60 s to fill a batch
    waiting = _when(config, clock, lambda link: link["outbox"]["lanes"]["raw"]["oldest_age_s"]
                    >= down["outbox"]["lanes"]["raw"]["oldest_age_s"] + 5, "the backlog ages while the broker is down")
    assert not waiting["connected"] and waiting["since"] == down["since"]
    broker.start()
    again = _when(config, clock, lambda link: link["connected"], "connected again")
    assert again["since"] > down["since"] and again["loop_restarts"] == 0
