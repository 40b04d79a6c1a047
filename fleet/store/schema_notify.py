"""Fleet store schema step 6: the notification outbox, what each alarm has been announced as, the digests sent.

- `notify_outbox`: one row per message per channel and target (one e-mail recipient, one webhook URL), sent by
  the sender job with retries; `alarm_ids` is a JSON list, `body` the mail text or the webhook's JSON document.
- `notify_marks`: one row per alarm the planner has seen: when it noticed the alarm (the grouping window starts
  there), when its opening was announced, when its clearing was noticed and announced. An alarm is announced
  once when it opens and once more when it clears (a user told "box-07 offline" wants to know it came back
  before driving out to the village); an alarm below the minimum severity is marked `skipped` and never sent.
- `notify_digests`: one row per local day whose daily digest was planned (the "exactly once a day" marker).
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE notify_outbox (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        alarm_ids TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts {bigint} NOT NULL DEFAULT 0,
        next_attempt_at {real} NOT NULL,
        last_error TEXT,
        created_at {real} NOT NULL,
        sent_at {real}
    ) {without_rowid}""",
    "CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at)",
    """CREATE TABLE notify_marks (
        alarm_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        noticed_at {real} NOT NULL,
        skipped INTEGER NOT NULL DEFAULT 0,
        opened_at {real},
        clear_noticed_at {real},
        cleared_at {real}
    ) {without_rowid}""",
    "CREATE INDEX notify_marks_opening ON notify_marks (kind) WHERE opened_at IS NULL AND skipped = 0",
    "CREATE INDEX notify_marks_clearing ON notify_marks (kind) WHERE cleared_at IS NULL AND opened_at IS NOT NULL",
    """CREATE TABLE notify_digests (
        day TEXT PRIMARY KEY,
        planned_at {real} NOT NULL
    ) {without_rowid}""",
)
