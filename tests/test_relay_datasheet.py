"""Relay wiring facts written out literally, never taken from the code under test.

A feedback contact wired to 3.3 V reads high when closed and needs a pull-down to read low when
open; one wired to ground needs a pull-up (the Raspberry Pi GPIO inputs have both).
"""

from __future__ import annotations

import pytest

from drivers.relay import Relay
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory


@pytest.mark.parametrize(("feedback_active_high", "pull"), [(True, "down"), (False, "up")])
def test_relay_feedback_contact_gets_the_opposite_pull(feedback_active_high: bool, pull: str) -> None:
    clock = SimClock(start_s=0.0)
    factory = SimPinFactory(clock)
    try:
        relay = Relay(
            factory, 17, feedback_pin=27, feedback_active_high=feedback_active_high, monotonic=clock.monotonic
        )
        assert factory.pin(27).pull == pull
        assert relay.feedback is False  # contact open: the pull holds the inactive level
        relay.close()
    finally:
        factory.close()


@pytest.mark.parametrize(("active_high", "level_when_on"), [(True, True), (False, False)])
def test_relay_coil_level_follows_active_high(active_high: bool, level_when_on: bool) -> None:
    clock = SimClock(start_s=0.0)
    factory = SimPinFactory(clock)
    try:
        relay = Relay(factory, 17, active_high=active_high, monotonic=clock.monotonic)
        assert factory.pin(17).state is (not level_when_on)  # safe state off at start
        relay.on()
        assert factory.pin(17).state is level_when_on
        relay.close()
        assert factory.pin(17).state is (not level_when_on)  # safe state applied before release
    finally:
        factory.close()
