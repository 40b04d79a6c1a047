"""JSON-ready forms of flat controller states (numbers, strings, booleans, None and tuples of them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class StateCodec(Generic[T]):
    """state_to_dict and state_from_dict for one flat state class, with its field list worked out once."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        self._names = tuple(f.name for f in fields)
        self._get = attrgetter(*self._names) if len(self._names) > 1 else lambda s: (getattr(s, self._names[0]),)
        self._defaults: T = cls()
        defaults = self._get(self._defaults)
        self._tuples = tuple(n for n, d in zip(self._names, defaults, strict=True) if isinstance(d, tuple))
        self._floats = frozenset(n for n, d in zip(self._names, defaults, strict=True) if isinstance(d, float))

    def to_dict(self, state: T) -> dict[str, Any]:
        """A state as a dict of JSON values (tuples become lists)."""
        out = dict(zip(self._names, self._get(state), strict=False))  # same length by construction
        for name in self._tuples:
            out[name] = list(out[name])
        return out

    def from_dict(self, data: Mapping[str, Any]) -> T:
        """Inverse of to_dict; unknown keys are ignored and missing ones take their defaults."""
        values: dict[str, Any] = {}
        for name in self._names:
            if name not in data:
                continue
            value = data[name]
            if name in self._tuples:
                value = tuple(value) if isinstance(value, (list, tuple)) else getattr(self._defaults, name)
            elif name in self._floats and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            values[name] = value
        return self.cls(**values)


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
    return StateCodec(cls).from_dict(data)
