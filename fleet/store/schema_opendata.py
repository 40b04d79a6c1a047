"""Fleet store schema step 8: what the NGSI-LD export has sent to the commune's context broker.

- `ngsi_entities`: one row per entity sent: its device and type, the hash of its shape (what an upsert carries
  apart from the observed values) and of its observed values as last accepted by the broker, when, and the last
  refusal (a 4xx): the hash of what was refused (not sent again until it changes), when and why.
- `ngsi_state`: one row ('export'): the watermark (devices whose `last_seen` is past it have new records), when
  every device was last looked at (a daily full pass catches registry edits), the
  lease that keeps two serve processes from exporting at once without holding a transaction over the network,
  and counters (runs, entities upserted, patched, refused, failed runs).
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE ngsi_entities (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        type TEXT NOT NULL,
        shape_hash TEXT,
        values_hash TEXT,
        sent_at {real},
        refused_hash TEXT,
        refused_at {real},
        refused_reason TEXT
    ) {without_rowid}""",
    "CREATE INDEX ngsi_entities_device ON ngsi_entities (device)",
    """CREATE TABLE ngsi_state (
        name TEXT PRIMARY KEY,
        watermark {real} NOT NULL,
        full_at {real},
        lease_owner TEXT,
        lease_until {real},
        runs {bigint} NOT NULL DEFAULT 0,
        upserted {bigint} NOT NULL DEFAULT 0,
        patched {bigint} NOT NULL DEFAULT 0,
        refused {bigint} NOT NULL DEFAULT 0,
        failed_runs {bigint} NOT NULL DEFAULT 0,
        last_run_at {real},
        last_error TEXT
    ) {without_rowid}""",
)
