"""`hameau-edge provision BUNDLE`: install a fleet provisioning bundle from the boot partition into the box.

The bundle (written by `hameau-fleet devices add`) holds `hameau-device.toml` ([device] and [link]), the fleet's
CA and the box's MQTT password. The CA and password go to the secrets directory (0644 and 0600, owned by the
config file's owner, the agent's user); the config file's [device] and [link] blocks are replaced by the stub's
(absolute paths), every other line kept; the result is checked with the box's loader before it replaces the
old file (kept as `<config>.before-provision`); then the password is shredded from the (FAT) boot partition.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import ssl
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drivers.errors import HameauError
from edge.config.loader import ConfigError, parse_config
from edge.config.reader import ID_PATTERN

STUB_FILE = "hameau-device.toml"
CA_FILE = "fleet-ca.crt"
PASSWORD_FILE = "mqtt.password"
TABLES = ("device", "link")
DEFAULT_CONFIG = "/etc/hameau/box.toml"
DEFAULT_SECRETS_DIR = "/etc/hameau"
BACKUP_SUFFIX = ".before-provision"
EXIT_OK = 0
EXIT_REFUSED = 2
#: A table header line: `[name]` or `[[name]]`, an optional comment after it.
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\s]+)\s*\]\]?\s*(#.*)?$")


class ProvisionError(HameauError):
    """A bundle, config or secrets directory that cannot be used: one line naming the file and the reason."""


@dataclass(frozen=True, slots=True)
class Bundle:
    """A checked bundle: the stub's two tables, the CA's PEM bytes, the password (None once consumed)."""

    directory: Path
    device: dict[str, Any]
    link: dict[str, Any]
    ca_pem: bytes
    password: str | None

    @property
    def password_path(self) -> Path:
        """The password file on the boot partition."""
        return self.directory / PASSWORD_FILE


def add_provision_command(commands: Any) -> None:
    """The `provision` subcommand's arguments."""
    cmd = commands.add_parser("provision", help="install a fleet provisioning bundle (boot partition) into the box")
    cmd.add_argument("bundle", help="the bundle directory, e.g. /boot/firmware/hameau-bundle")
    cmd.add_argument("--config", default=DEFAULT_CONFIG, help=f"the box's TOML config (default {DEFAULT_CONFIG})")
    cmd.add_argument("--secrets-dir", default=DEFAULT_SECRETS_DIR,
                     help=f"where the CA and password are installed (default {DEFAULT_SECRETS_DIR})")


def run_provision(args: argparse.Namespace) -> int:
    """Run `provision`: a one-line refusal and exit 2 on any problem, what was done on stdout otherwise."""
    try:
        for line in provision(Path(args.bundle), Path(args.config), Path(args.secrets_dir)):
            print(line)
    except ProvisionError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def provision(bundle_dir: Path, config: Path, secrets_dir: Path) -> list[str]:
    """Install the bundle; return what was done. Raises ProvisionError, leaving the config as it was."""
    old_text = _read_config(config)  # first: the site config must be in place before any bundle is read
    bundle = read_bundle(bundle_dir)
    secrets_dir = Path(os.path.abspath(secrets_dir))
    ca_path, password_path = secrets_dir / CA_FILE, secrets_dir / PASSWORD_FILE
    new_text = edit_config(old_text, bundle.device, {**bundle.link, "ca_file": str(ca_path),
                                                     "password_file": str(password_path)}, config)
    if bundle.password is None:  # consumed: fine when this box already holds it, refused otherwise
        if new_text == old_text and _same_bytes(ca_path, bundle.ca_pem) and _non_empty(password_path):
            return [(f"{config}: already provisioned as device {bundle.device['id']!r} from {bundle_dir} "
                     f"(its password was removed after use); nothing changed")]
        raise ProvisionError(f"{bundle.password_path}: no such file: the bundle was already used on a box "
                             f"(its password is removed after use) and {config} does not hold it; "
                             f"ask the fleet for a new bundle")
    owner = _owner(config)
    try:
        secrets_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProvisionError(f"{secrets_dir}: cannot be created: {exc.strerror or exc}") from None
    staged: list[Path] = []
    try:
        staged.append(_stage(ca_path, bundle.ca_pem, 0o644, owner))
        staged.append(_stage(password_path, (bundle.password + "\n").encode("utf-8"), 0o600, owner))
        trial = edit_config(old_text, bundle.device, {**bundle.link, "ca_file": str(staged[0]),
                                                      "password_file": str(staged[1])}, config)
        _validate(trial, config)
        for temp, final in zip(staged, (ca_path, password_path), strict=True):
            try:
                os.replace(temp, final)
            except OSError as exc:
                raise ProvisionError(f"{final}: cannot be replaced: {exc.strerror or exc}") from None
        _fsync_dir(secrets_dir)
    finally:
        for temp in staged:
            temp.unlink(missing_ok=True)
    done = [f"{ca_path}: fleet CA installed (0644)", f"{password_path}: MQTT password installed (0600)"]
    if new_text != old_text:
        _validate(new_text, config)
        backup = config.with_name(config.name + BACKUP_SUFFIX)
        _write_atomic(backup, old_text.encode("utf-8"), _mode(config), owner)
        _write_atomic(config, new_text.encode("utf-8"), _mode(config), owner)
        done.append(f"{config}: [device] and [link] of device {bundle.device['id']!r} written "
                    f"(the old file is {backup})")
        old, new = tomllib.loads(old_text), {"device": bundle.device, "link": bundle.link}  # both parse
        dropped = [f"{t}.{k}" for t in TABLES if isinstance(old.get(t), dict) for k in old[t] if k not in new[t]]
        if dropped:
            done.append(f"{config}: no longer set (the bundle does not hold them; see {backup.name}): "
                        + ", ".join(dropped))
    else:
        done.append(f"{config}: already holds device {bundle.device['id']!r}; unchanged")
    _shred(bundle.password_path)
    done.append(f"{bundle.password_path}: shredded (the boot partition keeps no password)")
    return done


def read_bundle(directory: Path) -> Bundle:
    """Read and check a bundle: a stub of exactly [device] and [link], valid id and URL, a PEM CA, a password."""
    if not directory.is_dir():
        raise ProvisionError(f"{directory}: no such bundle directory")
    stub_path = directory / STUB_FILE
    raw = _read_bytes(stub_path)
    try:
        stub = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProvisionError(f"{stub_path}: not a valid TOML stub ({exc})") from None
    if sorted(stub) != sorted(TABLES) or not all(isinstance(stub[t], dict) for t in TABLES):
        raise ProvisionError(f"{stub_path}: must hold exactly the tables [device] and [link], "
                             f"not {', '.join(sorted(stub)) or 'nothing'}")
    device, link = stub["device"], stub["link"]
    for name, table in stub.items():
        for key, value in table.items():
            if isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
                raise ProvisionError(f"{stub_path}: {name}.{key}: must be a string, number or boolean")
    device_id = device.get("id")
    if not isinstance(device_id, str) or not ID_PATTERN.match(device_id):
        raise ProvisionError(f"{stub_path}: device.id {device_id!r}: must be 1-63 of a-z 0-9 - _")
    if link.get("username") != device_id:
        raise ProvisionError(f"{stub_path}: link.username {link.get('username')!r}: must be the device id "
                             f"{device_id!r}")
    broker = link.get("broker")
    if not isinstance(broker, str) or not _is_broker_url(broker):
        raise ProvisionError(f"{stub_path}: link.broker {broker!r}: must be mqtts://HOST:PORT")
    for key, expected in (("ca_file", CA_FILE), ("password_file", PASSWORD_FILE)):
        if link.get(key) != expected:
            raise ProvisionError(f"{stub_path}: link.{key} {link.get(key)!r}: must be {expected!r}, beside the stub")
    ca_path = directory / CA_FILE
    ca_pem = _read_bytes(ca_path)
    try:
        ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise ProvisionError(f"{ca_path}: not a PEM CA certificate "
                             f"({getattr(exc, 'reason', None) or exc})") from None
    password_path = directory / PASSWORD_FILE
    if not password_path.exists():
        return Bundle(directory, device, link, ca_pem, None)
    try:
        password = _read_bytes(password_path).decode("utf-8").strip("\r\n")
    except UnicodeDecodeError:
        raise ProvisionError(f"{password_path}: not UTF-8 text") from None
    if not password.strip() or "\n" in password or "\r" in password:
        raise ProvisionError(f"{password_path}: must hold the device's MQTT password on one line (it is "
                             f"{'empty' if not password.strip() else 'several lines'})")
    return Bundle(directory, device, link, ca_pem, password)


def edit_config(text: str, device: dict[str, Any], link: dict[str, Any], config: Path) -> str:
    """`text` with its [device] and [link] blocks replaced (added when missing); every other line kept."""
    lines = text.splitlines()
    for name, values in (("device", device), ("link", link)):
        block = [f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items())]
        span = _block(lines, name, config)
        if span is not None:
            lines[span[0]:span[1]] = block
        elif name == "link" and (after := _block(lines, "device", config)) is not None:
            lines[after[1]:after[1]] = ["", *block]
        else:
            at = _first_header(lines)
            lines[at:at] = [*block, ""]
    new_text = "\n".join(lines) + "\n"
    try:
        before, after = tomllib.loads(text), tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise ProvisionError(f"{config}: not valid TOML, or not a file whose [device] and [link] can be "
                             f"replaced line by line ({exc})") from None
    if {k: v for k, v in before.items() if k not in TABLES} != {k: v for k, v in after.items() if k not in TABLES}:
        raise ProvisionError(f"{config}: its [device] or [link] could not be replaced without touching "
                             f"other tables (a multi-line value or a dotted key?); edit it by hand")
    return new_text


def _block(lines: list[str], name: str, config: Path) -> tuple[int, int] | None:
    """The lines of table `name` and its sub-tables, header to last non-comment line; comments after it stay."""
    starts = [i for i, line in enumerate(lines) if (m := _HEADER.match(line))
              and (m.group(1) == name or m.group(1).startswith(name + "."))]
    if not starts:
        return None
    start = starts[0]
    end = start + 1
    for i in range(start + 1, len(lines)):
        m = _HEADER.match(lines[i])
        if m and not (m.group(1) == name or m.group(1).startswith(name + ".")):
            break
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            end = i + 1
    if any(s >= end for s in starts[1:]):
        raise ProvisionError(f"{config}: [{name}] is split in several places; gather it in one place first")
    return start, end


def _first_header(lines: list[str]) -> int:
    """Where a table goes before every other one: above the first header and the comments right above it."""
    at = next((i for i, line in enumerate(lines) if _HEADER.match(line)), len(lines))
    while at > 0 and lines[at - 1].lstrip().startswith("#"):
        at -= 1
    return at


def _is_broker_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    return (parts.scheme == "mqtts" and bool(parts.hostname) and parts.username is None
            and parts.path in ("", "/") and not parts.query and not parts.fragment)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON's string escapes are TOML's


def _validate(text: str, config: Path) -> None:
    try:
        parse_config(text, config)
    except ConfigError as exc:
        problems = "; ".join(str(p).removeprefix(f"{config}: ") for p in exc.problems)
        raise ProvisionError(f"{config}: the provisioned config would be refused, left as it was: {problems}") \
            from None


def _read_config(config: Path) -> str:
    if not config.exists():
        # The box's own words for a missing config: the site config (from the technician or the fleet) must be
        # there first, provision only sets its [device] and [link] (README, images/README.md).
        raise ProvisionError(f"{config}: (file): no such file")
    try:
        return _read_bytes(config).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProvisionError(f"{config}: not UTF-8 text") from None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.exists() and not path.is_file():  # a FIFO would wait for a writer
            raise ProvisionError(f"{path}: not a regular file")
        return path.read_bytes()
    except FileNotFoundError:
        raise ProvisionError(f"{path}: no such file") from None
    except OSError as exc:
        raise ProvisionError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _owner(config: Path) -> tuple[int, int]:
    try:
        info = config.stat()
    except OSError as exc:
        raise ProvisionError(f"{config}: cannot be read: {exc.strerror or exc}") from None
    return info.st_uid, info.st_gid


def _mode(config: Path) -> int:
    try:
        return config.stat().st_mode & 0o7777
    except OSError as exc:
        raise ProvisionError(f"{config}: cannot be read: {exc.strerror or exc}") from None


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _non_empty(path: Path) -> bool:
    try:
        return bool(path.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return False


def _stage(final: Path, data: bytes, mode: int, owner: tuple[int, int]) -> Path:
    """`data` in a temporary file beside `final`: mode, owner, written and synced; the caller renames it."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
    except OSError as exc:
        raise ProvisionError(f"{final.parent}: cannot write there: {exc.strerror or exc}") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            if (os.fstat(out.fileno()).st_uid, os.fstat(out.fileno()).st_gid) != owner:
                os.fchown(out.fileno(), *owner)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ProvisionError(f"{final}: cannot be written with owner {owner[0]}:{owner[1]} mode {mode:04o}: "
                             f"{exc.strerror or exc}") from None
    return temp


def _write_atomic(path: Path, data: bytes, mode: int, owner: tuple[int, int]) -> None:
    temp = _stage(path, data, mode, owner)
    try:
        os.replace(temp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ProvisionError(f"{path}: cannot be replaced: {exc.strerror or exc}") from None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (FAT) cannot sync a directory
        pass
    finally:
        os.close(fd)


def _shred(path: Path) -> None:
    """Overwrite the file with zeros, sync, and remove it (a FAT partition has no modes to protect it)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as out:
            out.write(b"\0" * max(size, 64))
            out.flush()
            os.fsync(out.fileno())
        path.unlink()
        _fsync_dir(path.parent)
    except OSError as exc:
        raise ProvisionError(f"{path}: installed, but it cannot be removed from the bundle: "
                             f"{exc.strerror or exc}; delete it by hand") from None
