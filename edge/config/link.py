"""The box's [link] table: how it reaches the fleet's MQTT broker (TLS only), read into a frozen LinkConfig."""

from __future__ import annotations

import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edge.config.reader import Invalid, Table, in_range

#: The broker's payload limit the fleet protocol promises (fleet.protocol.MAX_PAYLOAD_BYTES, 256 KiB).
MAX_PAYLOAD_BYTES = 256 * 1024
DEFAULT_TLS_PORT = 8883
#: Outbox budget: half the store's default 1024 MB database budget, about 3 % of a 16 GB card.
DEFAULT_OUTBOX_BUDGET_MB = 512.0
#: Permission bits that let anyone but the owner read or write a file.
OPEN_BITS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """How the box talks to the fleet: broker over TLS, credentials, timers, batching and the outbox budget."""

    broker_url: str
    host: str
    port: int
    ca_file: Path
    password_file: Path
    username: str
    keepalive_s: int = 60
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 300.0
    ack_timeout_s: float = 60.0
    status_interval_s: float = 900.0
    outbox_budget_mb: float = DEFAULT_OUTBOX_BUDGET_MB
    batch_max_bytes: int = 200_000
    batch_age_event_s: float = 0.0
    batch_age_total_s: float = 30.0
    batch_age_raw_s: float = 60.0

    @property
    def batch_ages_s(self) -> dict[str, float]:
        """How long each lane's records may wait to fill a batch, as the outbox takes them."""
        return {"event": self.batch_age_event_s, "total": self.batch_age_total_s, "raw": self.batch_age_raw_s}


def parse_link(t: Table | None, config_path: Path, device_id: str | None) -> LinkConfig | None:
    """The [link] table, or None when the box has none (it then runs offline)."""
    if t is None:
        return None
    url = t.get("broker", str, check=_check_url)
    host, port = _host_port(url)
    ca_file = _path(t.get("ca_file", str, check=_check_not_empty), config_path)
    if _given(t, "ca_file"):
        _file_check(t, "ca_file", ca_file, _check_ca)
    password_file = _path(t.get("password_file", str, check=_check_not_empty), config_path)
    if _given(t, "password_file"):
        _file_check(t, "password_file", password_file, _check_password_file)
    link = LinkConfig(
        broker_url=url,
        host=host,
        port=port,
        ca_file=ca_file,
        password_file=password_file,
        username=t.get("username", str, device_id or "", _check_not_empty),
        keepalive_s=t.get("keepalive_s", int, 60, in_range(1, 3600, " s")),
        reconnect_min_s=t.get("reconnect_min_s", float, 1.0, in_range(0.01, 3600, " s")),
        reconnect_max_s=t.get("reconnect_max_s", float, 300.0, in_range(0.01, 86_400, " s")),
        ack_timeout_s=t.get("ack_timeout_s", float, 60.0, in_range(1, 86_400, " s")),
        status_interval_s=t.get("status_interval_s", float, 900.0, in_range(1, 86_400, " s")),
        outbox_budget_mb=t.get("outbox_budget_mb", float, DEFAULT_OUTBOX_BUDGET_MB, in_range(1, 1_000_000, " MB")),
        batch_max_bytes=t.get("batch_max_bytes", int, 200_000, in_range(1024, MAX_PAYLOAD_BYTES, " bytes")),
        batch_age_event_s=t.get("batch_age_event_s", float, 0.0, in_range(0, 86_400, " s")),
        batch_age_total_s=t.get("batch_age_total_s", float, 30.0, in_range(0, 86_400, " s")),
        batch_age_raw_s=t.get("batch_age_raw_s", float, 60.0, in_range(0, 86_400, " s")),
    )
    if link.reconnect_max_s < link.reconnect_min_s:
        t.fail("reconnect_max_s", f"must be at least reconnect_min_s ({link.reconnect_min_s:g} s)")
    t.done()
    return link


def _check_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"{value!r} is not a broker URL like 'mqtts://broker.example.org:8883' ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme in ("mqtt", "tcp", "ws"):
        raise Invalid(f"{value!r} is plaintext MQTT, which is refused (no plaintext, ever): use mqtts://host:port")
    if scheme != "mqtts":
        raise Invalid(f"{value!r} is not a broker URL like 'mqtts://broker.example.org:8883' (scheme must be mqtts)")
    if not parts.hostname:
        raise Invalid(f"{value!r} names no host: write mqtts://host:port")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"{value!r} holds credentials: put the password in password_file, not in the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise Invalid(f"{value!r} has a path, query or fragment: write only mqtts://host:port")
    if port == 0:
        raise Invalid(f"{value!r}: port 0 is not a broker port")


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        return parts.hostname or "", parts.port or DEFAULT_TLS_PORT
    except ValueError:  # reported at the key
        return "", DEFAULT_TLS_PORT


def _check_not_empty(value: str) -> None:
    if not value.strip():
        raise Invalid("is empty")


def _given(t: Table, name: str) -> bool:
    value = t.raw.get(name)
    return isinstance(value, str) and bool(value.strip())


def _path(value: str, config_path: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def _file_check(t: Table, name: str, path: Path, check: Callable[[Path], object]) -> None:
    """Judge a file a key names; a problem is recorded at that key with the file's path."""
    try:
        if not path.exists():
            raise Invalid(f"{path}: no such file")
        if not path.is_file():
            raise Invalid(f"{path}: not a regular file")
        check(path)
    except Invalid as exc:
        t.fail(name, str(exc))
    except OSError as exc:
        t.fail(name, f"{path}: cannot be read: {exc.strerror or exc}")


def _check_ca(path: Path) -> None:
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise Invalid(f"{path}: not a PEM CA certificate file ({exc.reason or exc})") from None


def check_password_file(path: Path) -> str:
    """The password a file holds; raises Invalid if others may read it, it cannot be read or it is empty."""
    mode = path.stat().st_mode
    if mode & OPEN_BITS:
        raise Invalid(
            f"{path}: group or others may read or write it (mode {stat.S_IMODE(mode):04o}); "
            f"only the agent's user may: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{path}: not UTF-8 text") from None
    password = text.strip("\r\n")
    if not password:
        raise Invalid(f"{path}: empty: it must hold the device's MQTT password")
    return password


def _check_password_file(path: Path) -> None:
    check_password_file(path)
