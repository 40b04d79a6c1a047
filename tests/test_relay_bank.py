"""The relay bank on its own: real relay drivers on simulated GPIO pins that log every write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from drivers.relay import Relay
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPin, SimPinFactory
from drivers.sim.lamp import LampCircuit
from edge.controllers.base import RelayCommand
from edge.controllers.overrides import Override
from edge.parts.relay.config import RelayConfig
from edge.runtime.relays import RelayBank

NOW = datetime(2026, 7, 14, 21, 30, tzinfo=UTC)
#: Street lights on an active-low board, safe on, with a contactor feedback contact; heating safe off.
LIGHTS = RelayConfig("street-lights", "gpio", 22, active_high=False, safe_state=True, feedback_pin=23, settle_s=0.2)
HEATING = RelayConfig("hall-heating", "gpio", 24, active_high=True, safe_state=False)


class LoggingPin(SimPin):
    """A simulated pin that logs every level the Pi writes to it, even one equal to the current level."""

    def __init__(self, factory: SimPinFactory, info: object) -> None:
        self.written: list[bool] = []
        super().__init__(factory, info)

    def _set_state(self, value: bool) -> None:
        self.written.append(bool(value))
        super()._set_state(value)


class Bench:
    """Two relays, a lamp circuit behind the street lights, and the bank driving them."""

    def __init__(self) -> None:
        self.clock = SimClock(start_s=100.0)
        self.factory = SimPinFactory(self.clock.monotonic)
        self.factory.pin_class = LoggingPin
        self.lamp = LampCircuit(self.factory, LIGHTS.pin, LIGHTS.feedback_pin, relay_active_high=False)
        self.relays = {c.id: _relay(self.factory, self.clock, c) for c in (LIGHTS, HEATING)}
        self.bank = RelayBank(self.relays, (LIGHTS, HEATING))

    def pin(self, config: RelayConfig) -> LoggingPin:
        pin = self.factory.pin(config.pin)
        assert isinstance(pin, LoggingPin)
        return pin

    def energised(self, config: RelayConfig) -> bool:
        """Whether the relay's coil is driven, from the pin level and the board's polarity."""
        pin = self.pin(config)
        return pin.function == "output" and bool(pin.state) == config.active_high

    def close(self) -> None:
        self.bank.close()
        self.lamp.close()
        self.factory.close()


def _relay(factory: SimPinFactory, clock: SimClock, c: RelayConfig) -> Relay:
    return Relay(
        factory, c.pin, active_high=c.active_high, safe_state=c.safe_state, feedback_pin=c.feedback_pin,
        settle_s=c.settle_s, monotonic=clock.monotonic,
    )


@pytest.fixture
def bench() -> Iterator[Bench]:
    made = Bench()
    yield made
    made.close()


class CountingRelay:
    """A relay board as the bank sees it, counting the commands it is sent."""

    feedback = None

    def __init__(self, safe_state: bool) -> None:
        self.is_on = safe_state
        self.commands = 0

    def set(self, state: bool) -> None:
        self.commands += 1
        self.is_on = state

    def check(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_relay_bank_starts_every_relay_in_its_safe_state(bench: Bench) -> None:
    assert bench.energised(LIGHTS) and not bench.energised(HEATING)
    assert {rid: (s.on, s.decided_by) for rid, s in bench.bank.states.items()} == {
        "street-lights": (True, "safe state"), "hall-heating": (False, "safe state"),
    }


def test_relay_bank_apply_writes_a_pin_only_when_the_relay_changes(bench: Bench) -> None:
    heating = bench.pin(HEATING)
    before = len(heating.written)
    cold, warm = RelayCommand("hall-heating", True, "17.2 °C < 18.5 °C"), RelayCommand("hall-heating", False, "19.5 °C")
    for minute in range(60):
        bench.bank.apply("hall", cold, {}, NOW + timedelta(minutes=minute))
    assert heating.written[before:] == [True] and bench.energised(HEATING)
    for minute in range(60, 120):
        bench.bank.apply("hall", warm, {}, NOW + timedelta(minutes=minute))
    assert heating.written[before:] == [True, False] and not bench.energised(HEATING)


def test_relay_bank_sends_the_driver_a_command_only_when_the_state_changes() -> None:
    relay = CountingRelay(safe_state=False)
    bank = RelayBank({"hall-heating": relay}, (HEATING,))  # type: ignore[dict-item]
    for minute in range(60):
        bank.apply("hall", RelayCommand("hall-heating", True, "cold"), {}, NOW + timedelta(minutes=minute))
    assert relay.commands == 1 and relay.is_on
    for minute in range(60):
        bank.apply("hall", RelayCommand("hall-heating", None, "no thermometer"), {}, NOW + timedelta(minutes=minute))
    assert relay.commands == 2 and not relay.is_on


def test_relay_bank_corrects_a_relay_that_was_switched_behind_its_back() -> None:
    relay = CountingRelay(safe_state=False)
    bank = RelayBank({"hall-heating": relay}, (HEATING,))  # type: ignore[dict-item]
    bank.apply("hall", RelayCommand("hall-heating", True, "cold"), {}, NOW)
    relay.set(False)
    bank.apply("hall", RelayCommand("hall-heating", True, "cold"), {}, NOW + timedelta(seconds=10))
    assert relay.is_on and relay.commands == 3


def test_relay_bank_none_command_means_each_relays_safe_state(bench: Bench) -> None:
    bench.bank.apply("street-main", RelayCommand("street-lights", False, "daylight"), {}, NOW)
    bench.bank.apply("hall", RelayCommand("hall-heating", True, "cold"), {}, NOW)
    assert not bench.energised(LIGHTS) and bench.energised(HEATING)
    bench.bank.apply("street-main", RelayCommand("street-lights", None, "no lux, no sun"), {}, NOW)
    bench.bank.apply("hall", RelayCommand("hall-heating", None, "no thermometer"), {}, NOW)
    assert bench.energised(LIGHTS) and not bench.energised(HEATING)
    lights, heating = bench.bank.states["street-lights"], bench.bank.states["hall-heating"]
    assert (lights.on, lights.decided_by, lights.reason) == (True, "street-main (safe state)", "no lux, no sun")
    assert (heating.on, heating.decided_by, heating.reason) == (False, "hall (safe state)", "no thermometer")


def _override(on: bool, set_at: datetime, until: datetime) -> dict[str, Override]:
    return {"street-lights": Override("street-lights", on, until, set_at, "alice", "village fete")}


def test_relay_bank_names_the_override_holder_only_while_it_holds_and_agrees(bench: Bench) -> None:
    until = NOW + timedelta(hours=3)
    fete = _override(True, NOW - timedelta(minutes=5), until)
    lit = RelayCommand("street-lights", True, "override on by alice until 00:30")
    bench.bank.apply("street-main", lit, fete, NOW)
    state = bench.bank.states["street-lights"]
    assert (state.decided_by, state.until) == ("override by alice", until)
    bench.bank.apply("street-main", lit, fete, until - timedelta(seconds=1))
    assert (state.decided_by, state.until) == ("override by alice", until)
    # The controller refuses it (an interlock): the relay follows the controller, who decided it.
    bench.bank.apply("street-main", RelayCommand("street-lights", False, "refused"), fete, NOW)
    assert (state.decided_by, state.until, bench.energised(LIGHTS)) == ("street-main", None, False)
    # Expired at `until`: no longer the override's doing, even though the relay agrees with it.
    bench.bank.apply("street-main", RelayCommand("street-lights", True, "dusk"), fete, until)
    assert (state.decided_by, state.until) == ("street-main", None)
    # Not yet in force, or set for another relay: not the override's doing either.
    later = _override(True, NOW + timedelta(minutes=1), until)
    bench.bank.apply("street-main", RelayCommand("street-lights", True, "dusk"), later, NOW)
    assert state.decided_by == "street-main"
    other = {"hall-heating": Override("hall-heating", True, until, NOW - timedelta(minutes=5), "bob")}
    bench.bank.apply("street-main", RelayCommand("street-lights", True, "dusk"), other, NOW)
    assert state.decided_by == "street-main"


def test_relay_bank_feedback_mismatch_is_one_fault_event_then_one_cleared_event(bench: Bench) -> None:
    bench.bank.apply("street-main", RelayCommand("street-lights", False, "daylight"), {}, NOW)
    bench.clock.advance(1.0)
    assert bench.bank.check_feedback(NOW) == []
    bench.bank.apply("street-main", RelayCommand("street-lights", True, "dusk"), {}, NOW)
    bench.lamp.fault = "welded"  # the contactor will stay closed when its coil is let go
    bench.bank.apply("street-main", RelayCommand("street-lights", False, "cut-off"), {}, NOW)
    assert bench.bank.check_feedback(NOW) == []  # not judged before the contactor's settle time
    events = []
    for second in range(60):
        bench.clock.advance(1.0)
        events += bench.bank.check_feedback(NOW + timedelta(seconds=second))
    assert [(e.kind, e.source, e.data["code"]) for e in events] == [("fault", "street-lights", "feedback_mismatch")]
    assert bench.bank.states["street-lights"].feedback_fault is not None
    bench.lamp.fault = None
    events = []
    for second in range(60):
        bench.clock.advance(1.0)
        events += bench.bank.check_feedback(NOW + timedelta(seconds=60 + second))
    assert [(e.kind, e.source, e.data["code"]) for e in events] == [
        ("fault_cleared", "street-lights", "feedback_mismatch")
    ]
    assert bench.bank.states["street-lights"].feedback_fault is None


def test_relay_bank_close_puts_every_relay_in_its_safe_state(bench: Bench) -> None:
    bench.bank.apply("street-main", RelayCommand("street-lights", False, "daylight"), {}, NOW)
    bench.bank.apply("hall", RelayCommand("hall-heating", True, "cold"), {}, NOW)
    bench.bank.close()
    # The last level written before each output is let go is the board's level for the safe state.
    assert bench.pin(LIGHTS).written[-1] is (LIGHTS.safe_state == LIGHTS.active_high)
    assert bench.pin(HEATING).written[-1] is (HEATING.safe_state == HEATING.active_high)
    assert bench.pin(LIGHTS).function == "input" and bench.pin(HEATING).function == "input"
