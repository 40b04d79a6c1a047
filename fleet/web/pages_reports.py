"""Dashboard pages of the inhabitants' reports: the list (`/reports`), one report with its photo, the box and
circuit it was linked to and that box's evidence charted, and a technician's close form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from fleet.alarms.table import get_alarm
from fleet.reports.guard import DAY_S, refusal_counts
from fleet.reports.link import light_night
from fleet.reports.model import (
    LIGHT_IN_DAYLIGHT,
    LIGHT_OUT,
    WATER_RUNNING,
    Report,
    ReportError,
)
from fleet.reports.store import (
    KIND_WORDS,
    close_report,
    get_report,
    list_reports,
    report_photo,
)
from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.auth import TECHNICIAN, VIEWER
from fleet.web.charts_box import heating_chart, lux_chart, water_chart
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.render import page
from fleet.web.views.box_config import box_setup
from fleet.web.views.box_heating import zone_temperatures
from fleet.web.views.box_water import meter_nights
from fleet.web.views.fmt import Fmt

router = APIRouter()


def evidence_chart(db: Database, report: Report, zone: ZoneInfo) -> Markup | None:
    """The linked circuit's chart around the report's time, drawn from the box's records (None: unlinked)."""
    if report.device is None or report.circuit is None:
        return None
    if report.kind in (LIGHT_OUT, LIGHT_IN_DAYLIGHT):
        night = light_night(db, report.device, report.circuit, report.created_at, zone)
        return None if night is None else lux_chart(night, zone)
    setup = box_setup(db, report.device)
    if report.kind == WATER_RUNNING:
        meter = next((m for m in meter_nights(db, report.device, setup, zone, report.created_at)
                      if m.meter == report.circuit), None)
        return None if meter is None else water_chart(meter, report.created_at, zone)
    found = next((z for z in zone_temperatures(db, report.device, setup, zone, report.created_at)
                  if z.zone == report.circuit), None)
    return None if found is None else heating_chart(found, zone)


def _value(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}{unit}" if isinstance(value, float | int) else str(value)


def fact_lines(evidence: Mapping[str, Any], fmt: Fmt) -> list[tuple[str, str]]:
    """The box's evidence held by a report's alarm, as labelled lines."""
    lines: list[tuple[str, str]] = []
    if isinstance(light := evidence.get("lighting"), dict):
        lines += [("night of", _value(light.get("night"))), ("lux sensor", _value(light.get("lux_sensor"))),
                  ("lux that night", (f"{_value(light.get('lux_min_lx'), ' lx')} to"
                                      f" {_value(light.get('lux_max_lx'), ' lx')}"
                                     f" ({light.get('lux_samples', 0)} samples)")),
                  ("lamps lit", "; ".join(f"{fmt.when(a)} to {fmt.when(b)}" for a, b in light.get("lit", []))
                   or "never that night"),
                  ("hours lit", _value(light.get("lit_h"), " h")),
                  ("relay on at the report", _value(light.get("lit_at_report"))),
                  ("switching", (f"on below {_value(light.get('on_below_lx'), ' lx')},"
                                f" off above {_value(light.get('off_above_lx'), ' lx')}"))]
    if isinstance(water := evidence.get("water"), dict):
        lines += [("meter", _value(water.get("meter"))),
                  ("last night's minimum flow", _value(water.get("last_min_flow_lph"), " L/h")),
                  ("baseline", _value(water.get("baseline_lph"), " L/h")),
                  ("minimum night flow", "; ".join(f"{night}: {_value(flow, ' L/h')}"
                                                   for night, flow in water.get("min_night_flow_lph", [])))]
    if isinstance(heat := evidence.get("heating"), dict):
        lines += [("zone", _value(heat.get("zone"))), ("setpoint then", _value(heat.get("setpoint_c"), " °C")),
                  ("frost line", _value(heat.get("frost_c"), " °C"))]
        for name, t in (heat.get("temperatures") or {}).items():
            lines.append((name, (f"{_value(t.get('latest_c'), ' °C')} at {fmt.when(t.get('at'))}"
                                f" (min {_value(t.get('min_c'), ' °C')}, max {_value(t.get('max_c'), ' °C')})")))
    return lines


def _report_page(request: Request, session: Session, db: Database, ctx: WebContext, report_id: str, *,
                 error: str = "", notice: str = "", status_code: int = 200) -> HTMLResponse:
    report = get_report(db, session.scope, report_id)
    if report is None:
        raise HTTPException(status_code=404, detail=f"no report {report_id[:40]!r}")
    zone = ctx.settings.rollups.zone
    alarm = get_alarm(db, report.alarm_id) if report.alarm_id else None
    fmt = Fmt(zone, ctx.now())
    facts = fact_lines(alarm.evidence, fmt) if alarm is not None else []
    return page(request, "report.html", session, title=f"Report {report.id[:8]}", report=report,
                words=KIND_WORDS, alarm=alarm, facts=facts, chart=evidence_chart(db, report, zone),
                may_close=session.role in ("technician", "admin") and report.state == "open",
                fmt=fmt, error=error, notice=notice, status_code=status_code)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request, session: Annotated[Session, Depends(VIEWER)],
                 db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
                 show: str = "all") -> HTMLResponse:
    """The inhabitants' reports the user may see, open ones first."""
    if show not in ("open", "all"):
        raise HTTPException(status_code=400, detail=f"show: expected open or all, got {show[:20]!r}")
    now = ctx.now()
    communes = None if session.scope.service else frozenset({str(session.scope.commune)})
    return page(request, "reports.html", session, title="Reports", words=KIND_WORDS, show=show,
                reports=list_reports(db, session.scope, open_only=show == "open"),
                refused=refusal_counts(db, communes, now - DAY_S), fmt=Fmt(ctx.settings.rollups.zone, now))


@router.get("/reports/{report_id}", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, report_id: str, session: Annotated[Session, Depends(VIEWER)],
                db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
                closed: str = "") -> HTMLResponse:
    """One report: what, where, the photo, the linked box and circuit, the box's evidence; the close form."""
    notice = "Report closed." if closed else ""
    return _report_page(request, session, db, ctx, report_id, notice=notice)


@router.get("/reports/{report_id}/photo", include_in_schema=False)
def report_photo_file(report_id: str, session: Annotated[Session, Depends(VIEWER)],
                      db: Annotated[Database, Depends(get_db)]) -> Response:
    """The report's photo, as the content type its bytes were recognised as (never sniffed by the browser)."""
    found = report_photo(db, session.scope, report_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such photo")
    return Response(found[0], media_type=found[1], headers={"X-Content-Type-Options": "nosniff",
                                                            "Content-Disposition": "inline"})


@router.post("/reports/{report_id}/close", include_in_schema=False)
def report_close(request: Request, report_id: str, session: Annotated[Session, Depends(TECHNICIAN)],
                 db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
                 note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Close a report with a note: its alarm clears, the inhabitant is told if they asked."""
    status_url = ""
    found = get_report(db, session.scope, report_id)
    if found is not None:
        status_url = str(request.url_for("report_status", commune=found.commune, ticket=found.id))
    try:
        close_report(db, session.scope, report_id, by=session.user, note=note, now=ctx.now(),
                     notify=ctx.settings.notify, zone=ctx.settings.rollups.zone, status_url=status_url)
    except ReportError as refused:
        if refused.status == 404:
            raise HTTPException(status_code=404, detail=str(refused)) from None
        return _report_page(request, session, db, ctx, report_id, error=str(refused), status_code=refused.status)
    return RedirectResponse(f"/reports/{report_id}?closed=1", status_code=303)
