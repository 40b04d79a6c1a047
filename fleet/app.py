"""The fleet's composition root: the store with every ingest observer, and serve's periodic jobs."""

from __future__ import annotations

from collections.abc import Sequence

from fleet import rollups
from fleet.alarms import AlarmObserver, silence_job
from fleet.configs import publish as configs_publish
from fleet.configs.reports import ConfigsObserver
from fleet.homeassistant import ha_jobs, ha_observers, ha_routes
from fleet.notify import notify_jobs
from fleet.opendata import ngsi_jobs
from fleet.reports import retention as reports_retention
from fleet.serve.jobs import Job
from fleet.serve.service import Route
from fleet.settings import FleetSettings
from fleet.store import IngestObserver, SqlStore, open_store


def observers(settings: FleetSettings) -> Sequence[IngestObserver]:
    """What runs inside each ingest transaction, in order."""
    return (ConfigsObserver(), AlarmObserver(), rollups.observer(settings.rollups),
            *ha_observers(settings.homeassistant))


def jobs(settings: FleetSettings) -> Sequence[Job]:
    """What serve runs periodically beside the ingest (notifications only when a channel is configured)."""
    return (
        configs_publish.job(),
        silence_job(settings.alarms),
        *notify_jobs(settings.notify),
        *rollups.jobs(settings.rollups, settings.retention),
        reports_retention.job(settings.retention),
        *ha_jobs(settings.homeassistant),
        *ngsi_jobs(settings.ngsi),
        Job("statistics", 6 * 3600.0, lambda ctx: ctx.db.refresh_statistics()),
    )


def routes(settings: FleetSettings) -> Sequence[Route]:
    """What serve subscribes to beside the boxes' topics, and handles itself (Home Assistant's commands)."""
    return ha_routes(settings.homeassistant)


def open_fleet(url: str | None, settings: FleetSettings | None = None) -> SqlStore:
    """The fleet store a `--db` URL names, with every ingest observer (default settings when none given)."""
    return open_store(url, observers(FleetSettings() if settings is None else settings))
