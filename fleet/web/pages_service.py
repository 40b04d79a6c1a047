"""Pages of the intercommunal service (`/service/communes` and its CSV): every commune's savings side by side,
for the service's annual report. A commune's users do not have them: they get 404, as for any missing page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from fleet.store.db import Database
from fleet.tenants.service_report import (
    CHANGES,
    FIGURES,
    ReportError,
    ServiceReport,
    change,
    csv_text,
    filename,
    report_span,
    service_report,
)
from fleet.web.accounts import Session
from fleet.web.auth import VIEWER
from fleet.web.charts import Bars, Chart, render_chart
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.render import page
from fleet.web.views.fmt import num
from fleet.web.views.savings import QUARTER_S

router = APIRouter()


def _report(session: Session, db: Database, ctx: WebContext, year: str | None, first: str | None,
            last: str | None) -> ServiceReport:
    if not session.scope.service:
        raise HTTPException(status_code=404, detail="Not Found")
    zone, now = ctx.settings.rollups.zone, ctx.now()
    try:
        span = report_span(year, first, last, datetime.fromtimestamp(now, zone).date())
    except ReportError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    return service_report(db, span, zone, now)


def saved_kwh_chart(report: ServiceReport) -> Markup:
    """Bars: kWh saved per commune (and the service's own boxes), in the table's order."""
    rows = report.rows
    return render_chart(Chart(
        title="kWh saved per commune",
        summary=f"Energy saved against lighting dusk to dawn, {report.span.label}; no bar: load unknown.",
        y_unit="kWh saved",
        bars=Bars("saved_kwh", tuple(r.title for r in rows), tuple(r.now.saved_kwh for r in rows)),
    ))


@router.get("/service/communes", response_class=HTMLResponse, include_in_schema=False)
def communes_page(
    request: Request, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)], year: str | None = None, first: str | None = None,
    last: str | None = None,
) -> HTMLResponse:
    """Every commune's figures over a year (default: the last complete one) against the year before."""
    report = _report(session, db, ctx, year, first, last)
    query = "&".join(f"{k}={v}" for k, v in (("first", report.span.first), ("last", report.span.last)))
    return page(
        request, "service_communes.html", session, title="Communes", report=report,
        chart=saved_kwh_chart(report) if report.rows else None, figures=FIGURES, changes=CHANGES,
        change=change, num=num, csv_query=query, quarter_days=QUARTER_S / 86400,
        this_year=datetime.fromtimestamp(ctx.now(), ctx.settings.rollups.zone).year,
    )


@router.get("/service/communes.csv", include_in_schema=False)
def communes_csv(
    session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)], year: str | None = None, first: str | None = None,
    last: str | None = None,
) -> Response:
    """The page's rows as CSV (UTF-8, RFC 4180), as an attachment."""
    report = _report(session, db, ctx, year, first, last)
    return Response(csv_text(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename(report.span)}"'})
