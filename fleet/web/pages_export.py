"""A box's series to download as CSV, over a range of days: the dashboard's side of `hameau-fleet export csv`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from fleet.export.catalog import catalog, default_span, unit_of
from fleet.export.span import ExportError
from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.auth import VIEWER
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.pages_boxes import visible_box
from fleet.web.render import page

router = APIRouter()


@router.get("/boxes/{device}/export", response_class=HTMLResponse, include_in_schema=False)
def export_page(request: Request, device: str, session: Annotated[Session, Depends(VIEWER)],
                db: Annotated[Database, Depends(get_db)],
                ctx: Annotated[WebContext, Depends(web_context)]) -> HTMLResponse:
    """Every series of the box (readings of the last 31 days, every roll-up), each with a CSV download form."""
    registered = visible_box(db, device, session.scope)
    now = ctx.now()
    try:
        found = catalog(db, device, default_span(now))
    except ExportError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    today = datetime.fromtimestamp(now, ctx.settings.rollups.zone).date()
    return page(request, "export.html", session, title=f"{device} · CSV export", box=registered, catalog=found,
                first=(today - timedelta(days=30)).isoformat(), last=today.isoformat(), unit_of=unit_of)
