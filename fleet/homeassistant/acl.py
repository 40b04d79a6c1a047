"""The broker's ACL lines Home Assistant discovery needs, when it is enabled.

The fleet's own users publish discovery configs, states and availability and read the command topics (through
their shared subscription). Home Assistant logs in as its own broker user (`broker_user`, added to the password
file with mosquitto_passwd; a dot in its name keeps it out of the device ids), which may read the discovery and
state topics, write the command topics and its own birth/last-will `<discovery_prefix>/status`, nothing else:
it never sees the boxes' topics, so every command it sends goes through the fleet's checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.homeassistant.entities import Topics
from fleet.homeassistant.settings import HomeAssistantSettings


@dataclass(frozen=True, slots=True)
class AclExtras:
    """Rules added to each fleet user's ACL block, and extra user blocks (user -> rules)."""

    fleet_rules: tuple[str, ...] = ()
    users: tuple[tuple[str, tuple[str, ...]], ...] = ()


def acl_extras(settings: HomeAssistantSettings) -> AclExtras:
    """The ACL additions for `settings` (none when Home Assistant discovery is not enabled)."""
    if not settings.enabled:
        return AclExtras()
    dp, sp = settings.discovery_prefix, settings.state_prefix
    commands = Topics(dp, sp).command_filter
    fleet = (f"topic write {dp}/#", f"topic write {sp}/#", f"topic read {commands}")
    ha = (f"topic read {dp}/#", f"topic write {dp}/status", f"topic read {sp}/#", f"topic write {commands}")
    return AclExtras(fleet, ((settings.broker_user, ha),))
