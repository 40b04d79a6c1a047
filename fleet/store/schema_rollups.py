"""Fleet store schema step: the rollups tables (filled in by the rollups work)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = ()
