"""One table of the fleet's settings file, read key by key: each error names the file, the table, the key, why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

from fleet.errors import FleetConfigError


class SettingsTable:
    """The keys of `[name]` in the settings file `where`."""

    def __init__(self, raw: Mapping[str, Any], name: str, where: str) -> None:
        self.raw, self.name, self.where = raw, name, where

    def fail(self, key: str, reason: str) -> FleetConfigError:
        """The error for `key`, naming the file and the table."""
        return FleetConfigError(f"{self.where}: [{self.name}] {key}: {reason}")

    def number(self, key: str, default: float, lo: float, hi: float, *, integer: bool = False) -> Any:
        """A finite number (an integer when asked) within lo..hi."""
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if not math.isfinite(value) or not lo <= value <= hi:
            raise self.fail(key, f"must be within {lo:g}..{hi:g}, got {value!r}")
        return value

    def clock(self, key: str, default: time) -> time:
        """A local time "HH:MM"."""
        value = self.raw.get(key, default.strftime("%H:%M"))
        try:
            hours, minutes = str(value).split(":")
            if not isinstance(value, str) or len(hours) != 2 or len(minutes) != 2:
                raise ValueError
            return time(int(hours), int(minutes))
        except ValueError:
            raise self.fail(key, f"must be a local time \"HH:MM\", got {value!r}") from None

    def flag(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def path(self, key: str, *, must_exist: bool = False) -> Path | None:
        """A file path (None when the key is absent); with `must_exist`, a file that is there."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a file path, got {value!r}")
        path = Path(value).expanduser()
        if must_exist and not path.is_file():
            raise self.fail(key, f"{path}: no such file")
        return path

    def only(self, keys: tuple[str, ...]) -> None:
        """Refuse a key not in `keys`."""
        unknown = sorted(set(self.raw) - set(keys))
        if unknown:
            raise self.fail(unknown[0], f"unknown key (known: {', '.join(keys)})")
