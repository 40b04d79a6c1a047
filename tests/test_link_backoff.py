"""Reconnect delays: exponential ceiling from reconnect_min_s to reconnect_max_s, full jitter below it, reset once
a connection held; and the supervised thread that survives its step's exceptions and is restarted if it dies."""

from __future__ import annotations

import threading
import time

import pytest

from edge.link.backoff import Backoff
from edge.link.supervisor import SupervisedThread


def test_backoff_ceiling_doubles_from_min_to_max() -> None:
    backoff = Backoff(1.0, 300.0, random=lambda: 1.0)  # the top of each jitter range: the ceiling itself
    delays = [backoff.next_delay_s() for _ in range(12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_backoff_full_jitter_spans_min_to_ceiling() -> None:
    low = Backoff(1.0, 300.0, random=lambda: 0.0)
    assert [low.next_delay_s() for _ in range(5)] == [1, 1, 1, 1, 1]
    mid = Backoff(1.0, 300.0, random=lambda: 0.5)
    assert [mid.next_delay_s() for _ in range(4)] == [1.0, 1.5, 2.5, 4.5]  # 1 + 0.5 * (ceiling - 1)


def test_backoff_reset_starts_again_from_min() -> None:
    backoff = Backoff(2.0, 60.0, random=lambda: 1.0)
    for _ in range(6):
        backoff.next_delay_s()
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.next_delay_s() == 2.0


def test_backoff_total_wait_over_a_day_offline_is_bounded() -> None:
    # A box whose broker is gone for a day tries at least once every reconnect_max_s, at most ~ once a second.
    backoff = Backoff(1.0, 300.0, random=lambda: 1.0)
    waited_s, attempts = 0.0, 0
    while waited_s < 86_400:
        waited_s += backoff.next_delay_s()
        attempts += 1
    assert 86_400 / 300 <= attempts <= 86_400 / 300 + 10


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_backoff_refuses_impossible_bounds(low: float, high: float) -> None:
    with pytest.raises(ValueError):
        Backoff(low, high, random=lambda: 0.5)


def test_supervised_thread_survives_exceptions_and_reports_them() -> None:
    failures: list[str] = []
    steps = []

    def step() -> None:
        steps.append(1)
        if len(steps) in (2, 4):
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
        time.sleep(0.005)

    worker = SupervisedThread("test-loop", step, failures.append)
    worker.start()
    deadline = time.monotonic() + 5
    while len(steps) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert len(steps) >= 10 and len(failures) == 2
    assert failures[0].startswith("network loop raised UnicodeDecodeError")
    assert not worker.alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_supervised_thread_dead_is_started_again_by_check() -> None:
    failures: list[str] = []
    release = threading.Event()
    runs = []

    def step() -> None:
        runs.append(threading.current_thread().ident)
        if len(runs) == 1:
            raise SystemExit  # not an Exception: it kills the thread as an uncaught error would
        release.wait(0.05)

    worker = SupervisedThread("test-loop", step, failures.append)
    worker.start()
    deadline = time.monotonic() + 5
    while worker.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker.alive() and worker.check()
    assert worker.restarts == 1 and failures == ["the test-loop thread had died"]
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.alive() and not worker.check()
    worker.stop()
