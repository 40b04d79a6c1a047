"""`bash scripts/demo`, as the README's first command runs it: every story of the demo week told, and the page written.

The expected facts come from examples/demo-world.toml (the storm, the cut cable, the cistern, the burst, the cold
snap) and examples/village-hall.toml (cut-off 23:00, frost line 7 °C, lamps of 740 W).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_tells_every_story_of_the_week_and_writes_the_page(tmp_path: Path) -> None:
    page = tmp_path / "demo.html"
    # The 300 s timeout guards against a hang only: how long the demo takes is the machine's business.
    done = subprocess.run(["bash", str(ROOT / "scripts" / "demo")], capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "HAMEAU_DEMO_REPORT": str(page)})
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "hameau probe: saint-aubin-mairie (simulated buses)" in out
    assert re.search(r"The street lights \(street-main\) came on at 1[67]:\d\d on Mon 5 Jan when it got dark, "
                     r"\d+ min after sunset, and went off at the 23:00 cut-off", out)
    storm = re.search(r"During the storm on Tue 6 Jan \(15:30-18:00\) they came on at (\d\d):(\d\d)", out)
    assert storm and (15, 30) <= (int(storm[1]), int(storm[2])) < (17, 13)  # in the storm, before sunset
    assert re.search(r"On Wed 7 Jan the light sensor failed at 14:0\d; the lights followed the sunset clock "
                     r"instead, .* until it was mended at 10:0\d on Thu 8 Jan, with no dark minutes\.", out)
    assert re.search(r"A leak of 4 L/h started on Mon 5 Jan at 12:00 behind meter water-main and was caught ", out)
    assert re.search(r"A burst pipe of 120 L/h started on Sat 10 Jan at 19:00 behind meter water-main and was "
                     r"caught ", out)
    frost = re.search(r"With its thermometers broken in a -12 °C cold snap \(down to -?[\d.]+ °C outside\), the hall "
                      r"never fell below ([\d.]+) °C \(frost line 7 °C\)", out)
    assert frost and float(frost[1]) > 7.0
    lamps = re.search(r"The lamps were lit (\d+) h against (\d+) h for a dusk-to-dawn clock: (\d+) % less, about "
                      r"(\d+) kWh and ([\d.]+) € saved \(lamps of 740 W, at 0.25 € per kWh\)", out)
    assert lamps
    lit_h, clock_h, less_pct, kwh, eur = (float(x) for x in lamps.groups())
    assert 0 < lit_h < clock_h <= 7 * 16  # a January night is under 16 h
    assert abs(less_pct - 100 * (1 - lit_h / clock_h)) <= 2  # hours are rounded in the sentence
    assert abs(kwh - (clock_h - lit_h) * 0.740) <= 1.5 and abs(eur - kwh * 0.25) <= 0.4
    assert f"report with charts: {page}" in out
    html = page.read_text(encoding="utf-8")
    assert all(f'data-chart="{chart}"' in html for chart in ("night", "water", "heating", "faults"))
