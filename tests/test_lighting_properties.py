"""Street-lighting invariants for any sequence of lux readings, faults, overrides, restarts and time steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.model import DeviceConfig
from edge.controllers.base import SensorInput
from edge.controllers.lighting.config import (
    CutoffSchedule,
    LightingConfig,
    parse_window,
)
from edge.controllers.lighting.controller import LightingController
from edge.controllers.overrides import Override

DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
LUX = "lux-roof.illuminance_lx"
RELAY = "street-lights"
PARIS = ZoneInfo("Europe/Paris")
YEAR_START_S = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
YEAR_END_S = YEAR_START_S + 365 * 86400


@dataclass(frozen=True)
class Step:
    """One call: time since the previous one, the lux (None: faulted), an override change, a restart."""

    dt_s: int
    lux: float | None
    override: tuple[bool, int] | None | str
    restart: bool


steps = st.builds(
    Step,
    dt_s=st.integers(1, 900),
    lux=st.one_of(st.none(), st.floats(0, 100), st.floats(0, 5000)),
    override=st.one_of(
        st.just("keep"),
        st.just("keep"),
        st.just("keep"),
        st.just("clear"),
        st.tuples(st.booleans(), st.integers(1, 7200)),
    ),
    restart=st.sampled_from([False] * 19 + [True]),
)
configs = st.builds(
    LightingConfig,
    id=st.just("street-main"),
    relay=st.just(RELAY),
    lux_sensor=st.just("lux-roof"),
    confirm_s=st.sampled_from([0.0, 60.0, 180.0, 600.0]),
    min_on_s=st.sampled_from([0.0, 60.0, 300.0, 900.0]),
    min_off_s=st.sampled_from([0.0, 60.0, 300.0, 900.0]),
    sunset_offset_min=st.sampled_from([-30.0, 0.0, 15.0]),
    cutoff=st.sampled_from([CutoffSchedule(), CutoffSchedule((parse_window("23:00-05:30"),) * 7)]),
)


@settings(max_examples=200, deadline=None)
@given(config=configs, start_s=st.integers(YEAR_START_S, YEAR_END_S), sequence=st.lists(steps, max_size=80))
def test_lighting_properties_hold_for_any_sequence(config: LightingConfig, start_s: int, sequence: list[Step]) -> None:
    """For any sequence of calls:

    - every call commands the circuit's relay (on or off: with a set clock the controller always decides);
    - minimum times: between two switchings of the relay outside a restart, the relay stayed on for at
      least min_on_s (or off for at least min_off_s); a restart (starting=True) re-derives the output at
      once, because the relay went through its safe state while the agent was down;
    - an expired override never holds: once now >= until, the mode is never "override" and the
      override's expiry is reported by exactly one "override" event;
    - an active override is obeyed unless a minimum time holds the relay, which the reason then says;
    - inside the cut-off window, without an active override, the relay is off unless held on by min_on_s;
    - a controller built afresh (no cached sun times, cut-off windows or last answer) decides the same.
    """
    controller = LightingController(config, DEVICE)
    state = controller.initial_state()
    now = datetime.fromtimestamp(start_s, UTC)
    override: Override | None = None
    last_on: bool | None = None
    last_change: datetime | None = None
    expiry_events = 0
    for index, step in enumerate(sequence):
        now += timedelta(seconds=step.dt_s)
        if step.override == "clear":
            override = None
        elif isinstance(step.override, tuple):
            override = Override(RELAY, step.override[0], now + timedelta(seconds=step.override[1]), now)
            expiry_events = 0
        starting = index == 0 or step.restart
        inputs = {LUX: SensorInput(step.lux, now, step.lux is not None)}
        overrides = {RELAY: override} if override is not None else {}
        previous_state = state
        decision = controller.decide(state, inputs, overrides, now, starting=starting)
        state = decision.state
        fresh = LightingController(config, DEVICE).decide(previous_state, inputs, overrides, now, starting=starting)
        assert fresh == decision
        (command,) = decision.commands
        assert command.relay == RELAY
        assert command.on is not None
        assert command.reason == state.reason
        if command.on != last_on:
            if not starting and last_on is not None and last_change is not None:
                minimum_s = config.min_on_s if last_on else config.min_off_s
                assert (now - last_change).total_seconds() >= minimum_s
            last_on, last_change = command.on, now
        expiry_events += sum(1 for e in decision.events if e.kind == "override" and e.data.get("expired"))
        if override is not None and now >= override.until:
            assert state.mode != "override"
            assert expiry_events == 1
        elif override is not None:
            assert state.mode == "override"
            assert command.on == override.on or "held" in state.reason
        elif config.cutoff.active_at(now.astimezone(PARIS)) is not None:
            assert state.mode == "cut-off"
            assert command.on is False or "held on" in state.reason
