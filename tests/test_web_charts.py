"""The SVG charts: values drawn where the plot area says, data readable in the markup, text escaped."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date

from fleet.web.charts import (
    Band,
    Bars,
    Chart,
    Line,
    Rule,
    auto_range,
    nice_step,
    render_chart,
)
from fleet.web.charts_box import energy_chart, lux_chart, water_chart
from fleet.web.charts_map import render_map
from fleet.web.views.box_energy import EnergyDays
from fleet.web.views.box_night import LuxNight
from fleet.web.views.box_water import MeterNights, WaterNight
from fleet.web.views.geo import map_layout
from fleet.web.views.overview import BoxRow
from tests.web_seed import PARIS, at

SVG = "{http://www.w3.org/2000/svg}"
# The plot area is x 58..628, y 24..226 (fleet/web/charts.py PLOT): 570 wide, 202 high.


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def series(root: ET.Element, name: str) -> list[list]:
    for g in root.iter(f"{SVG}g"):
        if g.get("data-series") == name:
            return json.loads(g.find(f"{SVG}desc").text)
    raise AssertionError(f"no series {name}")


def test_line_points_are_drawn_at_their_values() -> None:
    chart = Chart("Flow", "A test line", "L/h", x_range=(0.0, 100.0), y_range=(0.0, 50.0),
                  lines=(Line("flow", ((0.0, 0.0), (50.0, 25.0), (100.0, 50.0), (75.0, 80.0))),))
    root = parse(render_chart(chart))
    assert root.get("viewBox") == "0 0 640 260" and root.find(f"{SVG}title").text == "Flow"
    (poly,) = root.iter(f"{SVG}polyline")
    # x: 58 + x/100 * 570; y: 226 - y/50 * 202; 80 is above the range: drawn on the top edge (24).
    assert poly.get("points") == "58,226 343,125 628,24 485.5,24"
    assert series(root, "flow") == [[0.0, 0.0], [50.0, 25.0], [100.0, 50.0], [75.0, 80.0]]


def test_step_line_holds_each_value_until_the_next_and_none_breaks_it() -> None:
    chart = Chart("Setpoint", "steps", "°C", x_range=(0.0, 10.0), y_range=(0.0, 20.0),
                  lines=(Line("setpoint", ((0.0, 10.0), (5.0, 20.0)), step=True),
                         Line("gappy", ((0.0, 0.0), (2.0, 0.0), (4.0, None), (6.0, 10.0), (8.0, 10.0)))))
    root = parse(render_chart(chart))
    polys = [p.get("points") for p in root.iter(f"{SVG}polyline")]
    # 10 °C is y 125, 20 °C is y 24; x 5 is 58 + 285 = 343; held to the right edge.
    assert polys[0] == "58,125 343,125 343,24 628,24"
    assert polys[1:] == ["58,226 172,226", "400,125 514,125"]


def test_bars_carry_their_day_and_value() -> None:
    chart = Chart("Energy", "bars", "kWh", y_range=(0.0, 10.0),
                  bars=Bars("energy_kwh", ("01 Mar", "02 Mar", "03 Mar"), (5.0, None, 10.0)))
    root = parse(render_chart(chart))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("data-x")]
    assert [(r.get("data-x"), r.get("data-y")) for r in rects] == [("01 Mar", "5"), ("03 Mar", "10")]
    # Slots of 190: bar 152 wide, 19 in; 5 kWh is 101 high from y 125.
    first = rects[0]
    assert (first.get("x"), first.get("y"), first.get("width"), first.get("height")) == ("77", "125", "152", "101")
    assert series(root, "energy_kwh") == [["01 Mar", 5.0], ["02 Mar", None], ["03 Mar", 10.0]]


def test_bands_and_rules_are_placed_and_clipped() -> None:
    chart = Chart("Lux", "bands", "lx", x_range=(0.0, 100.0), y_range=(0.0, 100.0),
                  bands=(Band(-20.0, 50.0, "lamps lit", "band-lit"), Band(120.0, 130.0, "outside")),
                  rules=(Rule(30.0, "on below 30 lx"),))
    root = parse(render_chart(chart))
    (band,) = [r for r in root.iter(f"{SVG}rect") if r.get("data-x0")]
    assert (band.get("x"), band.get("width"), band.get("data-x0"), band.get("data-x1")) == ("58", "285", "-20", "50")
    (rule,) = [r for r in root.iter(f"{SVG}line") if r.get("data-y")]
    assert rule.get("y1") == "165.4" and rule.get("data-y") == "30"  # 226 - 0.3 * 202


def test_text_is_escaped() -> None:
    markup = str(render_chart(Chart("<script>alert(1)</script>", "a & b", "lx",
                                    lines=(Line('x"><script>', ((0.0, 1.0),)),))))
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "a &amp; b" in markup
    parse(markup)  # still well-formed


def test_auto_range_and_nice_steps() -> None:
    assert nice_step(100) == 20 and nice_step(7) == 2 and nice_step(0.9) == 0.2
    assert auto_range([3.0, 47.0]) == (0.0, 50.0)
    assert auto_range([-3.5, 19.2], floor_zero=False) == (-5.0, 20.0)
    assert auto_range([]) == (0.0, 1.0)


def test_lux_chart_holds_the_night() -> None:
    d = date(2026, 1, 14)
    night = LuxNight("street-main", "lux-roof", d, at(d, 14), at(date(2026, 1, 15), 11),
                     ((at(d, 17), 25.0),), ((at(d, 17, 42), at(d, 23)),), ((at(d, 23), at(date(2026, 1, 15), 5, 30)),),
                     "config", 30.0, 60.0)
    root = parse(lux_chart(night, PARIS))
    assert series(root, "lux") == [[at(d, 17), 25.0]]
    bands = {r.get("class"): (float(r.get("data-x0")), float(r.get("data-x1")))
             for r in root.iter(f"{SVG}rect") if r.get("data-x0")}
    assert bands == {"band-lit": (at(d, 17, 42), at(d, 23)), "band-cutoff": (at(d, 23), at(date(2026, 1, 15), 5, 30))}
    assert {"15:00", "18:00", "21:00", "00:00", "09:00"} <= {t.text for t in root.iter(f"{SVG}text")}  # local hours


def test_water_chart_marks_each_night_and_the_alarm() -> None:
    first = date(2026, 3, 1)
    nights = tuple(WaterNight(date(2026, 3, 1 + i), [0.5, 6.0, None][i], 10.0, 0.5) for i in range(3))
    meter = MeterNights("water-main", "leak-hall", first, date(2026, 3, 3), nights, "fleet", ())
    root = parse(water_chart(meter, at(date(2026, 3, 4), 12), PARIS))
    circles = [(c.get("data-x"), c.get("data-y")) for c in root.iter(f"{SVG}circle")]
    ordinal = date(2026, 3, 1).toordinal()
    assert circles == [(str(ordinal), "0.5"), (str(ordinal + 1), "6")]
    assert [y for _, y in series(root, "baseline")] == [0.5, 0.5, 0.5]


def test_energy_chart_bars_per_day() -> None:
    days = ((date(2026, 3, 1), 3.0), (date(2026, 3, 2), None))
    root = parse(energy_chart(EnergyDays("m", "import_energy_kwh", days)))
    assert [(r.get("data-x"), r.get("data-y")) for r in root.iter(f"{SVG}rect") if r.get("data-x")] == [("01 Mar", "3")]


def test_map_has_a_dot_per_box_with_its_coordinates() -> None:
    boxes = [BoxRow("box-a", "Mairie <1>", 45.0, 5.0, (), "online", None, None, 1, 0, 0, False),
             BoxRow("box-b", "Ecole", 45.01, 5.01, (), "offline", None, None, 0, 0, 0, False)]
    markup = str(render_map(map_layout(boxes)))
    root = parse(markup)
    dots = {c.get("data-device"): c for c in root.iter(f"{SVG}circle")}
    assert set(dots) == {"box-a", "box-b"} and dots["box-a"].get("data-health") == "alarm"
    assert "box health-offline" == dots["box-b"].get("class") and "Mairie &lt;1&gt;" in markup
    assert re.search(r'<polygon class="outline" points="[0-9., ]+"', markup)
    assert "No box has coordinates" in str(render_map(map_layout([])))
