"""Page: a commune's savings (`/savings`): lighting hours against an astronomical clock, energy, leaks caught."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from fleet.registry.devices import list_devices
from fleet.store.db import Database
from fleet.tenants.communes import list_communes
from fleet.tenants.scope import Scope
from fleet.web.accounts import Session
from fleet.web.auth import VIEWER
from fleet.web.charts_box import energy_months_chart, lighting_months_chart
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.pages_boxes import group_names, parse_day
from fleet.web.render import page
from fleet.web.views.fmt import Fmt, duration, num
from fleet.web.views.savings import MONTH_S, QUARTER_S, savings

router = APIRouter()

#: The longest span a savings page covers.
MAX_DAYS = 3 * 366


def default_first(today: date) -> date:
    """The first day of the month eleven months back: a year of whole months with this one."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


@router.get("/savings", response_class=HTMLResponse, include_in_schema=False)
def savings_page(
    request: Request, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)], group: str | None = None, first: str | None = None,
    last: str | None = None, commune: str | None = None,
) -> HTMLResponse:
    """Savings of a commune (a service user chooses one, a commune's user sees their own), or of a group in
    scope, over a span of local days; every box in scope when neither is chosen."""
    zone, now = ctx.settings.rollups.zone, ctx.now()
    scope = session.scope
    names = [c.name for c in list_communes(db) if scope.sees_commune(c.name)]
    if commune and commune not in names:
        raise HTTPException(status_code=404, detail=f"no commune {commune[:80]!r}")
    chosen = scope.commune or commune or None
    groups = group_names(db, Scope(chosen) if chosen else scope)
    if group and group not in groups:
        raise HTTPException(status_code=404, detail=f"no group {group[:80]!r}")
    today = datetime.fromtimestamp(now, zone).date()
    last_day = parse_day(last, "last") or today
    first_day = parse_day(first, "first") or default_first(last_day)
    if first_day > last_day or (last_day - first_day).days > MAX_DAYS:
        raise HTTPException(status_code=400, detail=f"first..last: give at most {MAX_DAYS} days, first before last")
    devices = [d.device for d in list_devices(db, group=group or None, include_revoked=False, commune=chosen)]
    found = savings(db, devices, first_day, last_day, zone, now)
    return page(
        request, "savings.html", session, title="Savings", found=found, groups=groups, group=group or "",
        communes=names if scope.service else [], commune=chosen or "",
        lighting_svg=lighting_months_chart(found.lighting) if found.lighting else None,
        energy_svg=energy_months_chart(found.energy) if found.energy else None,
        month_days=MONTH_S / 86400, quarter_days=QUARTER_S / 86400,
        fmt=Fmt(zone, now), duration=duration, num=num,
    )
