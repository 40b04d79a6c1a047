"""Home Assistant MQTT discovery, opt-in (`[homeassistant] enabled = true`): each box's sensors and relays as
Home Assistant entities, their states and availability, and Home Assistant's ON/OFF queued as box commands."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.homeassistant.commands import CommandRoute
from fleet.homeassistant.job import job
from fleet.homeassistant.observer import HomeAssistantObserver
from fleet.homeassistant.settings import HomeAssistantSettings, parse_homeassistant
from fleet.serve.jobs import Job

__all__ = [
    "CommandRoute", "HomeAssistantObserver", "HomeAssistantSettings", "ha_jobs", "ha_observers", "ha_routes",
    "parse_homeassistant",
]


def ha_observers(settings: HomeAssistantSettings) -> tuple[HomeAssistantObserver, ...]:
    """The ingest observer when enabled, else none."""
    return (HomeAssistantObserver(),) if settings.enabled else ()


def ha_jobs(settings: HomeAssistantSettings) -> Sequence[Job]:
    """Serve's publishing job when enabled, else none."""
    return (job(settings),) if settings.enabled else ()


def ha_routes(settings: HomeAssistantSettings) -> tuple[CommandRoute, ...]:
    """Serve's route for Home Assistant's commands when enabled, else none."""
    return (CommandRoute(settings),) if settings.enabled else ()
