"""Fleet store schema step 4: desired config fragments, each device's desired/published/reported config, commands."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    # One fragment per scope ('device' | 'group') and name: the TOML text as given and its tables as JSON.
    """CREATE TABLE config_fragments (
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        tables TEXT NOT NULL,
        version {bigint} NOT NULL,
        set_by TEXT NOT NULL,
        set_at {real} NOT NULL,
        PRIMARY KEY (scope, name)
    ) {without_rowid}""",
    # Per device: the merged desired config (JSON, NULL once no fragment applies), its version (NULL: the fleet never
    # desired one, the row only keeps a report or a refused merge) and hash, what
    # was published (retained) and what the box last reported (reported_seq: the event-lane seq of that report,
    # so a batch arriving again never brings an older report back). `inputs` names the fragments merged with
    # their versions, so that a group membership change is noticed by the publish job; `desired_error` says why
    # the merge it then made was refused (the previous desired config stays).
    """CREATE TABLE device_configs (
        device TEXT PRIMARY KEY,
        desired_version {bigint},
        desired_hash TEXT,
        desired_body TEXT,
        desired_at {real} NOT NULL,
        desired_by TEXT NOT NULL,
        inputs TEXT NOT NULL,
        desired_error TEXT,
        published_version {bigint},
        published_at {real},
        reported_version {bigint},
        reported_state TEXT,
        reported_reason TEXT,
        reported_at {real},
        reported_seq {bigint}
    ) {without_rowid}""",
    # Commands to boxes: pending until the publish job sends them (or they expire unsent), then the box's result.
    """CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        action TEXT NOT NULL,
        args TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at {real} NOT NULL,
        expires_at {real} NOT NULL,
        state TEXT NOT NULL,
        result TEXT,
        sent_at {real},
        done_at {real}
    ) {without_rowid}""",
    "CREATE INDEX commands_pending ON commands (state, expires_at)",
    "CREATE INDEX commands_device ON commands (device, created_at)",
)
