"""`hameau-edge simulate --json` through the command line: the report's shape and figures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_simulate_json_report_has_the_documented_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = (EXAMPLES / "village-hall-world.toml").read_text(encoding="utf-8")
    world = world.replace('start = "2026-01-01T00:00"', 'start = "2026-01-13T12:00"', 1)
    path = tmp_path / "world.toml"
    path.write_text(world, encoding="utf-8")
    code = main([
        "simulate", "--config", str(EXAMPLES / "village-hall.toml"), "--world", str(path), "--days", "2", "--json",
    ])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    lighting = report["lighting"]["street-main"]
    assert set(lighting) == {
        "on_hours", "baseline_on_hours", "dark_unlit_minutes", "dark_unlit_minutes_by_cause", "switches"
    }
    assert 0 < lighting["on_hours"] < lighting["baseline_on_hours"] <= 2 * 24
    # The 45 min power cut at 22:00 on the 14th leaves the street dark outside the cut-off; nothing else does
    # (the lamps go off at the very tick the 23:00 cut-off begins, not a minute before).
    assert lighting["dark_unlit_minutes_by_cause"] == {"power_cut": 45.0, "sensor_fallback": 0.0, "agent": 0.0}
    assert lighting["dark_unlit_minutes"] == 45.0
    leak = report["leak"]["water-main"]
    assert leak["watch"] == "leak-hall" and leak["alarms"] == [] and leak["false_alarms"] == 0
    assert set(report["heating"]["hall"]) == {
        "min_temperature_c", "comfort_minutes_missed", "comfort_minutes_scheduled", "heater_on_hours"}
    assert report["heating"]["hall"]["min_temperature_c"] > 7.0
    assert isinstance(report["faults"], list)
    assert report["days"] == 2 and report["run_s"] > 0


@pytest.mark.parametrize("command", ["simulate", "run"])
def test_simulate_ctrl_c_stops_cleanly_without_a_traceback(tmp_path: Path, command: str) -> None:
    config = tmp_path / "box.toml"
    text = (EXAMPLES / "village-hall.toml").read_text(encoding="utf-8")
    config.write_text(text.replace("~/.local/state/hameau/village-hall.db", str(tmp_path / "box.db")), "utf-8")
    argv = {"simulate": ["simulate", "--world", str(EXAMPLES / "village-hall-world.toml"), "--days", "365"],
            "run": ["run"]}[command]
    entry = "import sys; from edge.cli import main; sys.exit(main())"
    process = subprocess.Popen(
        [sys.executable, "-c", entry, *argv, "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(3.0)  # well into the run: a year is far from done
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    if command == "simulate":
        assert process.returncode == 130 and err.strip() == "hameau-edge: interrupted"
    else:
        # The agent's own stop: relays to their safe states, a clean stop recorded, exit 0.
        assert process.returncode == 0
