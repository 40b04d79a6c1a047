"""Whatever a technician types, the answer is one line saying why, never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["relay", "street-lights", "on", "--for", "0.0000001s"], "shorter than a millisecond"),
        (["relay", "street-lights", "on", "--for", "0.5s"], "shorter than the second"),
        (["relay", "street-lights", "on", "--for", "99999999999999999999d"], "longer than the 100 years"),
        (["relay", "street-lights", "on", "--for", "8d"], "longer than the 7 days"),
        (["relay", "street-lights", "on", "--for", "1e400d"], "is not a duration"),
        (["relay", "street-lights", "on", "--for", "2h2h"], "gives a unit twice"),
        (["alarms", "ack", "1180591620717411303424"], "alarms are numbered from 1 up to 9223372036854775807"),
        (["alarms", "ack", "0"], "alarms are numbered from 1"),
        (["alarms", "ack", "-1"], "alarms are numbered from 1"),
        (["alarms", "ack", "4x"], "'4x' is not an alarm number"),
        (["hydrant", "leak-inlet", "--for", "59s"], "shorter than the minute"),
        (["hydrant", "leak-inlet", "--for", "7d1m"], "longer than the 7 days"),
        (["hydrant", "leak-inlet", "--for", "soon"], "is not a duration"),
        (["hydrant", "leak-inlet", "now"], "invalid choice: 'now'"),
        (["valve", "open", "leak-inlet"], "invalid choice: 'open'"),
        (["valve", "confirm"], "the following arguments are required: WATCH"),
    ],
)
def test_technician_input_out_of_range_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--config", str(EXAMPLE)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert said in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("hameau-edge ")


def test_technician_input_db_path_that_cannot_be_created_stops_check_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's directory should be", encoding="utf-8")
    text = EXAMPLE.read_text(encoding="utf-8")
    config = tmp_path / "box.toml"
    config.write_text(text.replace("~/.local/state/hameau/village-hall.db", str(blocker / "state" / "hameau.db")))
    for command in (["check-config", str(config)], ["run", "--config", str(config)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"agent.db_path: cannot create {blocker / 'state'}: {blocker} is not a directory" in err
        assert "Traceback" not in err
