"""Wire protocol v1: typed field getters that name the key path of whatever they refuse (stdlib only)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from fleet.protocol_codec import VERSION, fail, is_device

#: Largest integer a field may hold (SQLite's INTEGER).
MAX_INT = 2**63 - 1
#: Longest ordinary string, and the longest free text (reasons, details).
MAX_STR = 1024
MAX_TEXT = 4096
#: Boot ids: 1..64 characters.
MAX_BOOT = 64


def at(path: str, key: str) -> str:
    """The key path of `key` inside `path`."""
    return f"{path}.{key}" if path else key


def only_keys(message: Mapping[str, Any], allowed: Collection[str], path: str = "") -> None:
    """Refuse any key of `message` outside `allowed`."""
    unknown = sorted(str(k) for k in message if k not in allowed)
    if unknown:
        fail(at(path, unknown[0][:80]), "unknown key")


def _field(message: Mapping[str, Any], key: str, path: str) -> Any:
    try:
        return message[key]
    except KeyError:
        fail(at(path, key), "missing")


def get_int(message: Mapping[str, Any], key: str, path: str = "", minimum: int = 0) -> int:
    """An integer >= minimum (a bool is not an integer)."""
    value = _field(message, key, path)
    if type(value) is not int or not minimum <= value <= MAX_INT:
        fail(at(path, key), f"must be an integer >= {minimum}")
    return value


def get_float(message: Mapping[str, Any], key: str, path: str = "", minimum: float | None = None) -> float:
    """A finite number (integers accepted, bools not), as a float, >= minimum when given."""
    value = _field(message, key, path)
    return check_float(value, at(path, key), minimum)


def check_float(value: object, path: str, minimum: float | None = None) -> float:
    """`value` as a finite float (>= minimum when given), or a ProtocolError naming `path`."""
    if type(value) is not float and type(value) is not int:
        fail(path, "must be a number")
    try:
        number = float(value)
    except OverflowError:
        fail(path, "must be a finite number")
    if not math.isfinite(number):
        fail(path, "must be a finite number")
    if minimum is not None and number < minimum:
        fail(path, f"must be >= {minimum:g}")
    return number


def check_str(value: object, path: str, min_len: int = 1, max_len: int = MAX_STR) -> str:
    """`value` as a string of min_len..max_len characters, without NUL."""
    if not isinstance(value, str):
        fail(path, "must be a string")
    if not min_len <= len(value) <= max_len:
        fail(path, f"must be {min_len}..{max_len} characters long")
    if "\x00" in value:
        fail(path, "must not contain NUL")
    return value


def get_str(
    message: Mapping[str, Any], key: str, path: str = "", min_len: int = 1, max_len: int = MAX_STR
) -> str:
    """A string of min_len..max_len characters (ids: non-empty)."""
    return check_str(_field(message, key, path), at(path, key), min_len, max_len)


def get_text(message: Mapping[str, Any], key: str, path: str = "") -> str:
    """Free text (reasons, details): 0..MAX_TEXT characters."""
    return get_str(message, key, path, 0, MAX_TEXT)


def get_match(message: Mapping[str, Any], key: str, pattern: re.Pattern[str], path: str = "") -> str:
    """A string matching `pattern` in full."""
    value = _field(message, key, path)
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        fail(at(path, key), f"must match {pattern.pattern}")
    return value


def get_bool(message: Mapping[str, Any], key: str, path: str = "") -> bool:
    """true or false."""
    value = _field(message, key, path)
    if not isinstance(value, bool):
        fail(at(path, key), "must be true or false")
    return value


def get_choice(message: Mapping[str, Any], key: str, choices: Collection[str], path: str = "") -> str:
    """One of `choices`."""
    value = _field(message, key, path)
    if not isinstance(value, str) or value not in choices:
        fail(at(path, key), f"must be one of {', '.join(sorted(choices))}")
    return value


def get_object(message: Mapping[str, Any], key: str, path: str = "") -> dict[str, Any]:
    """A JSON object."""
    value = _field(message, key, path)
    if not isinstance(value, dict):
        fail(at(path, key), "must be an object")
    return value


def get_list(message: Mapping[str, Any], key: str, path: str = "") -> list[Any]:
    """A JSON array."""
    value = _field(message, key, path)
    if not isinstance(value, list):
        fail(at(path, key), "must be an array")
    return value


def check_header(device: str, message: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Check `v`, that the payload's device is the topic's `device`, then refuse keys outside `allowed`."""
    version = message.get("v")
    if type(version) is not int or version != VERSION:
        fail("v", f"must be {VERSION}")
    if not is_device(device):
        fail("topic", "device id is not valid")
    claimed = _field(message, "device", "")
    if not isinstance(claimed, str):
        fail("device", "must be a string")
    if claimed != device:
        fail("device", f"{str(claimed)[:80]!r} does not match the topic's device {device!r}")
    only_keys(message, allowed)
