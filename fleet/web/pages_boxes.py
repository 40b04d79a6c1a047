"""Pages: the boxes with their health on the commune's map (`/`), and one box with its charts (`/boxes/{device}`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from fleet.registry.devices import get_device
from fleet.registry.health import device_health
from fleet.registry.model import Device
from fleet.rollups.place import device_place
from fleet.store.db import Database
from fleet.tenants.scope import SERVICE, Scope
from fleet.web.accounts import Session
from fleet.web.auth import VIEWER
from fleet.web.charts_box import energy_chart, heating_chart, lux_chart, water_chart
from fleet.web.charts_map import render_map
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.render import page
from fleet.web.views.alarms import alarm_rows
from fleet.web.views.box_config import box_setup
from fleet.web.views.box_energy import energy_series
from fleet.web.views.box_heating import zone_temperatures
from fleet.web.views.box_night import default_evening, lux_nights
from fleet.web.views.box_water import meter_nights
from fleet.web.views.fmt import Fmt, duration, num
from fleet.web.views.geo import map_layout
from fleet.web.views.overview import fleet_overview, scoped_groups

router = APIRouter()

#: Dates a page accepts (the fleet's records are in this span; beyond it date arithmetic would overflow).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def parse_day(text: str | None, name: str) -> date | None:
    """A 'YYYY-MM-DD' query value (None when absent); 400 naming the parameter when it is not a date."""
    if text is None or text == "":
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{name}: expected a date YYYY-MM-DD, got {text[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(status_code=400, detail=f"{name}: give a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def group_names(db: Database, scope: Scope = SERVICE) -> list[str]:
    """The registry's groups in `scope` (every one for the service; a commune's own for its users), by name."""
    if scope.service:
        return [str(r[0]) for r in db.query("SELECT name FROM groups ORDER BY name")]
    return [str(r[0]) for r in db.query("SELECT name FROM groups WHERE commune = ? ORDER BY name", (scope.commune,))]


def visible_box(db: Database, device: str, scope: Scope) -> Device:
    """The registered box `device` when in `scope`; 404 worded the same when unknown or another commune's."""
    registered = get_device(db, device)
    if registered is None or not scope.sees_commune(registered.commune):
        raise HTTPException(status_code=404, detail=f"no box {device[:80]!r} in the registry")
    (shown,) = scoped_groups(db, [registered], scope)
    return shown


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def boxes_page(
    request: Request, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)], group: str | None = None,
) -> HTMLResponse:
    """The boxes: health, last contact and open alarms, and the map."""
    groups = group_names(db, session.scope)
    if group is not None and group not in groups:
        raise HTTPException(status_code=404, detail=f"no group {group[:80]!r}")
    overview = fleet_overview(db, group=group, scope=session.scope)
    layout = map_layout(overview.boxes)
    fmt = Fmt(ctx.settings.rollups.zone, ctx.now())
    return page(request, "boxes.html", session, title="Boxes", overview=overview, map_svg=render_map(layout),
                unplaced=layout.unplaced, groups=groups, group=group, fmt=fmt)


@router.get("/boxes/{device}", response_class=HTMLResponse, include_in_schema=False)
def box_page(
    request: Request, device: str, session: Annotated[Session, Depends(VIEWER)],
    db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
    night: str | None = None,
) -> HTMLResponse:
    """One box: health, open alarms, a night of lux and lamps, the leak chart, energy, heated zones."""
    registered = visible_box(db, device, session.scope)
    now = ctx.now()
    zone = device_place(db, device, ctx.settings.rollups.zone).zone
    evening = parse_day(night, "night") or default_evening(now, zone)
    setup = box_setup(db, device)
    (health,) = device_health(db, [registered])
    nights = lux_nights(db, device, evening, zone, setup, now=now)
    meters = meter_nights(db, device, setup, zone, now)
    energy = energy_series(db, device, zone, now)
    zones = zone_temperatures(db, device, setup, zone, now)
    return page(
        request, "box.html", session, title=f"{device} · {registered.site}", box=registered, health=health,
        setup=setup, alarms=alarm_rows(db, device=device, open_only=True), evening=evening,
        previous_night=(evening - timedelta(days=1)).isoformat(), next_night=(evening + timedelta(days=1)).isoformat(),
        lux=[(n, lux_chart(n, zone)) for n in nights], water=[(m, water_chart(m, now, zone)) for m in meters],
        energy=[(e, energy_chart(e)) for e in energy], heating=[(z, heating_chart(z, zone)) for z in zones],
        fmt=Fmt(zone, now), duration=duration, num=num,
    )
