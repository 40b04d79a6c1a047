"""The dashboard bench (bench/web_pages.py) keeps working: at 5 boxes x 20 days on SQLite it seeds a store whose
box pages chart the seeded data, and prints every route's median, p95 and ratio to the login check."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "web_pages.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_web_pages", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_web_pages_prints_a_ratio_per_route(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    assert bench.main(["--boxes", "5", "--days", "20", "--engine", "sqlite", "--requests", "3"]) == 0
    out = capsys.readouterr().out
    labels = [label for label, _ in bench.routes(bench.Plan(5, 20, dense=2))]
    assert len(labels) == 16
    for label in labels:
        line = re.search(rf"^  {re.escape(label)} +3 +([\d.]+) +([\d.]+) +x([\d.]+)$", out, flags=re.MULTILINE)
        assert line is not None, f"no timed line for {label!r} in:\n{out}"
        median, p95 = float(line.group(1)), float(line.group(2))
        assert 0 < median <= p95
    assert re.search(rf"^  {re.escape(bench.BASELINE)} .* x1$", out, flags=re.MULTILINE)
    charts = dict(re.findall(r"(15-min box|60-s box): ([^;\n]+)", out))
    # The night shown is 14:00-11:00 (21 h): 84 quarter-hour readings; at 60 s, 1,260 thinned to 720 points.
    assert "lux 84," in charts["15-min box"] and "lux 720," in charts["60-s box"]
    # 20 days seeded: 19 ended nights of the 60 on the leak chart, 20 of the 60 days on the energy chart.
    for points in charts.values():
        assert "min_night_flow 19," in points and "energy_kwh 20," in points
        assert re.search(r"temperature hall-temp [1-9]\d*", points)
