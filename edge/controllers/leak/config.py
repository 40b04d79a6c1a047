"""The `[[leak]]` config section: one leak watch per water meter, with an optional shut-off valve."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

from edge.config.reader import (
    ID_PATTERN,
    Table,
    check_id,
    in_range,
    one_of,
    parse_clock,
    positive,
)
from edge.controllers.fields import ConfigContext
from edge.controllers.leak.policy_config import ValvePolicyConfig, parse_valve_policy
from edge.controllers.leak.rules_config import RulesConfig, parse_rules

VOLUME_READING = "volume_total_l"


@dataclass(frozen=True, slots=True)
class LeakConfig:
    """How one water meter is watched for leaks (night flow, continuous flow, burst)."""

    id: str
    meter: str
    night_start: time = time(1, 0)
    night_end: time = time(5, 0)
    #: The nightly verdict comes this long after night_end, once the night's last samples are in.
    verdict_delay_min: int = 15
    bucket_min: int = 60
    warmup_nights: int = 14
    baseline_nights: int = 42
    min_detectable_lph: float = 1.0
    cusum_k: float = 1.0
    cusum_h: float = 4.0
    continuous_flow: bool = True
    zero_flow_min: int = 60
    burst_lph: float | None = None
    #: A lower burst threshold inside the night window (a village's morning peak tops a night burst).
    night_burst_lph: float | None = None
    burst_min: int = 10
    valve_relay: str | None = None
    valve_closed_when: str = "on"
    max_gap_min: float = 15.0
    #: Litres per meter step (litres per pulse; 0 for meters with fine values).
    meter_resolution_l: float = 0.0
    #: The meter's role and what it rules out (silence, night use, surges): leak/rules_config.py.
    rules: RulesConfig = RulesConfig()
    #: What a burst does to the valve (close or alarm only, reopening, hydrant inhibit): leak/policy.py.
    policy: ValvePolicyConfig = ValvePolicyConfig()

    @property
    def night_minutes(self) -> int:
        """Length of the night window in minutes (it may span midnight)."""
        start = self.night_start.hour * 60 + self.night_start.minute
        end = self.night_end.hour * 60 + self.night_end.minute
        return (end - start) % (24 * 60)

    @property
    def verdict_at(self) -> time:
        """Local time of the nightly verdict: night_end plus verdict_delay_min."""
        minutes = (self.night_end.hour * 60 + self.night_end.minute + self.verdict_delay_min) % (24 * 60)
        return time(minutes // 60, minutes % 60)

    @property
    def input_key(self) -> str:
        """The reading this watch needs."""
        return f"{self.meter}.{VOLUME_READING}"


def _check_clock(value: str) -> None:
    parse_clock(value)


def _clock(t: Table, name: str, default: str) -> time:
    """A local time of day 'HH:MM' (the default when the field is wrong: the problem is recorded)."""
    hours, minutes = divmod(parse_clock(t.get(name, str, default, _check_clock)), 60)
    return time(hours, minutes)


def _meter_resolution(t: Table, ctx: ConfigContext, meter: str) -> float:
    """Litres per step of the meter, checking that it is a water meter with a volume total."""
    if meter not in ctx.sensors and ctx.already_reported(t, meter):
        return 0.0
    if meter not in ctx.sensors:
        known = ", ".join(sorted(ctx.sensors)) or "none declared"
        t.fail("meter", f"no sensor {meter!r} under [[sensors]] (declared: {known})")
        return 0.0
    if VOLUME_READING not in ctx.readings(meter):
        t.fail("meter", f"sensor {meter!r} is not a water meter: it gives no {VOLUME_READING!r} reading "
                        "(a pulse_meter, or a modbus_meter with a register of that name)")
        return 0.0
    return ctx.resolution(meter, VOLUME_READING)


def parse_leak(t: Table, ctx: ConfigContext) -> LeakConfig | None:
    """Read one [[leak]] table, checking its meter and valve relay against the box; None on a problem."""
    leak_id = t.get("id", str, check=check_id)
    meter = t.get("meter", str, check=check_id)
    resolution_l = _meter_resolution(t, ctx, meter) if ID_PATTERN.match(meter) else 0.0
    resolution_l = t.get("meter_resolution_l", float, resolution_l, in_range(0, 1000, " L"))
    night_start = _clock(t, "night_start", "01:00")
    night_end = _clock(t, "night_end", "05:00")
    verdict_delay_min = t.get("verdict_delay_min", int, 15, in_range(1, 180, " min"))
    bucket_min = t.get("bucket_min", int, 60, in_range(5, 240, " min"))
    warmup = t.get("warmup_nights", int, 14, in_range(3, 60))
    baseline = t.get("baseline_nights", int, 42, in_range(3, 120))
    burst_lph = t.optional("burst_lph", float, positive)
    night_burst_lph = t.optional("night_burst_lph", float, positive)
    valve = t.optional("valve_relay", str, check_id)
    config = LeakConfig(
        id=leak_id,
        meter=meter,
        night_start=night_start,
        night_end=night_end,
        verdict_delay_min=verdict_delay_min,
        bucket_min=bucket_min,
        warmup_nights=warmup,
        baseline_nights=baseline,
        min_detectable_lph=t.get("min_detectable_lph", float, 1.0, positive),
        cusum_k=t.get("cusum_k", float, 1.0, in_range(0, 10)),
        cusum_h=t.get("cusum_h", float, 4.0, in_range(0.5, 100)),
        continuous_flow=t.get("continuous_flow", bool, True),
        zero_flow_min=t.get("zero_flow_min", int, 60, in_range(5, 720, " min")),
        burst_lph=burst_lph,
        night_burst_lph=night_burst_lph,
        burst_min=t.get("burst_min", int, 10, in_range(1, 240, " min")),
        valve_relay=valve,
        valve_closed_when=t.get("valve_closed_when", str, "on", one_of("on", "off")),
        max_gap_min=t.get("max_gap_min", float, 15.0, in_range(1, 120, " min")),
        meter_resolution_l=resolution_l,
        rules=parse_rules(t),
    )
    config = replace(config, policy=parse_valve_policy(t, ctx, config.rules.role, valve))
    if night_start == night_end:
        t.fail("night_end", "the night window is empty (night_start equals night_end)")
    elif config.night_minutes % bucket_min:
        t.fail("bucket_min", f"the night window ({config.night_minutes} min) is not a whole number of "
                             f"{bucket_min} min buckets")
    if baseline < warmup:
        t.fail("baseline_nights", f"must be at least warmup_nights ({warmup}), got {baseline}")
    if valve is not None:
        if valve not in ctx.relays and not ctx.already_reported(t, valve):
            known = ", ".join(sorted(ctx.relays)) or "none declared"
            t.fail("valve_relay", f"no relay {valve!r} under [[actuators]] (declared: {known})")
        if burst_lph is None and night_burst_lph is None:
            t.fail("valve_relay", "a valve is closed only on a burst: set burst_lph (or night_burst_lph) too")
    t.done()
    return config if t.ok else None
