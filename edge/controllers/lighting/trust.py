"""Whether a circuit's lux sensor tells the truth: its readings checked against the sun and its own lamps.

The box knows where the sun is. A lux reading that contradicts it is a fault, like an unplugged
sensor, and the circuit falls back to the astronomical clock:
- dark by day: below `on_below_lx` with the sun more than DAY_ELEVATION_DEG up for CONFIRM_S (even
  the darkest storm leaves hundreds of lux then): a sensor covered by grime, a nest, or stuck at 0;
- lit at night: above `off_above_lx` with the sun more than NIGHT_ELEVATION_DEG down for CONFIRM_S
  (past civil dusk only the moon and man-made light remain): stuck at a daylight value;
- frozen: while the sun crosses from TRANSITION_HIGH_DEG up to sunrise or sunset, or from there to
  TRANSITION_LOW_DEG below (some 20-25 min each at 45° of latitude, longer near the poles), clear-sky
  light changes eightfold and twentyfold; a reading that does not move by FROZEN_RATIO is stuck, found
  at the end of that half-transition.
A sensor lit by its own lamps (its reading jumps when the circuit switches on, drops when it switches
off) is recognised: the jump is reported once and taken off the readings while the lamps are on.
A distrusted sensor is believed again once it shows what it could not: daylight by day, darkness at
night, or movement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from astral import Observer
from astral import sun as astral_sun

DAY_ELEVATION_DEG = 10.0
NIGHT_ELEVATION_DEG = -8.0
CONFIRM_S = 15 * 60.0
#: The half-transitions watched for a frozen reading: the sun between these elevations and the horizon.
TRANSITION_HIGH_DEG = 3.0
TRANSITION_LOW_DEG = -4.0
#: Over a transition, a true reading spans more than this ratio (+ FLOOR_LX for darkness).
FROZEN_RATIO = 1.25
FLOOR_LX = 1.0
#: A jump at a switching at least this big, and this share of the natural light, is the circuit's own lamps.
SELF_LIT_MIN_LX = 5.0
SELF_LIT_SHARE = 0.5
#: How long after a switching the lamps' light has settled on the sensor.
SELF_LIT_SETTLE_S = 30.0
#: A half-transition entered later than this after its start is not judged.
WATCH_GRACE_S = 120.0

DARK_BY_DAY = "dark by day"
LIT_AT_NIGHT = "lit at night"
FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class SunWindows:
    """One local date's sun at the box, in epoch seconds (None where the sun never gets there)."""

    #: The sun above DAY_ELEVATION_DEG.
    day_from_s: float | None
    day_until_s: float | None
    #: The sun below NIGHT_ELEVATION_DEG: until this in the morning, from that in the evening.
    night_until_s: float | None
    night_from_s: float | None
    #: The half-transitions watched for a frozen reading: (start, end, what it is in words).
    halves: tuple[tuple[float, float, str], ...] = ()

    def is_day(self, now_s: float) -> bool:
        """The sun high enough for daylight under any sky."""
        return self.day_from_s is not None and self.day_until_s is not None and (
            self.day_from_s <= now_s < self.day_until_s
        )

    def is_night(self, now_s: float) -> bool:
        """The sun deep enough for darkness but for the moon and man-made light."""
        return (self.night_until_s is not None and now_s < self.night_until_s) or (
            self.night_from_s is not None and now_s >= self.night_from_s
        )


def sun_windows(observer: Observer, day: date, start_s: float, end_s: float) -> SunWindows:
    """The windows of the local date whose midnights are `start_s` and `end_s`."""
    noon = datetime.fromtimestamp((start_s + end_s) / 2, UTC)

    def at(elevation: float, rising: bool) -> float | None:
        direction = astral_sun.SunDirection.RISING if rising else astral_sun.SunDirection.SETTING
        try:
            when = astral_sun.time_at_elevation(
                observer, elevation, noon, direction, tzinfo=UTC, with_refraction=False
            ).timestamp()
        except ValueError:  # the sun never reaches that elevation today (polar days, polar nights)
            return None
        return when if start_s <= when < end_s else None

    def event(function: Callable[..., datetime]) -> float | None:
        try:
            when = function(observer, day, tzinfo=UTC).timestamp()
        except ValueError:  # no sunrise or sunset today (polar days, polar nights)
            return None
        return when if start_s <= when < end_s else None

    halves = []
    high, low = f"{TRANSITION_HIGH_DEG:g}° up", f"{-TRANSITION_LOW_DEG:g}° below the horizon"
    for rising, function in ((True, astral_sun.sunrise), (False, astral_sun.sunset)):
        horizon = event(function)  # the astronomical clock's own sunrise and sunset
        top, bottom = at(TRANSITION_HIGH_DEG, rising), at(TRANSITION_LOW_DEG, rising)
        if horizon is None:
            continue
        if rising:
            if bottom is not None and bottom < horizon:
                halves.append((bottom, horizon, f"the sun's rise from {low} to sunrise"))
            if top is not None and top > horizon:
                halves.append((horizon, top, f"the sun's rise from sunrise to {high}"))
        else:
            if top is not None and top < horizon:
                halves.append((top, horizon, f"the sun's fall from {high} to sunset"))
            if bottom is not None and bottom > horizon:
                halves.append((horizon, bottom, f"the sun's fall from sunset to {low}"))
    return SunWindows(at(DAY_ELEVATION_DEG, True), at(DAY_ELEVATION_DEG, False),
                      at(NIGHT_ELEVATION_DEG, True), at(NIGHT_ELEVATION_DEG, False), tuple(halves))


@dataclass(frozen=True, slots=True)
class LuxTrust:
    """What a circuit remembers of its lux sensor's honesty."""

    #: The contradiction being watched, and since when.
    suspect: str = ""
    suspect_since_s: float | None = None
    #: Why the sensor is not believed ("": it is), and its kind.
    distrust: str = ""
    distrust_kind: str = ""
    #: The half-transition being watched (its start and end) and the readings' range in it.
    window_start_s: float | None = None
    window_end_s: float | None = None
    window_lo: float | None = None
    window_hi: float | None = None
    #: The range a frozen sensor was stuck in: it is believed again once it leaves it.
    frozen_lo: float | None = None
    frozen_hi: float | None = None
    #: The circuit's own lamps on the sensor (lux), once measured at a switching.
    self_lit_lx: float | None = None
    #: The reading before the last switching, and when that switching was.
    before_switch_lx: float | None = None
    switched_at_s: float | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """A reading judged: the trust to keep, the lux to act on (None: not believed), news to report.

    News are (code, words): "distrusted" (words: why), "believed" (believed again), "self_lit" (its own
    lamps measured, words: what), "self_lit_gone" (a switching showed no more own light).
    """

    trust: LuxTrust
    lux: float | None
    news: tuple[tuple[str, str], ...] = ()


def _half_windows(windows: SunWindows, now_s: float) -> tuple[float, float, str] | None:
    """The half-transition holding now: (start, end, words), if any."""
    for half in windows.halves:
        if half[0] <= now_s < half[1]:
            return half
    return None


def _sun_words(elevation_at: Callable[[float], float] | None, now_s: float, fallback: str) -> str:
    if elevation_at is None:
        return fallback
    elevation = elevation_at(now_s)
    if elevation >= 0:
        return f"the sun {elevation:.0f}° up"
    return f"the sun {-elevation:.0f}° below the horizon"


def judge(
    trust: LuxTrust,
    lux: float,
    now_s: float,
    windows: SunWindows,
    *,
    lamps_on: bool,
    on_below_lx: float,
    off_above_lx: float,
    confirm_s: float = CONFIRM_S,
    read_s: float | None = None,
    elevation_at: Callable[[float], float] | None = None,
) -> Judgement:
    """Judge one reading of the circuit's lux sensor (taken at `read_s`, default now) against the sun and its lamps."""
    news: list[tuple[str, str]] = []
    trust = _own_light(trust, lux, now_s if read_s is None else read_s, lamps_on, off_above_lx, news)
    seen = max(0.0, lux - trust.self_lit_lx) if lamps_on and trust.self_lit_lx else lux
    trust = _frozen(trust, seen, now_s, windows, news)
    if trust.distrust:
        if _redeemed(trust, seen, now_s, windows, on_below_lx, off_above_lx):
            news.append(("believed", f"reads {seen:.1f} lx, as the sun says it could"))
            trust = replace(trust, distrust="", distrust_kind="", suspect="", suspect_since_s=None,
                            frozen_lo=None, frozen_hi=None)
        else:
            return Judgement(trust, None, tuple(news))
    contradiction = ""
    if windows.is_day(now_s) and seen < on_below_lx:
        contradiction = DARK_BY_DAY
    elif windows.is_night(now_s) and seen > off_above_lx:
        contradiction = LIT_AT_NIGHT
    if not contradiction:
        trust = replace(trust, suspect="", suspect_since_s=None) if trust.suspect else trust
        return Judgement(trust, seen, tuple(news))
    if trust.suspect != contradiction or trust.suspect_since_s is None:
        trust = replace(trust, suspect=contradiction, suspect_since_s=now_s)
    assert trust.suspect_since_s is not None
    if now_s - trust.suspect_since_s < confirm_s:
        return Judgement(trust, seen, tuple(news))
    minutes = f"{(now_s - trust.suspect_since_s) / 60:.0f} min"
    if contradiction == DARK_BY_DAY:
        sun = _sun_words(elevation_at, now_s, f"the sun more than {DAY_ELEVATION_DEG:g}° up")
        why = (f"reads {seen:.1f} lx with {sun}, dark for {minutes} (even a storm leaves hundreds of lux "
               f"with the sun {DAY_ELEVATION_DEG:g}° up): covered, dirty or stuck")
    else:
        sun = _sun_words(elevation_at, now_s, f"the sun more than {-NIGHT_ELEVATION_DEG:g}° below the horizon")
        why = f"reads {seen:.0f} lx with {sun}, daylight for {minutes}: stuck or lit by a lamp"
    news.append(("distrusted", why))
    return Judgement(replace(trust, distrust=why, distrust_kind=contradiction), None, tuple(news))


def _own_light(
    trust: LuxTrust, lux: float, read_s: float, lamps_on: bool, off_above_lx: float, news: list[tuple[str, str]]
) -> LuxTrust:
    """Measure the lamps' light on the sensor from the jump at a switching, with a reading taken after it settled."""
    if trust.switched_at_s is None or trust.before_switch_lx is None:
        return trust
    if read_s - trust.switched_at_s < SELF_LIT_SETTLE_S:
        return trust
    before = trust.before_switch_lx
    jump, natural = (lux - before, before) if lamps_on else (before - lux, lux)
    trust = replace(trust, before_switch_lx=None, switched_at_s=None)
    if jump >= max(SELF_LIT_MIN_LX, SELF_LIT_SHARE * natural):
        if trust.self_lit_lx is None or abs(jump - trust.self_lit_lx) > max(SELF_LIT_MIN_LX, 0.2 * jump):
            news.append(("self_lit", (f"sees the circuit's own lamps: {jump:+.0f} lx when they are on; "
                                     "taken off its readings")))
        return replace(trust, self_lit_lx=jump)
    if trust.self_lit_lx is not None and abs(jump) < SELF_LIT_MIN_LX and natural < off_above_lx:
        # A switching in the dark without a jump: the lamps no longer reach the sensor (moved, shielded).
        news.append(("self_lit_gone", f"no longer sees the circuit's own lamps ({jump:+.0f} lx at a switching)"))
        return replace(trust, self_lit_lx=None)
    return trust


def switching(trust: LuxTrust, lux: float | None, now_s: float) -> LuxTrust:
    """The circuit is switching now: remember the reading before, to measure its own light after."""
    if lux is None:
        return trust
    return replace(trust, before_switch_lx=lux, switched_at_s=now_s)


def unheard(trust: LuxTrust) -> LuxTrust:
    """No usable reading now: a transition being watched is not judged (its range would be partial)."""
    if trust.window_start_s is None and trust.before_switch_lx is None:
        return trust
    return replace(trust, window_start_s=None, window_lo=None, window_hi=None, before_switch_lx=None,
                   switched_at_s=None)


def restarted(trust: LuxTrust) -> LuxTrust:
    """The agent starts again: what was being watched has a gap; a sensor not believed stays so."""
    return replace(unheard(trust), suspect="", suspect_since_s=None, window_end_s=None)


def _frozen(
    trust: LuxTrust, seen: float, now_s: float, windows: SunWindows, news: list[tuple[str, str]]
) -> LuxTrust:
    """Follow the readings' range through each half-transition; a range too narrow is a frozen sensor.

    A half-transition is judged only if watched from its start (within WATCH_GRACE_S) to its end;
    one entered late (the agent started in it) or with a gap in the readings is skipped.
    """
    if trust.window_end_s is not None and now_s >= trust.window_end_s:
        lo, hi, start = trust.window_lo, trust.window_hi, trust.window_start_s
        if lo is not None and hi is not None and start is not None and hi <= FROZEN_RATIO * lo + FLOOR_LX \
                and not trust.distrust:
            span = _half_windows(windows, start)
            what = span[2] if span is not None else "a sunrise or sunset"
            why = f"read {lo:.1f} to {hi:.1f} lx during {what}, when outdoor light changes eightfold or more: stuck"
            news.append(("distrusted", why))
            trust = replace(trust, distrust=why, distrust_kind=FROZEN, frozen_lo=lo, frozen_hi=hi)
        trust = replace(trust, window_start_s=None, window_end_s=None, window_lo=None, window_hi=None)
    if trust.window_end_s is None:
        half = _half_windows(windows, now_s)
        if half is None:
            return trust
        if now_s - half[0] > WATCH_GRACE_S:
            return replace(trust, window_end_s=half[1])  # entered late: skipped until its end
        return replace(trust, window_start_s=half[0], window_end_s=half[1], window_lo=seen, window_hi=seen)
    if trust.window_start_s is None:
        return trust
    lo = seen if trust.window_lo is None else min(trust.window_lo, seen)
    hi = seen if trust.window_hi is None else max(trust.window_hi, seen)
    return trust if (lo, hi) == (trust.window_lo, trust.window_hi) else replace(trust, window_lo=lo, window_hi=hi)


def _redeemed(
    trust: LuxTrust, seen: float, now_s: float, windows: SunWindows, on_below_lx: float, off_above_lx: float
) -> bool:
    """Whether the sensor now shows what a faulty one could not."""
    if trust.distrust_kind == DARK_BY_DAY:
        return windows.is_day(now_s) and seen >= off_above_lx
    if trust.distrust_kind == LIT_AT_NIGHT:
        return windows.is_night(now_s) and seen <= on_below_lx
    lo, hi = trust.frozen_lo or 0.0, trust.frozen_hi or 0.0
    return seen > FROZEN_RATIO * hi + FLOOR_LX or seen < (lo - FLOOR_LX) / FROZEN_RATIO
