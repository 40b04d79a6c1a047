"""The agent on simulated hardware with a real SQLite store: start, commits, overrides, acks, stop, power cut.

Times and bounds come from the box written below (commit_interval_s, burst_lph, burst_min, the lux
sensor's interval) and from what the test does; a second connection plays the technician's command.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.clock import SimClock
from edge.config.box import BoxConfig
from edge.config.loader import parse_config
from edge.controllers.overrides import Override
from edge.runtime.agent import Agent
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.store import Store

NOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 12:00 in Paris: broad daylight
EVENING = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 21:00 in Paris: dark, before the cut-off
COMMIT_INTERVAL_S = 120.0
TICK_S = 10.0
BURST_LPH = 3000.0
BURST_MIN = 10

BOX = f"""
[device]
id = "test-box"
name = "Test box"
latitude = 45.187
longitude = 5.726
timezone = "Europe/Paris"

[simulation]
enabled = true
illuminance_lx = 850.0
flow_lph = 0.0

[buses.i2c1]
type = "i2c"
number = 1

[buses.gpio]
type = "gpio"

[[sensors]]
id = "lux-roof"
driver = "bh1750"
bus = "i2c1"
address = 0x23
interval_s = 60

[[sensors]]
id = "water-main"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 1.0
interval_s = 60

[[actuators]]
id = "street-lights"
driver = "relay"
bus = "gpio"
pin = 22
safe_state = "on"

[[actuators]]
id = "main-valve"
driver = "relay"
bus = "gpio"
pin = 24
safe_state = "off"

[agent]
db_path = "DB_PATH"
commit_interval_s = {COMMIT_INTERVAL_S}
tick_s = {TICK_S}

[[lighting]]
id = "street-main"
relay = "street-lights"
lux_sensor = "lux-roof"
on_below_lx = 30.0
off_above_lx = 60.0

[lighting.cutoff]
default = "23:00-05:30"

[[leak]]
id = "leak-main"
meter = "water-main"
night_start = "01:00"
night_end = "05:00"
continuous_flow = false
burst_lph = {BURST_LPH}
night_burst_lph = {BURST_LPH}
burst_min = {BURST_MIN}
valve_relay = "main-valve"
valve_closed_when = "on"
"""


class Box:
    """A simulated box and its agent, stepped tick by tick on a simulated clock."""

    def __init__(
        self, tmp_path: Path, start: datetime, lux: float = 850.0, commit_interval_s: float = COMMIT_INTERVAL_S
    ) -> None:
        self.db = tmp_path / "hameau.db"
        text = BOX.replace("DB_PATH", str(self.db))
        text = text.replace(f"commit_interval_s = {COMMIT_INTERVAL_S}", f"commit_interval_s = {commit_interval_s}")
        self.config: BoxConfig = parse_config(text, tmp_path / "box.toml")
        self.clock = SimClock(epoch=start)
        self.hardware = open_simulated_hardware(self.config, self.clock, modbus_line="loopback")
        self.parts = self.hardware.parts
        self.parts.set_illuminance("lux-roof", lux)
        self.agent = Agent(self.config, self.hardware, self._store(), self.clock, SimCalendar())
        self.technician = Store(self.db, monotonic=self.clock.monotonic)  # the technician's command
        self.running = False
        self.tick_at = self.clock.now()

    def _store(self) -> Store:
        return Store(
            self.db, commit_interval_s=self.config.agent.commit_interval_s, monotonic=self.clock.monotonic
        )

    def start(self) -> None:
        self.agent.start()
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.agent.stop()

    def power_cut(self) -> None:
        self.running = False
        self.agent.abandon()

    def tick(self, seconds: float = TICK_S) -> None:
        """Let `seconds` pass (reads take simulated time too), then one tick at `tick_at`."""
        self.parts.advance(seconds)
        self.tick_at = self.clock.now()
        self.agent.step()

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / TICK_S)):
            self.tick()

    def seen(self, sql: str, *args: object) -> list[tuple]:
        """What any other process reading the database sees now."""
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()

    def energised(self, relay_id: str) -> bool:
        return self.parts.relay_energised(relay_id)

    def close(self) -> None:
        if self.running:
            self.stop()
        self.technician.close()
        self.hardware.close()


@pytest.fixture
def boxes() -> Iterator[list[Box]]:
    made: list[Box] = []
    yield made
    for box in made:
        box.close()


def _box(boxes: list[Box], tmp_path: Path, start: datetime, lux: float = 850.0, **kwargs: float) -> Box:
    box = Box(tmp_path, start, lux, **kwargs)
    boxes.append(box)
    return box


@pytest.mark.parametrize(("start", "lux", "lit"), [(NOON, 850.0, False), (EVENING, 2.0, True)])
def test_agent_start_decides_for_now_at_once(
    boxes: list[Box], tmp_path: Path, start: datetime, lux: float, lit: bool
) -> None:
    box = _box(boxes, tmp_path, start, lux)
    box.start()
    assert box.energised("street-lights") is lit
    assert not box.energised("main-valve")
    assert box.agent.bank is not None and box.agent.bank.states["street-lights"].decided_by == "street-main"
    assert box.seen("SELECT reason FROM events WHERE kind = 'agent'") == [("started",)]


def test_agent_keeps_readings_in_memory_until_commit_interval_s(boxes: list[Box], tmp_path: Path) -> None:
    box = _box(boxes, tmp_path, NOON)
    box.start()
    count = "SELECT count(*) FROM readings WHERE sensor = 'lux-roof'"
    assert box.seen(count) == [(1,)]  # the reading taken at start is committed with the start
    box.run(COMMIT_INTERVAL_S - TICK_S)
    assert len(box.agent.store.readings("lux-roof", "illuminance_lx")) == 2  # read again at 60 s, pending
    assert box.seen(count) == [(1,)]
    box.tick()  # commit_interval_s after the last commit
    assert box.seen(count) == [(3,)]
    box.run(COMMIT_INTERVAL_S - TICK_S)
    assert box.seen(count) == [(3,)]
    box.tick()
    assert box.seen(count) == [(5,)]


def test_agent_commits_an_alarm_at_once(boxes: list[Box], tmp_path: Path) -> None:
    box = _box(boxes, tmp_path, NOON, commit_interval_s=3600.0)  # no batch commit during the test
    box.start()
    box.parts.set_flow("water-main", 2 * BURST_LPH)  # a burst pipe
    alarm_after_s = None
    for tick in range(1, round(3 * BURST_MIN * 60 / TICK_S)):
        box.tick()
        if box.agent.store.events(kind="alarm"):
            alarm_after_s = tick * TICK_S
            break
    assert alarm_after_s is not None and BURST_MIN * 60 <= alarm_after_s <= BURST_MIN * 60 + 3 * 60
    # Seen by anyone at once, with the readings of the same tick, not at the next batch.
    assert box.seen("SELECT source FROM events WHERE kind = 'alarm'") == [("leak-main",)]
    assert box.seen("SELECT kind, source FROM alarms WHERE acked_at IS NULL") == [("burst", "leak-main")]
    assert box.agent.store.pending == 0
    assert box.energised("main-valve"), "the burst did not close the valve"


def test_agent_passes_an_acknowledgement_from_another_connection_to_its_controller(
    boxes: list[Box], tmp_path: Path
) -> None:
    box = _box(boxes, tmp_path, NOON)
    box.start()
    box.parts.set_flow("water-main", 2 * BURST_LPH)
    box.run(BURST_MIN * 60 + 3 * 60)
    assert box.energised("main-valve")
    box.parts.set_flow("water-main", 0.0)  # the plumber repaired the pipe
    box.run(600.0)
    assert box.energised("main-valve"), "the valve reopened without an acknowledgement"
    [alarm] = box.technician.latched_alarms()
    box.technician.ack_alarm(alarm.id, "technician:test", box.clock.now())
    box.tick()
    assert not box.energised("main-valve"), "the acknowledgement did not reach the leak watch"
    assert not box.agent.states["leak-main"].latched("burst")


def test_agent_expires_an_override_at_its_end_and_logs_it(boxes: list[Box], tmp_path: Path) -> None:
    box = _box(boxes, tmp_path, NOON)
    box.start()
    box.run(300.0)  # past the lights' minimum off time (min_off_s, 300 s by default)
    now = box.clock.now()
    until = now + timedelta(minutes=30)
    box.technician.set_override(Override("street-lights", True, until, now, "alice", "test"))
    box.tick()  # 70 s after the last batch: only an at-once commit shows the controller's event
    applied = "SELECT source FROM events WHERE kind = 'override' AND reason LIKE '%: applied'"
    assert box.seen(applied) == [("street-main",)]
    while box.tick_at < until:
        assert box.energised("street-lights")
        assert [r for (r,) in box.seen("SELECT relay FROM overrides")] == ["street-lights"]
        box.tick()
    # The first tick at or after `until` removes it, for every connection, and says so.
    assert until <= box.tick_at < until + timedelta(seconds=TICK_S + 1)
    assert box.seen("SELECT relay FROM overrides") == []
    assert box.technician.overrides() == {}
    logged = [e for e in box.technician.events(kind="override") if e.data.get("action") == "cleared"]
    assert [(e.at, e.reason) for e in logged] == [
        (box.tick_at, "street-lights back to automatic control: override expired")
    ]
    box.run(300.0)
    assert not box.energised("street-lights"), "the lights stayed on after the override ended"


def test_agent_stop_puts_relays_in_safe_states_and_records_a_clean_stop(boxes: list[Box], tmp_path: Path) -> None:
    box = _box(boxes, tmp_path, NOON)
    box.start()
    box.parts.set_flow("water-main", 2 * BURST_LPH)
    box.run(BURST_MIN * 60 + 3 * 60)
    gpio = box.hardware.buses.objects["gpio"]
    lights, valve = gpio.pin(22), gpio.pin(24)
    assert (lights.state, valve.state) == (False, True), "not both away from their safe states before the stop"
    box.run(30.0)
    box.stop()
    # Active-high outputs left at the level of their safe state (lights on, valve off), then released.
    assert (lights.state, valve.state) == (True, False)
    assert lights.function == valve.function == "input"
    assert box.seen("SELECT reason FROM events WHERE kind = 'agent' ORDER BY id") == [("started",), ("stopped",)]
    assert json.loads(box.seen("SELECT value FROM state WHERE key = 'agent'")[0][0])["running"] is False
    # Every reading taken is committed by the stop: one at start, then one every 60 s.
    run_s = BURST_MIN * 60 + 3 * 60 + 30
    assert box.seen("SELECT count(*) FROM readings WHERE sensor = 'lux-roof'") == [(1 + run_s // 60,)]


def test_agent_abandon_commits_nothing_more(boxes: list[Box], tmp_path: Path) -> None:
    box = _box(boxes, tmp_path, NOON)
    box.start()
    box.run(COMMIT_INTERVAL_S + 60.0)  # committed at 120 s; the reading at 180 s is pending
    assert box.agent.store.pending > 0
    committed = box.seen("SELECT count(*) FROM readings"), box.seen("SELECT count(*) FROM events")
    box.power_cut()
    assert (box.seen("SELECT count(*) FROM readings"), box.seen("SELECT count(*) FROM events")) == committed
    assert json.loads(box.seen("SELECT value FROM state WHERE key = 'agent'")[0][0])["running"] is True
    again = Agent(box.config, box.hardware, box._store(), box.clock, SimCalendar())
    box.agent = again
    box.start()
    reasons = box.seen("SELECT reason FROM events WHERE kind = 'agent' ORDER BY id")
    assert reasons == [("started",), ("started after an unclean stop (power cut or crash)",)]
