"""Desired box configs from fragments: parse a TOML fragment, merge group and device fragments, check the result
with the box's own loader (edge.config.loader.build_config) before anything is stored or published.

Merge rule: fragments apply in order (the device's groups by ascending priority, ties by group name, then the
device's own fragment); a table present in both is merged key by key, recursively; any other value, arrays and
arrays of tables ([[sensors]], [[leak]], ...) included, is replaced whole by the later fragment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from edge.config.loader import build_config
from edge.config.reader import ConfigError
from fleet.errors import FleetError
from fleet.protocol import DEVICE_PATTERN, LOCAL_TABLES

#: Where the desired config of a device says it comes from in the loader's messages.
SOURCE = "fleet config for {device} ({inputs})"


class FragmentError(FleetError):
    """A fragment or a merged desired config that the box would refuse; `problems` lists each reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _json_safe(value: Any, path: str, problems: list[str], where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _json_safe(item, f"{path}.{key}" if path else str(key), problems, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _json_safe(item, f"{path}[{index}]", problems, where)
    elif isinstance(value, (dt.date, dt.time)):  # datetime is a date
        problems.append(f"{where}: {path}: a TOML date/time cannot travel to the box; write it as a string")
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{where}: {path}: {value} is not a finite number")


def parse_fragment(text: str, where: str) -> dict[str, Any]:
    """The tables of a TOML fragment; FragmentError naming `where`, the key and the reason."""
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FragmentError([f"{where}: (syntax): not valid TOML: {error}"]) from None
    problems: list[str] = []
    for key in LOCAL_TABLES:
        if key in tables:
            problems.append(f"{where}: {key}: [{key}] stays in the box's own file; the fleet never sends it")
    _json_safe(tables, "", problems, where)
    if not tables and not problems:
        problems.append(f"{where}: (file): holds no table; give the box config's tables to set")
    if problems:
        raise FragmentError(problems)
    return tables


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: tables merged key by key, every other value (arrays too) replaced whole."""
    merged = {key: _copy(value) for key, value in base.items()}
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def merge_all(fragments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every fragment merged in order (later wins)."""
    merged: dict[str, Any] = {}
    for tables in fragments:
        merged = deep_merge(merged, tables)
    return merged


def canonical(config: Mapping[str, Any]) -> str:
    """The JSON text stored and compared (sorted keys, compact)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON: two desired configs with the same content have the same hash."""
    return hashlib.sha256(canonical(config).encode("utf-8")).hexdigest()


def device_stub(
    device: str, latitude: float | None = None, longitude: float | None = None, timezone: str | None = None
) -> dict[str, Any]:
    """The [device] table the check stands in for the box's own: its id, and the registry's position and time
    zone when it has them (else 0, 0 and UTC)."""
    return {
        "id": device,
        "latitude": 0.0 if latitude is None else float(latitude),
        "longitude": 0.0 if longitude is None else float(longitude),
        "timezone": timezone or "UTC",
    }


def validate(device: str, config: Mapping[str, Any], where: str, stub: Mapping[str, Any]) -> None:
    """Check a merged desired config the way the box will (its loader, with [device] standing in for the box's
    own; the box's [link] is not known here, so its checks against [link] are left to the box's report)."""
    if not DEVICE_PATTERN.fullmatch(device):
        raise FragmentError([f"device id {device!r} must match {DEVICE_PATTERN.pattern}"])
    raw = {key: _copy(value) for key, value in config.items() if key not in LOCAL_TABLES}
    raw["device"] = dict(stub)
    try:
        build_config(raw, Path(where))
    except ConfigError as error:
        raise FragmentError([str(problem) for problem in error.problems]) from None
