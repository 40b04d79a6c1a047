"""A box's provisioning bundle: its config stub ([device] + [link]), the fleet's CA and its MQTT password.

The technician copies the bundle's directory to the SD card's boot partition; the box's config file takes the
stub's two tables (they stay local: the fleet's configs never carry [device] or [link]), and the stub's
relative paths name the files beside it. The password exists only here and, hashed, in the broker's file.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fleet.registry.model import Device, RegistryError
from fleet.serve.config import parse_broker

STUB_FILE = "hameau-device.toml"
CA_FILE = "fleet-ca.crt"
PASSWORD_FILE = "mqtt.password"


@dataclass(frozen=True, slots=True)
class BundleSource:
    """What every bundle shares: the broker's URL and the fleet CA certificate (PEM bytes)."""

    broker_url: str
    ca_pem: bytes

    @classmethod
    def from_options(cls, broker: str, ca: str) -> BundleSource:
        """From `--broker mqtts://host:port` and `--ca FILE`, checked (TLS only; a PEM CA certificate)."""
        parse_broker(broker)
        if "#" in broker or any(ord(c) < 0x21 or c in "\"\\" for c in broker):
            raise RegistryError(f"--broker {broker!r}: expected mqtts://HOST:PORT, nothing else")
        path = Path(ca).expanduser()
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise RegistryError(f"--ca {path}: cannot be read: {exc.strerror or exc}") from None
        try:
            ssl.create_default_context(cadata=pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise RegistryError(f"--ca {path}: not a PEM CA certificate ({getattr(exc, 'reason', None) or exc})")\
                from None
        return cls(broker, pem)


def stub_text(device: Device, broker_url: str, *, now: float) -> str:
    """The box's config stub: [device] (id, name = site, location when known) and [link]."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(now))
    lines = [
        f"# Identity and fleet link of box {device.device!r}, written by `hameau-fleet devices add` at {stamp}.",
        "# These two tables belong in the box's own config file; the paths are relative to this file.",
    ]
    missing = [k for k, v in (("latitude", device.latitude), ("longitude", device.longitude),
                              ("timezone", device.timezone)) if v is None]
    if missing:
        lines.append(f"# The box needs {', '.join(missing)} in [device] before it starts (check-config says so).")
    lines += ["", "[device]", f"id = {_toml_str(device.device)}", f"name = {_toml_str(device.site)}"]
    if device.latitude is not None:
        lines.append(f"latitude = {device.latitude!r}")
    if device.longitude is not None:
        lines.append(f"longitude = {device.longitude!r}")
    if device.timezone is not None:
        lines.append(f"timezone = {_toml_str(device.timezone)}")
    lines += [
        "",
        "[link]",
        f"broker = {_toml_str(broker_url)}",
        f"ca_file = {_toml_str(CA_FILE)}",
        f"password_file = {_toml_str(PASSWORD_FILE)}",
        f"username = {_toml_str(device.device)}",
        "",
    ]
    return "\n".join(lines)


def _toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; values have no control characters)."""
    return json.dumps(value, ensure_ascii=False)


def check_target(directory: Path) -> None:
    """Refuse a bundle directory that exists with something in it (another box's credentials, perhaps)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise RegistryError(f"--bundle-dir {directory}: already exists and is not empty (choose another)")


def prepare(directory: Path, device: Device, source: BundleSource, password: str, *, now: float) -> Path:
    """Write the bundle in a hidden directory beside `directory` (mode 700); `publish` moves it into place."""
    check_target(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:
        raise RegistryError(f"--bundle-dir {directory}: cannot be created: {exc.strerror or exc}") from None
    try:
        _write(staging / STUB_FILE, stub_text(device, source.broker_url, now=now).encode("utf-8"), 0o644)
        _write(staging / CA_FILE, source.ca_pem, 0o644)
        _write(staging / PASSWORD_FILE, (password + "\n").encode("utf-8"), 0o600)
    except OSError as exc:
        discard(staging)
        raise RegistryError(f"--bundle-dir {directory}: cannot be written: {exc.strerror or exc}") from None
    return staging


def publish(staging: Path, directory: Path) -> None:
    """Move a prepared bundle to its place (an empty directory there is replaced)."""
    try:
        if directory.is_dir():
            directory.rmdir()
        os.replace(staging, directory)
    except OSError as exc:
        raise RegistryError(
            f"--bundle-dir {directory}: cannot be written ({exc.strerror or exc}); the bundle is in {staging}"
        ) from None


def discard(staging: Path) -> None:
    """Remove a prepared bundle that will not be used."""
    shutil.rmtree(staging, ignore_errors=True)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, mode)
