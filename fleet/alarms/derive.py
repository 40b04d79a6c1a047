"""From what a box sends to alarm signals: pure functions of a record (or a status) and when it came.

What the box writes (edge/controllers, edge/runtime, edge/storage) and what it becomes here:
- event "alarm" {key, alarm_kind, evidence} (a leak controller latched an alarm): leak, continuous_flow or burst,
  source the box's key, cleared by event "alarm_acked" {key, ...} (acknowledged on the box or from here);
- event "fault" {relay, code: feedback_mismatch} / "fault_cleared": relay_feedback, source the relay;
- event "fault" from source "store" {class, cause, while} / "fault_cleared": storage_fault;
- event "fault" {controller, call} (a controller raised) / "fault_cleared": controller_fault, source
  "controller/call"; a state reset at start {call: restore, reset} is a one-off;
- any other event "fault" (a sensor unplugged, stale or stuck, a lux sensor not believed, thermometers that
  disagree, a meter silent or gone back) / "fault_cleared": sensor_fault, source the event's source
  (a lux sensor lit by its own lamps, code self_lit, and a meter gone back, a one-off, are streams of their own);
- config_report with status rejected or rolled_back: config_rejected, cleared by an applied one;
- thinned: data_thinned (a one-off per lane: open until acknowledged, each report counted);
- status offline (the last will, or a clean stop): offline, cleared by status online.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import protocol
from fleet.alarms.model import (
    BOX_ALARM_KINDS,
    CONFIG_REJECTED,
    CONTROLLER_FAULT,
    DATA_THINNED,
    OFFLINE,
    RELAY_FEEDBACK,
    SENSOR_FAULT,
    STORAGE_FAULT,
    UNKNOWN_BOX_ALARM,
    WARNING,
    Clear,
    Raise,
    Signal,
)
from fleet.store.api import trusted_ts

#: relay_feedback is critical: a contactor that does not do what the box orders (lights, heating, the burst
#: valve) is something the box cannot mend, and someone has to go. The other faults are warnings: the box
#: falls back on its own (astronomical clock, frost protection, memory buffer) and keeps the village safe.
RELAY_SEVERITY = "critical"
#: The source of the offline alarm (the broker's last will, or the box's own "offline" at a clean stop).
LINK_SOURCE = "link"
CONFIG_SOURCE = "config"
_SEVERITY_OF_FAULT = {RELAY_FEEDBACK: RELAY_SEVERITY}


def record_at(record: protocol.Record, received_at: float) -> float:
    """When a record happened: its wall time if the fleet trusts it (time-trust rule), else when it came."""
    ts = trusted_ts(record.clock, record.wall_s, received_at)
    return received_at if ts is None else ts


def record_ref(device: str, lane: str, record: protocol.Record) -> dict[str, Any]:
    """The record's own reference, for evidence."""
    return {"device": device, "lane": lane, "seq": record.seq, "boot": record.boot, "ts": record.wall_s,
            "clock": record.clock}


def _fault_stream(source: str, data: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(kind, alarm source, one-off) of a fault event's stream."""
    code = data.get("code")
    if source == "store" and ("class" in data or "states" in data):
        return STORAGE_FAULT, "store", False
    if code == "feedback_mismatch" and "relay" in data:
        return RELAY_FEEDBACK, str(data["relay"]), False
    if "call" in data:
        once = data.get("call") == "restore" and bool(data.get("reset"))
        return CONTROLLER_FAULT, f"{source}/{data['call']}", once
    if code == "self_lit":
        return SENSOR_FAULT, f"{source}/self_lit", False
    if "previous_total_l" in data:  # a meter total gone back: the tracking restarted, nothing will clear it
        return SENSOR_FAULT, f"{source}/meter_reset", True
    return SENSOR_FAULT, source, False


def _event_signals(device: str, lane: str, record: protocol.Record, at: float) -> list[Signal]:
    body = record.body
    kind, source, reason = str(body["kind"]), str(body["source"]), str(body["reason"])
    data: Mapping[str, Any] = body["data"] if isinstance(body.get("data"), Mapping) else {}
    ref = record_ref(device, lane, record)
    order = float(record.seq)
    if kind == "alarm":
        box_kind = str(data.get("alarm_kind", "alarm"))
        key = str(data.get("key", source))
        fleet_kind, severity = BOX_ALARM_KINDS.get(box_kind, UNKNOWN_BOX_ALARM)
        figures = data.get("evidence")
        evidence = {"box_kind": box_kind, "box_key": key, "controller": source,
                    "evidence": dict(figures) if isinstance(figures, Mapping) else {"value": figures}, "record": ref}
        return [Raise(fleet_kind, key, severity, reason, evidence, at, order, box_ref=key)]
    if kind == "alarm_acked":
        box_kind = str(data.get("alarm_kind", "alarm"))
        key = str(data.get("key", source))
        fleet_kind = BOX_ALARM_KINDS.get(box_kind, UNKNOWN_BOX_ALARM)[0]
        # The store's event says who (its source); the controller's, sent after, names itself.
        by = source if "alarm_id" in data else None
        return [Clear(fleet_kind, key, at, order, f"acknowledged on the box (record {lane} #{record.seq})", by)]
    if kind in ("fault", "fault_cleared"):
        fleet_kind, stream, once = _fault_stream(source, data)
        if kind == "fault_cleared":
            return [Clear(fleet_kind, stream, at, order, f"{reason} (record {lane} #{record.seq})")]
        severity = _SEVERITY_OF_FAULT.get(fleet_kind, WARNING)
        evidence = {"source": source, "data": dict(data), "record": ref}
        return [Raise(fleet_kind, stream, severity, reason, evidence, at, order, once=once)]
    return []


def record_signals(device: str, lane: str, record: protocol.Record, received_at: float) -> list[Signal]:
    """The alarm signals of one record of a batch (none for most records)."""
    at = record_at(record, received_at)
    body, order = record.body, float(record.seq)
    if record.type == "event":
        return _event_signals(device, lane, record, at)
    if record.type == "config_report":
        status, version = str(body["status"]), int(body["version"])
        if status == "applied":
            return [Clear(CONFIG_REJECTED, CONFIG_SOURCE, at, order, f"config version {version} applied")]
        reasons = [str(r) for r in body["reasons"]]
        words = "rolled back" if status == "rolled_back" else "rejected"
        message = f"config version {version} {words} by the box: " + ("; ".join(reasons) or "no reason given")
        evidence = {"version": version, "status": status, "reasons": reasons,
                    "record": record_ref(device, lane, record)}
        return [Raise(CONFIG_REJECTED, CONFIG_SOURCE, WARNING, message, evidence, at, order)]
    if record.type == "thinned":
        evidence = {"lane": body["lane"], "seq_from": int(body["seq_from"]), "seq_to": int(body["seq_to"]),
                    "count": int(body["count"]), "reason": str(body["reason"]),
                    "record": record_ref(device, lane, record)}
        message = (f"{body['count']} record(s) of the {body['lane']} lane ({body['seq_from']}..{body['seq_to']})"
                   f" thinned on the box: {body['reason']}")
        return [Raise(DATA_THINNED, str(body["lane"]), WARNING, message, evidence, at, order, once=True)]
    return []


def status_signals(status: protocol.Status, received_at: float) -> list[Signal]:
    """The alarm signal of a status: offline opens the offline alarm, online clears it. Statuses are ordered
    as they came: a box's will carries the time it connected, before the "online" of the same connection."""
    evidence = {"state": status.state, "at": status.at, "boot": status.boot, "version": status.version,
                "config_version": status.config_version, "received_at": received_at}
    if status.link is not None:
        evidence["link"] = dict(status.link)
    if status.state == "offline":
        message = (f"{status.device} is offline: the broker gave its last will, or it stopped cleanly"
                   f" (status of boot {status.boot}, version {status.version})")
        return [Raise(OFFLINE, LINK_SOURCE, WARNING, message, evidence, received_at, received_at)]
    return [Clear(OFFLINE, LINK_SOURCE, received_at, received_at, f"online again (boot {status.boot})")]
