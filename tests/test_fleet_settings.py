"""The fleet's settings file: every table read once, each mistake one line naming the file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.errors import FleetConfigError
from fleet.settings import SETTINGS_ENV, load_settings, settings_path


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fleet_settings_defaults_without_a_file_send_nothing(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HAMEAU_FLEET_DATA": str(tmp_path)})
    assert settings.path is None and settings.notify is None
    assert settings.alarms.silent_after_s == 3 * 3600 and settings.retention.raw_keep_days == 400


def test_fleet_settings_every_table_is_read(tmp_path: Path) -> None:
    path = _file(tmp_path, """
[alarms]
silent_after_s = 7200
[notify]
timezone = "Europe/Paris"
[notify.webhook]
urls = ["http://127.0.0.1:9/hook"]
[rollups]
timezone = "Europe/Paris"
[retention]
raw_keep_days = 90
""")
    settings = load_settings(str(path))
    assert settings.path == path and settings.alarms.silent_after_s == 7200
    assert settings.notify is not None and settings.notify.enabled
    assert settings.retention.raw_keep_days == 90


def test_fleet_settings_found_by_environment_then_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert settings_path(None, {"HAMEAU_FLEET_DATA": str(data)}) is None
    (data / "fleet.toml").write_text("", encoding="utf-8")
    assert settings_path(None, {"HAMEAU_FLEET_DATA": str(data)}) == data / "fleet.toml"
    other = _file(tmp_path, "")
    assert settings_path(None, {"HAMEAU_FLEET_DATA": str(data), SETTINGS_ENV: str(other)}) == other
    assert settings_path(str(data / "x.toml"), {SETTINGS_ENV: str(other)}) == data / "x.toml"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[alarm]\nsilent_after_s = 10\n", "[alarm]: unknown table"),
        ("alarms = 3\n", "alarms: must be a table"),
        ("[alarms]\nsilent_after_s = 10\n", "silent_after_s"),
        ("[alarms]\nsilent_after_s = nan\n", "silent_after_s"),
        ("[retention]\nraw_keep_days = 1\n", "[retention] raw_keep_days"),
        ("[notify.webhook]\nurls = [\"http://hooks.example.org/x\"]\n", "urls"),
        ("[rollups\n", "not valid TOML"),
    ],
)
def test_fleet_settings_mistake_is_one_line_naming_file_and_key(tmp_path: Path, text: str, says: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(FleetConfigError) as error:
        load_settings(str(path))
    message = str(error.value)
    assert message.startswith(f"{path}: ") and says in message and "\n" not in message.strip()


def test_fleet_settings_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FleetConfigError, match="cannot read"):
        load_settings(str(tmp_path / "none.toml"))
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe[alarms]")
    with pytest.raises(FleetConfigError, match="not UTF-8"):
        load_settings(str(path))
