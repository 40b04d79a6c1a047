"""The technician's wiring check: read every sensor once, scan the buses, report."""

from __future__ import annotations

import math
from typing import Any

from drivers.errors import SensorError
from drivers.i2c_scan import scan_i2c
from drivers.pulse_meter import SECONDS_PER_HOUR, PulseMeter
from edge.config.buses import format_address
from edge.config.model import SensorConfig
from edge.hardware.assembly import Hardware

#: The flow a probe's advice on its window aims at when the config gives none (a dripping tap, a cistern).
REFERENCE_FLOW_LPH = 10.0


def _place(hardware: Hardware, cfg: SensorConfig) -> tuple[str, int | str]:
    """The bus kind a sensor sits on and its place there (the first it claims)."""
    kind = hardware.config.bus(cfg.bus).kind
    return kind, hardware.config.parts.of(cfg).claims(cfg)[0][1]


def where(hardware: Hardware, cfg: SensorConfig) -> str:
    """The sensor's place on its bus, as a technician writes it."""
    return format_address(*_place(hardware, cfg))


def run_probe(hardware: Hardware, *, pulse_window_s: float) -> dict[str, Any]:
    """Read each sensor once (pulse meters after counting for a window) and scan each bus."""
    config = hardware.config
    counting = any("pulse_count" in config.parts.of(s).readings_of(s) for s in config.sensors)
    meters = {i: m for i, m in hardware.sensors.items() if isinstance(m, PulseMeter)}
    before = {sensor_id: meter.pulse_count for sensor_id, meter in meters.items()}
    if counting and pulse_window_s > 0:
        hardware.sleep(pulse_window_s)
    expected_lph = _expected_flow_lph(hardware)
    sensors = []
    for cfg in config.sensors:
        entry: dict[str, Any] = {
            "id": cfg.id,
            "driver": config.parts.of(cfg).display_name(cfg),
            "bus": cfg.bus,
            "address": where(hardware, cfg),
        }
        fault = hardware.sensor_faults.get(cfg.id)
        if fault is None:
            try:
                entry["readings"] = [r.to_dict() for r in hardware.sensors[cfg.id].read()]
            except SensorError as exc:
                fault = exc
        if cfg.id in meters and pulse_window_s > 0 and "readings" in entry:
            meter = meters[cfg.id]
            entry["window"] = pulse_window(
                meter.pulse_count - before[cfg.id], pulse_window_s, meter.litres_per_pulse, expected_lph
            )
        entry["ok"] = fault is None
        if fault is not None:
            entry["error"] = fault.to_dict()
        sensors.append(entry)
    return {
        "device": config.device.id,
        "simulated": hardware.simulated,
        "sensors": sensors,
        "i2c": _scan_i2c(hardware),
        "onewire": _scan_onewire(hardware),
        "actuators": [
            {
                "id": a.id,
                "bus": a.bus,
                "pin": f"GPIO{a.pin}",
                "active": "high" if a.active_high else "low",
                "safe_state": "on" if a.safe_state else "off",
                "feedback_pin": None if a.feedback_pin is None else f"GPIO{a.feedback_pin}",
            }
            for a in config.actuators
        ],
    }


def _expected_flow_lph(hardware: Hardware) -> float:
    """The flow to size the window for: the simulated meters' flow, else REFERENCE_FLOW_LPH."""
    simulation = hardware.config.simulation
    return simulation.flow_lph if hardware.simulated and simulation.flow_lph > 0 else REFERENCE_FLOW_LPH


def pulse_window(pulses: int, window_s: float, litres_per_pulse: float, expected_flow_lph: float) -> dict[str, Any]:
    """What a pulse meter's counting window saw: its pulses, the flow they make, and the lowest flow it can see."""
    one_pulse_lph = litres_per_pulse * SECONDS_PER_HOUR / window_s
    # One pulse a period: a window as long as the period at the expected flow sees a pulse whatever its phase.
    period_s = litres_per_pulse * SECONDS_PER_HOUR / expected_flow_lph
    return {
        "window_s": window_s,
        "pulses": pulses,
        "litres_per_pulse": litres_per_pulse,
        "window_flow_lph": pulses * one_pulse_lph,
        "min_flow_lph": one_pulse_lph,
        "expected_flow_lph": expected_flow_lph,
        "window_for_expected_s": max(1, math.ceil(period_s - 1e-9)),
    }


def format_window(window: dict[str, Any]) -> str:
    """A pulse meter's window in words: what it counted, or why it may have counted nothing."""
    w, low = window["window_s"], window["min_flow_lph"]
    if window["pulses"] == 0:
        return (f"no pulse in {w:g} s: below {low:.3g} L/h for this meter, or not wired; "
                f"a window of {window['window_for_expected_s']} s would see {window['expected_flow_lph']:g} L/h")
    counted = f"{window['pulses']} pulse" + ("" if window["pulses"] == 1 else "s")
    return f"{counted} in {w:g} s: about {window['window_flow_lph']:.3g} L/h (to one pulse: ±{low:.3g} L/h)"


def _expected(hardware: Hardware, bus_id: str) -> list[Any]:
    """The places the configured sensors take on a bus, sorted."""
    return sorted(_place(hardware, s)[1] for s in hardware.config.sensors if s.bus == bus_id)


def _scan_i2c(hardware: Hardware) -> list[dict[str, Any]]:
    result = []
    for bus_id, bus in hardware.buses.of_kind(hardware.config, "i2c").items():
        expected = _expected(hardware, bus_id)
        try:
            found = scan_i2c(bus)
        except OSError as exc:
            result.append({"bus": bus_id, "error": str(exc)})
            continue
        result.append({
            "bus": bus_id,
            "found": [f"0x{a:02X}" for a in found],
            "missing": [f"0x{a:02X}" for a in expected if a not in found],
            "unexpected": [f"0x{a:02X}" for a in found if a not in expected],
        })
    return result


def _scan_onewire(hardware: Hardware) -> list[dict[str, Any]]:
    result = []
    for bus_id, bus in hardware.buses.of_kind(hardware.config, "onewire").items():
        expected = _expected(hardware, bus_id)
        try:
            found = bus.list_devices()
        except OSError as exc:
            result.append({"bus": bus_id, "error": str(exc)})
            continue
        result.append({
            "bus": bus_id,
            "found": found,
            "missing": [r for r in expected if r not in found],
            "unexpected": [r for r in found if r not in expected],
        })
    return result


def format_probe(report: dict[str, Any]) -> str:
    """The probe report as text for a terminal."""
    mode = "simulated buses" if report["simulated"] else "real buses"
    lines = [f"hameau probe: {report['device']} ({mode})", "", "sensors:"]
    width = max((len(s["id"]) for s in report["sensors"]), default=0)
    for s in report["sensors"]:
        head = f"  {s['id']:<{width}}  {s['driver']} on {s['bus']} at {s['address']}"
        if s["ok"]:
            values = ", ".join(
                f"{r['name']} = {r['value']:.6g}" + ("" if r["unit"] == "1" else f" {r['unit']}")
                for r in s["readings"]
            )
            lines.append(f"{head}: {values}")
            if "window" in s:
                lines.append(f"  {'':<{width}}  {format_window(s['window'])}")
        else:
            lines.append(f"{head}: FAULT {s['error']['code']}: {s['error']['reason']}")
    for kind, entries in (("I2C", report["i2c"]), ("1-Wire", report["onewire"])):
        for bus in entries:
            if "error" in bus:
                lines.append(f"{kind} bus {bus['bus']}: cannot scan: {bus['error']}")
                continue
            found = " ".join(bus["found"]) or "nothing"
            lines.append(f"{kind} bus {bus['bus']}: found {found}")
            if bus["missing"]:
                lines.append(f"  configured but not found: {' '.join(bus['missing'])}")
            if bus["unexpected"]:
                lines.append(f"  found but not configured: {' '.join(bus['unexpected'])}")
    if report["actuators"]:
        lines.append("relays (not switched by the probe):")
        for a in report["actuators"]:
            feedback = f", feedback on {a['feedback_pin']}" if a["feedback_pin"] else ""
            lines.append(f"  {a['id']}: {a['pin']} active {a['active']}, safe state {a['safe_state']}{feedback}")
    return "\n".join(lines)
