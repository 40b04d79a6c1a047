"""When a technician's order will really take effect: a relay's minimum on or off time may hold it back."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.config.box import BoxConfig
from edge.controllers.kinds import KINDS
from edge.storage.store import Store


def held_until(store: Store, config: BoxConfig, relay: str, on: bool, now: datetime) -> datetime | None:
    """When `relay` may switch to `on` under its controller's minimum times (None: at once).

    Read from the controller's last saved state (its relay's state and when it changed) and its config.
    """
    for kind in KINDS:
        for cfg in getattr(config, kind.section):
            if relay not in (getattr(cfg, name, None) for name in kind.relay_fields):
                continue
            state = store.load_state(f"controller:{cfg.id}") or {}
            current, changed_at_s = state.get("on"), state.get("changed_at_s")
            if current is None or changed_at_s is None or bool(current) == on:
                return None
            minimum_s = float(getattr(cfg, "min_on_s" if current else "min_off_s", 0.0))
            ready_s = float(changed_at_s) + minimum_s
            return datetime.fromtimestamp(ready_s, UTC) if ready_s > now.timestamp() else None
    return None
