"""The commune's map as an inline SVG (no tiles: a plain outline), from fleet/web/views/geo.py's layout."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from markupsafe import Markup

from fleet.web.views.geo import MapLayout


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _scale_bar(layout: MapLayout) -> list[str]:
    """A scale bar of a round length (100 m, 200 m, 500 m, 1 km...) near a fifth of the width."""
    if layout.metres_per_unit is None:
        return []
    want = layout.width / 5 * layout.metres_per_unit
    length = next((m for m in (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
                   if m >= want * 0.6), 100_000)
    units = length / layout.metres_per_unit
    y = layout.height - 10
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    return [
        f'<line class="scale" x1="10" x2="{_num(10 + units)}" y1="{_num(y)}" y2="{_num(y)}" data-metres="{length}"/>',
        f'<text class="tick" x="10" y="{_num(y - 4)}">{escape(label)}</text>',
    ]


def render_map(layout: MapLayout, title: str = "The boxes on the commune's map") -> Markup:
    """The map: outline, one linked dot per box coloured by health (class `health-...`), its label."""
    out = [
        (f'<svg class="map" viewBox="0 0 {_num(layout.width)} {_num(layout.height)}" role="img" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'),
        f"<title>{escape(title)}</title>",
        (f"<desc>{len(layout.points)} box(es) placed from their coordinates (north up); "
        f"{len(layout.unplaced)} without coordinates listed below the map.</desc>"),
    ]
    if layout.outline:
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in layout.outline)
        out.append(f'<polygon class="outline" points="{points}"/>')
    else:
        out.append(f'<text class="empty" x="{_num(layout.width / 2)}" y="{_num(layout.height / 2)}" '
                   'text-anchor="middle">No box has coordinates yet.</text>')
    for p in layout.points:
        out.append(
            f'<a href="/boxes/{quote(p.device, safe="")}"><circle class="box health-{escape(p.health)}" '
            f'cx="{_num(p.x)}" cy="{_num(p.y)}" r="7" data-device="{escape(p.device)}" '
            f'data-lat="{p.latitude:g}" data-lon="{p.longitude:g}" data-health="{escape(p.health)}">'
            f"<title>{escape(p.device)} ({escape(p.site)}): {escape(p.health)}</title></circle>"
            f'<text class="label" x="{_num(p.x + 10)}" y="{_num(p.y + 4)}">{escape(p.site or p.device)}</text></a>'
        )
    out.extend(_scale_bar(layout))
    out.append("</svg>")
    return Markup("".join(out))
