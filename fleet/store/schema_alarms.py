"""Fleet store schema step 3: alarms (one row per episode, kept once cleared), the records already counted,
and each alarm stream's latest clear (so that a record arriving late never reopens what has ended)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    # One row per episode of a (device, kind, source) stream: open until its condition ends (or, for a one-off
    # such as data thinned, `until_ack` = 1, until acknowledged), then kept as history. `box_ref` is the box's own alarm key
    # (e.g. "leak-main/burst") when the alarm is the box's: an acknowledgement goes back to the box by it.
    # order_first/order_last/order_cleared order the stream's records: the event-lane seq for a box record,
    # the status's own time `at` for online/offline, the fleet's time for what the fleet decides (silence).
    """CREATE TABLE alarms (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        first_seen {real} NOT NULL,
        last_seen {real} NOT NULL,
        cleared_at {real},
        cleared_by TEXT,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL,
        count {bigint} NOT NULL DEFAULT 1,
        until_ack INTEGER NOT NULL DEFAULT 0,
        box_ref TEXT,
        acked_by TEXT,
        acked_at {real},
        ack_note TEXT,
        ack_command TEXT,
        order_first {real} NOT NULL,
        order_last {real} NOT NULL,
        order_cleared {real},
        CHECK (severity IN ('critical', 'warning', 'info')),
        CHECK (state IN ('open', 'cleared'))
    ) {without_rowid}""",
    # At most one open alarm per (device, kind, source): two ingest workers or two serve processes' silence
    # jobs cannot open the same alarm twice.
    "CREATE UNIQUE INDEX alarms_open ON alarms (device, kind, source) WHERE state = 'open'",
    "CREATE INDEX alarms_device ON alarms (device, first_seen)",
    "CREATE INDEX alarms_state ON alarms (state, last_seen)",
    # Box records (event lane) already turned into alarm work: a batch arriving again counts nothing twice.
    """CREATE TABLE alarm_records (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq {bigint} NOT NULL,
        PRIMARY KEY (device, lane, seq)
    ) {without_rowid}""",
    # The latest clear of each stream (its order): a raise older than it opens nothing.
    """CREATE TABLE alarm_clears (
        device TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        order_cleared {real} NOT NULL,
        cleared_at {real} NOT NULL,
        cleared_by TEXT NOT NULL,
        PRIMARY KEY (device, kind, source)
    ) {without_rowid}""",
)
