"""Fleet store schema step 9: what the fleet shows Home Assistant (opt-in `[homeassistant]` settings table).

`ha_entities`: one row per entity of a box (a reading's sensor, or a relay's switch), with its latest value and the
record it came from (`lane`, `seq`: a newer seq of the same lane wins, so a batch arriving again or late changes
nothing), what was last published of it (`published_seq`: its state; `config_digest`: its retained discovery
config, NULL when none is or it was cleared). `ha_devices`: the availability payload last published per box.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE ha_entities (
        device TEXT NOT NULL,
        component TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq {bigint} NOT NULL,
        value TEXT NOT NULL,
        value_at {real},
        published_seq {bigint},
        config_digest TEXT,
        PRIMARY KEY (device, component, source, name)
    ) {without_rowid}""",
    """CREATE TABLE ha_devices (
        device TEXT PRIMARY KEY,
        availability TEXT
    ) {without_rowid}""",
)
