"""Typed access to raw TOML tables that collects every problem with its key path."""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from drivers.errors import HameauError

T = TypeVar("T")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CLOCK_PATTERN = re.compile(r"^(\d{2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60
DURATION_PATTERN = re.compile(r"(?:\d+(?:\.\d+)?[dhms])+")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
DURATION_UNIT_S: dict[str, float] = {"d": 86_400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
MIN_DURATION_S = 0.001
MAX_DURATION_S = 100 * 365.25 * 86_400
REQUIRED: Any = object()

_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean (true or false)",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a table",
    list: "an array",
}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config file: where and why."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class ConfigError(HameauError, ValueError):
    """A config file is unusable; `problems` lists every reason found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Problems:
    """Collects problems for one file while it is being read."""

    file: str
    items: list[ConfigProblem] = field(default_factory=list)

    def add(self, key: str, reason: str) -> None:
        """Record one problem at a key path."""
        self.items.append(ConfigProblem(self.file, key or "(top level)", reason))

    def raise_if_any(self) -> None:
        """Raise ConfigError listing every problem, if there is one."""
        if self.items:
            raise ConfigError(self.items)


class Invalid(Exception):
    """Raised by value checks; the reader turns it into a problem at the right key."""


class Table:
    """One TOML table being read: typed getters, then `done()` flags unknown keys."""

    def __init__(self, raw: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.raw = raw
        self.path = path
        self.problems = problems
        self._seen: set[str] = set()
        self.ok = True

    def key(self, name: str) -> str:
        """The full key path of a field of this table."""
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, reason: str) -> None:
        """Record a problem at a field of this table."""
        self.ok = False
        self.problems.add(self.key(name), reason)

    def has(self, name: str) -> bool:
        """Whether the field is present."""
        return name in self.raw

    def get(
        self,
        name: str,
        kind: type[T],
        default: Any = REQUIRED,
        check: Callable[[T], None] | None = None,
    ) -> T:
        """Read a field of the given type; on a problem, record it and return the default."""
        self._seen.add(name)
        if name not in self.raw:
            if default is REQUIRED:
                self.fail(name, f"missing; expected {_TYPE_NAMES.get(kind, kind.__name__)}")
                return _placeholder(kind)
            return default
        value = self.raw[name]
        if not _is_kind(value, kind):
            self.fail(name, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(value)}")
            return default if default is not REQUIRED else _placeholder(kind)
        if kind is float:
            value = _finite(value)
            if value is None:
                self.fail(name, f"expected a finite number, got {self.raw[name]!r}")
                return default if default is not REQUIRED else _placeholder(kind)
        if check is not None:
            try:
                check(value)
            except Invalid as exc:
                self.fail(name, str(exc))
                return default if default is not REQUIRED else value
        return value

    def optional(self, name: str, kind: type[T], check: Callable[[T], None] | None = None) -> T | None:
        """Read a field that may be absent (None then)."""
        return self.get(name, kind, None, check)

    def table(self, name: str, required: bool = False) -> Table | None:
        """A sub-table, or None when absent (a problem when required)."""
        self._seen.add(name)
        value = self.raw.get(name)
        if value is None:
            if required:
                self.fail(name, "missing table")
            return None
        if not isinstance(value, dict):
            self.fail(name, f"expected a table, got {_describe(value)}")
            return None
        return Table(value, self.key(name), self.problems)

    def tables(self, name: str) -> Iterator[tuple[int, Table]]:
        """The items of an array of tables (`[[name]]`), with their index."""
        self._seen.add(name)
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            self.fail(name, f"expected an array of tables ([[{name}]]), got {_describe(value)}")
            return
        for index, item in enumerate(value):
            item_path = f"{self.key(name)}[{index}]"
            if not isinstance(item, dict):
                self.ok = False
                self.problems.add(item_path, f"expected a table, got {_describe(item)}")
                continue
            yield index, Table(item, item_path, self.problems)

    def skip_rest(self) -> None:
        """Treat every key as read (when the table's kind is unknown, its keys cannot be judged)."""
        self._seen.update(self.raw)

    def done(self) -> None:
        """Record a problem for every key that was never read (typos, unsupported options)."""
        for name in self.raw:
            if name in self._seen:
                continue
            close = difflib.get_close_matches(name, sorted(self._seen), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.fail(name, f"unknown key{hint}")


def one_of(*allowed: object) -> Callable[[object], None]:
    """A check that the value is one of `allowed`."""

    def check(value: object) -> None:
        if value not in allowed:
            listed = ", ".join(repr(a) for a in allowed)
            raise Invalid(f"{value!r} is not one of {listed}")

    return check


def in_range(
    low: float | None, high: float | None, unit: str = "", *, hexadecimal: bool = False
) -> Callable[[float], None]:
    """A check that low <= value <= high (either bound may be None)."""

    def fmt(value: float) -> str:
        if hexadecimal and isinstance(value, int):
            return f"0x{value:02X}"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def check(value: float) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "-inf" if low is None else fmt(low)
            hi = "+inf" if high is None else fmt(high)
            raise Invalid(f"{fmt(value)}{unit} is out of range [{lo}, {hi}]{unit}")

    return check


def positive(value: float) -> None:
    """A check that the value is strictly positive."""
    if value <= 0:
        raise Invalid(f"must be > 0, got {value:g}")


def _finite(value: float) -> float | None:
    """The value as a float, or None for NaN, an infinity or an integer too large for a float."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _is_kind(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _placeholder(kind: type) -> Any:
    return {bool: False, int: 0, float: 0.0, str: "", dict: {}, list: []}.get(kind)


def _describe(value: object) -> str:
    for kind, name in _TYPE_NAMES.items():
        if _is_kind(value, kind):
            return f"{name.split(' (')[0]} {value!r}" if kind not in (dict, list) else name
    return type(value).__name__


def check_id(value: str) -> None:
    """A check that an id is safe in MQTT topics and file names."""
    if not ID_PATTERN.match(value):
        raise Invalid(f"{value!r} must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")


class _NotAFile(Exception):
    """The path names something that is not a regular file."""


def read_toml_file(path: Path, what: str) -> tuple[dict[str, Any], Problems]:
    """Read and parse a TOML file; a missing, unreadable or malformed file raises ConfigError."""
    problems = Problems(str(path))
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # a FIFO would wait for a writer
            raise _NotAFile(f"is not a regular file (a device, FIFO or socket), not a {what}")
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark some editors write is not TOML
    except FileNotFoundError:
        problems.add("(file)", "no such file")
    except IsADirectoryError:
        problems.add("(file)", f"is a directory, not a {what}")
    except NotADirectoryError:
        problems.add("(file)", f"no such file ({path.parent} is not a directory)")
    except _NotAFile as exc:
        problems.add("(file)", str(exc))
    except UnicodeDecodeError as exc:
        problems.add("(file)", f"is not UTF-8 text (byte {exc.start}: {exc.object[exc.start]:#04x}); save it as UTF-8")
    except OSError as exc:
        problems.add("(file)", f"cannot be read: {exc.strerror or exc}")
    problems.raise_if_any()
    return parse_toml(text, problems), problems


def parse_toml(text: str, problems: Problems) -> dict[str, Any]:
    """Parse TOML text; a syntax error raises ConfigError with its line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add("(syntax)", f"not valid TOML: {exc}")
        problems.raise_if_any()
        raise AssertionError("unreachable") from exc


def parse_duration(text: str) -> timedelta:
    """A duration such as "90m", "3h", "5d", "1h30m" or "1.5h"; raises Invalid when malformed."""
    compact = text.replace(" ", "").lower()
    if not DURATION_PATTERN.fullmatch(compact):
        raise Invalid(f"{text!r} is not a duration like '90m', '3h', '5d' or '1h30m'")
    parts = DURATION_PART.findall(compact)
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units):
        raise Invalid(f"{text!r} gives a unit twice: write e.g. 1h30m")
    seconds = sum(float(n) * DURATION_UNIT_S[unit] for n, unit in parts)
    if seconds < MIN_DURATION_S:
        raise Invalid(f"{text!r} is shorter than a millisecond: give a duration longer than zero")
    if seconds > MAX_DURATION_S:
        raise Invalid(f"{text!r} is longer than the 100 years any duration here may last")
    return timedelta(seconds=seconds)


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """Minutes since midnight of a local time 'HH:MM' ('24:00' too when `allow_24`)."""
    match = CLOCK_PATTERN.match(text)
    if match is not None:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if allow_24 and (hours, minutes) == (24, 0):
            return MINUTES_PER_DAY
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
    raise Invalid(f"{text!r} is not a time of day 'HH:MM' (00:00 to 23:59)")
