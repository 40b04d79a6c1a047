"""The `[ngsi]` table of the fleet's settings: where and how the NGSI-LD export reaches the commune's broker.

Off by default. Every error names the file, the table, the key and the reason on one line. The bearer token
lives in its own file (read at each run, so it can be rotated; never logged); https is verified against the
system's CAs or `ca_file`; a token is never sent over plain http except to this machine (a local test broker).
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fleet.errors import FleetConfigError
from fleet.notify.settings import tls_client_context
from fleet.settings_table import SettingsTable

KEYS = (
    "enabled", "url", "tenant", "id_prefix", "token_file", "ca_file", "interval_s", "timeout_s", "retries",
    "building_category", "locality",
)
#: The prefix put between an entity's type and its device in every id: letters, digits and `_ . - :`.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.-][A-Za-z0-9_.:-]{0,63}")
#: A tenant name as NGSI-LD brokers take it.
TENANT_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: The Building categories of the pinned Smart Data Models Building schema (its `category` enumeration).
BUILDING_CATEGORIES = (
    "apartments", "bakehouse", "barn", "bridge", "bungalow", "bunker", "cathedral", "cabin", "carport", "cemetery",
    "chapel", "church", "civic", "commercial", "conservatory", "construction", "cowshed", "detached", "digester",
    "dormitory", "farm", "farm_auxiliary", "garage", "garages", "garbage_shed", "grandstand", "greenhouse", "hangar",
    "hospital", "hotel", "house", "houseboat", "hut", "industrial", "kindergarten", "kiosk", "mosque", "office",
    "parking", "pavilion", "public", "residential", "retail", "riding_hall", "roof", "ruins", "school", "service",
    "shed", "shrine", "stable", "stadium", "static_caravan", "sty", "synagogue", "temple", "terrace",
    "train_station", "transformer_tower", "transportation", "university", "warehouse", "water_tower",
)


@dataclass(frozen=True, slots=True)
class NgsiSettings:
    """How the fleet exports its data as NGSI-LD entities (nothing is sent unless `enabled`)."""

    enabled: bool = False
    #: The broker's base URL (scheme, host, port, optional path before `/ngsi-ld/v1`).
    url: str = ""
    #: The NGSILD-Tenant header (None: the default tenant).
    tenant: str | None = None
    #: Entity ids are urn:ngsi-ld:<Type>:<id_prefix>:<device>:<thing>.
    id_prefix: str = "hameau"
    #: A file holding the bearer token (None: no Authorization header).
    token_file: Path | None = None
    #: CA certificates to verify the broker with (None: the system's).
    ca_file: Path | None = None
    interval_s: float = 300.0
    timeout_s: float = 10.0
    #: Attempts after the first on a 5xx, a timeout or a refused connection (never on a 4xx).
    retries: int = 3
    #: The Building category of every box's site (the Smart Data Models' enumeration).
    building_category: str = "civic"
    #: addressLocality of every Building (the commune's name); empty: the site's name.
    locality: str = ""

    def token(self) -> str | None:
        """The bearer token, read now from its file (None without one); FleetConfigError if unreadable."""
        if self.token_file is None:
            return None
        try:
            text = self.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise FleetConfigError(f"[ngsi] token_file: {self.token_file}: cannot read ({type(exc).__name__})") from None
        if not text or any(c in text for c in "\r\n\x00 "):
            raise FleetConfigError(f"[ngsi] token_file: {self.token_file}: not one token on one line")
        return text


class _Table(SettingsTable):
    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        super().__init__(raw, "ngsi", where)

    def text(self, key: str, default: str | None, pattern: re.Pattern[str] | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            raise self.fail(key, f"must be a one-line string, got {value!r}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def file(self, key: str) -> Path | None:
        return self.path(key, must_exist=True)


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_ngsi(raw: Mapping[str, Any], where: str) -> NgsiSettings:
    """NgsiSettings from an `[ngsi]` table; FleetConfigError names the file, table, key and reason."""
    t = _Table(raw, where)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise t.fail(unknown[0], f"unknown key (known: {', '.join(KEYS)})")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise t.fail("enabled", f"must be true or false, got {enabled!r}")
    url = (t.text("url", "") or "").rstrip("/")
    if enabled and not url:
        raise t.fail("url", "required when enabled (the broker's base URL, e.g. https://broker.example:1026)")
    host = None
    if url:
        try:
            parts = urlsplit(url)
            host, _port = parts.hostname, parts.port
        except ValueError as exc:
            raise t.fail("url", f"{url!r} is not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment or parts.username:
            raise t.fail("url", f"{url!r}: expected http(s)://host[:port][/path] without credentials or query")
    token_file = t.file("token_file")
    if token_file is not None and url.startswith("http:") and not _loopback(host):
        raise t.fail("token_file", "a token is only sent over https (or plain http to this machine)")
    ca_file = t.file("ca_file")
    if ca_file is not None:
        try:
            tls_client_context(ca_file)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise t.fail("ca_file", f"{ca_file}: not a usable CA certificate file ({exc})") from None
    category = t.text("building_category", "civic")
    if category not in BUILDING_CATEGORIES:
        raise t.fail("building_category", f"{category!r} is not a Smart Data Models Building category"
                     " (e.g. civic, public, school, church, water_tower)")
    return NgsiSettings(
        enabled=enabled,
        url=url,
        tenant=t.text("tenant", None, TENANT_PATTERN),
        id_prefix=t.text("id_prefix", "hameau", PREFIX_PATTERN) or "hameau",
        token_file=token_file,
        ca_file=ca_file,
        interval_s=float(t.number("interval_s", 300.0, 10.0, 86400.0)),
        timeout_s=float(t.number("timeout_s", 10.0, 0.1, 120.0)),
        retries=t.number("retries", 3, 0, 10, integer=True),
        building_category=category or "civic",
        locality=t.text("locality", "") or "",
    )
