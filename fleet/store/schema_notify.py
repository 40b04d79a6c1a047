"""Fleet store schema step: the notification tables (filled in by the notifications work)."""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = ()
