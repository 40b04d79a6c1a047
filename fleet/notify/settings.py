"""Notification settings, checked once: the `[notify]` table of the fleet's settings file, with its `smtp` and
`webhook` sub-tables; every error names the file, the key and the reason in one line."""

from __future__ import annotations

import ipaddress
import math
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, tzinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.errors import FleetConfigError

#: Alarm severities, least to most severe.
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
#: How the SMTP connection is protected, and the port each implies by default.
SMTP_PORTS: Mapping[str, int] = {"starttls": 587, "tls": 465, "none": 25}
#: No network call of the notifier may wait longer than this.
MAX_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to send e-mail: the server, its protection, the login, the sender, the recipients."""

    host: str
    port: int
    security: str
    sender: str
    recipients: tuple[str, ...]
    ca_file: Path | None = None
    username: str | None = None
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where to POST the JSON of each message, and the shared secret that signs it (HMAC-SHA256)."""

    urls: tuple[str, ...]
    secret: bytes | None = field(default=None, repr=False)
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Every notification setting, validated; without `smtp` and `webhook` nothing is sent."""

    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    min_severity: str = "warning"
    group_window_s: float = 120.0
    #: More than this many alarms of one kind within the window make one grouped message.
    group_threshold: int = 3
    digest_time: time | None = time(8, 0)
    timezone: str = "UTC"
    retry_first_s: float = 30.0
    retry_max_s: float = 3600.0
    max_attempts: int = 12
    timeout_s: float = MAX_TIMEOUT_S

    @property
    def enabled(self) -> bool:
        """Whether there is any channel to send on."""
        return self.smtp is not None or self.webhook is not None

    @property
    def zone(self) -> tzinfo:
        """The time zone of the digest's time of day and of the times written in messages."""
        return ZoneInfo(self.timezone)

    def retry_delay_s(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt: retry_first_s doubling, at most retry_max_s."""
        return min(self.retry_first_s * 2.0 ** min(max(attempts - 1, 0), 60), self.retry_max_s)

    def announces(self, severity: str) -> bool:
        """Whether an alarm of this severity is announced (unknown severities are, to be safe)."""
        if severity not in SEVERITIES:
            return True
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


class _Table:
    """One settings table being read: every key taken is ticked off; what is left over is refused."""

    def __init__(self, table: Any, where: str, prefix: str) -> None:
        if not isinstance(table, Mapping):
            raise FleetConfigError(f"{where}: {prefix}: expected a table")
        self.table, self.where, self.prefix = table, where, prefix
        self.seen: set[str] = set()

    def fail(self, key: str, reason: str) -> FleetConfigError:
        return FleetConfigError(f"{self.where}: {self.prefix}.{key}: {reason}")

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.table.get(key, default)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {value!r}")
        if value is not None and any(c in value for c in "\r\n\x00"):
            raise self.fail(key, "must be one line")
        return value

    def number(self, key: str, default: float, low: float, high: float, *, integer: bool = False) -> Any:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(key, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
        if not math.isfinite(value) or not low <= value <= high:
            raise self.fail(key, f"{value!r} is out of range [{low:g}, {high:g}]")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, default)
        if value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, ())
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise self.fail(key, "expected a non-empty list of strings")
        if not all(isinstance(item, str) and item for item in value):
            raise self.fail(key, "expected a non-empty list of strings")
        return tuple(value)

    def path(self, key: str) -> Path | None:
        value = self.text(key)
        return None if value is None else Path(value).expanduser()

    def finish(self) -> None:
        unknown = sorted(str(key) for key in self.table if key not in self.seen)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


def read_secret_file(path: Path, fail: Any) -> str:
    """The first line of a secret file that group and others cannot read; `fail(reason)` builds the error."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise fail(f"{path}: not a regular file")
        if mode & 0o077:
            raise fail(f"{path}: readable by group or others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise fail(f"{path}: empty")
    return secret


def tls_client_context(ca_file: Path | None) -> ssl.SSLContext:
    """A TLS client context verifying the peer's certificate and host name (against `ca_file`, else the system's)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _ca_file(table: _Table, key: str) -> Path | None:
    path = table.path(key)
    if path is None:
        return None
    try:
        tls_client_context(path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise table.fail(key, f"{path}: not a usable CA certificate file ({exc})") from None
    return path


def _address(table: _Table, key: str, value: str) -> str:
    _name, address = parseaddr(value)
    if "@" not in address or any(c in value for c in "\r\n\x00"):
        raise table.fail(key, f"{value!r} is not an e-mail address")
    return value


def _smtp(raw: Any, where: str) -> SmtpSettings:
    table = _Table(raw, where, "notify.smtp")
    host = table.text("host")
    if not host:
        raise table.fail("host", "required (the SMTP server's name)")
    security = table.choice("security", "starttls", tuple(SMTP_PORTS))
    port = table.number("port", SMTP_PORTS[security], 1, 65535, integer=True)
    sender = _address(table, "from", table.text("from") or "")
    recipients = tuple(_address(table, "recipients", item) for item in table.strings("recipients"))
    ca_file = _ca_file(table, "ca_file")
    username = table.text("username") or None
    password_file = table.path("password_file")
    if username is not None and security == "none":
        raise table.fail("username", 'refusing to log in without TLS (security = "none"): use starttls or tls')
    if (username is None) != (password_file is None):
        raise table.fail("password_file" if username else "username", "username and password_file go together")
    password = "" if password_file is None else read_secret_file(
        password_file, lambda reason: table.fail("password_file", reason))
    table.finish()
    return SmtpSettings(host=host, port=port, security=security, sender=sender, recipients=recipients,
                        ca_file=ca_file, username=username, password=password)


def check_webhook_url(url: str) -> str | None:
    """Why a webhook URL is refused, or None: https, or plain http only to a loopback address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return str(exc)
    if not parts.hostname:
        return "no host"
    if parts.username is not None:
        return "no user or password in the URL (use secret_file to sign)"
    if parts.scheme == "https":
        return None
    if parts.scheme != "http":
        return "expected https://..."
    try:
        loopback = ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = False
    return None if loopback else "plain http only to 127.0.0.1 or ::1 (use https)"


def _webhook(raw: Any, where: str) -> WebhookSettings:
    table = _Table(raw, where, "notify.webhook")
    urls = table.strings("urls")
    for url in urls:
        reason = check_webhook_url(url)
        if reason is not None:
            raise table.fail("urls", f"{url.split('?')[0]!r}: {reason}")
    secret_file = table.path("secret_file")
    secret = None if secret_file is None else read_secret_file(
        secret_file, lambda reason: table.fail("secret_file", reason)).encode("utf-8")
    ca_file = _ca_file(table, "ca_file")
    table.finish()
    return WebhookSettings(urls=urls, secret=secret, ca_file=ca_file)


def _digest_time(table: _Table) -> time | None:
    value = table.get("digest_time", "08:00")
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if value == "":
        return None
    try:
        if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
            raise ValueError
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise table.fail("digest_time", f'{value!r}: expected "HH:MM" (local time), or "" for no digest') from None


def parse_notify_settings(table: Mapping[str, Any], where: str) -> NotifySettings:
    """The `[notify]` table validated; FleetConfigError names `where`, the key and the reason."""
    top = _Table(table, where, "notify")
    smtp_raw, webhook_raw = top.get("smtp"), top.get("webhook")
    zone = top.text("timezone", "UTC") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise top.fail("timezone", f"{zone!r} is not a time zone (e.g. Europe/Paris)") from None
    retry_first_s = top.number("retry_first_s", 30.0, 1.0, 86400.0)
    settings = NotifySettings(
        min_severity=top.choice("min_severity", "warning", SEVERITIES),
        group_window_s=float(top.number("group_window_s", 120.0, 0.0, 3600.0)),
        group_threshold=top.number("group_threshold", 3, 1, 10000, integer=True),
        digest_time=_digest_time(top),
        timezone=zone,
        retry_first_s=float(retry_first_s),
        retry_max_s=float(top.number("retry_max_s", 3600.0, retry_first_s, 7 * 86400.0)),
        max_attempts=top.number("max_attempts", 12, 1, 1000, integer=True),
        timeout_s=float(top.number("timeout_s", MAX_TIMEOUT_S, 0.1, MAX_TIMEOUT_S)),
        smtp=None if smtp_raw is None else _smtp(smtp_raw, where),
        webhook=None if webhook_raw is None else _webhook(webhook_raw, where),
    )
    top.finish()
    return settings
