"""Fleet store schema step: the configs tables (filled in by the configs work)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = ()
