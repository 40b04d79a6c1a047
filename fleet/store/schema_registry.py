"""Fleet store schema step: the registry tables (filled in by the registry work)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = ()
