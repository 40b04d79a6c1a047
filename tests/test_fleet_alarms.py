"""Fleet alarms from what boxes really send: a box's store and outbox on a real SQLite file write the events
(tests/fleet_alarm_box.py), the fleet stores the batches with its alarm observer, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fleet_alarm_box import BOX_T0, Box
from fleet_batches import up_payload

from fleet import protocol
from fleet.alarms import AlarmObserver
from fleet.alarms.model import Alarm
from fleet.alarms.table import list_alarms
from fleet.store import SqlStore, open_store

#: The fleet receives each batch 5 s after the box's clock says it was made.
LAG_S = 5.0
BURST_EVIDENCE = {"flow_lph": 1850.0, "burst_lph": 1200.0, "above_since": "2026-03-02T00:50:00+00:00",
                  "burst_min": 10, "valve_relay": "main-valve", "night_flows_lph": []}


@pytest.fixture
def fleet(store_url: str) -> Iterator[SqlStore]:
    store = open_store(store_url, (AlarmObserver(),))
    yield store
    store.close()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(tmp_path)
    yield b
    b.close()


def deliver(fleet: SqlStore, box: Box, lane: str | None = "event") -> list[protocol.Batch]:
    """Send what the box's outbox has for `lane`, store it, ack it; the batches sent."""
    sent = box.batches(lane)
    for batch in sent:
        box.take_ack(fleet.store_batch(batch, box.now_s() + LAG_S))
    return sent


def alarms(fleet: SqlStore, **kwargs: object) -> list[Alarm]:
    return list_alarms(fleet.db, **kwargs)  # type: ignore[arg-type]


def test_fleet_alarms_box_burst_is_a_critical_alarm_with_the_box_evidence(fleet: SqlStore, box: Box) -> None:
    box.clock.advance(600.0)
    box.leak_alarm("leak-main", "burst", "burst: 1850 L/h, at or above 1200 L/h for 10 min", BURST_EVIDENCE)
    (batch,) = deliver(fleet, box)
    (alarm,) = alarms(fleet)
    raised_s = (BOX_T0 + timedelta(seconds=600)).timestamp()
    assert (alarm.device, alarm.kind, alarm.source, alarm.severity, alarm.state) == (
        "box-a", "burst", "leak-main/burst", "critical", "open")
    assert alarm.box_ref == "leak-main/burst"
    assert alarm.first_seen == alarm.last_seen == raised_s, "the box's synchronised time, not the reception"
    assert alarm.message == "burst: 1850 L/h, at or above 1200 L/h for 10 min"
    assert alarm.evidence["evidence"]["flow_lph"] == 1850.0 and alarm.evidence["evidence"]["burst_lph"] == 1200.0
    assert alarm.evidence["record"] == {"device": "box-a", "lane": "event", "seq": batch.seq_first,
                                        "boot": "sim-boot-1", "ts": raised_s, "clock": "synced"}
    assert alarm.count == 1 and alarm.acked_by is None and alarm.cleared_at is None


def test_fleet_alarms_a_batch_arriving_twice_counts_nothing_twice(fleet: SqlStore, box: Box) -> None:
    box.leak_alarm("leak-main", "night_flow", "night flow 14 L/h for 3 nights", {"night_flows_lph": [14.0]})
    for code in ("no_device", "stale", "no_device"):  # three occurrences of one fault
        box.event("fault", "lux-roof", f"lux-roof: {code}", {"sensor": "lux-roof", "code": code})
    (batch,) = box.batches("event")
    for received in (1.0, 2.0, 3.0):
        fleet.store_batch(batch, box.now_s() + received)
    found = {(a.kind, a.count, a.state) for a in alarms(fleet)}
    assert found == {("leak", 1, "open"), ("sensor_fault", 3, "open")}


def test_fleet_alarms_leak_acknowledged_on_the_box_is_cleared_and_kept(fleet: SqlStore, box: Box) -> None:
    box_alarm = box.leak_alarm("leak-main", "night_flow", "night flow 14 L/h", {"night_flows_lph": [13.5, 14.0]})
    deliver(fleet, box)
    (leak,) = alarms(fleet, open_only=True)
    assert (leak.kind, leak.severity) == ("leak", "critical")
    box.clock.advance(7200.0)
    box.ack_locally(box_alarm, "technician:ana")
    deliver(fleet, box)
    assert alarms(fleet, open_only=True) == []
    (kept,) = alarms(fleet)
    acked_s = (BOX_T0 + timedelta(hours=2)).timestamp()
    assert (kept.id, kept.state, kept.cleared_at) == (leak.id, "cleared", acked_s)
    assert (kept.acked_by, kept.acked_at) == ("technician:ana", acked_s)


def test_fleet_alarms_sensor_fault_counts_then_clears_on_recovery(fleet: SqlStore, box: Box) -> None:
    box.event("fault", "lux-roof", "lux-roof: no answer", {"sensor": "lux-roof", "code": "no_device"})
    deliver(fleet, box)
    box.clock.advance(60.0)
    box.event("fault", "lux-roof", "no fresh value for 900 s", {"sensor": "lux-roof", "code": "stale"})
    deliver(fleet, box)
    (fault,) = alarms(fleet, open_only=True)
    assert (fault.kind, fault.source, fault.severity, fault.count) == ("sensor_fault", "lux-roof", "warning", 2)
    assert fault.message == "no fresh value for 900 s", "the latest occurrence's words"
    assert fault.last_seen - fault.first_seen == 60.0
    box.clock.advance(60.0)
    box.event("fault_cleared", "lux-roof", "lux-roof reads again after stale", {"sensor": "lux-roof", "code": "stale"})
    deliver(fleet, box)
    assert alarms(fleet, open_only=True) == []
    box.event("fault", "lux-roof", "lux-roof: no answer", {"sensor": "lux-roof", "code": "no_device"})
    deliver(fleet, box)
    assert [(a.state, a.count) for a in alarms(fleet)] == [("open", 1), ("cleared", 2)], "a new episode"


def test_fleet_alarms_relay_feedback_and_store_faults_open_and_clear(fleet: SqlStore, box: Box) -> None:
    box.event("fault", "street-lights", "street-lights: feedback says off while driven on",
              {"relay": "street-lights", "code": "feedback_mismatch"})
    box.event("fault", "store", "store fault (full): database or disk is full",
              {"class": "full", "cause": "database or disk is full", "while": "committing"})
    deliver(fleet, box)
    found = {(a.kind, a.source, a.severity) for a in alarms(fleet, open_only=True)}
    assert found == {("relay_feedback", "street-lights", "critical"), ("storage_fault", "store", "warning")}
    box.event("fault_cleared", "street-lights", "street-lights feedback agrees again",
              {"relay": "street-lights", "code": "feedback_mismatch"})
    box.event("fault_cleared", "store", "store resumed after 120 s of full", {"class": "full", "after_s": 120.0})
    deliver(fleet, box)
    assert alarms(fleet, open_only=True) == []


def test_fleet_alarms_config_rejected_names_the_reasons_until_one_applies(fleet: SqlStore, box: Box) -> None:
    box.config_report(4, "rejected", ["fleet config v4: [leak].burst_lph: must be > 0, got -5"])
    deliver(fleet, box)
    (rejected,) = alarms(fleet, open_only=True)
    assert (rejected.kind, rejected.severity) == ("config_rejected", "warning")
    assert rejected.evidence["version"] == 4 and rejected.evidence["status"] == "rejected"
    assert rejected.evidence["reasons"] == ["fleet config v4: [leak].burst_lph: must be > 0, got -5"]
    assert "burst_lph: must be > 0" in rejected.message
    box.config_report(5, "applied", [])
    deliver(fleet, box)
    assert alarms(fleet, open_only=True) == []


def test_fleet_alarms_data_thinned_on_the_box_stays_open_with_its_range(fleet: SqlStore, box: Box) -> None:
    box.thin_raw(30)
    deliver(fleet, box, None)
    (thinned,) = alarms(fleet, open_only=True)
    assert (thinned.kind, thinned.source, thinned.severity, thinned.until_ack) == (
        "data_thinned", "raw", "warning", True)
    assert (thinned.evidence["lane"], thinned.evidence["seq_from"], thinned.evidence["seq_to"],
            thinned.evidence["count"]) == ("raw", 1, 30, 30)
    assert "removed" in thinned.evidence["reason"]


def _status(state: str, at: float) -> protocol.Status:
    return protocol.Status("box-a", state, "sim-boot-1", "0.9.0", 3, at)


def test_fleet_alarms_offline_by_last_will_then_online_again(fleet: SqlStore) -> None:
    t = BOX_T0.timestamp()
    fleet.store_status(_status("online", t + 0.5), t + 1)
    fleet.store_status(_status("offline", t), t + 3600)  # the will carries the time the box connected
    (offline,) = alarms(fleet, open_only=True)
    assert (offline.kind, offline.source, offline.severity, offline.first_seen) == (
        "offline", "link", "warning", t + 3600)
    assert offline.evidence["at"] == t and offline.evidence["state"] == "offline"
    fleet.store_status(_status("offline", t), t + 3700)  # the retained will, delivered again: the same news
    assert alarms(fleet, open_only=True)[0].count == 1
    fleet.store_status(_status("online", t + 7000.5), t + 7001)
    assert alarms(fleet, open_only=True) == []
    fleet.store_status(_status("offline", t + 7000), t + 9000)  # the next connection's will
    assert [(a.state, a.first_seen, a.cleared_at) for a in alarms(fleet)] == [
        ("open", t + 9000, None), ("cleared", t + 3600, t + 7001)]


def test_fleet_alarms_a_clear_stored_before_its_raise_opens_nothing(fleet: SqlStore, box: Box) -> None:
    box.event("fault", "lux-roof", "lux-roof: no answer", {"sensor": "lux-roof", "code": "no_device"})
    (raised,) = box.batches("event")
    box.clock.advance(30.0)
    box.event("fault_cleared", "lux-roof", "lux-roof reads again", {"sensor": "lux-roof", "code": "no_device"})
    (cleared,) = box.batches("event")
    fleet.store_batch(cleared, box.now_s())  # a second ingest worker got the later batch first
    fleet.store_batch(raised, box.now_s() + 1.0)
    (kept,) = alarms(fleet)
    assert (kept.state, kept.cleared_at) == ("cleared", box.now_s())


def test_fleet_alarms_unknown_box_alarm_kind_and_odd_evidence_are_still_the_box_alarm(fleet: SqlStore) -> None:
    record = {"seq": 1, "boot": "b1", "mono_s": 1.0, "wall_s": BOX_T0.timestamp(), "clock": "unsynced",
              "type": "event", "kind": "alarm", "source": "leak-tower", "reason": "tank overflow",
              "data": {"key": "leak-tower/overflow", "alarm_kind": "overflow", "evidence": "level 104 %"}}
    fleet.store_batch(protocol.parse_batch("box-a", up_payload("event", 0, [record])), BOX_T0.timestamp() + 9.0)
    (alarm,) = alarms(fleet)
    assert (alarm.kind, alarm.severity, alarm.box_ref) == ("box_alarm", "critical", "leak-tower/overflow")
    assert alarm.evidence["evidence"] == {"value": "level 104 %"}
    assert alarm.first_seen == BOX_T0.timestamp() + 9.0, "an unsynchronised clock: the time it was received"


def test_fleet_alarms_each_condition_of_a_part_is_its_own_stream(fleet: SqlStore, box: Box) -> None:
    lux = {"sensor": "lux-roof", "relay": "street-lights"}
    box.event("fault", "lights", "lux sensor lux-roof not believed: 900 lx at night",
              {**lux, "code": "implausible_at_night"})
    box.event("fault", "lights", "lux sensor lux-roof lit by its own lamps", {**lux, "code": "self_lit",
                                                                             "self_lit_lx": 40.0})
    box.event("fault", "lights", "controller lights: decide raised ZeroDivisionError; fallback",
              {"controller": "lights", "call": "decide", "error": "ZeroDivisionError", "message": "division"})
    deliver(fleet, box)
    box.event("fault_cleared", "lights", "lux sensor lux-roof no longer lit by its lamps", {**lux, "code": "self_lit"})
    box.event("fault_cleared", "lights", "controller lights: decide works again", {"controller": "lights",
                                                                                   "call": "decide"})
    deliver(fleet, box)
    assert {(a.kind, a.source, a.state) for a in alarms(fleet)} == {
        ("sensor_fault", "lights", "open"), ("sensor_fault", "lights/self_lit", "cleared"),
        ("controller_fault", "lights/decide", "cleared")}
