"""Fleet store schema step 11: inhabitants' reports (a street light out, water running, a cold building),
the refused attempts of the public form (for the rate limits and the count of malformed input), and the secret
the form's tokens and the client-address hashes are keyed with.

- `reports`: one row per report, by its random id (also the inhabitant's ticket). `client_hash` is a keyed
  hash of the sender's address, never the address. `email` is NULL once the "fixed" message is queued.
  `device`/`circuit` are the box and circuit it was linked to (NULL: unlinked), `alarm_id` the alarm raised.
- `report_attempts`: one row per refused submission (reason), kept two days: the per-address limits count
  them, and the malformed ones are counted for the service.
- `report_secrets`: one row, the HMAC key, generated once by the first form served.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        commune TEXT NOT NULL REFERENCES communes (name),
        kind TEXT NOT NULL,
        street TEXT NOT NULL DEFAULT '',
        latitude {real},
        longitude {real},
        description TEXT NOT NULL DEFAULT '',
        photo {bytes},
        photo_type TEXT,
        email TEXT,
        asked_notice INTEGER NOT NULL DEFAULT 0,
        client_hash TEXT NOT NULL,
        created_at {real} NOT NULL,
        device TEXT,
        circuit TEXT,
        distance_m {real},
        alarm_id TEXT,
        state TEXT NOT NULL DEFAULT 'open',
        closed_at {real},
        closed_by TEXT,
        note TEXT,
        notified_at {real},
        CHECK (kind IN ('light_out', 'light_in_daylight', 'water_running', 'cold_building')),
        CHECK (state IN ('open', 'closed'))
    ) {without_rowid}""",
    "CREATE INDEX reports_commune ON reports (commune, created_at)",
    "CREATE INDEX reports_client ON reports (client_hash, created_at)",
    """CREATE TABLE report_attempts (
        id TEXT PRIMARY KEY,
        commune TEXT NOT NULL,
        client_hash TEXT NOT NULL,
        reason TEXT NOT NULL,
        at {real} NOT NULL
    ) {without_rowid}""",
    "CREATE INDEX report_attempts_client ON report_attempts (client_hash, at)",
    """CREATE TABLE report_secrets (
        name TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at {real} NOT NULL
    ) {without_rowid}""",
)
