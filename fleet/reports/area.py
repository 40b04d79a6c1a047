"""Where a commune's reports may point: its outline (communes.outline), or, without one, the convex hull of its
boxes grown by a margin (as the dashboard's map draws it, fleet/web/views/geo.py); and that area as an SVG the
form's script turns a click on into a latitude and longitude (a plain linear projection, north up)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleet.store.db import Database
from fleet.tenants.model import Commune, Ring, contains
from fleet.web.views.geo import MIN_MARGIN_DEG, convex_hull

MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 600.0, 500.0, 20.0
_STEPS = 16


@dataclass(frozen=True, slots=True)
class AreaMap:
    """The area projected for the form: SVG polygons, and what the script needs to turn x, y back to degrees."""

    width: float
    height: float
    polygons: tuple[str, ...]
    lon_min: float
    lat_max: float
    #: viewBox units per degree of latitude; a degree of longitude is `scale * k`.
    scale: float
    k: float
    #: Where longitude `lon_min` and latitude `lat_max` are drawn (x, y).
    off_x: float
    off_y: float


def box_hull(db: Database, commune: str) -> tuple[Ring, ...]:
    """The convex hull of the commune's placed boxes grown by a tenth of its size (at least ~200 m), as one ring
    of (longitude, latitude); () when no box has coordinates."""
    rows = db.query("SELECT latitude, longitude FROM registry WHERE commune = ? AND revoked_at IS NULL"
                    " AND latitude IS NOT NULL AND longitude IS NOT NULL", (commune,))
    if not rows:
        return ()
    mean_lat = sum(float(r[0]) for r in rows) / len(rows)
    k = math.cos(math.radians(mean_lat))
    raw = [(float(lon) * k, float(lat)) for lat, lon in rows]
    xs, ys = [p[0] for p in raw], [p[1] for p in raw]
    margin = max(max(max(xs) - min(xs), max(ys) - min(ys)) / 10.0, MIN_MARGIN_DEG)
    grown = [(x + margin * math.cos(a), y + margin * math.sin(a)) for x, y in convex_hull(raw)
             for a in (2 * math.pi * i / _STEPS for i in range(_STEPS))]
    hull = convex_hull(grown)
    ring = tuple((x / k, y) for x, y in hull)
    return (ring + ring[:1],)


def commune_area(db: Database, commune: Commune) -> tuple[Ring, ...]:
    """The rings a point of a report must fall in: the outline, else the boxes' hull (() when neither)."""
    return commune.outline if commune.outline else box_hull(db, commune.name)


def inside(rings: tuple[Ring, ...], latitude: float, longitude: float) -> bool:
    """Whether the point is in the area."""
    return contains(rings, longitude, latitude)


def area_map(rings: tuple[Ring, ...], width: float = MAP_WIDTH, max_height: float = MAP_HEIGHT,
             pad: float = MAP_PAD) -> AreaMap | None:
    """The area drawn `width` wide (as tall as its shape needs, at most `max_height`, centred), or None."""
    points = [p for ring in rings for p in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x, span_y = max((max(lons) - min(lons)) * k, 1e-9), max(max(lats) - min(lats), 1e-9)
    scale = min((width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
    height = span_y * scale + 2 * pad
    off_x = (width - span_x * scale) / 2
    lon_min, lat_max = min(lons), max(lats)
    polygons = tuple(" ".join(f"{off_x + (lon - lon_min) * k * scale:.1f},{pad + (lat_max - lat) * scale:.1f}"
                              for lon, lat in ring) for ring in rings)
    return AreaMap(width, round(height, 1), polygons, lon_min, lat_max, scale, k, off_x, pad)
