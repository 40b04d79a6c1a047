"""Heating invariants for any sequence of temperatures, faults, overrides, restarts and time steps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.model import DeviceConfig
from edge.controllers.base import SensorInput
from edge.controllers.heating.config import ComfortPeriod, HeatingConfig, WeeklySchedule
from edge.controllers.heating.controller import HeatingController
from edge.controllers.heating.preheat import RATE_MAX_C_PER_H, RATE_MIN_C_PER_H
from edge.controllers.overrides import Override

DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
TEMP = "hall-temp.temperature_c"
RELAY = "hall-heating"
PARIS = ZoneInfo("Europe/Paris")
YEAR_START_S = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
YEAR_END_S = YEAR_START_S + 365 * 86400
OFFICE = WeeklySchedule(((ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60)),) * 5 + ((), ()))


@dataclass(frozen=True)
class Step:
    """One call: time since the previous one, the temperature (None: faulted), an override change, a restart."""

    dt_s: int
    temperature_c: float | None
    override: tuple[bool, int] | str
    restart: bool


steps = st.builds(
    Step,
    dt_s=st.integers(1, 1800),
    temperature_c=st.one_of(st.none(), st.floats(-5, 25), st.floats(5.5, 8.5)),
    override=st.one_of(
        st.sampled_from(["keep", "keep", "keep", "clear"]), st.tuples(st.booleans(), st.integers(1, 7200))
    ),
    restart=st.sampled_from([False] * 19 + [True]),
)
configs = st.builds(
    HeatingConfig,
    id=st.just("hall"),
    relay=st.just(RELAY),
    thermometer=st.just("hall-temp"),
    frost_c=st.sampled_from([5.0, 7.0]),
    hysteresis_c=st.sampled_from([0.2, 0.5, 1.0]),
    min_on_s=st.sampled_from([0.0, 60.0, 300.0, 900.0]),
    min_off_s=st.sampled_from([0.0, 60.0, 300.0, 900.0]),
    fallback_duty=st.sampled_from([0.5, 0.6, 0.7, 1.0]),
    fallback_period_s=st.just(3600.0),
    schedule=st.sampled_from([WeeklySchedule(), OFFICE]),
    max_preheat_min=st.sampled_from([0.0, 60.0, 180.0, 600.0]),
    preheat_rate_c_per_h=st.sampled_from([0.5, 2.0]),
)


@settings(max_examples=200, deadline=None)
@given(config=configs, start_s=st.integers(YEAR_START_S, YEAR_END_S), sequence=st.lists(steps, max_size=80))
def test_heating_properties_hold_for_any_sequence(config: HeatingConfig, start_s: int, sequence: list[Step]) -> None:
    """For any sequence of calls:

    - frost protection always holds: whenever the zone reads below frost_c, the heater is commanded on,
      except while the minimum off time since the heater was last switched off is not over; frost then
      turns it on at the first call where min_off_s has passed (frost forces the heater on as soon as
      the minimum off time allows, it never cuts short a minimum time). The mode is "frost" and the
      relay is listed in decision.interlocks with the reason;
    - overrides never defeat frost protection: an "off" override below frost_c (or with the thermometer
      faulted) is refused with one "interlock" event per override and the heater stays as frost (or the
      blind duty cycle) wants it;
    - minimum times: between two switchings outside a restart, the heater stayed on for at least
      min_on_s (or off for at least min_off_s); a restart (starting=True) re-derives the output at once,
      because the relay went through its safe state while the agent was down;
    - an expired override never holds: once now >= until the mode is never "override";
    - the thermometer faulted: mode "fallback", and the relay is interlocked (no "off" override may
      leave the zone unprotected);
    - every call commands the relay on or off: the controller always decides;
    - preheat only with a usable thermometer, outside comfort periods, for a period starting within
      max_preheat_min, with the comfort setpoint; a faulted thermometer drops any preheat;
    - the learned heating rate stays within its bounds, and a run is measured only while the heater
      is commanded on with a usable thermometer;
    - a controller built afresh (no cached schedule, sun times or last answer) decides the same.
    """
    controller = HeatingController(config, DEVICE)
    state = controller.initial_state()
    now = datetime.fromtimestamp(start_s, UTC)
    override: Override | None = None
    last_on: bool | None = None
    last_change: datetime | None = None
    refusals: dict[Override, int] = {}
    for index, step in enumerate(sequence):
        now += timedelta(seconds=step.dt_s)
        if step.override == "clear":
            override = None
        elif isinstance(step.override, tuple):
            override = Override(RELAY, step.override[0], now + timedelta(seconds=step.override[1]), now)
        starting = index == 0 or step.restart
        inputs = {TEMP: SensorInput(step.temperature_c, now, step.temperature_c is not None)}
        overrides = {RELAY: override} if override is not None else {}
        previous_on, previous_change = last_on, last_change
        previous_state = state
        decision = controller.decide(state, inputs, overrides, now, starting=starting)
        state = decision.state
        fresh = HeatingController(config, DEVICE).decide(previous_state, inputs, overrides, now, starting=starting)
        assert fresh == decision
        (command,) = decision.commands
        assert command.relay == RELAY
        assert command.on is not None
        if command.on != last_on:
            if not starting and last_on is not None and last_change is not None:
                minimum_s = config.min_on_s if last_on else config.min_off_s
                assert (now - last_change).total_seconds() >= minimum_s
            last_on, last_change = command.on, now
        temperature = step.temperature_c
        if temperature is not None and temperature < config.frost_c:
            assert state.mode == "frost"
            assert RELAY in decision.interlocks
            if not command.on:
                assert not starting
                assert previous_on is False and previous_change is not None
                assert (now - previous_change).total_seconds() < config.min_off_s
                assert "held off for its minimum off time" in state.reason
        if temperature is None:
            assert state.mode in ("fallback", "override")
            assert RELAY in decision.interlocks
        if override is not None and now >= override.until:
            assert state.mode != "override"
        for event in decision.events:
            if event.kind == "interlock":
                assert override is not None and not override.on
                refusals[override] = refusals.get(override, 0) + 1
                assert refusals[override] == 1
        if override is not None and not override.on and override.active(now) and RELAY in decision.interlocks:
            assert state.mode != "override"
        if state.mode == "preheat":
            assert temperature is not None and state.setpoint_c == config.comfort_c
            assert config.schedule.period_at(now.astimezone(PARIS)) is None
            assert state.preheat_for_s is not None
            assert 0 < state.preheat_for_s - now.timestamp() <= config.max_preheat_min * 60
        if temperature is None:
            assert state.preheat_for_s is None
        if state.heating_rate_c_per_h is not None:
            assert RATE_MIN_C_PER_H <= state.heating_rate_c_per_h <= RATE_MAX_C_PER_H
            assert state.rate_samples >= 1
        if state.run_since_s is not None:
            assert command.on is True and temperature is not None


MONDAYS_S = [int(datetime(2026, 1, 5, tzinfo=PARIS).timestamp()) + week * 7 * 86400 for week in range(52)]
preheat_steps = st.builds(
    Step,
    dt_s=st.integers(30, 1200),
    temperature_c=st.one_of(*(st.floats(15, 20),) * 4, st.floats(5, 21), st.none()),
    override=st.just("keep"),
    restart=st.sampled_from([False] * 19 + [True]),
)


@settings(max_examples=200, deadline=None)
@given(
    config=configs.filter(lambda c: c.max_preheat_min > 0).map(lambda c: replace(c, schedule=OFFICE)),
    monday_s=st.sampled_from(MONDAYS_S),
    offset_s=st.integers(0, 5 * 86400),
    sequence=st.lists(preheat_steps, max_size=80),
)
def test_heating_preheat_properties_hold_for_any_morning(
    config: HeatingConfig, monday_s: int, offset_s: int, sequence: list[Step]
) -> None:
    """Around weekday comfort periods, without overrides:

    - a preheat starts no earlier than the zone needs at the rate it knows (its learned rate, else
      preheat_rate_c_per_h), and never more than max_preheat_min before the period;
    - once started it holds until the period begins, restarts included, unless the thermometer fails;
    - frost protection still wins, and the minimum times still hold.
    """
    controller = HeatingController(config, DEVICE)
    state = controller.initial_state()
    now = datetime.fromtimestamp(monday_s + offset_s, UTC)
    last_on: bool | None = None
    last_change: datetime | None = None
    for index, step in enumerate(sequence):
        now += timedelta(seconds=step.dt_s)
        starting = index == 0 or step.restart
        temperature = step.temperature_c
        previous = state
        decision = controller.decide(state, {TEMP: SensorInput(temperature, now, temperature is not None)}, {}, now,
                                     starting=starting)
        state = decision.state
        (command,) = decision.commands
        if command.on != last_on:
            if not starting and last_on is not None and last_change is not None:
                assert (now - last_change).total_seconds() >= (config.min_on_s if last_on else config.min_off_s)
            last_on, last_change = command.on, now
        now_s = now.timestamp()
        if temperature is not None and temperature < config.frost_c:
            assert state.mode == "frost"
        if state.preheat_for_s is not None and state.preheat_since_s == now_s and previous.preheat_for_s is None:
            assert temperature is not None
            rate = previous.heating_rate_c_per_h or config.preheat_rate_c_per_h
            needed_s = min((config.comfort_c - temperature) * 3600 / rate, config.max_preheat_min * 60)
            assert state.preheat_for_s - now_s <= needed_s + 1e-6
        if previous.preheat_for_s is not None and now_s < previous.preheat_for_s and temperature is not None:
            assert state.preheat_for_s == previous.preheat_for_s
            assert state.mode in ("preheat", "frost")
