"""`hameau-edge hydrant` and `valve confirm`: bad input is one line saying why, never a traceback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from edge.cli import main
from edge.storage.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-inlet.toml"


def _config(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "box.toml"
    path.write_text(text.replace("~/.local/state/hameau/village-inlet.db", str(tmp_path / "hameau.db")),
                    encoding="utf-8")
    return path


def test_valve_commands_input_unknown_watch_and_nothing_to_confirm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["hydrant", "cabinet-heater", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("no leak watch with a valve named 'cabinet-heater'; watches with a valve: "
                           "leak-inlet (valve inlet-valve)")
    assert main(["valve", "confirm", "inlet-valve", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not held closed by a burst" in err


def test_valve_commands_hydrant_is_stored_for_the_agent_and_lifted_by_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["hydrant", "inlet-valve", "--for", "2h30m", "--config", str(config)]) == 0
    assert "will not be closed until" in capsys.readouterr().out
    with Store(tmp_path / "hameau.db", monotonic=lambda: 0.0) as store:
        order = store.overrides()["leak-inlet/hydrant"]
        assert order.until - order.set_at == timedelta(hours=2, minutes=30)
    assert main(["hydrant", "leak-inlet", "off", "--config", str(config)]) == 0
    assert "lifted" in capsys.readouterr().out
    with Store(tmp_path / "hameau.db", monotonic=lambda: 0.0) as store:
        assert "leak-inlet/hydrant" not in store.overrides()
