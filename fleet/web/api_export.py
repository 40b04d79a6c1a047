"""`/api/v1/devices/{device}/series` (what a box has) and `.../series.csv` (one series as CSV, streamed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from fleet.export.catalog import catalog, default_span
from fleet.export.readings import untrusted_count
from fleet.export.span import ExportError, UnknownDeviceError, parse_span
from fleet.export.table import CsvExport, ExportRequest
from fleet.store.db import Database
from fleet.tenants.scope import Scope
from fleet.web.accounts import Session
from fleet.web.api_models import ErrorOut, SeriesOut
from fleet.web.auth import VIEWER
from fleet.web.deps import WebContext, get_db, web_context

router = APIRouter(tags=["export"])
RANGE = "YYYY-MM-DD (a local day in the fleet's time zone, included) or an ISO 8601 datetime"
ERRORS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}}


def _refused(error: ExportError) -> HTTPException:
    return HTTPException(status_code=404 if isinstance(error, UnknownDeviceError) else 400, detail=str(error))


def _in_scope(db: Database, device: str, scope: Scope) -> None:
    """UnknownDeviceError, worded as fleet.export.catalog's, for a box of another commune (or the service's)."""
    if not scope.service and not scope.sees_device(db, device):
        raise UnknownDeviceError(f"no device {device!r}")


@router.get("/api/v1/devices/{device}/series", response_model=SeriesOut, responses=ERRORS)
def series(device: str, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
           ctx: Annotated[WebContext, Depends(web_context)],
           first: Annotated[str | None, Query(alias="from", description=f"start: {RANGE}")] = None,
           last: Annotated[str | None, Query(alias="to", description=f"end: {RANGE}")] = None) -> SeriesOut:
    """The series a box has: raw readings in the span (default: the last 31 days) and every roll-up."""
    try:
        if (first is None) != (last is None):
            raise ExportError("give both from and to, or neither (the last 31 days)")
        span = default_span(ctx.now()) if first is None or last is None else parse_span(
            first, last, ctx.settings.rollups.zone)
        _in_scope(db, device, session.scope)
        return SeriesOut.model_validate(catalog(db, device, span).as_dict())
    except ExportError as error:
        raise _refused(error) from None


@router.get("/api/v1/devices/{device}/series.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "RFC 4180 CSV with a header naming units; ISO 8601 times in UTC and local time"},
    **ERRORS,
})
def series_csv(device: str, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
               ctx: Annotated[WebContext, Depends(web_context)],
               first: Annotated[str, Query(alias="from", description=f"start: {RANGE}")],
               last: Annotated[str, Query(alias="to", description=f"end: {RANGE}; a datetime is excluded")],
               sensor: Annotated[str | None, Query(description="the sensor id, or a roll-up's meter/circuit")] = None,
               reading: Annotated[str | None, Query(description="the reading name, or an energy register")] = None,
               rollup: Annotated[str | None, Query(description="water_nights, lighting_days or energy_days")] = None,
               ) -> StreamingResponse:
    """One series as CSV, streamed: raw readings with a trusted time (untrusted ones are counted in a header)."""
    zone = ctx.settings.rollups.zone
    try:
        request = ExportRequest(device, parse_span(first, last, zone), sensor, reading, rollup)
        request.check()
        _in_scope(db, device, session.scope)
        export = CsvExport(db, request, zone)
    except ExportError as error:
        raise _refused(error) from None
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
    if rollup is None and sensor and reading:
        headers["X-Untrusted-Readings"] = str(untrusted_count(db, device, sensor, reading))
    return StreamingResponse(export.chunks(), media_type="text/csv; charset=utf-8", headers=headers)
