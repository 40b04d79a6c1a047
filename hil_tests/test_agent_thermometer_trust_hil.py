"""Thermometers judged through the real agent: a healthy DS18B20 in a stable cabinet is never "stuck", a
frozen one still is, and a drifting thermometer next to a second one is a disagreement fault while the
zone is heated from the lower reading.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from simbox import HALL_ZONE, box_run, local

#: An unheated cabinet in a cellar: 10 W/K of losses, 2592 kJ/K of mass (a 72 h time constant), under an outdoor
#: air of 8 °C swinging ±2 °C a day: inside it swings 2 / (2 pi x 3) = ±0.11 °C, less than two DS18B20 steps,
#: so the 12-bit value holds for 8 h around each daily extreme (the old 6 h rule called it stuck every day).
CELLAR = """
[site]
start = "2026-06-01T00:00"
duration = "6d"
seed = 5

[outdoor]
annual_mean_c = 8.0
annual_swing_c = 0.0
daily_swing_c = 2.0
day_to_day_c = 0.0

[[zones]]
id = "cellar"
thermometers = ["hall-temp"]
loss_w_per_k = 10.0
capacity_kj_per_k = 2592.0
initial_c = 8.0
"""
FROZEN = '[[faults]]\nsensor = "hall-temp"\nkind = "stuck"\nstart = "2026-06-04T00:00"\nduration = "2d"\n'


def test_agent_healthy_ds18b20_in_a_stable_cabinet_is_not_stuck_for_days_and_a_frozen_one_is(tmp_path: Path) -> None:
    with box_run(tmp_path, CELLAR + FROZEN) as run:
        longest_s, held_since, last = 0.0, run.sim.now, None
        while run.sim.now < local("2026-06-04T00:00"):
            run.run_until(run.sim.now + timedelta(minutes=2))
            reading = run.sim.agent.sampler.health["hall-temp"].readings["temperature_c"].value
            if reading != last:
                held_since, last = run.sim.now, reading
            longest_s = max(longest_s, (run.sim.now - held_since).total_seconds())
        healthy = run.events(kind="fault", source="hall-temp")
        run.run_until(local("2026-06-05T08:00"))
        frozen = [e for e in run.events(kind="fault", source="hall-temp")]
    assert longest_s > 6 * 3600, f"the cellar held one value {longest_s / 3600:.1f} h at most: not a stable place"
    assert healthy == []
    # Frozen at 00:00 on the 4th on the value read then: stuck once that value has held 30 h (1/16 °C at
    # 0.05 °C a day), counted from its first reading, which may be before the freeze.
    (fault,) = frozen
    assert fault.data["code"] == "stuck" and "for 30.0 h" in fault.reason
    assert local("2026-06-04T00:00") < fault.at <= local("2026-06-05T06:00") + timedelta(minutes=5)


#: The hall in February, its DS18B20 drifting up 4 °C a day from 06:00 on Monday, its SHT31 reading right.
DRIFT = """
[site]
start = "2026-02-09T00:00"
duration = "3d"
seed = 3

[outdoor]
annual_mean_c = 11.5
annual_swing_c = 9.0
daily_swing_c = 4.5
day_to_day_c = 1.0
""" + HALL_ZONE + """
[[faults]]
sensor = "hall-temp"
kind = "drift"
drift_c_per_day = 4.0
start = "2026-02-09T06:00"
duration = "3d"
"""


def _two_thermometers(text: str) -> str:
    if 'second_thermometer = "hall-climate"' in text:
        return text
    return text.replace('thermometer = "hall-temp"\n', 'thermometer = "hall-temp"\nsecond_thermometer = "hall-climate"\n')


def test_agent_drifting_thermometer_is_a_disagreement_and_the_hall_is_heated_from_the_lower(tmp_path: Path) -> None:
    with box_run(tmp_path, DRIFT, edit=_two_thermometers) as run:
        run.run_until(local("2026-02-11T12:00"))
        coldest_late = 99.0
        while run.sim.now < local("2026-02-12T00:00"):
            run.run_until(run.sim.now + timedelta(minutes=5))
            coldest_late = min(coldest_late, run.sim.world.zone_temperature_c("hall"))
        faults = run.events(kind="fault", source="hall")
        main = run.sim.agent.sampler.health["hall-temp"].readings["temperature_c"].value
        true_c = run.sim.world.zone_temperature_c("hall")
    # 3 °C apart after 3/4 of a day (18 h, ± 22 min for a 1/16 °C step at 4 °C a day), then 30 min of it.
    (fault,) = faults
    assert fault.data["code"] == "disagree" and fault.data["sensors"] == ["hall-temp", "hall-climate"]
    expected = local("2026-02-09T06:00") + timedelta(hours=18, minutes=30)
    assert expected - timedelta(minutes=25) <= fault.at <= expected + timedelta(minutes=30), fault.at
    assert main - true_c > 10.0  # by the end the DS18B20 reads more than 10 °C high ...
    # ... yet the hall is held at eco_c (15 °C) or above from the lower, true reading, not left 10 °C below it.
    assert coldest_late >= 15.0 - 0.5 - 0.3, coldest_late
