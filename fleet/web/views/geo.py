"""The commune's map without tiles: boxes projected from their coordinates into an SVG, inside a plain outline.

Projection: equirectangular, x = longitude * cos(mean latitude), y = -latitude (degrees), so that distances
east-west and north-south have the same scale near the boxes; then scaled uniformly to fit the drawing.
Outline: the convex hull of the boxes, pushed out by a margin (a tenth of the area's size, at least about
200 m) so that no box sits on it. Boxes without coordinates are listed apart. Pure: no database here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.web.views.overview import BoxRow

MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 640.0, 420.0, 36.0
#: The outline's margin at least (degrees of latitude: about 200 m).
MIN_MARGIN_DEG = 0.002


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A box drawn on the map."""

    device: str
    site: str
    x: float
    y: float
    health: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class MapLayout:
    """The boxes placed on the map, the outline (polygon points), the boxes without coordinates."""

    width: float
    height: float
    points: tuple[MapPoint, ...]
    outline: tuple[tuple[float, float], ...]
    unplaced: tuple[BoxRow, ...]
    #: Metres per viewBox unit (for a scale bar); None when nothing is placed.
    metres_per_unit: float | None


def convex_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull (Andrew's monotone chain), counter-clockwise, without repeated or collinear points."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _buffer(hull: Sequence[tuple[float, float]], margin: float, steps: int = 8) -> list[tuple[float, float]]:
    """The hull grown by `margin`: around each corner, an arc of `steps` points (a rounded outline)."""
    if not hull:
        return []
    cx = sum(p[0] for p in hull) / len(hull)
    cy = sum(p[1] for p in hull) / len(hull)
    if len(hull) < 3:
        # One or two points: a circle round each, hulled again.
        ring = [(x + margin * math.cos(a), y + margin * math.sin(a))
                for x, y in hull for a in (2 * math.pi * i / (4 * steps) for i in range(4 * steps))]
        return convex_hull(ring)
    out = []
    for x, y in hull:
        base = math.atan2(y - cy, x - cx)
        for i in range(-steps, steps + 1):
            a = base + i * math.pi / (2 * steps)
            out.append((x + margin * math.cos(a), y + margin * math.sin(a)))
    return convex_hull(out)


def map_layout(boxes: Sequence[BoxRow], *, width: float = MAP_WIDTH, height: float = MAP_HEIGHT,
               pad: float = MAP_PAD) -> MapLayout:
    """Place the boxes with coordinates on a width x height drawing (north up), with their outline."""
    placed = [b for b in boxes if b.latitude is not None and b.longitude is not None]
    unplaced = tuple(b for b in boxes if b.latitude is None or b.longitude is None)
    if not placed:
        return MapLayout(width, height, (), (), unplaced, None)
    mean_lat = sum(b.latitude for b in placed) / len(placed)  # type: ignore[misc]
    k = math.cos(math.radians(mean_lat))
    raw = [(b.longitude * k, -b.latitude) for b in placed]  # type: ignore[operator]
    xs, ys = [p[0] for p in raw], [p[1] for p in raw]
    size = max(max(xs) - min(xs), max(ys) - min(ys))
    margin = max(size / 10.0, MIN_MARGIN_DEG)
    outline_raw = _buffer(convex_hull(raw), margin)
    oxs, oys = [p[0] for p in outline_raw], [p[1] for p in outline_raw]
    span_x, span_y = max(oxs) - min(oxs), max(oys) - min(oys)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    # Centre the drawing.
    off_x = (width - span_x * scale) / 2 - min(oxs) * scale
    off_y = (height - span_y * scale) / 2 - min(oys) * scale

    def place(x: float, y: float) -> tuple[float, float]:
        return round(x * scale + off_x, 2), round(y * scale + off_y, 2)

    points = tuple(
        MapPoint(b.device, b.site, *place(*p), b.health, float(b.latitude), float(b.longitude))  # type: ignore[arg-type]
        for b, p in zip(placed, raw, strict=True)
    )
    # One degree of latitude is about 111.2 km.
    return MapLayout(width, height, points, tuple(place(x, y) for x, y in outline_raw), unplaced,
                     111_195.0 / scale)
