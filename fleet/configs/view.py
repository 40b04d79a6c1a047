"""A device's config as the fleet sees it: desired (version, content, fragments), published, and what the box
reported (applied, refused with its reasons, rolled back): for `config show` and `devices show`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fleet.store.db import Database

_COLUMNS = (
    "desired_version", "desired_body", "desired_at", "desired_by", "inputs", "desired_error",
    "published_version", "published_at", "reported_version", "reported_state", "reported_reason", "reported_at",
)


def _sync(row: dict[str, Any]) -> str:
    desired, reported, state = row["desired_version"], row["reported_version"], row["reported_state"]
    if not desired:
        return "no desired config"
    if row["desired_body"] is None:
        return "no desired config (cleared)"
    if reported == desired:
        return {"applied": "in sync", "refused": "refused by the box", "rolled_back": "rolled back by the box"}.get(
            str(state), str(state))
    if row["published_version"] != desired:
        return "waiting to be published"
    return "waiting for the box"


def config_state(db: Database, device: str) -> dict[str, Any] | None:
    """Desired against reported for one device, as plain data (None when the fleet holds no config row)."""
    found = db.one(f"SELECT {', '.join(_COLUMNS)} FROM device_configs WHERE device = ?", (device,))
    if found is None:
        return None
    row = dict(zip(_COLUMNS, found, strict=True))
    box_version = db.scalar("SELECT config_version FROM devices WHERE id = ?", (device,))
    return {
        "device": device,
        "state": _sync(row),
        "desired": {
            "version": row["desired_version"] or None,
            "config": None if row["desired_body"] is None else json.loads(row["desired_body"]),
            "at": row["desired_at"],
            "by": row["desired_by"],
            "fragments": [part for part in str(row["inputs"]).split(",") if part],
            "error": row["desired_error"],
        },
        "published": {"version": row["published_version"], "at": row["published_at"]},
        "reported": {
            "version": row["reported_version"],
            "state": row["reported_state"],
            "reason": row["reported_reason"] or None,
            "at": row["reported_at"],
        },
        "box_config_version": box_version,
    }


def when(at: float | None) -> str:
    """An epoch time as `2026-11-28 13:50:02 UTC` ('-' when None)."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(float(at), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(state: dict[str, Any], *, content: bool = True) -> list[str]:
    """`config show`'s lines for one device."""
    desired, published, reported = state["desired"], state["published"], state["reported"]
    lines = [f"{state['device']}: {state['state']}"]
    if desired["version"]:
        made = "cleared (no fragment applies)" if desired["config"] is None else "from " + (
            ", ".join(desired["fragments"]) or "-")
        lines.append(f"  desired    v{desired['version']} {made}, set {when(desired['at'])} by {desired['by']}")
    if desired["error"]:
        lines.append(f"  not merged {desired['error']}")
    if published["version"]:
        lines.append(f"  published  v{published['version']} at {when(published['at'])}")
    if reported["version"] is not None:
        reason = f": {reported['reason']}" if reported["reason"] else ""
        lines.append(f"  reported   v{reported['version']} {reported['state']} at {when(reported['at'])}{reason}")
    if state["box_config_version"] is not None:
        lines.append(f"  box runs   v{state['box_config_version']} (its last status)")
    if content and desired["config"] is not None:
        lines.append("  content:")
        lines.extend("    " + line for line in json.dumps(desired["config"], indent=2, sort_keys=True).splitlines())
    return lines
