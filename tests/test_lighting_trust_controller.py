"""The lux sensor's trust inside a lighting circuit: faults named with the sun, the clock in minutes, own lamps.

Oracles: the sun's geometric elevation from astral's elevation function (asked here, at the instants
the tests choose), the README's rules (a reading against the sun is watched for lux_check_s, 15 min,
and not acted on meanwhile; then the astronomical clock), and the words a technician reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral import sun as astral_sun

from edge.config.model import DeviceConfig
from edge.config.reader import Problems, Table
from edge.controllers.base import Decision, SensorInput
from edge.controllers.fields import ConfigContext
from edge.controllers.lighting.config import (
    CutoffSchedule,
    LightingConfig,
    parse_lighting,
)
from edge.controllers.lighting.controller import LightingController, LightingState
from edge.parts.bh1750.config import BH1750Config
from edge.parts.relay.config import RelayConfig

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
SITE = Observer(45.187, 5.726)
LUX = "lux-roof.illuminance_lx"
NOON = datetime(2026, 1, 15, 12, 0, tzinfo=PARIS).astimezone(UTC)
NIGHT = datetime(2026, 1, 15, 21, 0, tzinfo=PARIS).astimezone(UTC)


def _controller(**changes: object) -> LightingController:
    config = LightingConfig("street-main", "street-lights", "lux-roof", cutoff=CutoffSchedule())
    return LightingController(replace(config, **changes), DEVICE)


def _decide(controller: LightingController, now: datetime, lux: float | None, state: LightingState | None = None,
            *, starting: bool = False, read_at: datetime | None = None) -> Decision[LightingState]:
    at = read_at or now
    inputs: Mapping[str, SensorInput] = {LUX: SensorInput(lux, at, lux is not None, (now - at).total_seconds())}
    return controller.decide(state or controller.initial_state(), inputs, {}, now, starting=starting)


def _minutes(controller: LightingController, start: datetime, minutes: int, lux: float,
             state: LightingState) -> list[Decision[LightingState]]:
    out = []
    for minute in range(minutes):
        decision = _decide(controller, start + timedelta(minutes=minute), lux, state)
        state = decision.state
        out.append(decision)
    return out


def test_lighting_trust_controller_dark_by_day_is_held_then_faulted_with_the_sun_named() -> None:
    controller = _controller()
    day = _decide(controller, NOON - timedelta(minutes=1), 5000.0, starting=True)
    covered = _minutes(controller, NOON, 17, 0.0, day.state)
    # Watched for 15 min (the lamps are not lit on it), not believed from the 15th minute on.
    assert all(d.commands[0].on is False for d in covered)
    assert covered[3].state.mode == "lux" and covered[3].state.reason.endswith("dark by day since 12:00: not acted on")
    assert all(e.kind == "decision" for d in covered[:15] for e in d.events)
    faults = [e for e in covered[15].events if e.kind == "fault"]
    elevation = astral_sun.elevation(SITE, NOON + timedelta(minutes=15), with_refraction=False)
    assert 20 < elevation < 25  # mid-January at 45° N, around noon
    assert len(faults) == 1 and faults[0].source == "street-main"
    assert faults[0].data == {"sensor": "lux-roof", "relay": "street-lights", "code": "dark_by_day"}
    assert faults[0].reason.startswith(f"lux sensor lux-roof not believed: reads 0.0 lx with the sun {elevation:.0f}° up")
    assert [e.kind for e in covered[15].events].count("fallback") == 1
    assert covered[15].state.mode == "astronomical" and covered[15].state.lux_faulted
    assert covered[15].state.reason.startswith(f"lux sensor not believed (reads 0.0 lx with the sun {elevation:.0f}° up")
    assert covered[16].events == ()
    # Daylight on it again (the nest is gone): believed at once, lux control resumes.
    back = _decide(controller, NOON + timedelta(minutes=20), 4000.0, covered[-1].state)
    kinds = {e.kind: e for e in back.events}
    assert kinds["fault_cleared"].data["code"] == "dark_by_day"
    assert kinds["fallback"].reason == "lux sensor lux-roof believed again: lux control resumes"
    assert back.state.mode == "lux" and back.state.distrust == ""


def test_lighting_trust_controller_lit_at_night_keeps_the_lamps_on() -> None:
    controller = _controller()
    night = _decide(controller, NIGHT - timedelta(minutes=1), 0.2, starting=True)
    assert night.commands[0].on is True
    lit = _minutes(controller, NIGHT, 16, 900.0, night.state)
    assert all(d.commands[0].on is True for d in lit)
    (fault,) = [e for e in lit[15].events if e.kind == "fault"]
    elevation = astral_sun.elevation(SITE, NIGHT + timedelta(minutes=15), with_refraction=False)
    assert elevation < -8
    assert fault.data["code"] == "lit_at_night"
    assert f"reads 900 lx with the sun {-elevation:.0f}° below the horizon" in fault.reason
    assert lit[15].state.mode == "astronomical"


def test_lighting_trust_controller_a_reading_against_the_sun_at_start_follows_the_sun() -> None:
    decision = _decide(_controller(), NOON, 0.0, starting=True)
    assert (decision.state.mode, decision.commands[0].on) == ("lux", False)
    assert decision.state.verdict_reason == "lux 0.0 lx against the sun at start: astronomical clock says day"


def test_lighting_trust_controller_checks_off_believe_the_sensor() -> None:
    controller = _controller(lux_checks=False)
    day = _decide(controller, NOON - timedelta(minutes=1), 5000.0, starting=True)
    covered = _minutes(controller, NOON, 20, 0.0, day.state)
    assert covered[-1].commands[0].on is True and not any(e.kind == "fault" for d in covered for e in d.events)


def test_lighting_trust_controller_measures_its_own_lamps_from_a_fresh_reading_only() -> None:
    controller = _controller(min_on_s=0, min_off_s=0, confirm_s=0)
    dusk = datetime(2026, 1, 15, 17, 40, tzinfo=PARIS).astimezone(UTC)
    lit = _decide(controller, dusk, 100.0, starting=True)
    assert lit.commands[0].on is False
    lit = _decide(controller, dusk + timedelta(minutes=1), 20.0, lit.state)  # switches on at 20 lx
    assert lit.commands[0].on is True and lit.state.switched_at_s is not None
    switched = dusk + timedelta(minutes=1)
    # 40 s later the runtime still holds the reading taken before the switching: nothing measured yet.
    stale = _decide(controller, switched + timedelta(seconds=40), 20.0, lit.state, read_at=switched)
    assert stale.state.self_lit_lx is None and stale.state.switched_at_s is not None
    # A reading taken 45 s after the switching: the lamps add 48 lx.
    fresh = _decide(controller, switched + timedelta(seconds=50), 68.0, stale.state,
                    read_at=switched + timedelta(seconds=45))
    (seen,) = [e for e in fresh.events if e.kind == "fault"]
    assert seen.data["code"] == "self_lit" and seen.data["self_lit_lx"] == 48.0
    assert fresh.commands[0].on is True  # 68 lx less its own 48: still dark
    assert fresh.state.reason.endswith("(its own lamps' 48 lx taken off the reading)")


def test_lighting_trust_controller_state_survives_its_json_form() -> None:
    controller = _controller()
    day = _decide(controller, NOON - timedelta(minutes=1), 5000.0, starting=True)
    state = _minutes(controller, NOON, 16, 0.0, day.state)[-1].state
    assert state.distrust_kind == "dark by day"
    assert controller.state_from_dict(controller.state_to_dict(state)) == state


def test_lighting_trust_controller_restart_forgets_a_watch_cut_by_the_downtime() -> None:
    controller = _controller()
    sunset = astral_sun.sunset(SITE, NOON.date(), tzinfo=UTC)
    before = _decide(controller, sunset - timedelta(minutes=30), 3000.0, starting=True)
    # Watching the sun's fall to sunset (from 3° up, some 20 min before it): a frozen-looking reading
    # until 10 min before sunset, then the agent stops.
    state = _minutes(controller, sunset - timedelta(minutes=29), 19, 3000.0, before.state)[-1].state
    assert state.window_start_s is not None
    back = _decide(controller, sunset + timedelta(minutes=1), 300.0, state, starting=True)
    assert not [e for e in back.events if e.kind == "fault"] and back.state.distrust == ""


def _parse(raw: dict[str, object]) -> tuple[LightingConfig | None, dict[str, str]]:
    ctx = ConfigContext(device=DEVICE, sensors={"lux-roof": BH1750Config("lux-roof", "i2c1", 30.0)},
                        relays={"street-lights": RelayConfig("street-lights", "gpio", 22, safe_state=True)})
    problems = Problems("box.toml")
    config = parse_lighting(Table({"id": "street-main", "relay": "street-lights", "lux_sensor": "lux-roof", **raw},
                                  "lighting[0]", problems), ctx)
    return config, {p.key: p.reason for p in problems.items}


def test_lighting_trust_controller_config_keys() -> None:
    config, problems = _parse({})
    assert problems == {} and config is not None and (config.lux_checks, config.lux_check_s) == (True, 900.0)
    config, problems = _parse({"lux_checks": False, "lux_check_s": 600})
    assert problems == {} and config is not None and (config.lux_checks, config.lux_check_s) == (False, 600.0)


@pytest.mark.parametrize(("raw", "key"), [
    ({"lux_check_s": 59}, "lighting[0].lux_check_s"),
    ({"lux_check_s": 7201}, "lighting[0].lux_check_s"),
    ({"lux_check_s": float("nan")}, "lighting[0].lux_check_s"),
    ({"lux_checks": "yes"}, "lighting[0].lux_checks"),
])
def test_lighting_trust_controller_config_mistakes_are_named(raw: dict[str, object], key: str) -> None:
    config, problems = _parse(raw)
    assert config is None and list(problems) == [key]
