"""The technician's probe and config check, end to end on the simulated example box."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.cli import main
from edge.config.loader import load_config
from edge.hardware.assembly import Hardware
from edge.simulation.hardware import open_simulated_hardware
from edge.technician.probe import format_probe, run_probe

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"


@pytest.fixture
def hardware() -> Iterator[Hardware]:
    hw = open_simulated_hardware(load_config(EXAMPLE))
    try:
        yield hw
    finally:
        hw.close()


def _by_id(report: dict) -> dict[str, dict]:
    return {s["id"]: s for s in report["sensors"]}


def _values(entry: dict) -> dict[str, float]:
    return {r["name"]: r["value"] for r in entry["readings"]}


def test_probe_json_reads_every_example_sensor(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probe", "--config", str(EXAMPLE), "--json", "--pulse-window-s", "120"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["device"] == "saint-aubin-mairie" and report["simulated"] is True
    sensors = _by_id(report)
    assert all(s["ok"] for s in sensors.values()), sensors
    assert _values(sensors["lux-roof"])["illuminance_lx"] == pytest.approx(850.0, rel=0.02)
    climate = _values(sensors["hall-climate"])
    assert climate["temperature_c"] == pytest.approx(18.5, abs=0.1)
    assert climate["relative_humidity_pct"] == pytest.approx(52.0, abs=0.2)
    assert _values(sensors["hall-temp"])["temperature_c"] == pytest.approx(18.5, abs=0.0625)
    water = _values(sensors["water-main"])
    assert water["volume_total_l"] == pytest.approx(45.0 * 120 / 3600, abs=1.0)
    energy = _values(sensors["energy-lighting"])
    assert energy["voltage_v"] == pytest.approx(231.5, abs=0.01)
    assert energy["current_a"] == pytest.approx(3.2, abs=0.01)
    units = {r["name"]: r["unit"] for s in sensors.values() for r in s["readings"]}
    assert units["illuminance_lx"] == "lx" and units["voltage_v"] == "V" and units["flow_lph"] == "L/h"


def test_probe_scans_buses_and_lists_relays(hardware: Hardware) -> None:
    report = run_probe(hardware, pulse_window_s=0)
    assert report["i2c"] == [{"bus": "i2c1", "found": ["0x23", "0x44"], "missing": [], "unexpected": []}]
    assert report["onewire"] == [
        {"bus": "w1", "found": ["28-0316a2794aff", "28-0316a2794b01"], "missing": [], "unexpected": []}
    ]
    assert [a["id"] for a in report["actuators"]] == ["street-lights", "hall-heating"]
    assert report["actuators"][0]["safe_state"] == "on" and report["actuators"][0]["active"] == "low"


def test_probe_reports_unplugged_parts_as_faults(hardware: Hardware) -> None:
    assert hardware.parts is not None
    for sensor_id in ("lux-roof", "hall-temp", "energy-lighting"):
        hardware.parts.unplug(sensor_id)
    report = run_probe(hardware, pulse_window_s=0)
    sensors = _by_id(report)
    assert sensors["lux-roof"]["error"]["code"] == "not_plugged"
    assert sensors["lux-roof"]["error"]["address"] == "0x23"
    assert sensors["hall-temp"]["error"]["code"] == "not_plugged"
    assert sensors["energy-lighting"]["error"]["code"] == "no_answer"
    assert sensors["hall-climate"]["ok"] and sensors["water-main"]["ok"]
    assert report["i2c"][0]["missing"] == ["0x23"]
    assert report["onewire"][0]["missing"] == ["28-0316a2794aff"]
    text = format_probe(report)
    lux_line = next(line for line in text.splitlines() if line.strip().startswith("lux-roof "))
    assert lux_line.endswith("BH1750 on i2c1 at 0x23: FAULT not_plugged: " + sensors["lux-roof"]["error"]["reason"])
    assert "configured but not found: 0x23" in text


def test_probe_exit_code_says_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "[simulation]\n", '[simulation]\nunplugged = ["hall-temp", "energy-lighting"]\n'
    )
    config = tmp_path / "box.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["probe", "--config", str(config), "--pulse-window-s", "0", "--json"]) == 1
    sensors = _by_id(json.loads(capsys.readouterr().out))
    assert not sensors["hall-temp"]["ok"] and not sensors["energy-lighting"]["ok"]
    assert sensors["hall-temp"]["error"]["code"] == "not_plugged"
    assert sensors["energy-lighting"]["error"]["code"] == "no_answer"
    assert sensors["lux-roof"]["ok"]


def test_check_config_ok_and_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {EXAMPLE}")
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("pin = 24", "pin = 22"), encoding="utf-8")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: actuators[1].pin: GPIO22 is already used by 'street-lights'" in err


def test_probe_console_script_runs(tmp_path: Path) -> None:
    script = shutil.which("hameau-edge", path=str(Path(sys.executable).parent))
    assert script is not None, "hameau-edge is not installed in the venv"
    result = subprocess.run(
        [script, "probe", "--config", str(EXAMPLE), "--pulse-window-s", "60"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "hameau probe: saint-aubin-mairie (simulated buses)" in result.stdout
    assert "I2C bus i2c1: found 0x23 0x44" in result.stdout


def test_probe_reads_again_after_replug(hardware: Hardware) -> None:
    assert hardware.parts is not None
    for sensor_id in ("lux-roof", "hall-temp", "outdoor-temp", "energy-lighting", "hall-climate"):
        hardware.parts.unplug(sensor_id)
    assert not any(s["ok"] for s in run_probe(hardware, pulse_window_s=0)["sensors"] if s["id"] != "water-main")
    for sensor_id in ("lux-roof", "hall-temp", "outdoor-temp", "energy-lighting", "hall-climate"):
        hardware.parts.plug(sensor_id)
    hardware.parts.set_illuminance("lux-roof", 12.0)
    report = run_probe(hardware, pulse_window_s=0)
    assert all(s["ok"] for s in report["sensors"])
    assert _values(_by_id(report)["lux-roof"])["illuminance_lx"] == pytest.approx(12.0, rel=0.02)
