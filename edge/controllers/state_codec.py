"""JSON-ready forms of flat controller states (numbers, strings, booleans, None and tuples of them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def state_to_dict(state: Any) -> dict[str, Any]:
    """A flat dataclass state as a dict of JSON values (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(state):
        value = getattr(state, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def state_from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Inverse of state_to_dict; unknown keys are ignored and missing ones take their defaults.

    A state written by an older or newer agent version thus still loads.
    """
    defaults = cls()  # type: ignore[call-arg]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            value = tuple(value) if isinstance(value, (list, tuple)) else default
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[f.name] = value
    return dataclasses.replace(defaults, **values)
