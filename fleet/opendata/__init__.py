"""Open data: the fleet's lighting circuits, water meters, energy meters, heating zones and sites as NGSI-LD
entities of the Smart Data Models, exported to a commune's context broker (opt-in `[ngsi]` table)."""

from __future__ import annotations

from fleet.opendata.export import ExportReport, NgsiExport
from fleet.opendata.settings import NgsiSettings, parse_ngsi
from fleet.serve.jobs import Job, JobContext

__all__ = ["ExportReport", "NgsiExport", "NgsiSettings", "ngsi_jobs", "parse_ngsi"]


def ngsi_jobs(settings: NgsiSettings) -> tuple[Job, ...]:
    """The export job when `[ngsi]` is enabled, else none."""
    if not settings.enabled:
        return ()
    export = NgsiExport(settings)

    def run(ctx: JobContext) -> None:
        export.run(ctx.db, ctx.now)

    return (Job("ngsi-export", settings.interval_s, run),)
