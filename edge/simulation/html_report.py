"""`simulate --html FILE`: one self-contained page (inline SVG and CSS, no script, nothing fetched) to look at.

Four charts: one evening and night of outdoor light against the lamps with the cut-off shaded; each water
meter's minimum night flow per night against its learned baseline, with the alarms; each heated zone's
temperature against its setpoint and frost line; the fault episodes on a timeline. The story's sentences
head the page.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.simulation import html_charts as ch
from edge.simulation.story import PRICE_EUR_PER_KWH, tell
from edge.simulation.sync_report import sync_sentence
from edge.simulation.traces import Traces, epoch

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;color:#1d2630;background:#f6f4ef;margin:0 auto;max-width:1040px;padding:18px}
h1{font-size:24px;margin:4px 0}h2{font-size:18px;margin:26px 0 4px}p.sub{color:#5a6570;margin:0 0 10px}
ul.story{background:#fff;border-left:5px solid #e0a526;padding:10px 14px 10px 30px;margin:8px 0}
ul.story li{margin:4px 0}.caption{color:#46525e;margin:2px 0 6px}svg.chart{background:#fff;max-width:100%;height:auto}
.plot{fill:#fff;stroke:#c9cdd2}.grid{stroke:#e6e8eb;stroke-width:1}.tick,.unit,.band-label,.line-label,.row-label
{font:12px system-ui,sans-serif;fill:#5a6570}.unit{font-weight:600}.band-label{fill:#444}
polyline{fill:none;stroke-width:2;stroke-linejoin:round}
.lux{stroke:#d48a00}.temp{stroke:#c2362b}.setpoint{stroke:#2f6fb0;stroke-dasharray:6 3}
.outdoor{stroke:#6aa3d8;stroke-width:1.5}.mnf{stroke:#1f7a8c}.baseline{stroke:#444;stroke-dasharray:5 4}
.frost,.threshold{stroke:#7b3fa0;stroke-width:1.5;stroke-dasharray:8 4}.threshold{stroke:#b07a00}
.frost-label{fill:#7b3fa0}.threshold-label{fill:#b07a00}.sunset{stroke:#e06a10;stroke-width:1.5}
.cutoff{fill:#3b4a5a;fill-opacity:.22}.storm{fill:#6c7a89;fill-opacity:.25}.fallback{fill:#e0a526;fill-opacity:.18}
.lamps-on{fill:#f2c230}.heater-on{fill:#f08a5d}.blind{fill:#c2362b;fill-opacity:.12}.snap{fill:#6aa3d8;fill-opacity:.15}
.incident{fill:#1f7a8c;fill-opacity:.12}.alarm{fill:#d62828}.night-dot{fill:#1f7a8c}
.fault{fill:#c2362b}.power-cut{fill:#3b4a5a}.sensor-fault{fill:#e0a526}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:#46525e;margin:4px 0 0}
.swatch{display:inline-block;width:18px;height:10px;margin-right:5px;border-radius:2px;vertical-align:middle}
.swatch.lux{background:#d48a00}.swatch.lamps-on{background:#f2c230}.swatch.cutoff{background:#a7aeb6}
.swatch.storm{background:#c4cad1}.swatch.fallback{background:#f5dd9f}.swatch.threshold{background:#b07a00}
.swatch.mnf{background:#1f7a8c}.swatch.baseline{background:#444}.swatch.alarm{background:#d62828}
.swatch.incident{background:#c7e1e6}.swatch.temp{background:#c2362b}.swatch.setpoint{background:#2f6fb0}
.swatch.outdoor{background:#6aa3d8}.swatch.frost{background:#7b3fa0}.swatch.heater-on{background:#f08a5d}
.swatch.blind{background:#f1d0cd}.swatch.snap{background:#d7e6f4}.swatch.fault{background:#c2362b}
.swatch.sensor-fault{background:#e0a526}.swatch.power-cut{background:#3b4a5a}
"""


def _day_start(when: datetime, hour: int) -> datetime:
    return when.replace(hour=hour, minute=0, second=0, microsecond=0)


def pick_night(report: Mapping[str, Any], circuit: str, tz: ZoneInfo) -> datetime:
    """The evening to show: a storm's that lit the lamps, else the first evening they came on by the light."""
    timeline = report["timeline"]
    ons = [datetime.fromisoformat(s["at"]).astimezone(tz)
           for s in timeline["lighting"][circuit]["switchings"] if s["on"] and s["why"] in ("light", "sun_clock")]
    for storm in timeline["world"]["storms"]:
        lit = [on for on in ons if epoch(storm["start"]) <= on.timestamp() < epoch(storm["end"])]
        if lit:
            return _day_start(lit[0], min(14, max(lit[0].hour - 2, 0)))
    evening = next((on for on in ons if on.hour >= 12), None)
    return _day_start(evening or datetime.fromisoformat(report["start"]).astimezone(tz), 14)


def _window(traces: Traces, start_s: float, end_s: float) -> range:
    ts = traces.t_s
    first = next((i for i, t in enumerate(ts) if t >= start_s), len(ts))
    last = next((i for i in range(first, len(ts)) if ts[i] >= end_s), len(ts))
    return range(first, last)


def night_chart(report: Mapping[str, Any], traces: Traces, circuit: str, tz: ZoneInfo) -> str:
    """(a) One evening and night: outdoor lux (log scale) against the lamps, the cut-off shaded."""
    start = pick_night(report, circuit, tz)
    start_s, end_s = start.timestamp(), (start + timedelta(hours=20)).timestamp()
    window = _window(traces, start_s, end_s)
    frame = ch.Frame(start_s, end_s, 0.1, 100_000.0, height=300, log_y=True)
    ts = [traces.t_s[i] for i in window]
    body = ch.axes(frame, ch.time_ticks(start_s, end_s, tz),
                   [(10.0 ** k, f"{10 ** (k % 3):g}{' k'[k // 3].strip()} lx") for k in range(6)], "outdoor light")
    light = report["timeline"]["lighting"][circuit]
    for a, b in ch.runs(ts, [traces.cutoff[circuit][i] for i in window], 60.0):
        body += ch.band(frame, a, b, "cutoff", "cut-off: lamps off while the village sleeps")
    for storm in report["timeline"]["world"]["storms"]:
        body += ch.band(frame, epoch(storm["start"]), epoch(storm["end"]), "storm", "storm")
    sensor = light.get("lux_sensor")
    for fault in report["faults"]:
        if fault["source"] == sensor:
            body += ch.band(frame, epoch(fault["start"]), epoch(fault["end"] or report["end"]), "fallback",
                            "lux sensor failed: sunset clock")
    for a, b in ch.runs(ts, [traces.lamps[circuit][i] for i in window], 60.0):
        body.append(ch.bar(frame, a, b, 0.6, 0.1, "lamps-on", "lamps lit"))
    body += ch.hline(frame, light["on_below_lx"], "threshold", f"lamps on below {light['on_below_lx']:g} lx")
    for sun in report["timeline"]["sun"]:
        if "sunset" in sun and start_s <= epoch(sun["sunset"]) < end_s:
            x = frame.x(epoch(sun["sunset"]))
            body.append(f'<line class="sunset" x1="{x}" x2="{x}" y1="{frame.top}" y2="{frame.plot_bottom}"/>'
                        f'<text class="line-label" x="{x + 4}" y="{frame.top + 28}">sunset</text>')
    body += ch.line(frame, [(traces.t_s[i], max(float(traces.lux[i]), 0.1)) for i in window], "lux")
    title = f"Outdoor light and the street lamps ({circuit}), from {start:%a} {start.day} {start:%b} 14:00"
    return ch.svg(frame, "night", title, body) + ch.legend([
        ("lux", "outdoor light (log scale)"), ("lamps-on", "lamps lit"), ("cutoff", "cut-off"),
        ("storm", "storm"), ("fallback", "lux sensor failed"), ("threshold", "switch-on level"),
    ])


def water_chart(report: Mapping[str, Any], meter: str, tz: ZoneInfo) -> str:
    """(b) A meter's minimum night flow per night, its learned baseline and the alarms."""
    start_s, end_s = epoch(report["start"]), epoch(report["end"])
    nights = report["timeline"]["nights"].get(meter, [])
    points = [(datetime.fromisoformat(n["night"]).replace(hour=3, tzinfo=tz).timestamp(), n) for n in nights]
    top = max([5.0] + [n[k] or 0.0 for _, n in points for k in ("mnf_lph", "baseline_lph")]) * 1.3
    frame = ch.Frame(start_s, end_s, 0.0, top)
    body = ch.axes(frame, ch.time_ticks(start_s, end_s, tz), ch.value_ticks(0.0, top, "L/h"), "night flow")
    for incident in report["timeline"]["world"].get("water", []):
        if incident["meter"] == meter:
            body += ch.band(frame, epoch(incident["start"]), epoch(incident["end"]), "incident",
                            f"{incident['kind']} {incident['rate_lph']:g} L/h")
    mnf = [(x, float("nan") if n["mnf_lph"] is None else n["mnf_lph"]) for x, n in points]
    base = [(x, float("nan") if n["baseline_lph"] is None else n["baseline_lph"]) for x, n in points]
    body += ch.line(frame, mnf, "mnf") + ch.line(frame, base, "baseline")
    body += [ch.dot(frame, x, y, "night-dot", f"night ending {n['night']}: {y:g} L/h")
             for (x, y), (_, n) in zip(mnf, points, strict=True) if not math.isnan(y)]
    for alarm in report["leak"].get(meter, {}).get("alarms", []):
        body.append(ch.marker(frame, epoch(alarm["raised_at"]), top * 0.97, "alarm",
                              f"{alarm['kind']} alarm at {alarm['raised_at'][:16]}: {alarm['reason']}"))
    learning = all(n["baseline_lph"] is None for _, n in points)
    return ch.svg(frame, "water", f"Minimum night flow per night on {meter}", body) + ch.legend([
        ("mnf", "minimum night flow"),
        ("baseline", "learned baseline" + (" (still learning: none yet)" if learning else "")),
        ("alarm", "alarm"), ("incident", "leak or burst (the world's truth)"),
    ])


def heating_chart(report: Mapping[str, Any], traces: Traces, zone: str, tz: ZoneInfo) -> str:
    """(c) A zone's temperature against its setpoint, the outdoors and the frost line; blind spells shaded."""
    start_s, end_s = epoch(report["start"]), epoch(report["end"])
    heating = report["timeline"]["heating"][zone]
    temps = list(traces.temperature_c[zone])
    outdoor = list(traces.outdoor_c)
    low = min([heating["frost_c"] - 2, *outdoor, *temps])
    high = max([heating["comfort_c"] + 2, *temps])
    frame = ch.Frame(start_s, end_s, math.floor(low), math.ceil(high), height=300)
    body = ch.axes(frame, ch.time_ticks(start_s, end_s, tz), ch.value_ticks(frame.y_min, frame.y_max, "°C"),
                   "temperature")
    for snap in report["timeline"]["world"]["cold_snaps"]:
        body += ch.band(frame, epoch(snap["start"]), epoch(snap["end"]), "snap",
                        f"cold snap {snap['temperature_c']:g} °C")
    for spell in heating["blind"]:
        body += ch.band(frame, epoch(spell["start"]), epoch(spell["end"]), "blind", "no thermometer")
    t = list(traces.t_s)
    for a, b in ch.runs(t, list(traces.heater[zone]), 60.0):
        body.append(ch.bar(frame, a, b, frame.y_min + (frame.y_max - frame.y_min) * 0.04, frame.y_min,
                           "heater-on", "heater on"))
    body += ch.hline(frame, heating["frost_c"], "frost", f"frost line {heating['frost_c']:g} °C")
    body += ch.line(frame, list(zip(t, outdoor, strict=True)), "outdoor")
    body += ch.line(frame, list(zip(t, traces.setpoint_c[zone], strict=True)), "setpoint")
    body += ch.line(frame, list(zip(t, temps, strict=True)), "temp")
    return ch.svg(frame, "heating", f"Temperature of the {zone}", body) + ch.legend([
        ("temp", "inside (the world's truth)"), ("setpoint", "setpoint the box aimed at"),
        ("outdoor", "outdoors"), ("frost", "frost line"), ("heater-on", "heater on"),
        ("blind", "no thermometer"), ("snap", "cold snap"),
    ])


def faults_chart(report: Mapping[str, Any], tz: ZoneInfo) -> str:
    """(d) Every fault episode the box recorded, one row per source, and the power cuts."""
    start_s, end_s = epoch(report["start"]), epoch(report["end"])
    rows: list[str] = list(dict.fromkeys(f["source"] for f in report["faults"]))
    cuts = report["timeline"]["world"]["power_cuts"]
    if cuts:
        rows.append("mains")
    frame = ch.Frame(start_s, end_s, 0.0, max(len(rows), 1), height=60 + 30 * max(len(rows), 1), left=120)
    body = ch.axes(frame, ch.time_ticks(start_s, end_s, tz), [], "")
    for i, row in enumerate(rows):
        y = len(rows) - i - 0.5
        body.append(f'<text class="row-label" x="{frame.left - 8}" y="{frame.y(y) + 4}" text-anchor="end">'
                    f'{escape(row)}</text>')
    for fault in report["faults"]:
        y = len(rows) - rows.index(fault["source"]) - 0.5
        cls = "sensor-fault" if fault["code"] in ("not_plugged", "no_answer", "stuck", "bad_crc") else "fault"
        body.append(ch.bar(frame, epoch(fault["start"]), epoch(fault["end"] or report["end"]), y + 0.3, y - 0.3,
                           cls, f"{fault['source']} {fault['code']}: {fault['reason']}"))
    for cut in cuts:
        body.append(ch.bar(frame, epoch(cut["start"]), epoch(cut["end"]), 0.8, 0.2, "power-cut", "power cut"))
    if not rows:
        body.append(f'<text class="band-label" x="{frame.left + 10}" y="{frame.y(0.5)}">no fault</text>')
    return ch.svg(frame, "faults", "Fault episodes", body) + ch.legend([
        ("sensor-fault", "sensor unplugged, silent or stuck"), ("fault", "other fault"), ("power-cut", "power cut"),
    ])


def _figures(report: Mapping[str, Any]) -> Sequence[str]:
    sync = sync_sentence(report.get("sync"))
    return [(f"Simulated {report['days']:g} days in {report['run_s']:g} s of computing, on simulated hardware "
            "driven by the real agent."), *([sync] if sync else [])]


def render(report: Mapping[str, Any], traces: Traces, price_eur_per_kwh: float = PRICE_EUR_PER_KWH) -> str:
    """The page as one string of HTML."""
    tz = ZoneInfo(report["timezone"])
    box = report["timeline"].get("box", {})
    start = datetime.fromisoformat(report["start"]).astimezone(tz)
    sections = []
    for circuit in report["lighting"]:
        sections.append(("The street lamps follow the dark, not a clock",
                         ("Outdoor light (log scale) over one evening and night, the lamps' state below it; the grey "
                         "band is the night cut-off."), night_chart(report, traces, circuit, tz)))
    for meter in report["leak"]:
        sections.append((f"Leaks on meter {meter}",
                         ("Each night's minimum flow, as the leak watch measured it in its night window, against the "
                          "baseline it learned; red marks are the alarms, shaded the leaks the world had."), water_chart(report, meter, tz)))
    for zone in report["heating"]:
        if zone in traces.temperature_c:
            sections.append((f"Heating: the {zone} stays above frost",
                             ("The temperature inside against what the box aimed at; shaded red where the box had no "
                             "thermometer and heated on a timed duty."), heating_chart(report, traces, zone, tz)))
    sections.append(("Faults", "Each fault the box recorded, from when it saw it to when it cleared.",
                     faults_chart(report, tz)))
    story = "".join(f"<li>{escape(s)}</li>" for s in tell(report, price_eur_per_kwh))
    body = "".join(f'<section><h2>{escape(h)}</h2><p class="caption">{escape(c)}</p>{chart}</section>'
                   for h, c, chart in sections)
    title = f"{box.get('name') or box.get('id') or 'Hameau box'}: {report['days']:g} simulated days"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=\"sub\">From {start:%A} {start.day} {start:%B %Y}. "
        f"{escape(' '.join(_figures(report)))}</p><ul class=\"story\">{story}</ul>{body}</body></html>\n"
    )


def html_place_problem(path: Path | None, price_eur_per_kwh: float) -> str | None:
    """Why the page could not be written at `path` or the price is wrong (checked before a long run), or None."""
    if not (math.isfinite(price_eur_per_kwh) and 0 <= price_eur_per_kwh <= 100):
        return f"--price-eur-kwh {price_eur_per_kwh:g}: must be a price from 0 to 100 € per kWh"
    if path is None:
        return None
    if path.is_dir():
        return f"--html {path}: is a directory; give the file to write"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"--html {path}: cannot write in {folder}"
    return None


def write_html(path: Path, report: Mapping[str, Any], traces: Traces,
               price_eur_per_kwh: float = PRICE_EUR_PER_KWH) -> None:
    """Write the page to `path` (a temporary file renamed over it: never half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render(report, traces, price_eur_per_kwh), encoding="utf-8")
    os.replace(partial, path)
