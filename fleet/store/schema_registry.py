"""Fleet store schema step 2: the device registry, groups of devices, and the fleet's users.

`registry` lists the boxes the fleet provisioned (a box the ingest hears of without being registered still
has a `devices` row, not a `registry` row). Revoking keeps the row (`revoked_at`): a revoked id stays taken, so
records never mix two boxes. Group `priority` orders the merge of group config fragments (ascending priority,
then name: a higher priority is applied later and wins). Users are the people who act on the fleet; a disabled
user keeps its row (commands and acknowledgements name it).
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE registry (
        device TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        latitude {real},
        longitude {real},
        timezone TEXT,
        added_at {real} NOT NULL,
        added_by TEXT,
        revoked_at {real},
        revoked_by TEXT
    ) {without_rowid}""",
    """CREATE TABLE groups (
        name TEXT PRIMARY KEY,
        description TEXT NOT NULL DEFAULT '',
        priority INTEGER NOT NULL DEFAULT 0,
        created_at {real} NOT NULL
    ) {without_rowid}""",
    """CREATE TABLE group_members (
        group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
        device TEXT NOT NULL REFERENCES registry (device),
        added_at {real} NOT NULL,
        PRIMARY KEY (group_name, device)
    ) {without_rowid}""",
    "CREATE INDEX group_members_device ON group_members (device)",
    """CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'technician', 'admin')),
        email TEXT,
        created_at {real} NOT NULL,
        disabled_at {real}
    ) {without_rowid}""",
)
