"""Frost protection through the real agent when the zone's thermometer is lost at the start of a -20 °C snap.

A water tower's equipment cabinet: a 500 W heater against 12 W/K of losses (it holds 41.7 °C above
outdoors at full power), 150 kJ/K of thermal mass (a 3.5 h time constant), kept at frost_c = 5 °C.
Its only thermometer comes loose when a -20 °C cold snap begins and stays off for days. The old
blind duty cycle (60 % of each hour) holds -20 + 0.6 x 41.7 = 5 °C at best, and less at night.
Now the duty is sized to hold frost_c + frost_margin_c (8 °C): from the outdoor thermometer and the
lift learned in the days before, or at full power for a frost-only zone with nothing learned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from simbox import HALL_ZONE, box_run, local

HEATER_W, LOSS_W_PER_K = 500.0, 12.0
FROST_C, MARGIN_C = 5.0, 3.0

OUTDOOR_SENSOR = """[[sensors]]
id = "outdoor-temp"
driver = "ds18b20"
bus = "w1"
rom_id = "28-0316a2794b01"
interval_s = 120

"""

TOWER = """
[[heating]]
id = "tower"
relay = "hall-heating"
thermometer = "hall-temp"
comfort_c = 5.0
eco_c = 5.0
frost_c = 5.0
frost_margin_c = 3.0
"""

WORLD = """
[site]
start = "{start}"
duration = "8d"
seed = 7

[outdoor]
annual_mean_c = 11.5
annual_swing_c = 9.0
daily_swing_c = 4.5
day_to_day_c = 1.0
{thermometers}

[[outdoor.cold_snaps]]
start = "2026-01-14T00:00"
duration = "5d"
temperature_c = -20.0

[[zones]]
id = "tower"
thermometers = ["hall-temp"]
heater = "hall-heating"
heater_w = 500.0
loss_w_per_k = 12.0
capacity_kj_per_k = 150.0
initial_c = 6.0

[[faults]]
sensor = "hall-temp"
kind = "unplugged"
start = "2026-01-14T00:00"
duration = "5d"
"""


def _box(outdoor: bool) -> Callable[[str], str]:
    def edit(text: str) -> str:
        head = text.split("# The hall: comfort during")[0]
        if outdoor and 'id = "outdoor-temp"' not in head:
            head = head.replace("[[actuators]]", OUTDOOR_SENSOR + "[[actuators]]", 1)
        return head + TOWER + ('outdoor_thermometer = "outdoor-temp"\n' if outdoor else "")
    return edit


def _blind_snap(tmp_path: Path, outdoor: bool, start: str) -> tuple[float, float, float, object]:
    """The coldest the cabinet got while blind (all of it, and once settled), the heater's share of time in
    the snap, and the zone's state when the thermometer was lost."""
    world = WORLD.format(thermometers='thermometers = ["outdoor-temp"]' if outdoor else "", start=start)
    with box_run(tmp_path, world, edit=_box(outdoor)) as run:
        run.run_until(local("2026-01-13T23:55"))
        assert run.sim.agent is not None
        learned = run.sim.agent.states["tower"]
        coldest, settled, on_minutes, minutes = 99.0, 99.0, 0, 0
        while run.sim.now < local("2026-01-16T12:00"):
            run.run_until(run.sim.now + timedelta(minutes=1))
            temperature_c = run.sim.world.zone_temperature_c("tower")
            coldest = min(coldest, temperature_c)
            if run.sim.now >= local("2026-01-14T06:00"):  # the snap fully in
                settled = min(settled, temperature_c)
                minutes += 1
                on_minutes += run.sim.hardware.parts.relay_energised("hall-heating")
        fallbacks = run.events(kind="fallback", source="tower")
    assert [e.data["active"] for e in fallbacks] == [True]
    return coldest, settled, on_minutes / minutes, learned


def test_agent_blind_cabinet_with_an_outdoor_thermometer_holds_above_frost_in_a_minus_20_snap(tmp_path: Path) -> None:
    coldest, settled, share, learned = _blind_snap(tmp_path, outdoor=True, start="2026-01-11T00:00")
    # Three days of thermostat before the snap taught the lift P / L within 10 %.
    assert learned.lift_k is not None
    assert abs(learned.lift_k - HEATER_W / LOSS_W_PER_K) <= 0.1 * HEATER_W / LOSS_W_PER_K
    # Lost at the bottom of its thermostat band (frost_c - hysteresis_c = 4.5 °C), it never falls below it,
    # and once the snap is in it stays within 2 °C of frost_c + margin: above frost_c by 1 °C at least.
    assert coldest >= FROST_C - 0.5, f"the cabinet fell to {coldest:.2f} °C"
    assert settled >= FROST_C + 1.0, f"the cabinet fell to {settled:.2f} °C in the snap"
    # Sized, not flat out: 8 °C at -20 ± 4.5 °C needs 12 x (28 ± 4.5) / 500 = 56-78 % of the time.
    assert 0.55 <= share <= 0.85, share


def test_agent_blind_frost_only_cabinet_without_outdoor_thermometer_heats_flat_out(tmp_path: Path) -> None:
    coldest, settled, share, learned = _blind_snap(tmp_path, outdoor=False, start="2026-01-13T12:00")
    assert learned.lift_k is None  # nothing to learn it from
    assert share == 1.0
    # Full power holds -20 - 4.5 + 41.7 = 17 °C at the coldest hour of the snap.
    assert coldest >= FROST_C - 0.5, f"the cabinet fell to {coldest:.2f} °C"
    assert settled >= FROST_C + MARGIN_C, f"the cabinet fell to {settled:.2f} °C in the snap"


HALL_SNAP = """
[site]
start = "2026-01-05T00:00"
duration = "12d"
seed = 11

[outdoor]
annual_mean_c = 11.5
annual_swing_c = 9.0
daily_swing_c = 4.5
day_to_day_c = 1.0
thermometers = ["outdoor-temp"]

[[outdoor.cold_snaps]]
start = "2026-01-13T00:00"
duration = "4d"
temperature_c = -20.0
""" + HALL_ZONE + "".join(
    f'[[faults]]\nsensor = "{sensor}"\nkind = "unplugged"\nstart = "2026-01-13T00:00"\nduration = "4d"\n'
    for sensor in ("hall-temp", "hall-climate")
)


def test_agent_blind_scheduled_hall_holds_above_frost_in_a_minus_20_snap_from_its_outdoor_thermometer(
    tmp_path: Path,
) -> None:
    # The example hall (comfort and eco periods, so not frost-only): 3 kW against 90 W/K holds it
    # 3000 / 90 = 33.3 K above outdoors at full power. Both its thermometers come loose as a -20 °C snap
    # begins; the old blind 60 % would settle it at -20 + 0.6 x 33.3 = 0 °C. Its frost_c is 7 °C.
    hall_frost_c = 7.0
    with box_run(tmp_path, HALL_SNAP) as run:
        run.run_until(local("2026-01-12T23:55"))
        assert run.sim.agent is not None
        learned = run.sim.agent.states["hall"]
        coldest = 99.0
        while run.sim.now < local("2026-01-17T00:00"):
            run.run_until(run.sim.now + timedelta(minutes=10))
            coldest = min(coldest, run.sim.world.zone_temperature_c("hall"))
    assert learned.lift_k is not None
    assert abs(learned.lift_k - 3000.0 / 90.0) <= 0.15 * 3000.0 / 90.0, learned.lift_k
    assert coldest >= hall_frost_c, f"the hall fell to {coldest:.2f} °C"
