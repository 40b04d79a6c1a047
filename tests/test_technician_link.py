"""What `hameau-edge status` shows of the link to the fleet: configured or not, connected since when, the last ack,
the outbox's backlog per lane read from the database (so it shows with the agent down), thinning, rejections."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.cli import main
from edge.config.box import BoxConfig
from edge.config.link import LinkConfig
from edge.config.loader import parse_config
from edge.controllers.events import Event
from edge.link.outbox import Outbox
from edge.runtime.agent import Agent
from edge.runtime.calendar import SimCalendar
from edge.runtime.lock import Holder
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.outbox_thin import thin_outbox
from edge.storage.store import Store
from edge.technician.link_status import LinkWatch
from edge.technician.render import render_status
from edge.technician.reports import Liveness, status_report

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
NOW = datetime(2026, 1, 10, 21, 0, tzinfo=UTC)  # 22:00 in Paris
BROKER = "mqtts://fleet.example.org:8883"


def _text(tmp_path: Path) -> str:
    return re.sub(r'(?m)^db_path = ".*"', f'db_path = "{tmp_path / "hameau.db"}"', EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def config(tmp_path: Path) -> BoxConfig:
    """The town hall with a [link] (its files are not read here)."""
    plain = parse_config(_text(tmp_path), tmp_path / "box.toml")
    link = LinkConfig(broker_url=BROKER, host="fleet.example.org", port=8883, ca_file=tmp_path / "ca.pem",
                      password_file=tmp_path / "password", username=plain.device.id)
    return dataclasses.replace(plain, link=link)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(epoch=NOW - timedelta(hours=1))  # starts an hour before NOW


@pytest.fixture
def store(config: BoxConfig, clock: SimClock) -> Iterator[Store]:
    s = Store(config.agent.db_path, monotonic=clock.monotonic)
    yield s
    s.close()


def _fill(store: Store, clock: SimClock) -> None:
    """At NOW-1h: 2 events; at NOW-30min: 3 water totals and 4 lux readings; at NOW-10min: 1 event."""
    for n in range(2):
        store.add_event_now(Event("decision", "test", f"event {n}", clock.now(), {"n": n}))
    clock.advance(1800)
    for n in range(3):
        store.add_readings(clock.now(), "water-main", (reading("volume_l", "volume", 100.0 + n),))
    for n in range(4):
        store.add_readings(clock.now(), "lux-roof", (reading("illuminance_lx", "illuminance", 10.0 + n),))
    store.commit()
    clock.advance(1200)
    store.add_event_now(Event("decision", "test", "event 2", clock.now(), {"n": 2}))
    clock.advance(600)
    assert clock.now() == NOW


def test_technician_link_not_configured_says_nothing_goes_to_the_fleet(tmp_path: Path, store: Store) -> None:
    plain = parse_config(_text(tmp_path), tmp_path / "box.toml")
    report = status_report(store, plain, NOW, liveness=Liveness(None))
    assert report["link"]["configured"] is False and report["link"]["broker"] is None
    assert "link: not configured (no [link] table): nothing is sent to the fleet" in render_status(report)


def test_technician_link_backlog_per_lane_from_the_database_with_the_agent_down(
    store: Store, config: BoxConfig, clock: SimClock
) -> None:
    _fill(store, clock)
    report = status_report(store, config, NOW, liveness=Liveness(None))
    link = report["link"]
    assert (link["configured"], link["broker"], link["connected"], link["since"]) == (True, BROKER, False, None)
    lanes = link["outbox"]["lanes"]
    assert {name: lane["records"] for name, lane in lanes.items()} == {"event": 3, "total": 3, "raw": 4}
    assert {name: lane["oldest_age_s"] for name, lane in lanes.items()} == {"event": 3600.0, "total": 1800.0,
                                                                          "raw": 1800.0}
    assert link["outbox"]["records"] == 10
    for lane in lanes.values():  # a reading's row takes about 116 bytes on disk (outbox_thin.py), an event more
        assert 60 * lane["records"] <= lane["bytes"] <= 400 * lane["records"]
    assert link["outbox"]["bytes"] == sum(lane["bytes"] for lane in lanes.values())
    text = render_status(report)
    assert f"link: to {BROKER}, not connected: the agent is not running; last ack from the fleet never" in text
    assert re.search(r"outbox: 10 records \([\d.]+ (?:B|kB)\) to send: event 3 \(.*oldest 1 h\), total 3 \(.*oldest 30 min\)"
                     r", raw 4 \(.*oldest 30 min\)", text), text


def test_technician_link_unsynced_record_age_comes_from_the_learned_offset(
    store: Store, config: BoxConfig, clock: SimClock
) -> None:
    clock.set_synced(False)  # a boot with no clock: its records' wall times cannot be believed
    store.add_event_now(Event("decision", "test", "unsynced", clock.now(), {}))
    report = status_report(store, config, NOW, liveness=Liveness(None))
    assert report["link"]["outbox"]["lanes"]["event"]["oldest_age_s"] is None
    assert "event 1 (" in render_status(report) and "oldest ?" in render_status(report)
    clock.advance(600)
    clock.set_synced(True)  # ten minutes later the clock is set: the link learns this boot's offset
    outbox = Outbox(config.agent.db_path, device=config.device.id, clock=clock)
    outbox.learn_clock()
    outbox.close()
    report = status_report(store, config, NOW, liveness=Liveness(None))
    assert report["link"]["outbox"]["lanes"]["event"]["oldest_age_s"] == 3600.0


def test_technician_link_thinned_counts_shown_per_lane(store: Store, config: BoxConfig, clock: SimClock) -> None:
    for n in range(300):
        store.add_readings(clock.now(), "lux-roof", (reading("illuminance_lx", "illuminance", float(n)),))
        clock.advance(10)
    store.commit()
    removed = thin_outbox(lambda: store.transaction(with_pending=False), store.conn, 2000.0,
                          store.stamp(), clock.now().timestamp())
    assert removed.get("raw", 0) > 0
    report = status_report(store, config, clock.now(), liveness=Liveness(None))
    lanes = report["link"]["outbox"]["lanes"]
    assert {name: lane["thinned"] for name, lane in lanes.items()} == {"event": 0, "total": 0, "raw": removed["raw"]}
    assert f"thinned under the disk budget: raw {removed['raw']} records" in render_status(report)


class LinkStats:
    """What Link.stats() says, as the test sets it (the link itself runs in the HIL tests)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {"connected": False, "acks": 0, "rejected_in": 0, "loop_restarts": 0,
                                       "last_rejection": "", "last_error": "connect refused",
                                       "acked": {"event": 0, "total": 0, "raw": 0}, "outbox": {"in_flight": 0}}

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _running(store: Store, config: BoxConfig, link: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The status with an agent alive (its lock held) whose last snapshot carries `link`."""
    store.save_status({"at": at.isoformat(), "agent": {"pid": 4242, "started_at": at.isoformat()}, "link": link})
    store.commit()
    holder = Holder(4242, (at - timedelta(hours=2)).isoformat(), config.device.id, Path("/x.lock"))
    return status_report(store, config, at, liveness=Liveness(holder))


def test_technician_link_running_agent_shows_connected_since_last_ack_and_rejections(
    store: Store, config: BoxConfig, clock: SimClock
) -> None:
    stats = LinkStats()
    watch = LinkWatch(stats, broker=BROKER, now=clock.now)
    watch.observe()
    start = clock.now()
    report = _running(store, config, watch.snapshot(), clock.now())
    assert (report["link"]["connected"], report["link"]["since"]) == (False, start.isoformat())
    assert "NOT CONNECTED since" in render_status(report) and ": connect refused;" in render_status(report)
    clock.advance(30)
    stats.values.update(connected=True, last_error="")
    watch.observe()  # the agent's tick notices the connection
    clock.advance(600)
    stats.values.update(acks=4, acked={"event": 12, "total": 3, "raw": 40})
    watch.observe()
    clock.advance(120)
    stats.values.update(rejected_in=2, last_rejection="hameau/v1/x/cmd: payload: bad JSON", loop_restarts=1)
    watch.observe()
    clock.advance(60)
    report = _running(store, config, watch.snapshot(), clock.now())
    link = report["link"]
    assert (link["connected"], link["since"], link["since_age_s"]) == (True, (start + timedelta(seconds=30)).isoformat(),
                                                                      780.0)
    assert (link["last_ack_age_s"], link["last_rejection_age_s"], link["rejected"], link["loop_restarts"]) == (
        180.0, 60.0, 2, 1)
    text = render_status(report)
    assert f"link: to {BROKER}, connected since " in text and "(13 min ago); last ack from the fleet 3 min ago" in text
    assert "last rejected message 1 min ago (2 in all): hameau/v1/x/cmd: payload: bad JSON" in text
    assert "MQTT network loop restarted once" in text
    assert json.loads(json.dumps(report))["link"] == link  # --json carries it as it is


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real self-signed CA certificate made by openssl (the [link] table checks it at load)."""
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem"), "-days", "2",
                    "-subj", "/CN=test-ca"], check=True, capture_output=True)
    return folder / "ca.pem"


def test_technician_link_status_command_shows_the_backlog_with_no_agent(
    tmp_path: Path, ca_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n", encoding="utf-8")
    password.chmod(0o600)
    path = tmp_path / "box.toml"
    path.write_text(_text(tmp_path) + f'\n[link]\nbroker = "{BROKER}"\nca_file = "{ca_pem}"\n'
                    f'password_file = "{password}"\n', encoding="utf-8")
    clock = SimClock(epoch=datetime.now(UTC) - timedelta(minutes=5))
    with Store(tmp_path / "hameau.db", monotonic=clock.monotonic) as store:
        store.add_event_now(Event("decision", "test", "waiting", clock.now(), {}))
    assert main(["status", "--config", str(path), "--json"]) == 1  # no agent runs
    link = json.loads(capsys.readouterr().out)["link"]
    assert (link["configured"], link["broker"], link["connected"], link["outbox"]["records"]) == (True, BROKER, False, 1)
    assert 295 <= link["outbox"]["lanes"]["event"]["oldest_age_s"] <= 400
    assert main(["status", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"link: to {BROKER}, not connected: the agent is not running" in out and "event 1 (" in out


def test_technician_link_agent_snapshot_carries_the_link_part(config: BoxConfig, clock: SimClock) -> None:
    """The agent writes what its provider says into each snapshot; a provider that fails costs only its part."""
    stats = LinkStats()
    stats.values.update(connected=True, acks=1)
    watch = LinkWatch(stats, broker=BROKER, now=clock.now)
    hardware = open_simulated_hardware(config, clock, modbus_line="loopback")
    store = Store(config.agent.db_path, monotonic=clock.monotonic)
    try:
        agent = Agent(config, hardware, store, clock, SimCalendar())
        agent.link_status = watch.snapshot
        agent.start()
        started = clock.now()
        clock.advance(60)
        agent.flush(clock.now(), clock.monotonic())
        with Store(config.agent.db_path, monotonic=clock.monotonic) as reader:
            saved = reader.load_status() or {}
            assert saved["link"]["connected"] is True and saved["link"]["since"] == started.isoformat()
            assert saved["link"]["last_ack_at"] == started.isoformat() and saved["link"]["broker"] == BROKER

        def broken() -> dict[str, Any]:
            raise RuntimeError("no link")

        agent.link_status = broken
        agent.stop()  # flushes a last snapshot
        with Store(config.agent.db_path, monotonic=clock.monotonic) as reader:
            saved = reader.load_status() or {}
        assert saved["link"] == {"error": "RuntimeError: no link"} and saved["agent"]["stopped"] is not None
    finally:
        hardware.close()
