"""A heating zone's one or two thermometers: which temperature frost protection and the thermostat follow.

- frost protection follows the lower usable reading: a thermometer reading high must not let the zone
  freeze (one reading low only heats more, which is safe and shows in the disagreement fault);
- the thermostat (comfort, eco, preheat) follows the main `thermometer`, placed where people are; the
  second when the main one is faulted; the lower of the two while they disagree;
- the two differing by more than disagree_margin_c for disagree_after_s is a "fault" event (code
  "disagree") naming both; a "fault_cleared" event follows once they agree again.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from edge.controllers.events import Event
from edge.controllers.heating.config import HeatingConfig


class ZoneTemperature(NamedTuple):
    """What the zone's thermometers say now, and the state of their disagreement."""

    #: The lower usable reading (None: every thermometer faulted).
    frost_c: float | None
    #: The reading the thermostat follows.
    thermostat_c: float | None
    disagree_since_s: float | None
    disagreeing: bool
    event: Event | None


def zone_temperature(
    cfg: HeatingConfig,
    values: tuple[float | None, ...],
    since_s: float | None,
    disagreeing: bool,
    now: datetime,
    now_s: float,
) -> ZoneTemperature:
    """The zone's temperatures from its thermometers' usable values (main first), and any disagreement event."""
    usable = [v for v in values if v is not None]
    if not usable:
        return ZoneTemperature(None, None, since_s, disagreeing, None)
    low = min(usable)
    if len(usable) < 2:
        return ZoneTemperature(low, usable[0], None, disagreeing, None)
    main, second = values[0], values[1]
    assert main is not None and second is not None
    names = f"{cfg.thermometers[0]} and {cfg.thermometers[1]}"
    data = {"sensors": list(cfg.thermometers), "code": "disagree", "values_c": [main, second]}
    if abs(main - second) <= cfg.disagree_margin_c:
        event = None
        if disagreeing:
            event = Event("fault_cleared", cfg.id, f"{names} agree again ({main:.1f} and {second:.1f} °C)", now, data)
        return ZoneTemperature(low, main, None, False, event)
    since_s = now_s if since_s is None else since_s
    if disagreeing or now_s - since_s < cfg.disagree_after_s:
        return ZoneTemperature(low, low if disagreeing else main, since_s, disagreeing, None)
    reason = (f"{names} disagree: {main:.1f} and {second:.1f} °C, more than {cfg.disagree_margin_c:g} °C apart "
              f"for {(now_s - since_s) / 60:.0f} min; frost protection and thermostat follow the lower")
    return ZoneTemperature(low, low, since_s, True, Event("fault", cfg.id, reason, now, data))
