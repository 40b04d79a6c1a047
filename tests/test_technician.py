"""The technician's commands: durations, status and alarm reports, overrides and their refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.clock import SimClock
from edge.config.box import BoxConfig
from edge.config.loader import parse_config
from edge.runtime.lock import Holder
from edge.storage.store import Store
from edge.technician.render import evidence_summary, render_alarms, render_status
from edge.technician.reports import (
    Liveness,
    UnknownRelayError,
    ack_alarm,
    agent_stale_after_s,
    alarms_report,
    parse_duration,
    set_relay,
    status_report,
)
from edge.technician.times import format_duration

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
NOW = datetime(2026, 1, 10, 21, 0, tzinfo=UTC)  # 22:00 in Paris


@pytest.fixture
def config(tmp_path: Path) -> BoxConfig:
    text = re.sub(r'(?m)^db_path = ".*"', f'db_path = "{tmp_path / "hameau.db"}"', EXAMPLE.read_text(encoding="utf-8"))
    return parse_config(text, tmp_path / "box.toml")


@pytest.fixture
def store(config: BoxConfig) -> Iterator[Store]:
    s = Store(config.agent.db_path, monotonic=SimClock().monotonic)
    yield s
    s.close()


def snapshot(at: datetime, **interlocks: str) -> dict[str, Any]:
    """A status snapshot shaped like the agent's."""
    return {
        "at": at.isoformat(),
        "agent": {"pid": 4242, "started_at": (at - timedelta(days=2)).isoformat(), "version": "0.3.0"},
        "sensors": {
            "lux-roof": {
                "readings": {"illuminance_lx": {"value": 3.25, "unit": "lx"}},
                "at": (at - timedelta(seconds=20)).isoformat(), "health": "ok", "fault": None,
            },
            "hall-temp": {
                "readings": {"temperature_c": {"value": 18.5, "unit": "°C"}},
                "at": (at - timedelta(minutes=40)).isoformat(), "health": "fault",
                "fault": "DS18B20 on w1 at 28-0316a2794aff: not plugged",
            },
        },
        "controllers": {
            "lights": {"kind": "lighting", "mode": "night", "reason": "lux 3.2 below 20 lx since 17:12"},
        },
        "relays": {
            "street-lights": {
                "on": True, "decided_by": "lights", "reason": "dark", "until": None, "feedback": False,
            },
            "hall-heating": {
                "on": True, "decided_by": "heating", "reason": "frost protection: hall at 4.5 °C",
                "until": None, "feedback": None,
            },
        },
        "interlocks": {k.replace("_", "-"): v for k, v in interlocks.items()},
    }


def test_parse_duration_accepts_the_usual_forms() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration(" 1H 30m ") == timedelta(hours=1, minutes=30)
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("1.5h") == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a duration"),
        ("90", "not a duration"),
        ("-2h", "not a duration"),
        ("2 hours", "not a duration"),
        ("1h1h", "unit twice"),
        ("0m", "positive"),
        ("8d", "7 days"),
        ("7d1m", "7 days"),
    ],
)
def test_parse_duration_rejects_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_format_duration_reads_like_a_technician() -> None:
    assert [format_duration(s) for s in (4, 59, 60, 754, 3600, 5400, 86_399, 86_400, 93_600, 3 * 86_400)] == [
        "4 s", "59 s", "1 min", "12 min", "1 h", "1 h 30 min", "23 h 59 min", "1 d", "1 d 2 h", "3 d",
    ]


def test_evidence_summary_is_short() -> None:
    assert evidence_summary({"flow_lph": 40.123456789, "window": "02:00-04:00"}) == (
        "flow_lph=40.1235, window=02:00-04:00"
    )
    long = evidence_summary({f"k{i}": i for i in range(50)}, width=40)
    assert len(long) == 40 and long.endswith("...")


def test_status_of_a_running_agent(store: Store, config: BoxConfig) -> None:
    store.save_status(snapshot(NOW - timedelta(seconds=12)))
    store.raise_alarm("leak/night-flow", "night-flow", "leak", "40 L/h all night", {"flow_lph": 40.0}, NOW)
    holder = Holder(4242, (NOW - timedelta(days=2)).isoformat(), "saint-aubin-mairie", Path("hameau.db.lock"))
    report = status_report(store, config, NOW, liveness=Liveness(holder))
    assert report["agent"]["running"] is True and report["agent"]["age_s"] == pytest.approx(12.0)
    sensors = {s["id"]: s for s in report["sensors"]}
    assert list(sensors) == [s.id for s in config.sensors], "every configured sensor, in config order"
    assert sensors["lux-roof"]["age_s"] == pytest.approx(32.0)
    assert sensors["water-main"]["health"] == "unknown"
    assert sensors["water-main"]["age_s"] is None
    text = render_status(report)
    assert "saint-aubin-mairie (Mairie de Saint-Aubin) at Sat 10 Jan 22:00 CET" in text
    assert "agent: running, pid 4242, since Thu 08 Jan 22:00 CET, version 0.3.0; snapshot 12 s ago" in text
    assert "illuminance_lx = 3.25 lx, 32 s ago" in text
    assert "FAULT   temperature_c = 18.5 °C, 40 min ago (DS18B20 on w1 at 28-0316a2794aff: not plugged)" in text
    assert "water-main       UNKNOWN no value yet\n" in text
    assert "lights  lighting, mode night: lux 3.2 below 20 lx since 17:12" in text
    assert "street-lights  ON  by lights: dark  FEEDBACK SAYS OFF" in text
    assert "1 latched alarm:" in text and "night-flow from leak" in text and "evidence: flow_lph=40" in text


def test_status_says_when_the_agent_is_not_running(store: Store, config: BoxConfig) -> None:
    store.save_status(snapshot(NOW - timedelta(hours=3)))
    report = status_report(store, config, NOW, liveness=Liveness(None))
    assert report["agent"]["running"] is False and report["agent"]["stopped_cleanly"] is False
    assert ("AGENT NOT RUNNING: last seen 19:00:00 CET, 3 h ago (it did not stop cleanly); values below are "
            "from then") in render_status(report)
    # The lock, not the snapshot's age, says whether it runs: a snapshot of a second ago is not a live agent.
    store.save_status(snapshot(NOW - timedelta(seconds=1)))
    assert status_report(store, config, NOW, liveness=Liveness(None))["agent"]["running"] is False
    # An agent run in this very process (a simulation) is not tested by its lock: a fresh snapshot says it runs.
    store.save_status(snapshot(NOW - timedelta(seconds=agent_stale_after_s(config) - 1)))
    assert status_report(store, config, NOW)["agent"]["running"] is True


def test_status_without_a_database(config: BoxConfig) -> None:
    report = status_report(None, config, NOW)
    text = render_status(report)
    assert report["agent"]["running"] is False and report["alarms"] == []
    assert "AGENT HAS NEVER RUN" in text and "(does not exist yet)" in text and "no latched alarm" in text
    assert [r["id"] for r in report["relays"]] == ["street-lights", "hall-heating"]


def test_status_shows_overrides_and_interlocks(store: Store, config: BoxConfig) -> None:
    store.save_status(snapshot(NOW, hall_heating="frost protection: hall at 4.5 °C"))
    set_relay(store, config, "street-lights", "on", NOW - timedelta(hours=1), duration=timedelta(hours=5),
              by="technician:ana", reason="village fete")
    text = render_status(status_report(store, config, NOW))
    assert "override: ON until Sun 11 Jan 02:00 CET (expires in 4 h), set by technician:ana: village fete" in text
    assert "interlock: frost protection: hall at 4.5 °C (overrides refused)" in text


def test_set_relay_records_an_override_with_its_expiry(store: Store, config: BoxConfig) -> None:
    outcome = set_relay(store, config, "street-lights", "on", NOW, duration=timedelta(hours=4), by="technician:ana")
    assert outcome.accepted and outcome.message == (
        "street-lights forced ON until Sun 11 Jan 02:00 CET (for 4 h)"
    )
    override = store.overrides()["street-lights"]
    assert (override.on, override.until, override.by) == (True, NOW + timedelta(hours=4), "technician:ana")
    [event] = store.events(kind="override")
    assert event.data["action"] == "set" and event.source == "technician:ana"
    back = set_relay(store, config, "street-lights", "auto", NOW + timedelta(hours=1), by="technician:ana")
    assert back.accepted and "automatic" in back.message and store.overrides() == {}
    again = set_relay(store, config, "street-lights", "auto", NOW + timedelta(hours=1))
    assert again.accepted and "already under automatic control" in again.message


def test_set_relay_refused_by_an_interlock(store: Store, config: BoxConfig) -> None:
    store.save_status(snapshot(NOW - timedelta(seconds=5), hall_heating="frost protection: hall at 4.5 °C"))
    outcome = set_relay(store, config, "hall-heating", "off", NOW, by="technician:ana")
    assert not outcome.accepted
    assert outcome.message == (
        "refused: hall-heating is interlocked: frost protection: hall at 4.5 °C (agent's snapshot of 5 s ago)"
    )
    assert store.overrides() == {}
    [event] = store.events(kind="override")
    assert event.data["action"] == "refused" and event.data["interlock"].startswith("frost")
    assert set_relay(store, config, "street-lights", "off", NOW).accepted, "only the interlocked relay is refused"


def test_set_relay_unknown_id_lists_known_relays(store: Store, config: BoxConfig) -> None:
    with pytest.raises(UnknownRelayError, match="no relay 'pump'.*known relays: street-lights, hall-heating"):
        set_relay(store, config, "pump", "on", NOW)
    with pytest.raises(ValueError, match="7 days"):
        set_relay(store, config, "street-lights", "on", NOW, duration=timedelta(days=8))


def test_alarms_report_and_ack(store: Store, config: BoxConfig) -> None:
    first = store.raise_alarm("leak/burst", "burst", "leak", "2000 L/h", {"flow_lph": 2000.0}, NOW - timedelta(hours=2))
    store.raise_alarm("heating/frost", "frost", "heating", "hall at 3 °C", {}, NOW - timedelta(hours=1))
    text = render_alarms(alarms_report(store, config, NOW))
    assert "2 latched alarms:" in text
    assert "#1  burst from leak, raised Sat 10 Jan 20:00 CET (2 h ago): 2000 L/h" in text
    assert "evidence: flow_lph=2000" in text and "alarms ack ID" in text
    alarm, was_latched = ack_alarm(store, first, "technician:ana", NOW)
    assert alarm is not None and was_latched and alarm.acked_by == "technician:ana"
    assert ack_alarm(store, first, "technician:bob", NOW)[1] is False
    assert ack_alarm(store, 77, "technician:bob", NOW) == (None, False)
    assert [a["key"] for a in alarms_report(store, config, NOW)["alarms"]] == ["heating/frost"]
    assert render_alarms(alarms_report(None, config, NOW)) == "no latched alarm"


def test_technician_relay_says_when_a_minimum_off_time_holds_it(store: Store, config: BoxConfig) -> None:
    # The street lights went off 60 s ago; their circuit keeps them off for min_off_s = 300 s.
    store.save_state("controller:street-main", {"on": False, "changed_at_s": NOW.timestamp() - 60.0})
    store.commit()
    outcome = set_relay(store, config, "street-lights", "on", NOW, duration=timedelta(hours=3))
    assert outcome.accepted
    # Held until 22:04 Paris time, then on for the whole 3 h asked.
    assert outcome.message.startswith("street-lights held off for its minimum off time: switches ON at 22:04, until ")
    assert outcome.override is not None and outcome.override.until == NOW + timedelta(seconds=240, hours=3)
    assert "Sun 11 Jan 01:04 CET (for 3 h)" in outcome.message  # 10 January 2026 is a Saturday
    # Once the minimum time is over, the order applies at once.
    later = NOW + timedelta(seconds=241)
    at_once = set_relay(store, config, "street-lights", "on", later, duration=timedelta(hours=3))
    assert at_once.message.startswith("street-lights forced ON until ")
    assert at_once.override is not None and at_once.override.until == later + timedelta(hours=3)
    # An order the relay already obeys is not held either.
    store.save_state("controller:street-main", {"on": True, "changed_at_s": NOW.timestamp() - 60.0})
    store.commit()
    kept = set_relay(store, config, "street-lights", "on", NOW, duration=timedelta(hours=1))
    assert kept.override is not None and kept.override.until == NOW + timedelta(hours=1)
