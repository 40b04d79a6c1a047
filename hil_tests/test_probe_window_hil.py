"""The probe on slow pulse meters: what its window counted, the lowest flow it can see, the window to use."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest

from edge.cli import main
from edge.config.loader import load_config
from edge.simulation.hardware import open_simulated_hardware
from edge.technician.probe import format_probe, run_probe

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
#: The example's meter and its simulated flow, as the file writes them (1 L a pulse, 45 L/h).
SPEC = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
LITRES_PER_PULSE = next(s["litres_per_pulse"] for s in SPEC["sensors"] if s["id"] == "water-main")
FLOW_LPH = SPEC["simulation"]["flow_lph"]


def _box(tmp_path: Path, old: str = "", new: str = "") -> Path:
    path = tmp_path / "box.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


def _window(config: Path, window_s: float) -> tuple[dict, str]:
    with open_simulated_hardware(load_config(config)) as hardware:
        report = run_probe(hardware, pulse_window_s=window_s)
    meter = next(s for s in report["sensors"] if s["id"] == "water-main")
    lines = format_probe(report).splitlines()
    under = next(i for i, text in enumerate(lines) if text.strip().startswith("water-main ")) + 1
    return meter["window"], lines[under].strip()


def test_probe_window_says_why_a_slow_meter_shows_no_flow(tmp_path: Path) -> None:
    window, line = _window(EXAMPLE, 5.0)
    lowest_lph = LITRES_PER_PULSE * 3600 / 5.0  # one pulse in 5 s: 720 L/h
    period_s = LITRES_PER_PULSE * 3600 / FLOW_LPH  # a pulse every 80 s at 45 L/h
    assert window["pulses"] == 0
    assert window["min_flow_lph"] == pytest.approx(lowest_lph)
    assert window["expected_flow_lph"] == FLOW_LPH
    assert window["window_for_expected_s"] == math.ceil(period_s)
    assert line == (f"no pulse in 5 s: below {lowest_lph:.0f} L/h for this meter, or not wired; "
                    f"a window of {math.ceil(period_s)} s would see {FLOW_LPH:g} L/h")


def test_probe_window_suggested_sees_the_flow(tmp_path: Path) -> None:
    period_s = LITRES_PER_PULSE * 3600 / FLOW_LPH
    window, _ = _window(EXAMPLE, math.ceil(period_s))
    assert window["pulses"] >= 1
    # Ten periods: 10 pulses, give or take the one the window's edges may cut.
    window, line = _window(EXAMPLE, 10 * period_s)
    assert 9 <= window["pulses"] <= 11
    assert window["window_flow_lph"] == pytest.approx(window["pulses"] * LITRES_PER_PULSE * 3600 / (10 * period_s))
    assert abs(window["window_flow_lph"] - FLOW_LPH) <= FLOW_LPH / 10 + 1e-9
    assert line.startswith(f"{window['pulses']} pulses in {10 * period_s:g} s: about ")


def test_probe_window_follows_the_meter_rating(tmp_path: Path) -> None:
    # A 10 L/pulse meter given as pulses per litre: one pulse in 5 s is 7,200 L/h; 800 s see 45 L/h.
    config = _box(tmp_path, "litres_per_pulse = 1.0", "pulses_per_litre = 0.1")
    window, line = _window(config, 5.0)
    assert window["litres_per_pulse"] == pytest.approx(10.0)
    assert window["min_flow_lph"] == pytest.approx(10.0 * 3600 / 5.0)
    assert window["window_for_expected_s"] == math.ceil(10.0 * 3600 / FLOW_LPH)
    assert "below 7.2e+03 L/h" in line and "a window of 800 s would see 45 L/h" in line


def test_probe_window_of_an_unwired_meter_aims_at_ten_lph(tmp_path: Path) -> None:
    # No flow at all (an unwired meter looks the same): the advice is sized for 10 L/h, 360 s at 1 L/pulse.
    config = _box(tmp_path, "flow_lph = 45.0", "flow_lph = 0.0")
    window, line = _window(config, 400.0)
    assert window["pulses"] == 0 and window["expected_flow_lph"] == 10.0
    assert window["window_for_expected_s"] == math.ceil(LITRES_PER_PULSE * 3600 / 10.0)
    assert line == "no pulse in 400 s: below 9 L/h for this meter, or not wired; a window of 360 s would see 10 L/h"


def test_probe_window_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--config", str(EXAMPLE), "--json", "--pulse-window-s", "5"]) == 0
    meter = next(s for s in json.loads(capsys.readouterr().out)["sensors"] if s["id"] == "water-main")
    assert meter["window"] == {
        "window_s": 5.0, "pulses": 0, "litres_per_pulse": LITRES_PER_PULSE,
        "window_flow_lph": 0.0, "min_flow_lph": LITRES_PER_PULSE * 3600 / 5.0,
        "expected_flow_lph": FLOW_LPH, "window_for_expected_s": math.ceil(LITRES_PER_PULSE * 3600 / FLOW_LPH),
    }
    assert main(["probe", "--config", str(EXAMPLE), "--json", "--pulse-window-s", "0"]) == 0
    meter = next(s for s in json.loads(capsys.readouterr().out)["sensors"] if s["id"] == "water-main")
    assert "window" not in meter
