"""Fleet store schema step 10: communes (tenants) and which commune each box, user and group belongs to.

One fleet may serve many communes (an intercommunal service). A commune owns its boxes, users, groups,
alarms, public page and the settings of that page. A user, box or group whose `commune` is NULL belongs to
the service itself: a service user sees and acts on every commune; a box with no commune is seen only by the
service's users. Existing stores keep working unchanged: everything in them belongs to the service.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE communes (
        name TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        public_text TEXT NOT NULL DEFAULT '',
        public_page INTEGER NOT NULL DEFAULT 1,
        tariff_eur_per_kwh {real} NOT NULL,
        co2_kg_per_kwh {real} NOT NULL,
        report_question TEXT,
        report_answer TEXT,
        outline TEXT,
        recipients TEXT NOT NULL DEFAULT '',
        created_at {real} NOT NULL
    ) {without_rowid}""",
    "ALTER TABLE registry ADD COLUMN commune TEXT REFERENCES communes (name)",
    "ALTER TABLE users ADD COLUMN commune TEXT REFERENCES communes (name)",
    "ALTER TABLE groups ADD COLUMN commune TEXT REFERENCES communes (name)",
    "CREATE INDEX registry_commune ON registry (commune, device)",
)
