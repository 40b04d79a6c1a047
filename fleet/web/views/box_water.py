"""The leak chart of each water meter: minimum night flow per night over 60 nights, its baseline, its alarms.

Minimum night flow comes from the roll-ups (water_nights, nights named by their evening). The baseline is the
box leak watch's (edge/controllers/leak/stats.py): the median of the learned nights. When the box's nightly
verdicts are stored (its "job" events, which carry the baseline it judged each night by), those are shown as
they are; otherwise the fleet works it out the box's way from the roll-ups: for each night, the median of the
minimum night flows of the `baseline_nights` nights (42) before the `QUARANTINE_NIGHTS` (7) newest, once
`warmup_nights` (14) are there (the box also stops learning while an alarm builds up, which this does not
know: it is the baseline of a box that saw no alarm). Alarms are the leak watch's (leak, continuous_flow,
burst) on the watch of that meter (every such alarm of the box when the fleet has no config naming meters).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.leak.stats import QUARANTINE_NIGHTS
from fleet.alarms.model import ALARM_COLUMNS, Alarm, alarm_from_row
from fleet.rollups.queries import water_nights
from fleet.store.db import Database
from fleet.web.views.alarms import AlarmRow, alarm_row
from fleet.web.views.box_config import BoxSetup
from fleet.web.views.series import events

NIGHTS = 60
WARMUP_NIGHTS, BASELINE_NIGHTS = 14, 42
LEAK_KINDS = ("leak", "continuous_flow", "burst")


@dataclass(frozen=True, slots=True)
class WaterNight:
    """One night of a meter: its minimum night flow (None: data missing), volume, the baseline that night."""

    evening: date
    min_flow_lph: float | None
    volume_l: float
    baseline_lph: float | None


@dataclass(frozen=True, slots=True)
class MeterNights:
    """A meter's last nights, where its baseline came from ("box" or "fleet"), its leak alarms."""

    meter: str
    watch: str | None
    first: date
    last: date
    nights: tuple[WaterNight, ...]
    baseline_from: str
    alarms: tuple[AlarmRow, ...]


def fleet_baseline(mnf: dict[date, float], evening: date, warmup: int = WARMUP_NIGHTS,
                   keep: int = BASELINE_NIGHTS) -> float | None:
    """The median of the minimum night flows of the `keep` nights before the quarantine (the 7 nights just
    before `evening`), None with fewer than `warmup` such nights."""
    newest = evening - timedelta(days=QUARANTINE_NIGHTS + 1)
    learned = [mnf[d] for d in (newest - timedelta(days=i) for i in range(keep)) if d in mnf]
    return statistics.median(learned) if len(learned) >= warmup else None


def _box_baselines(db: Database, device: str, watch: str | None, t0: float, t1: float) -> dict[date, float]:
    """The baseline each nightly verdict of the box's watch used, by evening (the box names a night by its end)."""
    found: dict[date, float] = {}
    for e in events(db, device, t0, t1, kinds=("job",)):
        if e.data.get("job") != "nightly" or (watch is not None and e.source != watch):
            continue
        try:
            night_end = date.fromisoformat(str(e.data.get("date")))
        except ValueError:
            continue
        base = e.data.get("baseline_lph")
        if isinstance(base, int | float) and not isinstance(base, bool):
            found[night_end - timedelta(days=1)] = float(base)
    return found


def meter_nights(db: Database, device: str, setup: BoxSetup, zone: ZoneInfo, now: float,
                 nights: int = NIGHTS) -> tuple[MeterNights, ...]:
    """Each meter's last `nights` nights up to the last evening before `now`."""
    last = datetime.fromtimestamp(now, zone).date() - timedelta(days=1)
    first = last - timedelta(days=nights - 1)
    history_from = first - timedelta(days=QUARANTINE_NIGHTS + BASELINE_NIGHTS + 1)
    rows = water_nights(db, [device], first=history_from.isoformat(), last=last.isoformat())
    by_meter: dict[str, dict[date, tuple[float | None, float]]] = {}
    for _d, meter, night, mnf, _samples, volume in rows:
        by_meter.setdefault(meter, {})[date.fromisoformat(night)] = (
            None if mnf is None else float(mnf), float(volume))
    watches = {w.meter: w for w in setup.leak}
    alarms = [alarm_row(a) for a in _leak_alarms(db, device)]
    t0 = datetime.combine(first, datetime.min.time(), zone).timestamp()
    t1 = datetime.combine(last + timedelta(days=2), datetime.min.time(), zone).timestamp()
    out = []
    meters = sorted(set(by_meter) | set(watches))
    for meter in meters:
        watch = watches.get(meter)
        data = by_meter.get(meter, {})
        box = _box_baselines(db, device, watch.id if watch else None, t0, t1) if watch or len(meters) == 1 else {}
        mnf = {d: v[0] for d, v in data.items() if v[0] is not None}
        warmup = watch.warmup_nights if watch else WARMUP_NIGHTS
        keep = watch.baseline_nights if watch else BASELINE_NIGHTS
        shown = []
        for i in range(nights):
            evening = first + timedelta(days=i)
            flow, volume = data.get(evening, (None, 0.0))
            base = box.get(evening) if box else fleet_baseline(mnf, evening, warmup, keep)
            shown.append(WaterNight(evening, flow, volume, base))
        mine = tuple(a for a in alarms if watch is None or a.source == watch.id)
        out.append(MeterNights(meter, watch.id if watch else None, first, last, tuple(shown),
                               "box" if box else "fleet", mine))
    return tuple(out)


def _leak_alarms(db: Database, device: str) -> list[Alarm]:
    marks = ", ".join("?" for _ in LEAK_KINDS)
    rows = db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms WHERE device = ? AND kind IN ({marks}) ORDER BY first_seen",
        (device, *LEAK_KINDS),
    )
    return [alarm_from_row(r) for r in rows]
