"""`hameau-fleet serve` settings, checked once: broker URL, TLS CA, credentials, store URL."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fleet.errors import FleetConfigError

DEFAULT_PORT = 8883


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Everything `serve` needs, validated: where the broker is, how to trust it, who we are, where to store."""

    host: str
    port: int
    ca_path: Path
    username: str
    password: str
    db_url: str | None
    client_id: str
    keepalive_s: int = 30
    receive_maximum: int = 100
    session_expiry_s: int = 600
    #: A client id given by the operator is stable across restarts: the broker keeps its session (and what
    #: it had not PUBACKed) for session_expiry_s. A generated one is not: clean start.
    keep_session: bool = False


def parse_broker(url: str) -> tuple[str, int]:
    """(host, port) of an `mqtts://host:port` URL; plaintext `mqtt://` is refused (TLS always)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FleetConfigError(f"--broker {url!r}: {exc}") from None
    if parts.scheme != "mqtts":
        raise FleetConfigError(f"--broker {url!r}: expected mqtts://HOST:PORT (TLS only, no plaintext)")
    if not parts.hostname:
        raise FleetConfigError(f"--broker {url!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise FleetConfigError(f"--broker {url!r}: expected mqtts://HOST:PORT, nothing else")
    return parts.hostname, DEFAULT_PORT if port is None else port


def read_password(path: Path) -> str:
    """The password in `path` (first line), a file that group and others must not be able to read."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise FleetConfigError(f"--password-file {path}: not a regular file")
        if mode & 0o077:
            raise FleetConfigError(
                f"--password-file {path}: readable by group or others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetConfigError(f"--password-file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FleetConfigError(f"--password-file {path}: not UTF-8 text") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise FleetConfigError(f"--password-file {path}: empty")
    return password


def tls_context(ca_path: Path) -> ssl.SSLContext:
    """A TLS client context that verifies the broker's certificate and host name against `ca_path` only."""
    if not ca_path.is_file():
        raise FleetConfigError(f"--ca {ca_path}: no such file")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise FleetConfigError(f"--ca {ca_path}: not a usable CA certificate ({exc})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def build_config(
    *, broker: str, ca: str, username: str, password_file: str, db: str | None, client_id: str | None
) -> ServeConfig:
    """The serve settings from command-line values; FleetConfigError names the first bad one."""
    host, port = parse_broker(broker)
    if not username or any(c in username for c in "\x00/+#"):
        raise FleetConfigError(f"--username {username!r}: must be a non-empty MQTT user name")
    ca_path = Path(ca).expanduser()
    tls_context(ca_path)
    password = read_password(Path(password_file).expanduser())
    ident = client_id or f"hameau-fleet-{socket.gethostname()}-{os.getpid()}"
    if len(ident.encode("utf-8")) > 65535 or any(c in ident for c in "\x00/+#"):
        raise FleetConfigError(f"--client-id {ident!r}: not a usable MQTT client id")
    return ServeConfig(
        host=host, port=port, ca_path=ca_path, username=username, password=password, db_url=db,
        client_id=ident, keep_session=client_id is not None,
    )
