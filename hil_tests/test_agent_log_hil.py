"""`hameau-edge run` tells each event on stderr as it happens: time, what, why; for journald, a priority and no time."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
#: A zone with a half-hour offset, so the offset printed can only be this one (India has no summer time).
ZONE, OFFSET = "Asia/Kolkata", "+05:30"
STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d) (DEBUG|INFO|WARNING|ERROR) (.+)$")


def _run_agent(tmp_path: Path, args: list[str], journal: bool) -> list[str]:
    """Run the example box (its hall thermometer unplugged) for 3 s, stop it with SIGTERM; its stderr lines."""
    config = tmp_path / "box.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("~/.local/state/hameau/village-hall.db", str(tmp_path / "b.db"))
    config.write_text(text.replace("[simulation]\n", '[simulation]\nunplugged = ["hall-temp"]\n'), encoding="utf-8")
    script = shutil.which("hameau-edge", path=str(Path(sys.executable).parent))
    assert script is not None, "hameau-edge is not installed in the venv"
    env = {k: v for k, v in os.environ.items() if k not in {"JOURNAL_STREAM", "INVOCATION_ID"}}
    env["TZ"] = ZONE
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as err:
        if journal:  # as systemd does: the device and inode of the stream it gave as stderr
            info = os.fstat(err.fileno())
            env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
        process = subprocess.Popen([script, "run", "--config", str(config), *args], stderr=err, env=env)
        time.sleep(3.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        err.seek(0)
        return err.read().splitlines()


def test_agent_log_lines_tell_time_what_and_why(tmp_path: Path) -> None:
    before = datetime.now().astimezone()
    lines = _run_agent(tmp_path, ["--log-level", "debug"], journal=False)
    after = datetime.now().astimezone()
    parsed = [STAMPED.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if m is None]
    entries = [(datetime.fromisoformat(m[1]), m[1], m[2], m[3]) for m in parsed if m is not None]
    assert all(stamp.endswith(OFFSET) for _, stamp, _, _ in entries)
    assert all(before - timedelta(seconds=2) <= at <= after + timedelta(seconds=2) for at, _, _, _ in entries)
    said = [(level, text) for _, _, level, text in entries]
    # The street lights decide on the roof's 850 lx (daylight), the unplugged thermometer is a fault.
    assert any(level == "INFO" and text.startswith("decision street-main: ") and "850 lx" in text
               for level, text in said), said
    assert any(level == "WARNING" and text.startswith("fault hall-temp: ") and "unplugged" in text
               for level, text in said), said
    assert ("INFO", "agent agent: started") in said
    assert any(level == "DEBUG" and text.startswith("reading lux-roof: illuminance_lx = 8") for level, text in said)


def test_agent_log_for_journald_has_priorities_and_no_time(tmp_path: Path) -> None:
    lines = _run_agent(tmp_path, [], journal=True)
    assert lines and all(re.match(r"^<[0-7]>", line) for line in lines), lines
    assert not any(re.search(r"\d\d:\d\d:\d\d", line) for line in lines), lines
    assert any(line.startswith("<6>decision street-main: ") for line in lines), lines
    assert any(line.startswith("<4>fault hall-temp: ") for line in lines), lines
    assert not any(line.startswith("<7>") for line in lines), "info is the default: no readings"
