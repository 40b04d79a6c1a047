"""The `[homeassistant]` table of the fleet's settings: opt-in MQTT discovery for a commune's Home Assistant."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.broker_files import USER_PATTERN
from fleet.protocol import MAX_DURATION_S, PREFIX
from fleet.rollups.settings import _Table

KEYS = (
    "enabled", "discovery_prefix", "state_prefix", "user", "command_ttl_s", "override_s", "broker_user",
    "manufacturer", "interval_s",
)
#: A topic prefix: MQTT topic levels of [A-Za-z0-9_-], no wildcard, no leading or trailing '/'.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")


@dataclass(frozen=True, slots=True)
class HomeAssistantSettings:
    """Whether and where the fleet publishes Home Assistant discovery and state, and how HA's commands go."""

    enabled: bool = False
    #: Home Assistant's discovery prefix (its MQTT integration's default).
    discovery_prefix: str = "homeassistant"
    #: Root of the state, availability and command topics the fleet publishes and reads.
    state_prefix: str = "hameau/ha"
    #: The fleet user (technician or admin) in whose name Home Assistant's commands are queued.
    user: str = ""
    #: A command from Home Assistant is refused by the box once this old (the CLI's default expiry).
    command_ttl_s: float = 600.0
    #: How long an ON/OFF from Home Assistant holds the relay before the box's controller takes it back.
    override_s: float = 3600.0
    #: The broker user Home Assistant logs in as (ACL: reads discovery and state, writes command topics).
    broker_user: str = "homeassistant.hameau"
    #: What Home Assistant's device page says made the box.
    manufacturer: str = "Hameau"
    #: How often serve publishes discovery and state changes.
    interval_s: float = 2.0


def parse_homeassistant(raw: Mapping[str, Any], where: str) -> HomeAssistantSettings:
    """HomeAssistantSettings from a `[homeassistant]` table; FleetConfigError names file, table, key, reason."""
    t = _Table(raw, "homeassistant", where)
    t.only(KEYS)
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise t.fail("enabled", f"must be true or false, got {enabled!r}")

    def text(key: str, default: str, pattern: re.Pattern[str], what: str) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise t.fail(key, f"must be {what}, got {value!r}")
        return value

    topic_words = "a topic prefix of [A-Za-z0-9_-] levels joined by '/' (no wildcard, no leading '/')"
    discovery = text("discovery_prefix", "homeassistant", PREFIX_PATTERN, topic_words)
    state = text("state_prefix", "hameau/ha", PREFIX_PATTERN, topic_words)
    for key, value in (("discovery_prefix", discovery), ("state_prefix", state)):
        if value == PREFIX or value.startswith(PREFIX + "/"):
            raise t.fail(key, f"must not be under the boxes' own topics {PREFIX}/")
    if discovery == state or state.startswith(discovery + "/") or discovery.startswith(state + "/"):
        raise t.fail("state_prefix", f"must not overlap discovery_prefix {discovery!r}")
    user = raw.get("user", "")
    if not isinstance(user, str) or (user == "" and "user" in raw):
        raise t.fail("user", f"must be a fleet user's name, got {user!r}")
    if enabled and not user:
        raise t.fail("user", "missing: name the fleet user (technician or admin) Home Assistant's commands act as")
    broker_user = text("broker_user", "homeassistant.hameau", USER_PATTERN, "an MQTT user name")
    if "." not in broker_user:
        raise t.fail("broker_user", f"{broker_user!r} has no dot: a device id could equal it")
    manufacturer = raw.get("manufacturer", "Hameau")
    if not isinstance(manufacturer, str) or not manufacturer.strip() or len(manufacturer) > 100:
        raise t.fail("manufacturer", f"must be a short non-empty text, got {manufacturer!r}")
    return HomeAssistantSettings(
        enabled=enabled, discovery_prefix=discovery, state_prefix=state, user=user,
        command_ttl_s=float(t.number("command_ttl_s", 600.0, 10, 7 * 86400)),
        override_s=float(t.number("override_s", 3600.0, 60, MAX_DURATION_S)),
        broker_user=broker_user, manufacturer=manufacturer,
        interval_s=float(t.number("interval_s", 2.0, 0.5, 3600)),
    )
