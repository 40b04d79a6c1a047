"""Server-side SVG charts: lines, steps, bars, shaded bands and reference lines, no JavaScript.

Every chart has a `viewBox` (it scales to a phone's width), an accessible `<title>` and `<desc>`, axes with
their unit, and its data in the markup: each series is a `<g class="series" data-series=... data-unit=...>`
whose `<desc>` holds the series as JSON `[[x, y], ...]` (x as given: epoch seconds or a day), each bar a
`<rect data-x data-y>`, each band a `<rect data-x0 data-x1>`, each reference line a `<line data-y>`. Text is
escaped. The plot area is fixed (PLOT below), so a test can work out where a value must be drawn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

WIDTH, HEIGHT = 640.0, 260.0
#: Plot area: left, top, right, bottom edges in viewBox units.
PLOT = (58.0, 24.0, 628.0, 226.0)

Point = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Line:
    """A series drawn as a line (`step`: held until the next point); a None value breaks the line."""

    name: str
    points: tuple[Point, ...]
    css: str = "line"
    step: bool = False
    markers: bool = False


@dataclass(frozen=True, slots=True)
class Bars:
    """One bar per category (x labels in order) with its value."""

    name: str
    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    css: str = "bar"


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded span of x (e.g. the lamps lit, the night cut-off)."""

    x0: float
    x1: float
    label: str
    css: str = "band"


@dataclass(frozen=True, slots=True)
class Rule:
    """A horizontal reference line (a setpoint, the frost line, a baseline)."""

    y: float
    label: str
    css: str = "rule"


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart: x range (numbers; for bars, ignored), y range and unit, what is drawn."""

    title: str
    summary: str
    y_unit: str
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] | None = None
    x_ticks: tuple[tuple[float, str], ...] = ()
    lines: tuple[Line, ...] = ()
    bars: Bars | None = None
    bands: tuple[Band, ...] = ()
    rules: tuple[Rule, ...] = ()
    x_label: str = ""


def x_to_svg(chart: Chart, x: float) -> float:
    """Where x is drawn (viewBox units)."""
    lo, hi = chart.x_range
    left, _, right, _ = PLOT
    return left + (x - lo) / (hi - lo) * (right - left) if hi > lo else left


def y_to_svg(y_range: tuple[float, float], y: float) -> float:
    """Where y is drawn, clamped to the plot area (a value above the range sits on its top edge)."""
    lo, hi = y_range
    _, top, _, bottom = PLOT
    share = (y - lo) / (hi - lo) if hi > lo else 0.0
    return bottom - min(1.0, max(0.0, share)) * (bottom - top)


def nice_step(span: float, count: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def auto_range(values: Sequence[float], *, floor_zero: bool = True, minimum_span: float = 1.0) -> tuple[float, float]:
    """A y range holding every value, widened to round ticks (from 0 when `floor_zero` and all are >= 0)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo = min(finite, default=0.0)
    hi = max(finite, default=minimum_span)
    if floor_zero and lo >= 0:
        lo = 0.0
    if hi - lo < minimum_span:
        hi = lo + minimum_span
    step = nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def time_ticks(lo: float, hi: float, zone: ZoneInfo, step_h: int, fmt: str = "%H:%M") -> tuple[tuple[float, str], ...]:
    """Ticks on whole local hours (multiples of `step_h`) between two epoch times, labelled in `fmt`."""
    start = datetime.fromtimestamp(lo, zone).replace(minute=0, second=0, microsecond=0)
    ticks = []
    t = start
    while t.timestamp() <= hi:
        if t.timestamp() >= lo and t.hour % step_h == 0:
            ticks.append((t.timestamp(), t.strftime(fmt)))
        t = (t + timedelta(hours=1)).astimezone(zone)
    return tuple(ticks)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _label(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") if abs(value) >= 1000 else f"{value:g}"


def _polyline(chart: Chart, y_range: tuple[float, float], line: Line) -> list[str]:
    runs: list[list[str]] = [[]]
    previous: tuple[float, float] | None = None
    for x, y in line.points:
        if y is None:
            runs.append([])
            previous = None
            continue
        sx, sy = x_to_svg(chart, x), y_to_svg(y_range, y)
        if line.step and previous is not None:
            runs[-1].append(f"{_num(sx)},{_num(previous[1])}")
        runs[-1].append(f"{_num(sx)},{_num(sy)}")
        previous = (sx, sy)
    if line.step and previous is not None:
        runs[-1].append(f"{_num(PLOT[2])},{_num(previous[1])}")
    return [f'<polyline class="{escape(line.css)}" points="{" ".join(run)}"/>' for run in runs if len(run) > 1]


def _series_data(points: Sequence[tuple[object, float | None]]) -> str:
    return escape(json.dumps([[x, None if y is None else round(y, 6)] for x, y in points]), quote=False)


def _draw_lines(chart: Chart, y_range: tuple[float, float], out: list[str]) -> None:
    for line in chart.lines:
        out.append(f'<g class="series" data-series="{escape(line.name)}" data-unit="{escape(chart.y_unit)}">')
        out.append(f"<desc>{_series_data(line.points)}</desc>")
        out.extend(_polyline(chart, y_range, line))
        if line.markers:
            for x, y in line.points:
                if y is not None:
                    out.append(
                        f'<circle class="{escape(line.css)}" cx="{_num(x_to_svg(chart, x))}" '
                        f'cy="{_num(y_to_svg(y_range, y))}" r="2.5" data-x="{_num(x)}" data-y="{_num(y)}"/>'
                    )
        out.append("</g>")


def _draw_bars(bars: Bars, y_range: tuple[float, float], out: list[str]) -> None:
    left, _, right, bottom = PLOT
    count = max(1, len(bars.labels))
    slot = (right - left) / count
    width = max(1.0, slot * 0.8)
    out.append(f'<g class="series" data-series="{escape(bars.name)}">')
    out.append(f"<desc>{_series_data(list(zip(bars.labels, bars.values, strict=True)))}</desc>")
    for i, (label, value) in enumerate(zip(bars.labels, bars.values, strict=True)):
        if value is None:
            continue
        y = y_to_svg(y_range, value)
        x = left + i * slot + (slot - width) / 2
        out.append(
            f'<rect class="{escape(bars.css)}" x="{_num(x)}" y="{_num(min(y, bottom))}" width="{_num(width)}" '
            f'height="{_num(abs(bottom - y))}" data-x="{escape(label)}" data-y="{_num(value)}">'
            f"<title>{escape(label)}: {escape(_label(value))}</title></rect>"
        )
    out.append("</g>")
    step = max(1, math.ceil(count / 8))
    for i in range(0, count, step):
        cx = left + (i + 0.5) * slot
        out.append(f'<text class="tick" x="{_num(cx)}" y="{_num(bottom + 14)}" text-anchor="middle">'
                   f"{escape(bars.labels[i])}</text>")


def render_chart(chart: Chart) -> Markup:
    """The chart as an inline `<svg>` element (escaped text, data in attributes)."""
    values: list[float] = [y for line in chart.lines for _, y in line.points if y is not None]
    values += [r.y for r in chart.rules]
    if chart.bars is not None:
        values += [v for v in chart.bars.values if v is not None]
    y_range = chart.y_range or auto_range(values)
    left, top, right, bottom = PLOT
    out = [
        (f'<svg class="chart" viewBox="0 0 {_num(WIDTH)} {_num(HEIGHT)}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" data-y-min="{_num(y_range[0])}" data-y-max="{_num(y_range[1])}" '
        f'data-x-min="{_num(chart.x_range[0])}" data-x-max="{_num(chart.x_range[1])}" '
        f'xmlns="http://www.w3.org/2000/svg">'),
        f"<title>{escape(chart.title)}</title>",
        f"<desc>{escape(chart.summary)}</desc>",
    ]
    for band in chart.bands:
        x0, x1 = max(left, x_to_svg(chart, band.x0)), min(right, x_to_svg(chart, band.x1))
        if x1 > x0:
            out.append(
                f'<rect class="{escape(band.css)}" x="{_num(x0)}" y="{_num(top)}" width="{_num(x1 - x0)}" '
                f'height="{_num(bottom - top)}" data-x0="{_num(band.x0)}" data-x1="{_num(band.x1)}">'
                f"<title>{escape(band.label)}</title></rect>"
            )
    step = nice_step(y_range[1] - y_range[0])
    tick = y_range[0]
    while tick <= y_range[1] + step * 1e-9:
        y = y_to_svg(y_range, tick)
        out.append(f'<line class="grid" x1="{_num(left)}" x2="{_num(right)}" y1="{_num(y)}" y2="{_num(y)}"/>')
        out.append(f'<text class="tick" x="{_num(left - 4)}" y="{_num(y + 4)}" text-anchor="end">'
                   f"{escape(_label(round(tick, 9)))}</text>")
        tick += step
    for x, label in chart.x_ticks:
        sx = x_to_svg(chart, x)
        out.append(f'<line class="grid" x1="{_num(sx)}" x2="{_num(sx)}" y1="{_num(top)}" y2="{_num(bottom)}"/>')
        out.append(f'<text class="tick" x="{_num(sx)}" y="{_num(bottom + 14)}" text-anchor="middle">'
                   f"{escape(label)}</text>")
    out.append(f'<text class="unit" x="4" y="{_num(top - 8)}">{escape(chart.y_unit)}</text>')
    if chart.x_label:
        out.append(f'<text class="unit" x="{_num(right)}" y="{_num(HEIGHT - 4)}" text-anchor="end">'
                   f"{escape(chart.x_label)}</text>")
    if chart.bars is not None:
        _draw_bars(chart.bars, y_range, out)
    for rule in chart.rules:
        y = y_to_svg(y_range, rule.y)
        out.append(f'<line class="{escape(rule.css)}" x1="{_num(left)}" x2="{_num(right)}" y1="{_num(y)}" '
                   f'y2="{_num(y)}" data-y="{_num(rule.y)}"><title>{escape(rule.label)}</title></line>')
        out.append(f'<text class="rule-label" x="{_num(right - 2)}" y="{_num(y - 3)}" text-anchor="end">'
                   f"{escape(rule.label)}</text>")
    _draw_lines(chart, y_range, out)
    out.append(f'<rect class="frame" x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" '
               f'height="{_num(bottom - top)}"/>')
    out.append("</svg>")
    return Markup("".join(out))
