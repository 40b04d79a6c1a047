"""Fleet store schema step 7: the dashboard's logins (password hashes), sessions and failed-login marks."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    # An argon2id hash (PHC string) of the user's password; NULL: the user cannot log in to the dashboard.
    "ALTER TABLE users ADD COLUMN password_hash TEXT",
    "ALTER TABLE users ADD COLUMN password_set_at {real}",
    # Sessions by the SHA-256 of their cookie (a leaked table gives no usable cookie).
    """CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name),
        csrf TEXT NOT NULL,
        created_at {real} NOT NULL,
        last_seen {real} NOT NULL,
        client TEXT NOT NULL
    ) {without_rowid}""",
    "CREATE INDEX web_sessions_user ON web_sessions (user_name)",
    # One row per failed login, by user name and by client address: the rate limit counts them in a window.
    """CREATE TABLE web_login_failures (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        at {real} NOT NULL
    ) {without_rowid}""",
    "CREATE INDEX web_login_failures_scope ON web_login_failures (scope, at)",
)
