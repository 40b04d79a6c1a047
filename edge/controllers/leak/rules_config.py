"""The keys of a `[[leak]]` table that say what the meter is for (its role) and what that rules out.

A village inlet never stops flowing; a public building may use nothing at night and stay silent for a
holiday. The role sets the defaults of the rules that judge the meter against it: how long it may read
nothing, whether a learned profile judges day flows, whether the night may hold intermittent flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.reader import Table, in_range, one_of

ROLES = ("building", "inlet")
#: Hours without a single meter step after which the meter is called silent, by role.
SILENT_AFTER_H = {"inlet": 6.0, "building": 72.0}
#: Default factor over the hour's expected flow that a burst must exceed, by role (None: rule off).
SURGE_FACTOR = {"inlet": 2.0, "building": None}


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """What the meter's role rules out: silence, a night baseline above the expected night use, surges."""

    role: str = "building"
    #: A building's expected night use (0: "uses nothing at night"); None: no expectation.
    night_use_lph: float | None = None
    #: An inlet's night baseline above this share of its learned day flow is implausible.
    inlet_night_share_max: float = 0.5
    #: Nights in a row that make a pattern: intermittent night flow, or nights above the night use.
    repeat_nights: int = 3
    #: Share of a night's buckets with flow that makes the night intermittent-leaky.
    intermittent_share: float = 0.75
    #: Flow over surge_window_min above this factor times the hour's expected flow is a burst.
    surge_factor: float | None = None
    surge_floor_lph: float = 0.0
    surge_window_min: int = 15
    #: Hours without a meter step after which the meter is silent (inlet: fault, building: warning).
    silent_after_h: float = SILENT_AFTER_H["building"]

    @property
    def inlet(self) -> bool:
        """Whether the meter is a village inlet (it never stops)."""
        return self.role == "inlet"


def parse_rules(t: Table) -> RulesConfig:
    """The role keys of one [[leak]] table, with the role's defaults (problems recorded in `t`)."""
    role = t.get("role", str, "building", one_of(*ROLES))
    role = role if role in ROLES else "building"
    night_use = t.optional("night_use_lph", float, in_range(0.0, 100_000.0, " L/h"))
    if night_use is not None and role == "inlet":
        t.fail("night_use_lph", "applies to a building: an inlet's night flow is learned (role = \"inlet\")")
    surge = t.optional("surge_factor", float, in_range(1.2, 100.0))
    return RulesConfig(
        role=role,
        night_use_lph=night_use,
        inlet_night_share_max=t.get("inlet_night_share_max", float, 0.5, in_range(0.05, 1.0)),
        repeat_nights=t.get("repeat_nights", int, 3, in_range(2, 30)),
        intermittent_share=t.get("intermittent_share", float, 0.75, in_range(0.25, 1.0)),
        surge_factor=surge if surge is not None else SURGE_FACTOR[role],
        surge_floor_lph=t.get("surge_floor_lph", float, 0.0, in_range(0.0, 1_000_000.0, " L/h")),
        surge_window_min=t.get("surge_window_min", int, 15, in_range(5, 60, " min")),
        silent_after_h=t.get("silent_after_h", float, SILENT_AFTER_H[role], in_range(0.5, 720.0, " h")),
    )
