"""Keeping robots and floods out of the public report form, without any third party: a signed form token that
carries when the form was served (too fast or too old is refused), a keyed hash of the sender's address (the
address itself is never stored), limits per address and per commune, and the refused attempts counted."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from fleet.reports.model import ReportError
from fleet.store.db import Database

_SECRET = "report-form"
#: A form sent back sooner than this after it was served was not filled in by a person.
MIN_FILL_S = 3.0
#: A form older than this is stale (reload it).
MAX_FORM_AGE_S = 2 * 3600.0
#: Refused attempts are kept this long (the limits look back at most a day).
KEEP_ATTEMPTS_S = 2 * 86400.0
HOUR_S, DAY_S = 3600.0, 86400.0


@dataclass(frozen=True, slots=True)
class Limits:
    """How many reports an address may send per hour and per day, a commune receive per day, and how many
    refused attempts an address may make per hour."""

    per_address_hour: int = 3
    per_address_day: int = 10
    per_commune_day: int = 100
    refused_per_address_hour: int = 20


def form_secret(db: Database, now: float) -> bytes:
    """The store's key for form tokens and address hashes, made on first use (the same for every process)."""
    found = db.scalar("SELECT secret FROM report_secrets WHERE name = ?", (_SECRET,))
    if found is None:
        db.execute("INSERT INTO report_secrets (name, secret, created_at) VALUES (?, ?, ?)"
                   " ON CONFLICT (name) DO NOTHING", (_SECRET, secrets.token_hex(32), now))
        found = db.scalar("SELECT secret FROM report_secrets WHERE name = ?", (_SECRET,))
    return bytes.fromhex(str(found))


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def client_hash(secret: bytes, address: str) -> str:
    """A keyed hash of a client's address: the same address gives the same hash, which gives nothing back."""
    return _mac(secret, f"client:{address}")[:32]


def issue_token(secret: bytes, commune: str, now: float) -> str:
    """The token of a form served now for `commune`: the time in milliseconds and its signature."""
    stamp = str(int(now * 1000))
    return f"{stamp}.{_mac(secret, f'form:{commune}:{stamp}')}"


def check_token(secret: bytes, commune: str, token: str, now: float) -> None:
    """Refuse a token not signed by this store for this commune, sent too soon, or too old."""
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit() or len(stamp) > 16 or not hmac.compare_digest(mac, _mac(secret, f"form:{commune}:{stamp}")):
        raise ReportError("token", "Ce formulaire n'a pas été servi par ce site : rechargez la page et recommencez.")
    age_s = now - int(stamp) / 1000.0
    if age_s < MIN_FILL_S:
        raise ReportError("too_fast", "Formulaire envoyé trop vite : attendez quelques secondes et renvoyez-le.")
    if age_s > MAX_FORM_AGE_S:
        raise ReportError("stale", "Ce formulaire a expiré (plus de deux heures) : rechargez la page et recommencez.")


def _retry(db: Database, sql: str, params: tuple, window_s: float, now: float) -> int:
    oldest = db.scalar(sql, params)
    return max(1, int((float(oldest) if oldest is not None else now) + window_s - now) + 1)


def check_limits(db: Database, commune: str, client: str, now: float, limits: Limits) -> None:
    """ReportError 429 (with `retry_after_s`) when the address or the commune has sent enough for now."""
    checks = (
        ("reports", "client_hash", client, HOUR_S, limits.per_address_hour, "created_at"),
        ("reports", "client_hash", client, DAY_S, limits.per_address_day, "created_at"),
        ("reports", "commune", commune, DAY_S, limits.per_commune_day, "created_at"),
        ("report_attempts", "client_hash", client, HOUR_S, limits.refused_per_address_hour, "at"),
    )
    for table, column, key, window_s, most, time_col in checks:
        where = f"FROM {table} WHERE {column} = ? AND {time_col} > ?"
        count = int(db.scalar(f"SELECT count(*) {where}", (key, now - window_s)))
        if count >= most:
            # The window frees a place when the oldest of the last `most` leaves it.
            retry = _retry(db, f"SELECT min({time_col}) FROM (SELECT {time_col} {where}"
                               f" ORDER BY {time_col} DESC LIMIT {int(most)}) AS recent",
                           (key, now - window_s), window_s, now)
            who = "cette commune" if column == "commune" else "votre adresse"
            raise ReportError("rate_limited", f"Trop de signalements depuis {who} pour le moment : "
                              f"réessayez dans {max(1, round(retry / 60))} minute(s).", 429, retry)


def count_refusal(db: Database, commune: str, client: str, reason: str, now: float) -> None:
    """Keep one refused attempt (the limits count them; the service sees them counted by reason)."""
    db.execute("DELETE FROM report_attempts WHERE at < ?", (now - KEEP_ATTEMPTS_S,))
    db.execute("INSERT INTO report_attempts (id, commune, client_hash, reason, at) VALUES (?, ?, ?, ?, ?)",
               (uuid.uuid4().hex, commune[:63], client, reason[:40], now))


def refusal_counts(db: Database, communes: frozenset[str] | None, since: float) -> dict[str, int]:
    """Refused attempts since `since` by reason, for these communes (None: all)."""
    rows = db.query("SELECT commune, reason, count(*) FROM report_attempts WHERE at >= ? GROUP BY commune, reason",
                    (since,))
    out: dict[str, int] = {}
    for commune, reason, n in rows:
        if communes is None or commune in communes:
            out[str(reason)] = out.get(str(reason), 0) + int(n)
    return dict(sorted(out.items()))
