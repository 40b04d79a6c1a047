"""The log's line forms: a terminal's (time, level, what, why), systemd's (no time) and journald's (a priority)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest

from edge.controllers.events import Event
from edge.runtime.logs import log_events, syslog_priority, to_stderr

AT = datetime(2020, 2, 29, 23, 30, 5, tzinfo=UTC)  # a simulated event's time, far from the wall clock's
LOG = logging.getLogger("tests.test_logs")


def _said(capsys: pytest.CaptureFixture[str], environ: dict[str, str], level: str = "info") -> list[str]:
    with to_stderr(level, environ):
        log_events(LOG, [
            Event("decision", "street-main", "lux 12 lx below 20 lx", AT),
            Event("fault", "lux-roof", "BH1750 on i2c1 at 0x23: no answer", AT),
        ])
        LOG.debug("reading lux-roof: illuminance_lx = 12")
    return capsys.readouterr().err.splitlines()


def test_logs_syslog_priorities_follow_sd_daemon() -> None:
    # sd-daemon.h: SD_DEBUG <7>, SD_INFO <6>, SD_WARNING <4>, SD_ERR <3>, SD_CRIT <2>.
    levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
    assert [syslog_priority(level) for level in levels] == [7, 6, 4, 3, 2]


def test_logs_terminal_lines_have_the_event_s_local_time(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _said(capsys, {})
    stamp = AT.astimezone().isoformat(timespec="seconds")
    assert lines == [
        f"{stamp} INFO decision street-main: lux 12 lx below 20 lx",
        f"{stamp} WARNING fault lux-roof: BH1750 on i2c1 at 0x23: no answer",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stamp)


def test_logs_under_systemd_have_no_time_of_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    # A service whose stderr is not the journal (a file, the console): no time, no priority prefix.
    for environ in ({"INVOCATION_ID": "0f1e"}, {"JOURNAL_STREAM": "8:12345"}):
        assert _said(capsys, environ) == [
            "INFO decision street-main: lux 12 lx below 20 lx",
            "WARNING fault lux-roof: BH1750 on i2c1 at 0x23: no answer",
        ]


def test_logs_level_filters_and_logging_is_put_back(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    assert [line.split(" ", 2)[1:] for line in _said(capsys, {}, "warning")] == [
        ["WARNING", "fault lux-roof: BH1750 on i2c1 at 0x23: no answer"]
    ]
    debug = _said(capsys, {}, "debug")
    assert len(debug) == 3 and debug[2].endswith(" DEBUG reading lux-roof: illuminance_lx = 12")
    assert root.handlers == handlers and root.level == level
    LOG.warning("after the block")
    assert "after the block" not in capsys.readouterr().err
