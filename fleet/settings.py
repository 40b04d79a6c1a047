"""The fleet's settings file (TOML): [alarms], [notify], [rollups], [retention], [web]; read and checked once.

`--settings FILE` on a command, else the file $HAMEAU_FLEET_SETTINGS names, else `fleet.toml` in the fleet's
data directory when it exists, else the defaults (no notification channel). Every error names the file, the
table, the key and the reason, on one line.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.alarms.model import AlarmSettings, parse_alarm_settings
from fleet.errors import FleetConfigError
from fleet.homeassistant.settings import HomeAssistantSettings, parse_homeassistant
from fleet.notify.settings import NotifySettings, parse_notify_settings
from fleet.opendata.settings import NgsiSettings, parse_ngsi
from fleet.rollups.settings import (
    RetentionSettings,
    RollupSettings,
    parse_retention,
    parse_rollups,
)
from fleet.store.url import data_dir
from fleet.web.settings import WebSettings, parse_web

SETTINGS_ENV = "HAMEAU_FLEET_SETTINGS"
SETTINGS_FILE = "fleet.toml"
TABLES = ("alarms", "notify", "rollups", "retention", "web", "homeassistant", "ngsi")


@dataclass(frozen=True, slots=True)
class FleetSettings:
    """Every table of the settings file, checked; `notify` is None when no channel is configured."""

    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    notify: NotifySettings | None = None
    rollups: RollupSettings = field(default_factory=RollupSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    web: WebSettings = field(default_factory=WebSettings)
    homeassistant: HomeAssistantSettings = field(default_factory=HomeAssistantSettings)
    ngsi: NgsiSettings = field(default_factory=NgsiSettings)
    #: The file they came from (None: the defaults).
    path: Path | None = None


def parse_settings(raw: Mapping[str, Any], where: str, path: Path | None = None) -> FleetSettings:
    """FleetSettings from a parsed settings document; an unknown table is refused, naming it."""
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise FleetConfigError(f"{where}: [{unknown[0]}]: unknown table (known: {', '.join(TABLES)})")
    tables: dict[str, Mapping[str, Any]] = {}
    for name in TABLES:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise FleetConfigError(f"{where}: {name}: must be a table ([{name}])")
        tables[name] = value
    return FleetSettings(
        alarms=parse_alarm_settings(tables["alarms"], f"{where}: [alarms]"),
        notify=parse_notify_settings(tables["notify"], where) if "notify" in raw else None,
        rollups=parse_rollups(tables["rollups"], where),
        retention=parse_retention(tables["retention"], where),
        web=parse_web(tables["web"], where),
        homeassistant=parse_homeassistant(tables["homeassistant"], where),
        ngsi=parse_ngsi(tables["ngsi"], where),
        path=path,
    )


def settings_path(given: str | Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """Which file holds the settings: the option, the environment, or the data directory's (when it exists)."""
    env = os.environ if env is None else env
    if given:
        return Path(given).expanduser()
    if env.get(SETTINGS_ENV):
        return Path(env[SETTINGS_ENV]).expanduser()
    default = data_dir(env) / SETTINGS_FILE
    return default if default.is_file() else None


def load_settings(given: str | Path | None = None, env: Mapping[str, str] | None = None) -> FleetSettings:
    """The fleet's settings (see the module's docstring for where they are looked for)."""
    path = settings_path(given, env)
    if path is None:
        return FleetSettings()
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FleetConfigError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetConfigError(f"{where}: not valid TOML: {exc}") from None
    return parse_settings(raw, where, path)


def add_settings_argument(parser: argparse.ArgumentParser) -> None:
    """The `--settings FILE` option every command that needs settings takes."""
    parser.add_argument(
        "--settings", default=None,
        help=f"fleet settings file (TOML: [{'], ['.join(TABLES)}]); default ${SETTINGS_ENV}, "
        f"else {SETTINGS_FILE} in the fleet's data directory when it exists",
    )
