"""Pages: the alarms with their evidence (`/alarms`), and acknowledging one (a technician's form)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.auth import TECHNICIAN, VIEWER
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.render import page
from fleet.web.views.alarms import ack_alarm, alarm_rows
from fleet.web.views.fmt import Fmt

router = APIRouter()

SHOW = ("open", "all")


def _alarms_page(request: Request, session: Session, db: Database, ctx: WebContext, *, show: str,
                 device: str | None, notice: str = "", error: str = "", status_code: int = 200) -> HTMLResponse:
    if show not in SHOW:
        raise HTTPException(status_code=400, detail=f"show: expected open or all, got {show[:20]!r}")
    rows = alarm_rows(db, open_only=show == "open", device=device or None, scope=session.scope)
    return page(request, "alarms.html", session, title="Alarms", alarms=rows, show=show, device=device or "",
                notice=notice, error=error, may_ack=session.role in ("technician", "admin"),
                fmt=Fmt(ctx.settings.rollups.zone, ctx.now()), status_code=status_code)


@router.get("/alarms", response_class=HTMLResponse, include_in_schema=False)
def alarms_page(
    request: Request, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)], show: str = "open", device: str | None = None,
    acked: str | None = None,
) -> HTMLResponse:
    """Open alarms (or all), critical first, with their evidence and who acknowledged them."""
    notice = ""
    if acked and session.scope.sees_alarm(db, acked):
        row = db.one("SELECT acked_by, ack_command FROM alarms WHERE id = ?", (acked,))
        if row is not None and row[0] is not None:
            notice = f"Alarm {acked[:12]} acknowledged by {row[0]}" + (
                "; the acknowledgement is on its way to the box." if row[1] else ".")
    return _alarms_page(request, session, db, ctx, show=show, device=device, notice=notice)


@router.post("/alarms/{alarm_id}/ack", include_in_schema=False)
def ack_submit(
    request: Request, alarm_id: str, session: Annotated[Session, Depends(TECHNICIAN)],
    db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
    note: Annotated[str, Form(max_length=4096)] = "", show: Annotated[str, Form()] = "open",
) -> Response:
    """Acknowledge an alarm as the logged-in user (the box's own alarm is acknowledged on the box too)."""
    if not session.scope.sees_alarm(db, alarm_id):  # unknown, or another commune's: the same answer
        raise HTTPException(status_code=404, detail=f"no alarm {alarm_id[:80]!r}")
    outcome = ack_alarm(db, alarm_id, session.user, note=note.strip() or None, now=ctx.now(),
                        settings=ctx.settings.alarms, scope=session.scope)
    if outcome.error is not None:
        return _alarms_page(request, session, db, ctx, show=show if show in SHOW else "open", device=None,
                            error=outcome.error, status_code=409)
    where = "all" if show == "all" else "open"
    return RedirectResponse(f"/alarms?show={where}&acked={quote(alarm_id, safe='')}", status_code=303)
