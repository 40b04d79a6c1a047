"""Dashboard logins: argon2id password hashes, sessions kept by their hash, the failed-login rate limit."""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fleet.errors import FleetError
from fleet.registry.groups import get_user
from fleet.registry.model import RegistryError
from fleet.store.db import Database
from fleet.tenants.scope import Scope
from fleet.web.settings import WebSettings

#: NIST SP 800-63B: at least 8 characters chosen by the user; Hameau asks 10 for a commune's shared machine.
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
#: Roles from least to most allowed: each may do what the ones before it may.
ROLES = ("viewer", "technician", "admin")


class LoginRefused(FleetError):
    """A login that did not open a session (wrong name or password, disabled user, too many failures)."""

    def __init__(self, reason: str, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Session:
    """Who a request comes from: the user, their role, the session's CSRF token."""

    user: str
    role: str
    csrf: str
    token_hash: str
    #: The commune the user works for (None: the intercommunal service).
    commune: str | None = None

    @property
    def scope(self) -> Scope:
        """What this user may see and act on."""
        return Scope(self.commune)


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hasher(settings: WebSettings) -> PasswordHasher:
    """argon2id at the settings' cost (by default RFC 9106's second recommended option: 64 MiB, 3 passes)."""
    return PasswordHasher(memory_cost=settings.password_hash_memory_mib * 1024,
                          time_cost=settings.password_hash_iterations)


def check_password(password: str) -> str:
    """The password when acceptable; RegistryError saying why not."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise RegistryError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise RegistryError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    return password


def set_password(db: Database, user: str, password: str, *, now: float,
                 settings: WebSettings | None = None) -> None:
    """Store the hash of `user`'s new password and end every session they had."""
    if get_user(db, user) is None:
        raise RegistryError(f"no user {user[:80]!r} (add one with hameau-fleet users add)")
    digest = hasher(settings or WebSettings()).hash(check_password(password))
    with db.transaction():
        db.execute("UPDATE users SET password_hash = ?, password_set_at = ? WHERE name = ?", (digest, now, user))
        db.execute("DELETE FROM web_sessions WHERE user_name = ?", (user,))


def token_hash(token: str) -> str:
    """The SHA-256 of a session cookie, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def login(db: Database, settings: WebSettings, name: str, password: str, *, client: str,
          now: float) -> tuple[str, Session]:
    """Check a login; the new session's cookie and Session, or LoginRefused (the failure is counted)."""
    window_s = settings.login_window_min * 60.0
    since = now - window_s
    scopes = (
        (f"user:{name[:200]}", settings.login_failures_per_user),
        (f"client:{client}", settings.login_failures_per_client),
    )
    wait = 0.0
    for scope, limit in scopes:
        oldest = _oldest_counted(db, scope, limit, since)
        if oldest is not None:
            wait = max(wait, oldest + window_s - now)
    if wait > 0:
        raise LoginRefused("too many failed logins: try again later", retry_after_s=wait)
    user = get_user(db, name) if 0 < len(name) <= 200 else None
    stored = _password_hash(db, name) if user is not None else None
    if not _verify(settings, stored, password) or user is None or user.disabled_at is not None:
        with db.transaction():
            for scope, _limit in scopes:
                db.execute("INSERT INTO web_login_failures (id, scope, at) VALUES (?, ?, ?)",
                           (secrets.token_hex(16), scope, now))
            db.execute("DELETE FROM web_login_failures WHERE at <= ?", (since,))
        raise LoginRefused("wrong user name or password")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.transaction():
        db.execute("DELETE FROM web_login_failures WHERE scope = ?", (scopes[0][0],))
        db.execute(
            "INSERT INTO web_sessions (token_hash, user_name, csrf, created_at, last_seen, client)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash(token), user.name, csrf, now, now, client[:200]),
        )
        _rehash_if_needed(db, settings, user.name, stored, password)
    return token, Session(user=user.name, role=user.role, csrf=csrf, token_hash=token_hash(token), commune=user.commune)


def _oldest_counted(db: Database, scope: str, limit: int, since: float) -> float | None:
    rows = db.query(
        "SELECT at FROM web_login_failures WHERE scope = ? AND at > ? ORDER BY at DESC LIMIT ?",
        (scope, since, limit),
    )
    return float(rows[-1][0]) if len(rows) >= limit else None


def _password_hash(db: Database, name: str) -> str | None:
    row = db.one("SELECT password_hash FROM users WHERE name = ?", (name,))
    return None if row is None else row[0]


#: Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$Z1+0g6ATXtlgmOOQyOlKLg$f3vRNwct/FDb+0e77KBL1bSiFN7t2o+SzqaECVy5LUE"


def _verify(settings: WebSettings, stored: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return hasher(settings).verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _rehash_if_needed(db: Database, settings: WebSettings, name: str, stored: str | None, password: str) -> None:
    if stored is not None and hasher(settings).check_needs_rehash(stored):
        db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (hasher(settings).hash(password), name))


def session_for(db: Database, settings: WebSettings, token: str, *, now: float) -> Session | None:
    """The live session a cookie names (its idle clock restarted), or None when unknown or expired."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    row = db.one(
        "SELECT s.user_name, u.role, s.csrf, s.created_at, s.last_seen, u.disabled_at, u.commune FROM web_sessions s"
        " JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?",
        (digest,),
    )
    if row is None:
        return None
    user, role, csrf, created_at, last_seen, disabled_at, commune = row
    if (disabled_at is not None or now - float(last_seen) > settings.session_idle_min * 60.0
            or now - float(created_at) > settings.session_max_h * 3600.0):
        db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest,))
        return None
    if now - float(last_seen) >= 30.0:
        db.execute("UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", (now, digest))
    return Session(user=user, role=role, csrf=csrf, token_hash=digest, commune=commune)


def logout(db: Database, session: Session) -> None:
    """End a session."""
    db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (session.token_hash,))


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a CSRF token."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def read_new_password(path: str | None) -> str:
    """A new password: FILE's first line, else asked twice on a terminal, else stdin's first line."""
    if path is not None:
        try:
            with open(path, encoding="utf-8") as file:
                return check_password(file.readline().rstrip("\r\n"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"--password-file {path}: cannot read: {exc}") from None
    if not sys.stdin.isatty():
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    first = check_password(getpass.getpass("New password: "))
    if getpass.getpass("Again: ") != first:
        raise RegistryError("the two passwords differ")
    return first
