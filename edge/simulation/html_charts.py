"""Inline SVG charts with no library: a plot frame mapping data to pixels, axes, lines, bands, bars and a legend.

Every drawing is a string of SVG; classes name what each shape is (styled by the page's stylesheet) so that
a person sees colours and a test can find the lux line, the cut-off bands or the alarm markers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

#: At most this many points in one line: a year of minutes is thinned to what a page can show.
MAX_POINTS = 1500


@dataclass(frozen=True, slots=True)
class Frame:
    """A chart's plot area: data ranges mapped to pixels (y on a log10 scale when `log_y`)."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    width: int = 1000
    height: int = 260
    left: int = 64
    right: int = 16
    top: int = 24
    bottom: int = 34
    log_y: bool = False

    def x(self, value: float) -> float:
        """The pixel column of a data x."""
        span = (self.x_max - self.x_min) or 1.0
        return round(self.left + (value - self.x_min) / span * (self.width - self.left - self.right), 1)

    def y(self, value: float) -> float:
        """The pixel row of a data y (clamped to the plot area)."""
        lo, hi, v = self.y_min, self.y_max, value
        if self.log_y:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(value, self.y_min))
        share = min(1.0, max(0.0, (v - lo) / ((hi - lo) or 1.0)))
        return round(self.height - self.bottom - share * (self.height - self.top - self.bottom), 1)

    @property
    def plot_bottom(self) -> float:
        """The pixel row of the plot area's bottom edge."""
        return float(self.height - self.bottom)


def svg(frame: Frame, chart: str, title: str, body: Iterable[str]) -> str:
    """One chart as an inline <svg>, named by `data-chart` and titled for screen readers."""
    return (
        f'<svg class="chart" data-chart="{escape(chart)}" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def axes(frame: Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]],
         y_label: str) -> list[str]:
    """Grid lines, tick labels and the y axis' unit."""
    parts = [(f'<rect class="plot" x="{frame.left}" y="{frame.top}" width="{frame.width - frame.left - frame.right}" '
             f'height="{frame.height - frame.top - frame.bottom}"/>')]
    for value, label in y_ticks:
        y = frame.y(value)
        parts.append(f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{frame.left - 6}" y="{y + 4}" text-anchor="end">{escape(label)}</text>')
    for value, label in x_ticks:
        x = frame.x(value)
        parts.append(f'<line class="grid" x1="{x}" x2="{x}" y1="{frame.top}" y2="{frame.plot_bottom}"/>')
        parts.append(f'<text class="tick" x="{x}" y="{frame.plot_bottom + 16}" text-anchor="middle">'
                     f'{escape(label)}</text>')
    parts.append(f'<text class="unit" x="{frame.left}" y="{frame.top - 8}">{escape(y_label)}</text>')
    return parts


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most about `limit` points: each run of points becomes its lowest and highest (the shape kept)."""
    if len(points) <= limit:
        return list(points)
    size = math.ceil(len(points) / (limit // 2))
    result: list[tuple[float, float]] = []
    for i in range(0, len(points), size):
        run = [p for p in points[i:i + size] if not math.isnan(p[1])]
        if not run:
            result.append((points[i][0], math.nan))
            continue
        low, high = min(run, key=lambda p: p[1]), max(run, key=lambda p: p[1])
        result += sorted({low, high})
    return result


def line(frame: Frame, points: Sequence[tuple[float, float]], cls: str) -> list[str]:
    """A line through (x, y) points, broken where y is NaN (one <polyline> per unbroken run)."""
    runs: list[list[str]] = [[]]
    for x, y in thin(points):
        if math.isnan(y):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{frame.x(x)},{frame.y(y)}")
    return [f'<polyline class="{cls}" points="{" ".join(run)}"/>' for run in runs if run]


def hline(frame: Frame, y: float, cls: str, label: str) -> list[str]:
    """A horizontal line across the plot at data y, labelled at its right end."""
    py = frame.y(y)
    return [f'<line class="{cls}" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{py}" y2="{py}"/>',
            (f'<text class="line-label {cls}-label" x="{frame.width - frame.right - 4}" y="{py - 4}" '
            f'text-anchor="end">{escape(label)}</text>')]


def band(frame: Frame, x_from: float, x_to: float, cls: str, label: str = "") -> list[str]:
    """A full-height band between two data x (a cut-off, a fault, a cold snap), optionally labelled on top."""
    a, b = frame.x(max(x_from, frame.x_min)), frame.x(min(x_to, frame.x_max))
    if b <= a:
        return []
    parts = [(f'<rect class="{cls}" x="{a}" y="{frame.top}" width="{round(b - a, 1)}" '
             f'height="{frame.height - frame.top - frame.bottom}"><title>{escape(label)}</title></rect>')]
    if label:
        parts.append(f'<text class="band-label" x="{round(a + 4, 1)}" y="{frame.top + 14}">{escape(label)}</text>')
    return parts


def runs(xs: Sequence[float], on: Sequence[int], step_s: float) -> list[tuple[float, float]]:
    """The (from, to) spans where `on` holds, each sample lasting until the next one (the last `step_s`)."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for i, (x, flag) in enumerate(zip(xs, on, strict=True)):
        if flag and start is None:
            start = x
        if start is not None and (not flag or i == len(xs) - 1):
            spans.append((start, x if not flag else x + step_s))
            start = None
    return spans


def bar(frame: Frame, x_from: float, x_to: float, y_top: float, y_bottom: float, cls: str, label: str) -> str:
    """A rectangle from data (x_from, y_bottom) to (x_to, y_top), with a hover title."""
    a, b = frame.x(x_from), frame.x(x_to)
    top, bottom = frame.y(y_top), frame.y(y_bottom)
    return (f'<rect class="{cls}" x="{a}" y="{top}" width="{round(max(b - a, 1.5), 1)}" '
            f'height="{round(max(bottom - top, 1.0), 1)}"><title>{escape(label)}</title></rect>')


def marker(frame: Frame, x: float, y: float, cls: str, label: str) -> str:
    """A triangle pointing down at (x, y), with a hover title."""
    px, py = frame.x(x), frame.y(y)
    return (f'<path class="{cls}" d="M{px - 6},{py - 12} L{px + 6},{py - 12} L{px},{py} Z">'
            f'<title>{escape(label)}</title></path>')


def dot(frame: Frame, x: float, y: float, cls: str, label: str) -> str:
    """A small circle at (x, y), with a hover title."""
    return f'<circle class="{cls}" cx="{frame.x(x)}" cy="{frame.y(y)}" r="4"><title>{escape(label)}</title></circle>'


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A row of coloured keys under a chart: (class of the swatch, words)."""
    keys = "".join(f'<span class="key"><i class="swatch {cls}"></i>{escape(words)}</span>' for cls, words in items)
    return f'<div class="legend">{keys}</div>'


def time_ticks(start_s: float, end_s: float, tz: ZoneInfo) -> list[tuple[float, str]]:
    """Ticks on local wall-clock hours or days, about 6 to 14 of them, labelled 'HH:MM' or 'Tue 6'."""
    span_h = (end_s - start_s) / 3600
    hours = next((h for h in (1, 2, 3, 6, 12) if span_h / h <= 14), None) if span_h <= 48 else None
    first = datetime.fromtimestamp(start_s, tz)
    ticks: list[tuple[float, str]] = []
    if hours is not None:
        at = first.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while at.timestamp() < end_s:
            if at.hour % hours == 0:
                ticks.append((at.timestamp(), f"{at:%H:%M}"))
            at = datetime.fromtimestamp(at.timestamp() + 3600, tz)  # real hours: a summer-time change skips one
        return ticks
    days = next((d for d in (1, 2, 7, 14, 30, 61) if span_h / 24 / d <= 14), 91)
    day = first.date() + timedelta(days=1)
    index = 0
    while (at := datetime(day.year, day.month, day.day, tzinfo=tz)).timestamp() < end_s:
        if index % days == 0:
            ticks.append((at.timestamp(), f"{at:%a} {at.day} {at:%b}" if days < 7 else f"{at.day} {at:%b}"))
        day += timedelta(days=1)
        index += 1
    return ticks


def value_ticks(low: float, high: float, unit: str, count: int = 5) -> list[tuple[float, str]]:
    """Round ticks between `low` and `high`, about `count` of them, each with its unit."""
    raw = (high - low) / max(count, 1) or 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    value = math.ceil(low / step) * step
    ticks = []
    while value <= high + 1e-9:
        ticks.append((value, f"{value:g} {unit}"))
        value += step
    return ticks
