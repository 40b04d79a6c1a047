"""The broker's password and ACL files, rewritten from the registry, and the broker asked to re-read them.

Password file: a device's line (user = a device id) stays only while the device is registered and not revoked;
a new device's line is (re)set from the password just generated (the fleet never stores passwords, so the
file is the only place the hashes of existing devices live). Every other line — a user that cannot be a
device id, such as the fleet's own serve users (`fleet.hameau`, with a dot no device id can have) — is
kept as it is. ACL file: generated whole (do not edit it by hand): each kept user with a dot in its name gets
the fleet's rights, each registered device (`user` blocks, no `pattern`) only its own topics; a user with no
block may do nothing. Both are written atomically (temp file, fsync, rename, fsync of the directory), the
password file mode 600, each keeping the previous file's owner when run as root (Mosquitto must read them).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fleet.broker_files import FLEET_USER, TOPIC_ROOT
from fleet.errors import FleetError
from fleet.homeassistant.acl import AclExtras, acl_extras
from fleet.protocol_codec import DEVICE_PATTERN
from fleet.registry.devices import active_devices
from fleet.registry.model import RegistryError
from fleet.settings import load_settings
from fleet.store.db import Database

#: Debian's mosquitto unit re-reads its files on `reload` (SIGHUP to the broker).
DEFAULT_RELOAD_COMMAND = "systemctl reload mosquitto"
NO_RELOAD = "none"
RELOAD_TIMEOUT_S = 30.0
PASSWORD_MODE = 0o600
ACL_MODE = 0o644


class ReloadError(FleetError):
    """The files were written but the broker could not be asked to re-read them."""


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """The broker's password and ACL files, and the command that makes it re-read them (None: do not)."""

    password_file: Path
    acl_file: Path
    reload_command: tuple[str, ...] | None = tuple(shlex.split(DEFAULT_RELOAD_COMMAND))

    @classmethod
    def from_options(cls, password_file: str, acl_file: str, reload_command: str) -> BrokerFiles:
        """From `--broker-passwords`, `--broker-acl` and `--reload-command` ('none': no reload); checked."""
        paths = []
        for option, value in (("--broker-passwords", password_file), ("--broker-acl", acl_file)):
            path = Path(value).expanduser()
            if path.is_dir():
                raise RegistryError(f"{option} {path}: is a directory, not a file")
            if not path.parent.is_dir():
                raise RegistryError(f"{option} {path}: directory {path.parent} does not exist")
            if not os.access(path.parent, os.W_OK | os.X_OK):
                raise RegistryError(f"{option} {path}: this user cannot write in {path.parent}")
            paths.append(path)
        if paths[0] == paths[1]:
            raise RegistryError("--broker-acl: must not be the password file")
        try:
            words = tuple(shlex.split(reload_command))
        except ValueError as exc:
            raise RegistryError(f"--reload-command {reload_command!r}: {exc}") from None
        if not words:
            raise RegistryError(f"--reload-command: empty (write '{NO_RELOAD}' to leave the broker alone)")
        return cls(paths[0], paths[1], None if words == (NO_RELOAD,) else words)


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a rewrite did: devices let in, other users kept, device lines dropped, devices with no line."""

    devices: tuple[str, ...]
    kept_users: tuple[str, ...]
    dropped: tuple[str, ...]
    without_password: tuple[str, ...]


def is_device_user(user: str) -> bool:
    """Whether a password-file user is a device (its name is a device id) rather than a fleet user."""
    return DEVICE_PATTERN.fullmatch(user) is not None


def password_text(existing: str, devices: Sequence[str], new_lines: Mapping[str, str]) -> tuple[str, SyncReport]:
    """The password file for `devices` (+ every non-device line of `existing`), `new_lines` set; and a report."""
    allowed = set(devices)
    kept: list[str] = []
    kept_users: list[str] = []
    dropped: list[str] = []
    have: set[str] = set()
    for line in existing.splitlines():
        if not line.strip():
            continue
        user = line.partition(":")[0].strip()
        if line.lstrip().startswith("#") or not is_device_user(user):
            kept.append(line)
            if not line.lstrip().startswith("#"):
                kept_users.append(user)
        elif user in new_lines:
            continue
        elif user in allowed:
            kept.append(line)
            have.add(user)
        else:
            dropped.append(user)
    for user, line in new_lines.items():
        if user not in allowed:
            raise RegistryError(f"device {user!r}: a password line for a device that is not let in")
        kept.append(line)
        have.add(user)
    report = SyncReport(tuple(sorted(allowed)), tuple(kept_users), tuple(sorted(set(dropped))),
                        tuple(sorted(allowed - have)))
    return ("\n".join(kept) + "\n") if kept else "", report


def acl_text(fleet_users: Sequence[str], devices: Sequence[str], extras: AclExtras | None = None) -> str:
    """The ACL file: fleet users read every up/status and write every ack/config/cmd; each device its own only
    (plus Home Assistant's rules, when enabled: fleet/homeassistant/acl.py)."""
    root, extras = TOPIC_ROOT, extras or AclExtras()
    lines = [
        "# Hameau fleet ACL, generated by hameau-fleet devices (fleet/registry/broker_sync.py) from the registry",
        "# at every add and revoke: do not edit it by hand. Anything not granted is refused.",
        "# Fleet controller users (their $share/... subscriptions are checked on these topics).",
    ]
    for user in dict.fromkeys(fleet_users or (FLEET_USER,)):
        lines += [
            f"user {user}",
            f"topic read {root}/+/up",
            f"topic read {root}/+/status",
            f"topic write {root}/+/ack",
            f"topic write {root}/+/config",
            f"topic write {root}/+/cmd",
            *extras.fleet_rules,
            "",
        ]
    for user, rules in extras.users:
        lines += [f"user {user}", *rules, ""]
    lines.append("# Registered devices, not revoked (user name = device id = client id): their own topics only.")
    for device in devices:
        lines += [
            f"user {device}",
            f"topic write {root}/{device}/up",
            f"topic write {root}/{device}/status",
            f"topic read {root}/{device}/ack",
            f"topic read {root}/{device}/config",
            f"topic read {root}/{device}/cmd",
            "",
        ]
    return "\n".join(lines) + ("\n" if lines[-1] else "")


def write_files(db: Database, files: BrokerFiles, new_lines: Mapping[str, str] | None = None) -> SyncReport:
    """Rewrite both files from the registry as `db` sees it (call it inside the registry's transaction)."""
    devices = active_devices(db)
    try:
        existing = files.password_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"--broker-passwords {files.password_file}: cannot be read: {_reason(exc)}") from None
    text, report = password_text(existing, devices, new_lines or {})
    ha = load_settings().homeassistant  # the settings file serve finds by default
    extras = acl_extras(ha)  # Home Assistant's broker user never gets the fleet's rights, enabled or not
    fleet_users = [user for user in report.kept_users if "." in user and user != ha.broker_user]
    atomic_write(files.acl_file, acl_text(fleet_users, devices, extras), ACL_MODE, "--broker-acl")
    atomic_write(files.password_file, text, PASSWORD_MODE, "--broker-passwords")
    return report


def atomic_write(path: Path, text: str, mode: int, option: str) -> None:
    """Replace `path` by `text` all at once (temp + fsync + rename), with `mode` and the old file's owner."""
    try:
        previous = path.stat()
    except FileNotFoundError:
        previous = None
    except OSError as exc:
        raise RegistryError(f"{option} {path}: {_reason(exc)}") from None
    fd, tmp = -1, ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, mode)
        if previous is not None and os.geteuid() == 0:
            os.fchown(fd, previous.st_uid, previous.st_gid)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            fd = -1
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = ""
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise RegistryError(f"{option} {path}: cannot be written: {_reason(exc)}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def reload_broker(files: BrokerFiles) -> str:
    """Run the reload command; what was done, in words; ReloadError saying why it failed."""
    if files.reload_command is None:
        return f"broker not reloaded (--reload-command {NO_RELOAD}): reload it to apply the change"
    shown = shlex.join(files.reload_command)
    try:
        done = subprocess.run(files.reload_command, capture_output=True, text=True, timeout=RELOAD_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise ReloadError(f"--reload-command {shown!r}: {files.reload_command[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise ReloadError(f"--reload-command {shown!r}: no answer within {RELOAD_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise ReloadError(f"--reload-command {shown!r}: {_reason(exc)}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ReloadError(f"--reload-command {shown!r} exited {done.returncode}" + (f": {said[-1][:200]}" if said else ""))
    return f"broker reloaded ({shown})"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
