"""The world file's [link] section: outages and broker restarts, each mistake named by file, key and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world
from edge.simulation.world_link import LinkWorldSpec, link_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL_BOX = load_config(EXAMPLES / "village-hall.toml")

#: A week in January at the box (Europe/Paris, UTC+1).
SITE = """
[site]
start = "2026-01-05T00:00"
duration = "7d"
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "world.toml"
    path.write_text(SITE + text, encoding="utf-8")
    return load_world(path, HALL_BOX.device, HALL_BOX)


def _problems(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return [(Path(p.file).name, p.key, p.reason) for p in info.value.problems]


def test_world_link_default_is_on_and_never_cut(tmp_path: Path) -> None:
    link = link_of(_load(tmp_path, ""))
    assert link == LinkWorldSpec(enabled=True, outages=(), broker_restarts=())


def test_world_link_outages_and_restarts_read_in_local_time(tmp_path: Path) -> None:
    link = link_of(_load(tmp_path, """
[[link.outages]]
start = "2026-01-08T10:00"
end = "2026-01-09T10:00"

[[link.outages]]
start = "2026-01-06T00:00"
duration = "36h"

[[link.broker_restarts]]
at = "2026-01-11T23:30"
"""))
    assert [(o.start, o.end) for o in link.outages] == [  # in time order, UTC
        (datetime(2026, 1, 5, 23, 0, tzinfo=UTC), datetime(2026, 1, 7, 11, 0, tzinfo=UTC)),
        (datetime(2026, 1, 8, 9, 0, tzinfo=UTC), datetime(2026, 1, 9, 9, 0, tzinfo=UTC)),
    ]
    assert link.broker_restarts == (datetime(2026, 1, 11, 22, 30, tzinfo=UTC),)
    assert link.offline(datetime(2026, 1, 7, 10, 59, tzinfo=UTC))
    assert not link.offline(datetime(2026, 1, 7, 11, 0, tzinfo=UTC))


def test_world_link_can_be_turned_off(tmp_path: Path) -> None:
    assert link_of(_load(tmp_path, "[link]\nenabled = false\n")).enabled is False


def test_world_link_outage_beyond_the_span_is_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, '[[link.outages]]\nstart = "2026-01-10T00:00"\nduration = "7d"\n') == [
        ("world.toml", "link.outages[0].duration",
         "ends at 2026-01-17 00:00, outside the world's span (2026-01-05 00:00 to 2026-01-12 00:00)")]


def test_world_link_outage_before_the_span_is_named(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, '[[link.outages]]\nstart = "2026-01-04T23:00"\nend = "2026-01-05T02:00"\n')
    assert problem[1] == "link.outages[0].start" and "is at 2026-01-04 23:00, outside the world's span" in problem[2]


def test_world_link_outage_ending_with_the_world_is_accepted(tmp_path: Path) -> None:
    link = link_of(_load(tmp_path, '[[link.outages]]\nstart = "2026-01-11T00:00"\nend = "2026-01-12T00:00"\n'))
    assert link.outages[0].end == datetime(2026, 1, 11, 23, 0, tzinfo=UTC)


def test_world_link_overlapping_outages_are_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, """
[[link.outages]]
start = "2026-01-06T00:00"
duration = "2d"

[[link.outages]]
start = "2026-01-07T23:59"
duration = "1h"
""") == [("world.toml", "link.outages[1].start", "overlaps the outage at link.outages[0]")]


def test_world_link_outage_spell_mistakes_are_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
[[link.outages]]
start = "2026-01-06T00:00"

[[link.outages]]
start = "2026-01-07T00:00"
end = "2026-01-06T00:00"

[[link.outages]]
start = "2026-01-08T00:00"
end = "2026-01-09T00:00"
duration = "1d"
""")
    keys = [(key, reason.split(";")[0]) for _, key, reason in problems]
    assert keys == [("link.outages[0].end", "missing"), ("link.outages[1].end", "must come after start"),
                    ("link.outages[2].duration", "give either end or duration, not both")]


def test_world_link_restart_mistakes_are_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
[link]
enabled = "yes"

[[link.broker_restarts]]
at = "2027-01-06T00:00"

[[link.broker_restarts]]
when = "2026-01-06T00:00"
""")
    assert [key for _, key, _ in problems] == [
        "link.enabled", "link.broker_restarts[0].at", "link.broker_restarts[1].at", "link.broker_restarts[1].when"]
    assert "outside the world's span" in problems[1][2]
    assert problems[3][2] == "unknown key"


def test_world_link_unknown_key_is_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, "[link]\nlatency_ms = 40\n") == [("world.toml", "link.latency_ms", "unknown key")]
