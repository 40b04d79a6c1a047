"""Relay driver against simulated pins and a simulated lamp contactor with feedback contact."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from drivers.errors import FeedbackMismatchError
from drivers.relay import Relay
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.lamp import LampCircuit

RELAY_PIN = 17
FEEDBACK_PIN = 27


@pytest.fixture
def clock_start_s() -> float:
    return 500.0


@pytest.fixture
def make_relay(factory: SimPinFactory, clock: SimClock) -> Iterator[Callable[..., Relay]]:
    relays: list[Relay] = []

    def make(**kwargs: object) -> Relay:
        relay = Relay(factory, RELAY_PIN, monotonic=clock.monotonic, **kwargs)  # type: ignore[arg-type]
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.close()


@pytest.fixture
def make_lamp(factory: SimPinFactory) -> Iterator[Callable[..., LampCircuit]]:
    lamps: list[LampCircuit] = []

    def make(**kwargs: object) -> LampCircuit:
        lamp = LampCircuit(factory, RELAY_PIN, FEEDBACK_PIN, lamps_w=600.0, **kwargs)  # type: ignore[arg-type]
        lamps.append(lamp)
        return lamp

    yield make
    for lamp in lamps:
        lamp.close()


def test_relay_active_high_drives_the_pin_high_when_on(
    factory: SimPinFactory, make_relay: Callable[..., Relay]
) -> None:
    relay = make_relay(active_high=True)
    pin = factory.pin(RELAY_PIN)
    assert pin.function == "output" and pin.state is False
    relay.on()
    assert relay.is_on and pin.state is True
    relay.off()
    assert not relay.is_on and pin.state is False


def test_relay_active_low_drives_the_pin_low_when_on(factory: SimPinFactory, make_relay: Callable[..., Relay]) -> None:
    relay = make_relay(active_high=False)
    pin = factory.pin(RELAY_PIN)
    assert pin.state is True
    relay.set(True)
    assert pin.state is False
    relay.set(False)
    assert pin.state is True


def test_relay_applies_safe_state_on_start_and_on_close(factory: SimPinFactory, clock: SimClock) -> None:
    pin = factory.pin(RELAY_PIN)
    relay = Relay(factory, RELAY_PIN, active_high=False, safe_state=True, monotonic=clock.monotonic)
    assert relay.is_on and pin.state is False
    relay.off()
    assert pin.state is True
    relay.close()
    assert pin.state is False
    relay.close()  # idempotent


def test_relay_close_switches_the_lamp_to_its_safe_state(
    factory: SimPinFactory, clock: SimClock, make_lamp: Callable[..., LampCircuit]
) -> None:
    lamp = make_lamp()
    relay = Relay(factory, RELAY_PIN, feedback_pin=FEEDBACK_PIN, monotonic=clock.monotonic)
    relay.on()
    assert lamp.lit and lamp.power_w == 600.0
    relay.close()
    assert not lamp.lit and lamp.power_w == 0.0


def test_relay_feedback_follows_a_healthy_contactor(
    clock: SimClock, make_relay: Callable[..., Relay], make_lamp: Callable[..., LampCircuit]
) -> None:
    lamp = make_lamp(relay_active_high=False, feedback_active_high=False)
    relay = make_relay(active_high=False, feedback_pin=FEEDBACK_PIN, feedback_active_high=False)
    assert relay.feedback is False and not lamp.lit
    relay.on()
    clock.advance(1.0)
    assert relay.feedback is True and lamp.lit
    relay.check()
    relay.off()
    clock.advance(1.0)
    assert relay.feedback is False
    relay.check()
    assert lamp.operations == 1


def test_relay_reports_stuck_open_contactor_after_settle_time(
    clock: SimClock, make_relay: Callable[..., Relay], make_lamp: Callable[..., LampCircuit]
) -> None:
    lamp = make_lamp()
    relay = make_relay(feedback_pin=FEEDBACK_PIN, settle_s=0.5)
    lamp.fault = "stuck_open"
    relay.on()
    clock.advance(0.4)
    relay.check()  # still settling: no mismatch yet
    clock.advance(0.1)
    with pytest.raises(FeedbackMismatchError) as caught:
        relay.check()
    error = caught.value
    assert (error.part, error.bus, error.address) == ("Relay", "gpio", "GPIO17")
    assert "commanded ON" in error.reason and "stuck open" in error.reason
    assert not lamp.lit


def test_relay_reports_welded_contactor_after_settle_time(
    clock: SimClock, make_relay: Callable[..., Relay], make_lamp: Callable[..., LampCircuit]
) -> None:
    lamp = make_lamp()
    relay = make_relay(feedback_pin=FEEDBACK_PIN, settle_s=0.2, bus_name="gpio-cabinet")
    relay.on()
    clock.advance(1.0)
    lamp.fault = "welded"
    relay.off()
    relay.check()
    clock.advance(0.2)
    with pytest.raises(FeedbackMismatchError) as caught:
        relay.check()
    assert caught.value.bus == "gpio-cabinet"
    assert "commanded OFF" in caught.value.reason and "welded" in caught.value.reason
    assert lamp.lit and lamp.power_w == 600.0


def test_relay_without_feedback_never_reports_mismatch(clock: SimClock, make_relay: Callable[..., Relay]) -> None:
    relay = make_relay()
    relay.on()
    clock.advance(10.0)
    assert relay.feedback is None
    relay.check()


def test_relay_lamp_created_after_relay_still_drives_feedback(
    factory: SimPinFactory, clock: SimClock, make_relay: Callable[..., Relay], make_lamp: Callable[..., LampCircuit]
) -> None:
    relay = make_relay(feedback_pin=FEEDBACK_PIN)
    relay.on()
    lamp = make_lamp()
    clock.advance(1.0)
    assert lamp.lit and relay.feedback is True
    relay.check()


def test_relay_validates_arguments(factory: SimPinFactory, clock: SimClock) -> None:
    with pytest.raises(ValueError):
        Relay(factory, RELAY_PIN, feedback_pin=RELAY_PIN, monotonic=clock.monotonic)
    with pytest.raises(ValueError):
        Relay(factory, RELAY_PIN, settle_s=-1.0, monotonic=clock.monotonic)
    with pytest.raises(ValueError):
        Relay(None, RELAY_PIN, monotonic=clock.monotonic)


def test_sim_pin_factory_stamps_edges_with_the_injected_clock(factory: SimPinFactory, clock: SimClock) -> None:
    pin = factory.pin(5)
    observed: list[bool] = []
    edges: list[tuple[float, bool]] = []

    def on_change(ticks: float, state: bool) -> None:
        edges.append((ticks, bool(state)))

    pin.add_observer(observed.append)
    pin.when_changed = on_change
    pin.drive(True)
    clock.advance(2.5)
    pin.drive(False)
    assert edges == [(500.0, True), (502.5, False)]
    assert observed == [True, False]
    assert factory.ticks() == 502.5
    pin.when_changed = None
