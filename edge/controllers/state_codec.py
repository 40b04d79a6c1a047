"""JSON-ready forms of flat controller states (numbers, strings, booleans, None and tuples of them).

A saved state carries the version of its layout under STATE_VERSION_KEY (the agent adds it); one that
is not a JSON object, holds a value of the wrong type or a version this agent cannot read raises
StateError, and the agent starts that controller afresh.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, Generic, TypeVar

from drivers.errors import HameauError

T = TypeVar("T")
#: The key under which a saved state holds the version of its layout.
STATE_VERSION_KEY = "state_version"
#: The layout version of a controller that declares none (`state_version` class attribute).
DEFAULT_STATE_VERSION = 1


class StateError(HameauError, ValueError):
    """A saved controller state that cannot be read: says why."""


def _checker(hint: Any) -> Any:
    """A test of one JSON value against a field's type (None: any value is taken as is)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        checks = [_checker(a) for a in args if a is not type(None)]
        if any(c is None for c in checks):
            return None
        return lambda v: v is None or any(c(v) for c in checks)
    if origin is tuple:
        inner = _checker(args[0]) if args and (len(args) == 1 or args[1] is Ellipsis) else None
        return lambda v: isinstance(v, (list, tuple)) and (inner is None or all(inner(x) for x in v))
    if hint is bool:
        return lambda v: type(v) is bool
    if hint is int:
        return lambda v: type(v) is int
    if hint is float:
        return lambda v: type(v) in (int, float) and math.isfinite(v)
    if hint is str:
        return lambda v: type(v) is str
    return None


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
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError):  # annotations naming what this module cannot see: values unchecked
            hints = {}
        self._checks = {n: c for n in self._names if (c := _checker(hints.get(n))) is not None}
        self._floats |= {n for n in self._names if hints.get(n) is float or float in typing.get_args(hints.get(n))}

    def to_dict(self, state: T) -> dict[str, Any]:
        """A state as a dict of JSON values (tuples become lists)."""
        out = dict(zip(self._names, self._get(state), strict=False))  # same length by construction
        for name in self._tuples:
            out[name] = list(out[name])
        return out

    def from_dict(self, data: Mapping[str, Any]) -> T:
        """Inverse of to_dict; unknown keys are ignored and missing ones take their defaults.

        Raises StateError for data that is not a mapping or a value of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise StateError(f"a saved state is a JSON object, not {type(data).__name__}")
        values: dict[str, Any] = {}
        for name in self._names:
            if name not in data:
                continue
            value = data[name]
            if name in self._tuples and not isinstance(value, (list, tuple)):
                values[name] = getattr(self._defaults, name)  # a damaged list takes its default
                continue
            check = self._checks.get(name)
            if check is not None and not check(value):
                raise StateError(f"{name}: {value!r} is not a {self.cls.__name__}.{name}")
            if name in self._tuples:
                value = tuple(value)
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


def versioned_json(text: str, version: int) -> str:
    """A state's JSON object text with its layout version as the first key."""
    body = text.strip()
    if not body.startswith("{"):
        raise StateError("a state is saved as a JSON object")
    rest = body[1:].lstrip()
    joiner = "" if rest.startswith("}") else ","
    return f'{{"{STATE_VERSION_KEY}":{int(version)}{joiner}{rest}'


def unversioned(data: Any, version: int, oldest: int | None = None) -> dict[str, Any]:
    """A saved state without its version key, checked readable by a controller reading layouts oldest..version.

    A state saved before versions were written has none: it is of layout 1. Raises
    StateError for anything but a JSON object, or a version outside oldest..version.
    """
    if not isinstance(data, Mapping):
        raise StateError(f"not a JSON object but {type(data).__name__}")
    oldest = version if oldest is None else oldest
    saved = data.get(STATE_VERSION_KEY, DEFAULT_STATE_VERSION)
    if type(saved) is not int:
        raise StateError(f"its version {saved!r} is not a number")
    if not oldest <= saved <= version:
        readable = f"{oldest}" if oldest == version else f"{oldest} to {version}"
        raise StateError(f"its layout version {saved} is not one this agent reads ({readable})")
    return {k: v for k, v in data.items() if k != STATE_VERSION_KEY}
