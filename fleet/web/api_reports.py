"""`/api/v1/reports`: the inhabitants' reports the user may see, one with its box's evidence, closing one.

Never the reporter's e-mail nor the hash of their address: `asked_notice` says whether they asked to be told.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from fleet.alarms.table import get_alarm
from fleet.reports.model import Report, ReportError
from fleet.reports.store import close_report, get_report, list_reports
from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.api_models import ErrorOut
from fleet.web.auth import TECHNICIAN, VIEWER
from fleet.web.deps import WebContext, get_db, web_context

router = APIRouter(tags=["reports"])


class ReportOut(BaseModel):
    """An inhabitant's report as the service sees it (no e-mail, no address hash)."""

    id: str
    commune: str
    kind: str = Field(description="light_out, light_in_daylight, water_running or cold_building")
    street: str
    latitude: float | None
    longitude: float | None
    description: str
    has_photo: bool
    asked_notice: bool = Field(description="whether the inhabitant asked to be told when it is fixed")
    created_at: float
    device: str | None = Field(description="the box it was linked to (None: no fitting box near)")
    circuit: str | None
    distance_m: float | None = Field(description="from the point to the box (None: street only)")
    alarm_id: str | None
    state: str = Field(description="open or closed")
    closed_at: float | None
    closed_by: str | None
    note: str | None
    notified_at: float | None = Field(description="when the 'fixed' e-mail was queued")


class ReportDetailOut(ReportOut):
    """A report and the box's own evidence its alarm holds."""

    evidence: dict[str, Any]


class CloseIn(BaseModel):
    """Closing a report: what was done."""

    note: str = Field(min_length=1, max_length=2000)


def report_out(report: Report) -> dict[str, Any]:
    """A report's API fields."""
    return {
        "id": report.id, "commune": report.commune, "kind": report.kind, "street": report.street,
        "latitude": report.latitude, "longitude": report.longitude, "description": report.description,
        "has_photo": report.photo_type is not None, "asked_notice": report.asked_notice,
        "created_at": report.created_at, "device": report.device, "circuit": report.circuit,
        "distance_m": report.distance_m, "alarm_id": report.alarm_id, "state": report.state,
        "closed_at": report.closed_at, "closed_by": report.closed_by, "note": report.note,
        "notified_at": report.notified_at,
    }


def _detail(db: Database, report: Report) -> ReportDetailOut:
    alarm = get_alarm(db, report.alarm_id) if report.alarm_id else None
    evidence = dict(alarm.evidence) if alarm is not None and isinstance(alarm.evidence, dict) else {}
    return ReportDetailOut.model_validate({**report_out(report), "evidence": evidence})


@router.get("/api/v1/reports", response_model=list[ReportOut])
def reports(session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
            open_only: Annotated[bool, Query(description="only the open ones")] = False,
            limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> list[ReportOut]:
    """Reports of the communes the user may see: open first, then the latest first."""
    return [ReportOut.model_validate(report_out(r))
            for r in list_reports(db, session.scope, open_only=open_only, limit=limit)]


@router.get("/api/v1/reports/{report_id}", response_model=ReportDetailOut, responses={404: {"model": ErrorOut}})
def report(report_id: str, session: Annotated[Session, Depends(VIEWER)],
           db: Annotated[Database, Depends(get_db)]) -> ReportDetailOut:
    """One report with the evidence of the box it was linked to."""
    found = get_report(db, session.scope, report_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no report {report_id[:40]!r}")
    return _detail(db, found)


@router.post("/api/v1/reports/{report_id}/close", response_model=ReportDetailOut, responses={
    400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def close(request: Request, report_id: str, session: Annotated[Session, Depends(TECHNICIAN)],
          db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
          body: Annotated[CloseIn, Body()]) -> ReportDetailOut:
    """Close a report with a note: its alarm clears; the inhabitant's "fixed" e-mail is queued if they asked."""
    found = get_report(db, session.scope, report_id)
    status_url = "" if found is None else str(request.url_for("report_status", commune=found.commune,
                                                               ticket=found.id))
    try:
        closed = close_report(db, session.scope, report_id, by=session.user, note=body.note, now=ctx.now(),
                              notify=ctx.settings.notify, zone=ctx.settings.rollups.zone, status_url=status_url)
    except ReportError as refused:
        raise HTTPException(status_code=refused.status, detail=str(refused)) from None
    return _detail(db, closed)
