"""What the technician sees of the link to the fleet: the agent's view of it, and the outbox's backlog from the database.

The agent's process knows the link (edge/link/service.py Link.stats()); `LinkWatch` turns those counters into the
"link" part of the agent's status snapshot, adding since when it is connected (or not), when the last ack and the
last rejected message came. The backlog (records, bytes and the oldest record's age per lane, thinned counts) is
read from the database itself, so `hameau-edge status` shows it even when the agent is down.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from edge.config.box import BoxConfig
from edge.storage.outbox_rows import LANE_NAMES
from edge.storage.outbox_thin import lane_sizes
from edge.storage.schema import to_epoch
from edge.technician.times import age_s as _age_s
from edge.technician.times import parse_time as _parse_time

#: Counters of Link.stats() the snapshot keeps as they are.
COUNTERS = ("connects", "disconnects", "loop_restarts", "refused_logins", "batches_sent", "batches_refused",
            "acks", "rows_acked", "ack_timeouts", "rejected_in", "commands_in", "configs_in", "service_errors")


class LinkWatch:
    """The link's part of the agent's status snapshot, from `stats` (Link.stats) observed at each tick of the agent:
    the counters, and the times of the last change of connection, the last ack and the last rejected message."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]], *, broker: str, now: Callable[[], datetime]) -> None:
        self._stats = stats
        self._now = now
        self.broker = broker
        self._connected: bool | None = None
        self._since: datetime | None = None
        self._acks = 0
        self._last_ack: datetime | None = None
        self._rejected = 0
        self._last_rejection: datetime | None = None

    def observe(self) -> Mapping[str, Any]:
        """Read the link's stats and note what changed since the last look (call it at each tick)."""
        stats = self._stats()
        now = self._now()
        connected = bool(stats.get("connected"))
        if connected != self._connected:
            self._connected, self._since = connected, now
        if int(stats.get("acks", 0)) > self._acks:
            self._acks, self._last_ack = int(stats["acks"]), now
        if int(stats.get("rejected_in", 0)) > self._rejected:
            self._rejected, self._last_rejection = int(stats["rejected_in"]), now
        return stats

    def snapshot(self) -> dict[str, Any]:
        """The "link" part of the status snapshot (JSON)."""
        stats = self.observe()
        outbox = stats.get("outbox") or {}
        return {
            "broker": self.broker,
            "connected": bool(self._connected),
            "since": _iso(self._since),
            "last_ack_at": _iso(self._last_ack),
            "acked": dict(stats.get("acked") or {}),
            "last_rejection": str(stats.get("last_rejection") or "") or None,
            "last_rejection_at": _iso(self._last_rejection),
            "last_error": str(stats.get("last_error") or "") or None,
            "in_flight": outbox.get("in_flight"),
            **{name: int(stats.get(name, 0)) for name in COUNTERS},
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _oldest_age_s(conn: sqlite3.Connection, lane: int, now: datetime) -> float | None:
    """Age of a lane's oldest record: its wall time if the clock was synchronised when it was made, else its
    monotonic time and the clock offset learned for its boot; None when neither tells."""
    row = conn.execute("SELECT boot, mono_s, wall_s, synced FROM outbox WHERE lane = ? ORDER BY seq LIMIT 1",
                       (lane,)).fetchone()
    if row is None:
        return None
    boot, mono_s, wall_s, synced = row
    if not synced:
        offset = conn.execute("SELECT offset_s FROM clock_offsets WHERE boot = ?", (boot,)).fetchone()
        if offset is None:
            return None
        wall_s = mono_s + offset[0]
    return round(to_epoch(now) - wall_s, 1)


def outbox_backlog(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    """What waits in the outbox, per lane: records, estimated bytes, the oldest one's age, thinned so far."""
    sizes = lane_sizes(conn)
    lanes = {}
    for lane, acked, thinned in conn.execute("SELECT lane, acked_seq, thinned FROM outbox_lanes ORDER BY lane"):
        size = sizes[lane]
        lanes[LANE_NAMES[lane]] = {"records": size.rows, "bytes": size.bytes, "oldest_age_s": _oldest_age_s(conn, lane, now),
                                   "acked_seq": int(acked), "last_seq": size.last_seq, "thinned": int(thinned)}
    return {"records": sum(lane["records"] for lane in lanes.values()),
            "bytes": sum(lane["bytes"] for lane in lanes.values()), "lanes": lanes}


def link_report(conn: sqlite3.Connection | None, config: BoxConfig, seen: Mapping[str, Any] | None, now: datetime,
                *, running: bool) -> dict[str, Any]:
    """The "link" part of `hameau-edge status`: the config, the agent's last view (`seen`: its snapshot's "link"
    part, if any) and the backlog read from the database (`conn`, None when there is none)."""
    seen = dict(seen or {})
    backlog = None
    if conn is not None:
        try:
            backlog = outbox_backlog(conn, now)
        except sqlite3.Error as error:  # a database from before the outbox, or a broken one: say so, no traceback
            backlog = {"error": str(error)}
    since = _parse_time(seen.get("since")) if running else None
    return {
        "configured": config.link is not None,
        "broker": config.link.broker_url if config.link is not None else None,
        "agent_running": running,
        "connected": bool(seen.get("connected")) and running,
        "since": seen.get("since") if running else None,
        "since_age_s": _age_s(since, now),
        "last_ack_at": seen.get("last_ack_at"),
        "last_ack_age_s": _age_s(_parse_time(seen.get("last_ack_at")), now),
        "last_rejection": seen.get("last_rejection"),
        "last_rejection_age_s": _age_s(_parse_time(seen.get("last_rejection_at")), now),
        "rejected": int(seen.get("rejected_in") or 0),
        "loop_restarts": int(seen.get("loop_restarts") or 0),
        "last_error": seen.get("last_error"),
        "outbox": backlog,
    }
