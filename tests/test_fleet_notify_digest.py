"""The daily digest on both engines: what it counts (open alarms, opened and cleared in the last 24 hours, per
severity), at the local time of day, and exactly once a day with two job runners (two serve processes) racing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from fleet.notify import notify_jobs
from fleet.notify.planner import digest_day, plan
from fleet.serve.jobs import JobRunner
from fleet.store.db import Database
from hil_tests.http_receiver import HttpReceiver
from tests.fleet_notify_helpers import (
    T0,
    clear_alarm,
    fleet_db,
    outbox_rows,
    raise_alarm,
    settings,
)

#: 2026-11-29 07:00 UTC: 08:00 in Paris (winter time), the digest's default time of day.
D = T0 + 21 * 3600
H = 3600.0


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


def test_notify_digest_counts_open_opened_and_cleared_per_severity(db: Database) -> None:
    s = settings(webhook={"urls": ["http://127.0.0.1:9/unused"]}, group_window_s=0)
    raise_alarm(db, "box-01", "leak", D - 48 * H, severity="critical")  # open, opened before the 24 h
    raise_alarm(db, "box-02", "offline", D - 2 * H, severity="warning")  # open, opened within
    raise_alarm(db, "box-03", "burst", D - 10 * H, severity="critical")  # opened and cleared within
    clear_alarm(db, "box-03", "burst", D - 9 * H)
    raise_alarm(db, "box-04", "data_thinned", D - 1 * H, severity="info")  # open, opened within
    raise_alarm(db, "box-05", "offline", D - 40 * H, severity="warning")  # cleared before the 24 h
    clear_alarm(db, "box-05", "offline", D - 30 * H)

    def digests(now: float) -> list[dict]:
        return [json.loads(r["body"]) for r in outbox_rows(db) if r["kind"] == "digest" and r["created_at"] == now]

    plan(db, s, D - 1)
    assert digests(D - 1) == []  # 07:59:59 in Paris
    plan(db, s, D)
    [digest] = digests(D)
    assert digest["day"] == "2026-11-29"
    assert digest["counts"] == {
        "open": {"critical": 1, "warning": 1, "info": 1},
        "opened_24h": {"critical": 1, "warning": 1, "info": 1},
        "cleared_24h": {"critical": 1, "warning": 0, "info": 0},
    }
    assert sorted(a["device"] for a in digest["alarms"]) == ["box-01", "box-02", "box-04"]
    assert "Open alarms now: 3 (1 critical, 1 warning, 1 info)" in digest["text"]
    assert digest["subject"] == "[Hameau] daily digest 2026-11-29: 3 open alarms (1 critical, 1 warning, 1 info)"
    assert "Cleared in the last 24 h: 1 (1 critical, 0 warning, 0 info)" in digest["text"]
    for later in (D + 10, D + 12 * H, D + 24 * H - 1):
        plan(db, s, later)
        assert digests(later) == []
    plan(db, s, D + 24 * H)
    assert [d["day"] for d in digests(D + 24 * H)] == ["2026-11-30"]


def test_notify_digest_day_follows_local_time_across_summer_time() -> None:
    s = settings(digest_time="08:00")
    # 2027-03-28: Paris goes to summer time (UTC+2) at 02:00; 08:00 there is 06:00 UTC.
    summer_8h = 1806213600.0  # 2027-03-28 06:00:00 UTC
    assert digest_day(s, summer_8h - 1) is None
    assert digest_day(s, summer_8h) == "2027-03-28"
    assert digest_day(s, D - 1) is None and digest_day(s, D) == "2026-11-29"
    assert digest_day(settings(digest_time=""), D + 12 * H) is None


def test_notify_digest_exactly_once_a_day_with_two_job_runners(store_url: str) -> None:
    with HttpReceiver() as http:
        s = settings(webhook={"urls": [http.url()]})
        steps = [D - H + i * 1800.0 for i in range(2 * 74)]  # 07:00 Paris, every 30 min, for three days
        barrier = threading.Barrier(2, timeout=60)
        failures: list[object] = []

        def serve() -> None:
            try:
                with fleet_db(store_url) as database:
                    clock = [0.0]
                    runner = JobRunner(notify_jobs(s), database, lambda *a: None,
                                       now=lambda: clock[0], monotonic=lambda: clock[0])
                    for now in steps:
                        clock[0] = now
                        barrier.wait()
                        runner.run_due()
                    failures.append(dict(runner.failures))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                barrier.abort()
                failures.append(exc)

        threads = [threading.Thread(target=serve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == [{"notify-plan": 0, "notify-send": 0}] * 2
        posted = [json.loads(p.body) for p in http.posts]
    assert [(d["kind"], d["day"], d["created_at"]) for d in posted] == [
        ("digest", "2026-11-29", D), ("digest", "2026-11-30", D + 24 * H), ("digest", "2026-12-01", D + 48 * H),
        ("digest", "2026-12-02", D + 72 * H)]
    assert [p.status for p in http.posts] == [200] * 4
