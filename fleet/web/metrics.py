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
from fleet.tenants.scope import SERVICE, Scope
from fleet.web.accounts import Session
from fleet.web.auth import METRICS
from fleet.web.deps import WebContext, get_db, web_context

PREFIX = "hameau_fleet_"
#: The outbox's states (fleet/notify/outbox.py): waiting or retrying, sent, given up after the last attempt.
OUTBOX_STATES = ("pending", "sent", "failed")

router = APIRouter()


class StoreCollector(Collector):
    """Every hameau_fleet_* metric, read from the store when collected."""

    def __init__(self, db: Database, now: float, scope: Scope = SERVICE) -> None:
        self.db, self.now, self.scope = db, now, scope

    def _only(self, column: str, joiner: str = "WHERE") -> tuple[str, tuple[str, ...]]:
        """An SQL clause keeping rows whose `column` is a box in scope ('' for the whole service)."""
        if self.scope.service:
            return "", ()
        condition, params = self.scope.device_sql(column)
        return f" {joiner} {condition}", params

    def collect(self) -> Iterator[Metric]:
        """The metric families, in a fixed order."""
        yield from self._ingest()
        yield from self._devices()
        yield from self._alarms()
        if self.scope.service:  # the outbox is the service's: a commune's user does not see it
            yield from self._notifications()
        yield from self._commands()

    def _ingest(self) -> Iterator[Metric]:
        only, params = self._only("id")
        new, resent, batches = self.db.one(
            "SELECT coalesce(sum(records_new), 0), coalesce(sum(records_resent), 0), coalesce(sum(batches), 0)"
            f" FROM devices{only}", params) or (0, 0, 0)
        yield CounterMetricFamily(f"{PREFIX}records_ingested", "Records stored for the first time.", value=new)
        yield CounterMetricFamily(f"{PREFIX}records_resent", "Records received again (already stored).",
                                  value=resent)
        yield CounterMetricFamily(f"{PREFIX}batches", "Batches (up messages) stored.", value=batches)
        rejects = CounterMetricFamily(f"{PREFIX}rejects", "Messages refused, by reason.", labels=["reason"])
        only, params = self._only("device")
        for reason, count in self.db.query(
                f"SELECT reason, sum(count) FROM rejects{only} GROUP BY reason ORDER BY reason", params):
            rejects.add_metric([str(reason)], int(count))
        yield rejects

    def _devices(self) -> Iterator[Metric]:
        only, params = self._only("device", "AND")
        registered = self.db.scalar(f"SELECT count(*) FROM registry WHERE revoked_at IS NULL{only}", params)
        yield GaugeMetricFamily(f"{PREFIX}devices_registered", "Boxes registered and not revoked.",
                                value=registered)
        only, params = self._only("id")
        known = self.db.scalar(f"SELECT count(*) FROM devices{only}", params)
        yield GaugeMetricFamily(f"{PREFIX}devices_known", "Boxes the ingest has heard of (registered or not).",
                                value=known)
        only, params = self._only("d.id", "AND")
        online = self.db.scalar(
            "SELECT count(*) FROM devices d WHERE d.online = 1 AND NOT EXISTS"
            f" (SELECT 1 FROM registry r WHERE r.device = d.id AND r.revoked_at IS NOT NULL){only}", params)
        yield GaugeMetricFamily(f"{PREFIX}devices_online", "Boxes whose last status says online (revoked left out).",
                                value=online)
        age = GaugeMetricFamily(f"{PREFIX}device_last_contact_age_seconds",
                                "Seconds since the fleet last heard from each box (a batch or a status).",
                                labels=["device"])
        for device, last_seen in self.db.query(
            "SELECT d.id, d.last_seen FROM devices d WHERE NOT EXISTS"
            f" (SELECT 1 FROM registry r WHERE r.device = d.id AND r.revoked_at IS NOT NULL){only} ORDER BY d.id",
                params):
            age.add_metric([str(device)], max(0.0, self.now - float(last_seen)))
        yield age

    def _alarms(self) -> Iterator[Metric]:
        alarms = GaugeMetricFamily(f"{PREFIX}alarms_open", "Open alarms, by severity and kind.",
                                   labels=["severity", "kind"])
        unacked = GaugeMetricFamily(f"{PREFIX}alarms_open_unacknowledged",
                                    "Open alarms nobody has acknowledged yet, by severity.", labels=["severity"])
        by_severity: dict[str, int] = {"critical": 0, "warning": 0, "info": 0}
        only, params = self._only("device", "AND")
        for severity, kind, count, waiting in self.db.query(
            "SELECT severity, kind, count(*), sum(CASE WHEN acked_by IS NULL THEN 1 ELSE 0 END) FROM alarms"
            f" WHERE state = 'open'{only} GROUP BY severity, kind ORDER BY severity, kind", params):
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
        only, params = self._only("device")
        found = {str(state): int(n) for state, n in self.db.query(
            f"SELECT state, count(*) FROM commands{only} GROUP BY state", params)}
        commands = GaugeMetricFamily(f"{PREFIX}commands", "Commands to boxes, by state.", labels=["state"])
        for state in sorted(set(COMMAND_STATES) | set(found)):
            commands.add_metric([state], found.get(state, 0))
        yield commands


def render_metrics(db: Database, now: float, scope: Scope = SERVICE) -> bytes:
    """The Prometheus text exposition of the store (the boxes in `scope`) as it is at `now`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(db, now, scope))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(session: Annotated[Session | None, Depends(METRICS)], db: Annotated[Database, Depends(get_db)],
            ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """Prometheus scrape: a viewer's session (their commune's boxes only), or the bearer token of
    `[web] metrics_token_file` (the whole service)."""
    scope = SERVICE if session is None else session.scope
    return Response(render_metrics(db, ctx.now(), scope), media_type=CONTENT_TYPE_LATEST)
