"""The `[[leak]]` config section: one leak watch per water meter, with an optional shut-off valve."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from edge.config_model import ModbusMeterConfig, PulseMeterConfig
from edge.config_reader import Invalid, Table, in_range, one_of, positive
from edge.controllers.base import ConfigContext

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
VOLUME_READING = "volume_total_l"


@dataclass(frozen=True, slots=True)
class LeakConfig:
    """How one water meter is watched for leaks (night flow, continuous flow, burst)."""

    id: str
    meter: str
    night_start: time = time(1, 0)
    night_end: time = time(5, 0)
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

    @property
    def night_minutes(self) -> int:
        """Length of the night window in minutes (it may span midnight)."""
        start = self.night_start.hour * 60 + self.night_start.minute
        end = self.night_end.hour * 60 + self.night_end.minute
        return (end - start) % (24 * 60)

    @property
    def input_key(self) -> str:
        """The reading this watch needs."""
        return f"{self.meter}.{VOLUME_READING}"


def _check_id(value: str) -> None:
    if not _ID.match(value):
        raise Invalid(f"{value!r} must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")


def _check_hhmm(value: str) -> None:
    if not _HHMM.match(value):
        raise Invalid(f"{value!r} is not a local time 'HH:MM' (00:00 to 23:59)")


def _hhmm(value: str, default: time) -> time:
    match = _HHMM.match(value)
    return time(int(match.group(1)), int(match.group(2))) if match else default


def _meter_resolution(t: Table, ctx: ConfigContext, meter: str) -> float:
    """Litres per step of the meter, checking that it is a water meter with a volume total."""
    sensor = ctx.sensors.get(meter)
    if sensor is None:
        if meter:
            known = ", ".join(sorted(ctx.sensors)) or "none declared"
            t.fail("meter", f"no sensor {meter!r} under [[sensors]] (declared: {known})")
        return 0.0
    if isinstance(sensor, PulseMeterConfig):
        if sensor.litres_per_pulse is not None:
            return sensor.litres_per_pulse
        return 1.0 / sensor.pulses_per_litre if sensor.pulses_per_litre else 0.0
    if isinstance(sensor, ModbusMeterConfig):
        if not any(r.name == VOLUME_READING for r in sensor.registers):
            t.fail("meter", f"modbus meter {meter!r} has no register named {VOLUME_READING!r}")
        return 0.0
    t.fail("meter", f"sensor {meter!r} is not a water meter (pulse_meter, or modbus_meter with {VOLUME_READING!r})")
    return 0.0


def parse_leak(t: Table, ctx: ConfigContext) -> LeakConfig | None:
    """Read one [[leak]] table, checking its meter and valve relay against the box; None on a problem."""
    leak_id = t.get("id", str, check=_check_id)
    meter = t.get("meter", str, check=_check_id)
    resolution_l = _meter_resolution(t, ctx, meter) if _ID.match(meter) else 0.0
    resolution_l = t.get("meter_resolution_l", float, resolution_l, in_range(0, 1000, " L"))
    night_start = _hhmm(t.get("night_start", str, "01:00", _check_hhmm), time(1, 0))
    night_end = _hhmm(t.get("night_end", str, "05:00", _check_hhmm), time(5, 0))
    bucket_min = t.get("bucket_min", int, 60, in_range(5, 240, " min"))
    warmup = t.get("warmup_nights", int, 14, in_range(3, 60))
    baseline = t.get("baseline_nights", int, 42, in_range(3, 120))
    burst_lph = t.optional("burst_lph", float, positive)
    night_burst_lph = t.optional("night_burst_lph", float, positive)
    valve = t.optional("valve_relay", str, _check_id)
    config = LeakConfig(
        id=leak_id,
        meter=meter,
        night_start=night_start,
        night_end=night_end,
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
    )
    if night_start == night_end:
        t.fail("night_end", "the night window is empty (night_start equals night_end)")
    elif config.night_minutes % bucket_min:
        t.fail("bucket_min", f"the night window ({config.night_minutes} min) is not a whole number of "
                             f"{bucket_min} min buckets")
    if baseline < warmup:
        t.fail("baseline_nights", f"must be at least warmup_nights ({warmup}), got {baseline}")
    if valve is not None:
        if valve not in ctx.relays:
            known = ", ".join(sorted(ctx.relays)) or "none declared"
            t.fail("valve_relay", f"no relay {valve!r} under [[actuators]] (declared: {known})")
        if burst_lph is None and night_burst_lph is None:
            t.fail("valve_relay", "a valve is closed only on a burst: set burst_lph (or night_burst_lph) too")
    t.done()
    return config if t.ok else None
