"""The `[web]` table of the fleet's settings: sessions, the login rate limit, TLS, the metrics token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fleet.settings_table import SettingsTable

KEYS = (
    "session_idle_min", "session_max_h", "login_failures_per_user", "login_failures_per_client",
    "login_window_min", "tls_cert_file", "tls_key_file", "behind_tls_proxy", "metrics_token_file",
    "password_hash_memory_mib", "password_hash_iterations", "public_url",
)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the dashboard keeps sessions and who may try to log in how often."""

    #: A session unused this long ends (the next request goes back to the login page).
    session_idle_min: float = 30.0
    #: A session ends this long after its login, used or not.
    session_max_h: float = 12.0
    #: Failed logins allowed for one user name, and from one client address, within the window.
    login_failures_per_user: int = 5
    login_failures_per_client: int = 20
    login_window_min: float = 15.0
    #: TLS certificate and key the dashboard serves with (both or neither).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: Plain HTTP on loopback behind a reverse proxy that terminates TLS: cookies are still marked Secure.
    behind_tls_proxy: bool = False
    #: A file holding the bearer token Prometheus sends to /metrics (None: a viewer's session only).
    metrics_token_file: Path | None = None
    #: argon2id cost of new password hashes (RFC 9106's second option; OWASP's floor is 19 MiB, 2 passes).
    password_hash_memory_mib: int = 64
    password_hash_iterations: int = 3
    #: The dashboard's public base URL (e.g. https://hameau.example.org), printed as a QR code on the communes'
    #: posters; None: the address the request came to.
    public_url: str | None = None

    @property
    def secure_cookies(self) -> bool:
        """Whether the browser reaches the dashboard over TLS (cookies then carry Secure)."""
        return self.tls_cert_file is not None or self.behind_tls_proxy


def parse_web(raw: Mapping[str, Any], where: str) -> WebSettings:
    """WebSettings from a `[web]` table; FleetConfigError names the file, key and reason."""
    t = SettingsTable(raw, "web", where)
    t.only(KEYS)
    proxy = t.flag("behind_tls_proxy", False)
    cert, key = t.path("tls_cert_file"), t.path("tls_key_file")
    if (cert is None) != (key is None):
        raise t.fail("tls_key_file" if key is None else "tls_cert_file", "tls_cert_file and tls_key_file go together")
    return WebSettings(
        session_idle_min=float(t.number("session_idle_min", 30.0, 1, 24 * 60)),
        session_max_h=float(t.number("session_max_h", 12.0, 0.1, 24 * 30)),
        login_failures_per_user=t.number("login_failures_per_user", 5, 1, 1000, integer=True),
        login_failures_per_client=t.number("login_failures_per_client", 20, 1, 100_000, integer=True),
        login_window_min=float(t.number("login_window_min", 15.0, 1, 24 * 60)),
        tls_cert_file=cert, tls_key_file=key, behind_tls_proxy=proxy,
        metrics_token_file=t.path("metrics_token_file"),
        password_hash_memory_mib=t.number("password_hash_memory_mib", 64, 19, 4096, integer=True),
        password_hash_iterations=t.number("password_hash_iterations", 3, 2, 100, integer=True),
        public_url=_public_url(t),
    )


def _public_url(t: SettingsTable) -> str | None:
    """`public_url`: an https base URL (http only on localhost), without query or fragment; no trailing '/'."""
    value = t.raw.get("public_url")
    if value is None:
        return None
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    local = parts is not None and parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    if (parts is None or not (parts.scheme == "https" or local) or not parts.hostname or parts.query
            or parts.fragment or parts.username or any(c.isspace() for c in value) or len(value) > 200):
        raise t.fail("public_url", f"must be a base URL such as https://hameau.example.org"
                                   f" (http only on localhost), got {str(value)[:80]!r}")
    return value.rstrip("/")
