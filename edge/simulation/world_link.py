"""The [link] section of a world file: the box's link to the fleet, its outages and the broker's restarts.

`hameau-edge simulate` always runs the box's real link against a loopback of the broker and the fleet's
ingest (edge/simulation/link_loopback.py), unless the world says `[link] enabled = false`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.sim.world_spec import SiteSpec, WorldSpec
from edge.config.reader import Table
from edge.simulation.world_reader import WorldReader


@dataclass(frozen=True, slots=True)
class LinkOutageSpec:
    """The box cannot reach the broker between start and end (a dead mobile network, a cut line)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class LinkWorldSpec:
    """The link in the world: whether the box has one, when it is cut off, when the broker restarts."""

    enabled: bool = True
    outages: tuple[LinkOutageSpec, ...] = ()
    #: Each restart loses the messages in flight through the broker and drops every connection.
    broker_restarts: tuple[datetime, ...] = ()

    def offline(self, now: datetime) -> bool:
        """Whether the box cannot reach the broker at `now`."""
        return any(o.start <= now < o.end for o in self.outages)


@dataclass(frozen=True, slots=True)
class LinkedWorldSpec(WorldSpec):
    """A world with its [link] section (worlds built in code without one get the default link)."""

    link: LinkWorldSpec = LinkWorldSpec()


def link_of(spec: WorldSpec) -> LinkWorldSpec:
    """The world's link (the default one, always on and never cut, for a world without a [link] section)."""
    return spec.link if isinstance(spec, LinkedWorldSpec) else LinkWorldSpec()


def with_link(spec: WorldSpec, link: LinkWorldSpec) -> LinkedWorldSpec:
    """The same world with another [link] section."""
    fields = {name: getattr(spec, name) for name in WorldSpec.__dataclass_fields__}
    return LinkedWorldSpec(**fields, link=link)


def read_link(r: WorldReader, t: Table | None, site: SiteSpec | None) -> LinkWorldSpec:
    """[link]: enabled; [[link.outages]]: start, end or duration; [[link.broker_restarts]]: at."""
    if t is None:
        return LinkWorldSpec()
    enabled = t.get("enabled", bool, True)
    outages: list[tuple[str, LinkOutageSpec]] = []
    for _, o in t.tables("outages"):
        span = r.spell(o)
        if span is not None and span[1] is not None and _within(r, o, "start", span[0], site) \
                and _within(r, o, "end" if o.has("end") else "duration", span[1], site, end=True):
            outage = LinkOutageSpec(span[0], span[1])
            for other_key, other in outages:
                if other.start < outage.end and outage.start < other.end:
                    o.fail("start", f"overlaps the outage at {other_key}")
            if o.ok:
                outages.append((o.path, outage))
        o.done()
    restarts = []
    for _, b in t.tables("broker_restarts"):
        at = r.when(b, "at")
        if at is not None and _within(r, b, "at", at, site):
            restarts.append(at)
        b.done()
    t.done()
    return LinkWorldSpec(enabled, tuple(sorted((o for _, o in outages), key=lambda o: o.start)),
                         tuple(sorted(restarts)))


def _within(r: WorldReader, t: Table, name: str, when: datetime, site: SiteSpec | None, *, end: bool = False) -> bool:
    """Whether a time is within the world's [site] span (its end included for the end of a spell)."""
    if site is None or site.start <= when < site.end or (end and when == site.end):
        return True
    what = "ends" if end else "is"
    t.fail(name, f"{what} at {when.astimezone(r.tz):%Y-%m-%d %H:%M}, outside the world's span "
                 f"({site.start.astimezone(r.tz):%Y-%m-%d %H:%M} to {site.end.astimezone(r.tz):%Y-%m-%d %H:%M})")
    return False
