"""The box page's and savings page's charts, built from the views' dataclasses (fleet/web/views)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from fleet.web.charts import (
    Band,
    Bars,
    Chart,
    Line,
    Rule,
    auto_range,
    render_chart,
    time_ticks,
)
from fleet.web.views.box_energy import EnergyDays
from fleet.web.views.box_heating import ZoneTemperatures
from fleet.web.views.box_night import LuxNight
from fleet.web.views.box_water import MeterNights
from fleet.web.views.savings import EnergyMonth, LightingMonth

#: The lux axis stops here (daylight reads thousands of lx; the switching thresholds are tens).
LUX_TOP = 200.0


def day_x(day: date) -> float:
    """A day as an x value (its proleptic ordinal)."""
    return float(day.toordinal())


def lux_chart(night: LuxNight, zone: ZoneInfo) -> Markup:
    """Lux against the lamps' state, the cut-off shaded."""
    top = LUX_TOP if night.off_above_lx is None else max(LUX_TOP, 2 * night.off_above_lx)
    bands = tuple(Band(a, b, "lamps lit", "band-lit") for a, b in night.lit)
    bands += tuple(Band(a, b, "night cut-off", "band-cutoff") for a, b in night.cutoff)
    rules = ()
    if night.on_below_lx is not None and night.off_above_lx is not None:
        rules = (Rule(night.on_below_lx, f"on below {night.on_below_lx:g} lx", "rule-on"),
                 Rule(night.off_above_lx, f"off above {night.off_above_lx:g} lx", "rule-off"))
    lit_h = night.lit_s / 3600.0
    return render_chart(Chart(
        title=f"{night.circuit}: lux and lamps, night of {night.evening.isoformat()}",
        summary=(f"Lux read by {night.lux_sensor or 'no sensor'} from 14:00 to 11:00 (axis cut at {top:g} lx); "
                 f"lamps lit {lit_h:.1f} h (yellow); night cut-off shaded grey."),
        y_unit="lx", x_range=(night.start, night.end), y_range=(0.0, top),
        x_ticks=time_ticks(night.start, night.end, zone, 3), x_label="local time",
        lines=(Line("lux", night.lux, "line-lux"),), bands=bands, rules=rules,
    ))


def water_chart(meter: MeterNights, now: float, zone: ZoneInfo) -> Markup:
    """Minimum night flow per night, the baseline, the meter's leak alarms shaded."""
    flows = tuple((day_x(n.evening), n.min_flow_lph) for n in meter.nights)
    bases = tuple((day_x(n.evening), n.baseline_lph) for n in meter.nights)
    lo, hi = day_x(meter.first) - 0.5, day_x(meter.last) + 0.5
    bands = []
    for a in meter.alarms:
        start = datetime.fromtimestamp(a.first_seen, zone).date()
        end = datetime.fromtimestamp(a.cleared_at if a.cleared_at is not None else now, zone).date()
        bands.append(Band(day_x(start) - 1.5, day_x(end) - 0.5, f"{a.kind} alarm ({a.state}): {a.message}",
                          "band-alarm"))
    ticks = tuple((day_x(n.evening), n.evening.strftime("%d %b")) for n in meter.nights[::10])
    return render_chart(Chart(
        title=f"{meter.meter}: minimum night flow, {meter.first.isoformat()} to {meter.last.isoformat()}",
        summary=(f"Minimum night flow per night (L/h, dots), the baseline ({meter.baseline_from} figures, dashed), "
                 f"{len(meter.alarms)} leak alarm(s) shaded red."),
        y_unit="L/h", x_range=(lo, hi), x_ticks=ticks, x_label="night (evening)",
        y_range=auto_range([v for _, v in flows + bases if v is not None], minimum_span=2.0),
        lines=(Line("min_night_flow", flows, "line-flow", markers=True),
               Line("baseline", bases, "line-baseline", step=True)),
        bands=tuple(bands),
    ))


def energy_chart(series: EnergyDays) -> Markup:
    """Energy per day as bars."""
    return render_chart(Chart(
        title=f"{series.meter} {series.register}: energy per day",
        summary=f"Energy per local day (kWh), {series.total_kwh:.1f} kWh over {len(series.days)} days.",
        y_unit="kWh", x_label="day",
        bars=Bars("energy_kwh", tuple(d.strftime("%d %b") for d, _ in series.days),
                  tuple(v for _, v in series.days)),
    ))


def heating_chart(zone_t: ZoneTemperatures, zone: ZoneInfo) -> Markup:
    """Temperatures against the setpoint (steps) and the frost line."""
    lines = tuple(Line(f"temperature {name}", points, f"line-temp line-temp-{i}", markers=len(points) <= 48)
                  for i, (name, points) in enumerate(zone_t.temperatures))
    lines += (Line("setpoint", zone_t.setpoint, "line-setpoint", step=True),)
    values = [v for line in lines for _, v in line.points if v is not None] + [zone_t.frost_c]
    return render_chart(Chart(
        title=f"{zone_t.zone}: temperature, setpoint and frost line",
        summary=(f"Temperature (°C) of {', '.join(n for n, _ in zone_t.temperatures)}, the setpoint "
                 f"({'schedule' if zone_t.source == 'config' else 'from the decisions'}) and the frost line "
                 f"{zone_t.frost_c:g} °C."),
        y_unit="°C", x_range=(zone_t.start, zone_t.end),
        x_ticks=time_ticks(zone_t.start, zone_t.end, zone, 24, "%a %d"), x_label="local time",
        y_range=auto_range(values, floor_zero=False, minimum_span=5.0),
        lines=lines, rules=(Rule(zone_t.frost_c, f"frost {zone_t.frost_c:g} °C", "rule-frost"),),
    ))


def lighting_months_chart(months: tuple[LightingMonth, ...]) -> Markup:
    """Hours lit per month (bars) against the astronomical clock's hours (line over the bars)."""
    labels = tuple(m.month for m in months)
    chart = Chart(
        title="Hours lit against the astronomical clock, per month",
        summary="Bars: hours the lamps were lit. Dots: hours from sunset to sunrise (a plain astronomical clock).",
        y_unit="h", x_range=(-0.5, len(months) - 0.5), x_label="month",
        bars=Bars("lit_h", labels, tuple(m.lit_h for m in months)),
        lines=(Line("astronomical_h", tuple((float(i), m.astronomical_h) for i, m in enumerate(months)),
                    "line-astro", markers=True),),
    )
    return render_chart(chart)


def energy_months_chart(months: tuple[EnergyMonth, ...]) -> Markup:
    """Energy per day, by month (bars)."""
    return render_chart(Chart(
        title="Energy per day, by month",
        summary="Mean energy per counted day over every meter of the commune (kWh/day).",
        y_unit="kWh/day", x_label="month",
        bars=Bars("kwh_per_day", tuple(m.month for m in months), tuple(m.kwh_per_day for m in months)),
    ))

