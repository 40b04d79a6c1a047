"""What the registry holds (devices, groups, users) and the checks of every value a user can type."""

from __future__ import annotations

import math
import re
import zoneinfo
from dataclasses import dataclass

from fleet.errors import FleetConfigError
from fleet.protocol_codec import DEVICE_PATTERN

#: Group names: the device-id alphabet (safe in file names, URLs and config fragment scopes).
GROUP_PATTERN = DEVICE_PATTERN
#: User names: lower case, digits, '.', '_' and '-', 1-64 characters.
USER_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ROLES = ("viewer", "technician", "admin")
MAX_SITE_CHARS = 200
MAX_DESCRIPTION_CHARS = 500
MAX_PRIORITY = 1_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RegistryError(FleetConfigError):
    """A device, group or user value the registry refuses, or an operation it cannot do; says which and why."""


@dataclass(frozen=True, slots=True)
class Device:
    """One registered box: where it is, when it was added, whether (and when) it was revoked."""

    device: str
    site: str
    latitude: float | None
    longitude: float | None
    timezone: str | None
    added_at: float
    revoked_at: float | None
    groups: tuple[str, ...] = ()
    #: The commune the box serves (None: the service's own box).
    commune: str | None = None

    @property
    def revoked(self) -> bool:
        """Whether the box was cut off."""
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of devices (a commune, a kind of building); `priority` orders config merges."""

    name: str
    description: str
    priority: int
    created_at: float
    members: tuple[str, ...] = ()
    #: The commune the group belongs to (None: the service's; it may hold boxes of every commune).
    commune: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A person acting on the fleet, with a role (viewer, technician, admin)."""

    name: str
    role: str
    email: str | None
    created_at: float
    disabled_at: float | None
    #: The commune the user works for (None: the intercommunal service, who sees every commune).
    commune: str | None = None


def check_device_id(value: str, option: str = "ID") -> str:
    """A device id as the wire protocol requires it (1-63 of a-z 0-9 _ -, starting with a letter or digit)."""
    if not isinstance(value, str) or DEVICE_PATTERN.fullmatch(value) is None:
        raise RegistryError(
            f"{option} {str(value)[:80]!r}: a device id is 1-63 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def check_text(value: str, option: str, max_chars: int, *, required: bool = True) -> str:
    """A one-line text: no control characters, not blank when required, at most `max_chars`."""
    if not isinstance(value, str):
        raise RegistryError(f"{option}: expected text")
    text = value.strip()
    if required and not text:
        raise RegistryError(f"{option}: must not be empty")
    if _CONTROL.search(text):
        raise RegistryError(f"{option} {text[:80]!r}: has a control character (one line of text)")
    if len(text) > max_chars:
        raise RegistryError(f"{option}: {len(text)} characters, at most {max_chars}")
    return text


def parse_coordinate(value: str | float | None, option: str, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) in degrees, finite and within ±limit; None stays None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{option} {value!r}: not a number of degrees") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise RegistryError(f"{option} {value!r}: must be between -{limit:g} and {limit:g} degrees")
    return number


def check_timezone(value: str | None, option: str = "--timezone") -> str | None:
    """An IANA time zone name the box can load (as its config check does), or None."""
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RegistryError(f"{option} {value[:80]!r}: unknown time zone (use an IANA name such as 'Europe/Paris')")\
            from None
    return value


def check_group_name(value: str, option: str = "NAME") -> str:
    """A group name: the device-id alphabet."""
    if not isinstance(value, str) or GROUP_PATTERN.fullmatch(value) is None:
        raise RegistryError(
            f"{option} {str(value)[:80]!r}: a group name is 1-63 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def parse_priority(value: str | int, option: str = "--priority") -> int:
    """A group's merge priority: an integer within ±1,000,000."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{option} {value!r}: not a whole number") from None
    if not -MAX_PRIORITY <= number <= MAX_PRIORITY:
        raise RegistryError(f"{option} {value!r}: must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
    return number


def check_user_name(value: str, option: str = "NAME") -> str:
    """A user name: 1-64 of a-z 0-9 . _ -, starting with a letter or digit."""
    if not isinstance(value, str) or USER_PATTERN.fullmatch(value) is None:
        raise RegistryError(
            f"{option} {str(value)[:80]!r}: a user name is 1-64 lower-case letters, digits, '.', '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def check_role(value: str, option: str = "--role") -> str:
    """One of viewer, technician, admin."""
    if value not in ROLES:
        raise RegistryError(f"{option} {str(value)[:80]!r}: must be one of {', '.join(ROLES)}")
    return value


def check_email(value: str | None, option: str = "--email") -> str | None:
    """A plausible e-mail address (something@domain.tld, no spaces), or None."""
    if value is None:
        return None
    if len(value) > 254 or EMAIL_PATTERN.fullmatch(value) is None:
        raise RegistryError(f"{option} {value[:80]!r}: not an e-mail address like name@example.org")
    return value
