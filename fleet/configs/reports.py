"""What boxes report back, read inside the ingest transaction: config_report records (what became of a desired
config version) and command_result records (what became of a command).

Idempotent: a batch that arrives again changes nothing. A config report is taken only if its event-lane seq is
newer than the one kept; a command result only while the command waits for one (the first result stands: a
box that receives a command twice refuses the repeat, and that refusal must not hide what the first did).
"""

from __future__ import annotations

import json

from fleet import protocol
from fleet.store.api import trusted_ts
from fleet.store.db import Database

#: The box's config_report statuses and the state device_configs keeps (the contract says "refused").
REPORTED_STATES = {"applied": "applied", "rejected": "refused", "rolled_back": "rolled_back"}
#: Command states that still wait for the box's result.
WAITING = ("pending", "sent")


def _config_report(db: Database, device: str, seq: int, body: dict, at: float) -> None:
    reasons = "; ".join(str(r) for r in body.get("reasons", ()))[:8000]
    db.execute(
        "INSERT INTO device_configs (device, desired_version, desired_at, desired_by, inputs, reported_version,"
        " reported_state, reported_reason, reported_at, reported_seq) VALUES (?, NULL, ?, 'box', '', ?, ?, ?, ?, ?)"
        " ON CONFLICT (device) DO UPDATE SET reported_version = excluded.reported_version,"
        " reported_state = excluded.reported_state, reported_reason = excluded.reported_reason,"
        " reported_at = excluded.reported_at, reported_seq = excluded.reported_seq"
        " WHERE device_configs.reported_seq IS NULL OR device_configs.reported_seq < excluded.reported_seq",
        (device, at, int(body["version"]), REPORTED_STATES.get(str(body["status"]), str(body["status"])),
         reasons, at, seq),
    )


def _command_result(db: Database, device: str, body: dict, at: float) -> None:
    result = {"action": body.get("action"), "status": body["status"], "detail": body.get("detail", "")}
    db.execute(
        "UPDATE commands SET state = ?, result = ?, done_at = ? WHERE id = ? AND device = ? AND state IN (?, ?)",
        (str(body["status"]), json.dumps(result, sort_keys=True), at, str(body["id"]), device, *WAITING),
    )


class ConfigsObserver:
    """IngestObserver: config reports into device_configs.reported_*, command results into commands."""

    def on_batch(self, db: Database, batch: protocol.Batch, received_at: float) -> None:
        """Take the batch's config_report and command_result records (event lane only)."""
        if batch.lane != "event":
            return
        for record in batch.records:
            at = trusted_ts(record.clock, record.wall_s, received_at) or received_at
            if record.type == "config_report":
                _config_report(db, batch.device, record.seq, dict(record.body), at)
            elif record.type == "command_result":
                _command_result(db, batch.device, dict(record.body), at)

    def on_status(self, db: Database, status: protocol.Status, received_at: float) -> None:
        """Nothing: a status's config_version is kept by the store itself (devices.config_version)."""
