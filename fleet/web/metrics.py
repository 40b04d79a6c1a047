"""`/metrics`: the fleet in the Prometheus text format, read from the store at each scrape.

Counters are totals the store keeps (records, batches, refused messages): Prometheus computes the ingest rate
from them (`rate(hameau_fleet_records_ingested_total[5m])`). Gauges are what holds now: devices registered and
online, each device's last contact age, open alarms by severity and kind, the notification outbox by channel and
state, commands by state. Nothing is kept between scrapes: a fresh registry reads the store each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet.commands.queue import STATES as COMMAND_STATES
from fleet.notify.outbox import CHANNELS
from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.auth import METRICS
from fleet.web.deps import WebContext, get_db, web_context

PREFIX = "hameau_fleet_"
#: The outbox's states (fleet/notify/outbox.py): waiting or retrying, sent, given up after the last attempt.
OUTBOX_STATES = ("pending", "sent", "failed")

router = APIRouter()


class StoreCollector(Collector):
    """Every hameau_fleet_* metric, read from the store when collected."""

    def __init__(self, db: Database, now: float) -> None:
        self.db, self.now = db, now

    def collect(self) -> Iterator[Metric]:
        """The metric families, in a fixed order."""
        yield from self._ingest()
        yield from self._devices()
        yield from self._alarms()
        yield from self._notifications()
        yield from self._commands()

    def _ingest(self) -> Iterator[Metric]:
        new, resent, batches = self.db.one(
            "SELECT coalesce(sum(records_new), 0), coalesce(sum(records_resent), 0), coalesce(sum(batches), 0)"
            " FROM devices") or (0, 0, 0)
        yield CounterMetricFamily(f"{PREFIX}records_ingested", "Records stored for the first time.", value=new)
        yield CounterMetricFamily(f"{PREFIX}records_resent", "Records received again (already stored).",
                                  value=resent)
        yield CounterMetricFamily(f"{PREFIX}batches", "Batches (up messages) stored.", value=batches)
        rejects = CounterMetricFamily(f"{PREFIX}rejects", "Messages refused, by reason.", labels=["reason"])
        for reason, count in self.db.query("SELECT reason, sum(count) FROM rejects GROUP BY reason ORDER BY reason"):
            rejects.add_metric([str(reason)], int(count))
        yield rejects

    def _devices(self) -> Iterator[Metric]:
        registered = self.db.scalar("SELECT count(*) FROM registry WHERE revoked_at IS NULL")
        yield GaugeMetricFamily(f"{PREFIX}devices_registered", "Boxes registered and not revoked.",
                                value=registered)
        known = self.db.scalar("SELECT count(*) FROM devices")
        yield GaugeMetricFamily(f"{PREFIX}devices_known", "Boxes the ingest has heard of (registered or not).",
                                value=known)
        online = self.db.scalar(
            "SELECT count(*) FROM devices d WHERE d.online = 1 AND NOT EXISTS"
            " (SELECT 1 FROM registry r WHERE r.device = d.id AND r.revoked_at IS NOT NULL)")
        yield GaugeMetricFamily(f"{PREFIX}devices_online", "Boxes whose last status says online (revoked left out).",
                                value=online)
        age = GaugeMetricFamily(f"{PREFIX}device_last_contact_age_seconds",
                                "Seconds since the fleet last heard from each box (a batch or a status).",
                                labels=["device"])
        for device, last_seen in self.db.query(
            "SELECT d.id, d.last_seen FROM devices d WHERE NOT EXISTS"
            " (SELECT 1 FROM registry r WHERE r.device = d.id AND r.revoked_at IS NOT NULL) ORDER BY d.id"):
            age.add_metric([str(device)], max(0.0, self.now - float(last_seen)))
        yield age

    def _alarms(self) -> Iterator[Metric]:
        alarms = GaugeMetricFamily(f"{PREFIX}alarms_open", "Open alarms, by severity and kind.",
                                   labels=["severity", "kind"])
        unacked = GaugeMetricFamily(f"{PREFIX}alarms_open_unacknowledged",
                                    "Open alarms nobody has acknowledged yet, by severity.", labels=["severity"])
        by_severity: dict[str, int] = {"critical": 0, "warning": 0, "info": 0}
        for severity, kind, count, waiting in self.db.query(
            "SELECT severity, kind, count(*), sum(CASE WHEN acked_by IS NULL THEN 1 ELSE 0 END) FROM alarms"
            " WHERE state = 'open' GROUP BY severity, kind ORDER BY severity, kind"):
            alarms.add_metric([str(severity), str(kind)], int(count))
            by_severity[str(severity)] = by_severity.get(str(severity), 0) + int(waiting)
        for severity, count in by_severity.items():
            unacked.add_metric([severity], count)
        yield alarms
        yield unacked

    def _notifications(self) -> Iterator[Metric]:
        found = {(str(c), str(s)): (int(n), int(retrying or 0)) for c, s, n, retrying in self.db.query(
            "SELECT channel, state, count(*), sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) FROM notify_outbox"
            " GROUP BY channel, state")}
        outbox = GaugeMetricFamily(f"{PREFIX}notifications", "Notification outbox rows, by channel and state.",
                                   labels=["channel", "state"])
        failed = GaugeMetricFamily(f"{PREFIX}notification_failures",
                                   "Notifications given up after their last attempt (kept until purged).",
                                   labels=["channel"])
        retrying = GaugeMetricFamily(f"{PREFIX}notifications_retrying",
                                     "Notifications pending after a failed attempt, by channel.", labels=["channel"])
        channels = sorted(set(CHANNELS) | {c for c, _ in found})
        states = sorted(set(OUTBOX_STATES) | {s for _, s in found})
        for channel in channels:
            for state in states:
                outbox.add_metric([channel, state], found.get((channel, state), (0, 0))[0])
            failed.add_metric([channel], found.get((channel, "failed"), (0, 0))[0])
            retrying.add_metric([channel], found.get((channel, "pending"), (0, 0))[1])
        yield outbox
        yield failed
        yield retrying

    def _commands(self) -> Iterator[Metric]:
        found = {str(state): int(n) for state, n in self.db.query("SELECT state, count(*) FROM commands GROUP BY state")}
        commands = GaugeMetricFamily(f"{PREFIX}commands", "Commands to boxes, by state.", labels=["state"])
        for state in sorted(set(COMMAND_STATES) | set(found)):
            commands.add_metric([state], found.get(state, 0))
        yield commands


def render_metrics(db: Database, now: float) -> bytes:
    """The Prometheus text exposition of the store as it is at `now`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(db, now))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(_: Annotated[Session | None, Depends(METRICS)], db: Annotated[Database, Depends(get_db)],
            ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """Prometheus scrape: a viewer's session, or the bearer token of `[web] metrics_token_file`."""
    return Response(render_metrics(db, ctx.now()), media_type=CONTENT_TYPE_LATEST)
