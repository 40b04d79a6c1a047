"""World files: the examples load, and every mistake is named by file, key and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.thermal import steady_temperature_c, zone_temperature_after_c
from edge.config.box import BoxConfig
from edge.config.loader import load_config
from edge.config.reader import ConfigError, Invalid
from edge.simulation.world_file import load_world, parse_duration

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL_BOX = load_config(EXAMPLES / "village-hall.toml")
INLET_BOX = load_config(EXAMPLES / "village-inlet.toml")

MINIMAL = """
[site]
start = "2026-01-01T00:00"
duration = "7d"
"""


def _load(tmp_path: Path, text: str, box: BoxConfig = HALL_BOX):
    path = tmp_path / "world.toml"
    path.write_text(text, encoding="utf-8")
    return load_world(path, box.device, box)


def _problems(tmp_path: Path, text: str, box: BoxConfig = HALL_BOX) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text, box)
    return [(p.file, p.key, p.reason) for p in info.value.problems]


def _one_problem(tmp_path: Path, text: str, key: str, words: str, box: BoxConfig = HALL_BOX) -> None:
    problems = _problems(tmp_path, text, box)
    assert any(k == key and words in reason for _, k, reason in problems), problems
    assert all(file == str(tmp_path / "world.toml") for file, _, _ in problems)


def test_example_hall_world_has_a_leak_a_storm_a_cold_snap_a_fault_and_a_power_cut() -> None:
    spec = load_world(EXAMPLES / "village-hall-world.toml", HALL_BOX.device, HALL_BOX)
    assert spec.site.duration == timedelta(days=365)
    assert spec.light.sensors == ("lux-roof",) and spec.light.storms
    assert spec.outdoor.cold_snaps and spec.outdoor.cold_snaps[0].temperature_c <= -10.0
    assert any(leak.rate_lph == 2.0 for leak in spec.water.leaks)
    assert {f.kind for f in spec.faults} == {"unplugged", "stuck", "noisy"}
    assert spec.power_cuts
    assert spec.water.meters[0].profile == "building" and spec.water.meters[0].night_lph == 0.0


def test_example_hall_is_realistic_to_heat_and_to_let_freeze() -> None:
    spec = load_world(EXAMPLES / "village-hall-world.toml", HALL_BOX.device, HALL_BOX)
    hall = spec.zones[0]
    assert 2000.0 <= hall.heater_w <= 6000.0
    assert steady_temperature_c(-10.0, hall.heater_w, hall.loss_w_per_k) > 19.0
    after_1_day = zone_temperature_after_c(15.0, -10.0, 0.0, hall.loss_w_per_k, hall.capacity_kj_per_k, 86400.0)
    after_2_days = zone_temperature_after_c(15.0, -10.0, 0.0, hall.loss_w_per_k, hall.capacity_kj_per_k, 172800.0)
    assert after_1_day > 0.0 > after_2_days


def test_example_inlet_world_has_a_valve_a_noisy_night_flow_leaks_and_a_burst() -> None:
    spec = load_world(EXAMPLES / "village-inlet-world.toml", INLET_BOX.device, INLET_BOX)
    assert spec.water.valve == "inlet-valve" and spec.water.valve_closed_when_energised
    meter = spec.water.meters[0]
    assert meter.sensor == "inlet-meter" and meter.night_lph == 400.0 and 5.0 <= meter.night_variation_pct <= 10.0
    assert meter.day_lph >= 2000.0
    assert any(abs(leak.rate_lph - 0.2 * meter.night_lph) < 1e-9 for leak in spec.water.leaks)
    assert spec.water.bursts and spec.faults and spec.power_cuts


def test_world_times_are_local_to_the_box_in_winter_and_summer(tmp_path: Path) -> None:
    spec = _load(tmp_path, MINIMAL + """
[[power_cuts]]
start = "2026-01-20T15:00"
duration = "90m"

[[power_cuts]]
start = 2026-07-20T15:00:00
end = "2026-07-20T16:00"
""")
    assert spec.site.start == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert spec.power_cuts[0].start == datetime(2026, 1, 20, 14, 0, tzinfo=UTC)
    assert spec.power_cuts[0].end == datetime(2026, 1, 20, 15, 30, tzinfo=UTC)
    assert spec.power_cuts[1].start == datetime(2026, 7, 20, 13, 0, tzinfo=UTC)


def test_minimal_world_drives_every_lux_sensor_and_nothing_else(tmp_path: Path) -> None:
    spec = _load(tmp_path, MINIMAL)
    assert spec.light.sensors == ("lux-roof",)
    assert spec.zones == () and spec.water.meters == () and spec.faults == ()
    assert (spec.site.latitude, spec.site.timezone) == (HALL_BOX.device.latitude, "Europe/Paris")


def test_durations_take_days_hours_minutes_and_seconds() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("3h") == timedelta(hours=3)
    assert parse_duration("5d") == timedelta(days=5)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    for bad in ("90", "3 hours", "h", "-3h", "0m", ""):
        with pytest.raises(Invalid):
            parse_duration(bad)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_world(tmp_path / "nope.toml", HALL_BOX.device, HALL_BOX)


def test_bad_toml_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, "[site\n", "(syntax)", "not valid TOML")


def test_missing_site_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, "[light]\ncloud_cover = 0.2\n", "site", "missing table")


def test_bad_date_and_bad_duration_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, '[site]\nstart = "20/01/2026"\nduration = "7d"\n', "site.start", "not a date and time")
    _one_problem(tmp_path, '[site]\nstart = "2026-01-01T00:00"\nduration = "a week"\n', "site.duration",
                 "not a duration")
    _one_problem(tmp_path, '[site]\nstart = "2026-01-01T00:00"\n', "site.end", "give end")


def test_end_before_start_and_both_end_and_duration_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[power_cuts]]\nstart = "2026-01-02T10:00"\nend = "2026-01-02T09:00"\n',
                 "power_cuts[0].end", "after start")
    _one_problem(tmp_path, MINIMAL + '[[power_cuts]]\nstart = "2026-01-02T10:00"\nend = "2026-01-02T11:00"\n'
                 'duration = "1h"\n', "power_cuts[0].duration", "not both")


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + "[light]\ncloud_cuver = 0.3\n", "light.cloud_cuver", "did you mean 'cloud_cover'")
    _one_problem(tmp_path, MINIMAL + "[weather]\n", "weather", "unknown key")


def test_fault_on_a_sensor_the_box_does_not_have_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[faults]]\nsensor = "lux-attic"\nkind = "unplugged"\n'
                 'start = "2026-01-02T15:00"\nduration = "1h"\n', "faults[0].sensor", "no sensor 'lux-attic'")


def test_unknown_fault_kind_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[faults]]\nsensor = "lux-roof"\nkind = "melted"\n'
                 'start = "2026-01-02T15:00"\nduration = "1h"\n', "faults[0].kind", "is not one of")


def test_stuck_fault_on_a_sensor_the_world_does_not_drive_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[faults]]\nsensor = "hall-temp"\nkind = "stuck"\n'
                 'start = "2026-01-02T15:00"\nduration = "1h"\n', "faults[0].kind", "does not drive 'hall-temp'")


def test_noisy_pulse_meter_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[water.meters]]\nsensor = "water-main"\n[[faults]]\nsensor = "water-main"\n'
                 'kind = "noisy"\nstart = "2026-01-02T15:00"\nduration = "1h"\n', "faults[0].kind", "cannot be noisy")


def test_overlapping_faults_on_one_sensor_are_named(tmp_path: Path) -> None:
    fault = '[[faults]]\nsensor = "lux-roof"\nkind = "unplugged"\nstart = "{}"\nduration = "2h"\n'
    _one_problem(tmp_path, MINIMAL + fault.format("2026-01-02T15:00") + fault.format("2026-01-02T16:00"),
                 "faults[1].start", "overlaps the fault at faults[0]")


def test_zone_heater_that_is_not_a_relay_and_thermometer_that_is_not_one_are_named(tmp_path: Path) -> None:
    zone = MINIMAL + ('[[zones]]\nid = "hall"\nthermometers = ["{}"]\nheater = "{}"\nloss_w_per_k = 90.0\n'
                      'capacity_kj_per_k = 12600.0\n')
    _one_problem(tmp_path, zone.format("hall-temp", "boiler"), "zones[0].heater", "no relay 'boiler'")
    _one_problem(tmp_path, zone.format("lux-roof", "hall-heating"), "zones[0].thermometers",
                 "'lux-roof' is not a thermometer")


def test_zone_without_losses_is_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[zones]]\nid = "hall"\ncapacity_kj_per_k = 100.0\nloss_w_per_k = 0\n',
                 "zones[0].loss_w_per_k", "must be > 0")


def test_thermometer_driven_twice_is_named(tmp_path: Path) -> None:
    zone = ('[[zones]]\nid = "{}"\nthermometers = ["hall-temp"]\nloss_w_per_k = 90.0\n'
            'capacity_kj_per_k = 12600.0\n')
    _one_problem(tmp_path, MINIMAL + zone.format("a") + zone.format("b"), "zones[1].thermometers",
                 "already driven by zones[0].thermometers")


def test_water_valve_and_meter_mistakes_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[water]\nvalve = "inlet-valve"\n', "water.valve", "no relay 'inlet-valve'")
    _one_problem(tmp_path, MINIMAL + '[water]\nvalve_closed_when = "wet"\n', "water.valve_closed_when",
                 "is not one of")
    _one_problem(tmp_path, MINIMAL + '[[water.meters]]\nsensor = "energy-lighting"\n', "water.meters[0].sensor",
                 "is not a pulse meter")
    _one_problem(tmp_path, MINIMAL + '[[water.meters]]\nsensor = "water-main"\nprofile = "factory"\n',
                 "water.meters[0].profile", "is not one of")


def test_leak_and_burst_on_an_undeclared_meter_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[water.leaks]]\nmeter = "water-main"\nstart = "2026-01-02T00:00"\n'
                 'rate_lph = 2.0\n', "water.leaks[0].meter", "no [[water.meters]] entry for 'water-main'")
    _one_problem(tmp_path, MINIMAL + '[[water.meters]]\nsensor = "water-main"\n[[water.bursts]]\n'
                 'meter = "water-main"\nstart = "2026-01-02T00:00"\nrate_lph = 2000.0\n',
                 "water.bursts[0].end", "give end")
    _one_problem(tmp_path, MINIMAL + '[[water.meters]]\nsensor = "water-main"\n[[water.leaks]]\n'
                 'meter = "water-main"\nstart = "2026-01-02T00:00"\nrate_lph = -2.0\n',
                 "water.leaks[0].rate_lph", "must be > 0")


def test_storm_and_cold_snap_mistakes_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[light.storms]]\nstart = "2026-01-02T12:00"\nduration = "2h"\n'
                 'light_pct = 150\n', "light.storms[0].light_pct", "out of range")
    _one_problem(tmp_path, MINIMAL + '[[outdoor.cold_snaps]]\nstart = "2026-01-02T00:00"\nduration = "2d"\n',
                 "outdoor.cold_snaps[0].temperature_c", "missing")


def test_energy_meter_mistakes_are_named(tmp_path: Path) -> None:
    _one_problem(tmp_path, MINIMAL + '[[energy_meters]]\nsensor = "water-main"\nrelays = ["street-lights"]\n',
                 "energy_meters[0].sensor", "is not an energy meter")
    _one_problem(tmp_path, MINIMAL + '[[energy_meters]]\nsensor = "energy-lighting"\nrelays = ["porch"]\n',
                 "energy_meters[0].relays", "no relay 'porch'")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = _problems(tmp_path, MINIMAL + '[light]\nsensors = ["nope"]\n[water]\nvalve = "nope"\n')
    assert {key for _, key, _ in problems} == {"light.sensors", "water.valve"}
