"""Fleet store schema step: the alarms tables (filled in by the alarms work)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = ()
