"""The HTML report: four inline SVG charts drawn from a report and traces written here, nothing fetched."""

from __future__ import annotations

import math
from array import array
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.simulation.html_charts import Frame, thin, time_ticks
from edge.simulation.html_report import html_place_problem, render, write_html
from edge.simulation.traces import Traces

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 1, 5, tzinfo=PARIS)  # a Monday


def _at(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 1, day, hour, minute, tzinfo=PARIS).isoformat()


REPORT: dict[str, Any] = {
    "timezone": "Europe/Paris", "days": 3.0, "run_s": 3.0, "start": _at(5, 0), "end": _at(8, 0),
    "lighting": {"street-main": {"on_hours": 10.0, "baseline_on_hours": 30.0, "dark_unlit_minutes": 0.0,
                                 "dark_unlit_minutes_by_cause": {}, "switches": 4}},
    "leak": {"water-main": {"watch": "leak-hall", "false_alarms": 0, "incidents": [], "alarms": [
        {"kind": "continuous_flow", "raised_at": _at(6, 6, 15), "reason": "water has flowed for 24 h"},
    ]}},
    "heating": {"hall": {"min_temperature_c": 14.0, "comfort_minutes_missed": 0.0, "heater_on_hours": 5.0}},
    "faults": [
        {"source": "lux-roof", "code": "not_plugged", "reason": "cable cut", "start": _at(5, 14), "end": _at(5, 20)},
        {"source": "hall-temp", "code": "not_plugged", "reason": "loose", "start": _at(6, 6), "end": None},
    ],
    "timeline": {
        "box": {"id": "saint-aubin-mairie", "name": "Mairie de Saint-Aubin"},
        "sun": [{"sunset": _at(5, 17, 12)}, {"sunset": _at(6, 17, 13)}],
        "lighting": {"street-main": {
            "relay": "street-lights", "lux_sensor": "lux-roof", "load_w": 740.0, "on_below_lx": 30.0,
            "off_above_lx": 60.0, "switchings": [
                {"at": _at(6, 16, 13), "on": True, "why": "light"}, {"at": _at(6, 23), "on": False, "why": "cutoff"},
            ]}},
        "heating": {"hall": {"frost_c": 7.0, "eco_c": 15.0, "comfort_c": 19.0, "blind": [
            {"start": _at(6, 6), "end": _at(7, 0), "min_c": 14.0, "min_outdoor_c": -12.0}]}},
        "nights": {"water-main": [{"night": "2026-01-05", "mnf_lph": 0.0, "baseline_lph": None},
                                  {"night": "2026-01-06", "mnf_lph": 4.0, "baseline_lph": None}]},
        "world": {"storms": [{"start": _at(6, 15, 30), "end": _at(6, 18), "light_pct": 0.4}],
                  "cold_snaps": [], "sensor_faults": [], "power_cuts": [],
                  "water": [{"meter": "water-main", "kind": "leak", "start": _at(5, 12), "end": _at(6, 16),
                             "rate_lph": 4.0}]},
    },
}


def _traces() -> Traces:
    """Three days of minutes: daylight 08:00-17:00, lamps 16:13-23:00 on Tuesday, the cut-off 23:00-05:30."""
    traces = Traces()
    lamps, cutoff, temp, setpoint, heater = array("b"), array("b"), array("f"), array("f"), array("b")
    for minute in range(3 * 24 * 60):
        at = START + timedelta(minutes=minute)
        clock = at.hour * 60 + at.minute
        traces.t_s.append(at.timestamp())
        traces.lux.append(10_000.0 if 8 * 60 <= clock < 17 * 60 else 0.0)
        traces.outdoor_c.append(-5.0)
        lamps.append(at.day == 6 and 16 * 60 + 13 <= clock < 23 * 60)
        cutoff.append(clock >= 23 * 60 or clock < 5 * 60 + 30)
        temp.append(15.0)
        setpoint.append(math.nan if (at.day, at.hour) >= (6, 6) and at.day < 7 else 15.0)
        heater.append(minute % 120 < 30)
    traces.lamps["street-main"], traces.cutoff["street-main"] = lamps, cutoff
    traces.temperature_c["hall"], traces.setpoint_c["hall"], traces.heater["hall"] = temp, setpoint, heater
    return traces


class _Shapes(HTMLParser):
    """Each chart's shapes by tag and class, with their attributes; and every attribute seen on the page."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.chart: str | None = None
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.attributes += list(values.items())
        if tag == "svg":
            self.chart = values["data-chart"]
            self.charts[self.chart] = []
        elif self.chart is not None:
            self.charts[self.chart].append((tag, values))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None

    def shapes(self, chart: str, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.charts[chart] if t == tag and a.get("class") == cls]


def _parse(html: str) -> _Shapes:
    shapes = _Shapes()
    shapes.feed(html)
    return shapes


def test_html_report_draws_the_four_charts_with_their_data() -> None:
    page = _parse(render(REPORT, _traces()))
    assert list(page.charts) == ["night", "water", "heating", "faults"]
    # (a) The storm's evening, Tuesday 14:00 to Wednesday 10:00: 20 h of minutes of light in one line.
    (lux,) = page.shapes("night", "polyline", "lux")
    assert len(lux["points"].split()) == 20 * 60
    # The cut-off 23:00-05:30 is 9 h to 15.5 h into the 20 h span of a plot 920 px wide from x = 64.
    (cut,) = page.shapes("night", "rect", "cutoff")
    assert abs(float(cut["x"]) - (64 + 9 / 20 * 920)) <= 1 and abs(float(cut["width"]) - 6.5 / 20 * 920) <= 1
    (lit,) = page.shapes("night", "rect", "lamps-on")  # 16:13 to 23:00
    assert abs(float(lit["x"]) - (64 + (2 + 13 / 60) / 20 * 920)) <= 1
    assert len(page.shapes("night", "rect", "storm")) == 1 and len(page.shapes("night", "line", "threshold")) == 1
    (sunset,) = page.shapes("night", "line", "sunset")  # Tuesday's, 17:13 (Monday's is before the chart)
    assert abs(float(sunset["x1"]) - (64 + (3 + 13 / 60) / 20 * 920)) <= 1
    # (b) Two nights judged, one alarm, the leak's span shaded; no baseline yet (still learning).
    (mnf,) = page.shapes("water", "polyline", "mnf")
    assert len(mnf["points"].split()) == 2 and page.shapes("water", "polyline", "baseline") == []
    assert len(page.shapes("water", "path", "alarm")) == 1 and len(page.shapes("water", "rect", "incident")) == 1
    # (c) The temperature over three days (thinned), the setpoint broken where the box had none, the frost line.
    (temp,) = page.shapes("heating", "polyline", "temp")
    assert 500 <= len(temp["points"].split()) <= 1500
    assert len(page.shapes("heating", "polyline", "setpoint")) == 2  # Monday, and again from Wednesday
    assert len(page.shapes("heating", "line", "frost")) == 1 and len(page.shapes("heating", "rect", "blind")) == 1
    assert len(page.shapes("heating", "rect", "heater-on")) == 36  # 30 min of every 2 h, for 3 days
    # (d) One bar per fault, the open one running to the end.
    bars = page.shapes("faults", "rect", "sensor-fault")
    assert len(bars) == 2 and float(bars[1]["x"]) + float(bars[1]["width"]) == Frame(0, 1, 0, 1).width - 16


def test_html_report_is_self_contained() -> None:
    html = render(REPORT, _traces())
    page = _parse(html)
    assert "<script" not in html and "url(" not in html and "@import" not in html
    assert not [(k, v) for k, v in page.attributes if k in ("src", "href", "srcset", "data")]
    assert {v for k, v in page.attributes if k == "xmlns"} == {"http://www.w3.org/2000/svg"}
    assert "What the box did" not in html and "came on at 16:13 on Tue 6 Jan" not in html  # storm evening, below
    assert "During the storm on Tue 6 Jan (15:30-18:00) they came on at 16:13" in html


def test_html_thin_keeps_the_extremes_of_each_run() -> None:
    points = [(float(i), float(i % 10)) for i in range(10_000)]
    thinned = thin(points, limit=200)
    assert len(thinned) <= 200 and min(y for _, y in thinned) == 0.0 and max(y for _, y in thinned) == 9.0


def test_html_report_is_written_whole_and_refuses_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "report.html"
    write_html(path, REPORT, _traces())
    assert path.read_text(encoding="utf-8").endswith("</html>\n") and not list(path.parent.glob("*.partial"))
    assert html_place_problem(tmp_path, 0.25) == f"--html {tmp_path}: is a directory; give the file to write"
    assert html_place_problem(tmp_path / "new" / "r.html", 0.25) is None
    assert html_place_problem(path, math.nan) == "--price-eur-kwh nan: must be a price from 0 to 100 € per kWh"


def test_html_time_ticks_are_local_hours_for_a_night_and_days_for_a_week() -> None:
    night = datetime(2026, 1, 6, 14, tzinfo=PARIS)
    hours = time_ticks(night.timestamp(), (night + timedelta(hours=20)).timestamp(), PARIS)
    assert [label for _, label in hours] == ["16:00", "18:00", "20:00", "22:00", "00:00", "02:00", "04:00", "06:00",
                                             "08:00"]
    days = time_ticks(START.timestamp(), (START + timedelta(days=7)).timestamp(), PARIS)
    assert [label for _, label in days] == ["Tue 6 Jan", "Wed 7 Jan", "Thu 8 Jan", "Fri 9 Jan", "Sat 10 Jan",
                                            "Sun 11 Jan"]
    # Summer time begins on 29 March 2026 at 02:00: the ticks stay on the local hours.
    spring = datetime(2026, 3, 28, 22, tzinfo=PARIS)
    ticks = time_ticks(spring.timestamp(), spring.timestamp() + 10 * 3600, PARIS)  # 10 real hours
    assert [label for _, label in ticks] == ["23:00", "00:00", "01:00", "03:00", "04:00", "05:00", "06:00", "07:00",
                                             "08:00"]
