"""Config from the fleet: checked in full, tried, kept as last-known-good, rolled back when the agent cannot run it.

The box's own TOML file keeps [device] and [link] (who the box is and how it reaches the fleet: the fleet
cannot cut itself off); a fleet config brings every other table. Three files beside the database:
`fleet-config.trial.json` while a new version is being tried, `fleet-config.good.json` once the agent ran
with it (last-known-good), and `fleet-config.refused.json` listing versions refused, so that a retained
config the box refused is not tried again at each reconnect. A trial file found at start means the agent
did not survive its last try: it is rolled back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config.box import BoxConfig
from edge.config.loader import build_config
from edge.config.reader import ConfigError, read_toml_file
from fleet.protocol import LOCAL_TABLES, Config

TRIAL = "fleet-config.trial.json"
GOOD = "fleet-config.good.json"
REFUSED = "fleet-config.refused.json"
#: The refused versions remembered (the newest).
REFUSED_KEEP = 50

APPLIED, REJECTED, ROLLED_BACK = "applied", "rejected", "rolled_back"


@dataclass(frozen=True, slots=True)
class ConfigReport:
    """What became of one fleet config version (sent to the fleet as a config_report record)."""

    version: int
    status: str
    reasons: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """The report as the data of a "config" event."""
        return {"version": self.version, "status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class FleetConfigFiles:
    """Where a box keeps its fleet config versions: the directory of its database."""

    directory: Path

    @property
    def trial(self) -> Path:
        """The version being tried."""
        return self.directory / TRIAL

    @property
    def good(self) -> Path:
        """The last version the agent ran with."""
        return self.directory / GOOD

    @property
    def refused(self) -> Path:
        """The versions refused."""
        return self.directory / REFUSED


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a power cut leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_version(path: Path) -> tuple[int, dict[str, Any]] | None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or type(saved.get("version")) is not int or not isinstance(saved.get("config"), dict):
        return None
    return saved["version"], saved["config"]


def merged(local: Mapping[str, Any], tables: Mapping[str, Any]) -> dict[str, Any]:
    """The fleet's tables with the box's own [device] and [link]."""
    raw = {key: value for key, value in tables.items() if key not in LOCAL_TABLES}
    for key in LOCAL_TABLES:
        if key in local:
            raw[key] = local[key]
    return raw


def check(local_path: Path, version: int, tables: Mapping[str, Any]) -> BoxConfig:
    """The box config a fleet version makes with the local file; ConfigError lists every problem."""
    local, problems = read_toml_file(local_path, "config file")
    problems.raise_if_any()
    return build_config(merged(local, tables), Path(f"fleet config v{version}"))


def refused_versions(files: FleetConfigFiles) -> frozenset[int]:
    """Versions this box refused or rolled back (never tried again)."""
    try:
        saved = json.loads(files.refused.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(v for v in saved if type(v) is int) if isinstance(saved, list) else frozenset()


def _refuse(files: FleetConfigFiles, version: int) -> None:
    versions = sorted(refused_versions(files) | {version})[-REFUSED_KEEP:]
    write_atomically(files.refused, json.dumps(versions))


def good_version(files: FleetConfigFiles) -> int | None:
    """The version of the last-known-good fleet config, if there is one."""
    saved = _read_version(files.good)
    return None if saved is None else saved[0]


def offer(files: FleetConfigFiles, local_path: Path, message: Config) -> ConfigReport | None:
    """Check a config from the fleet (one `wanted` says is news): stage it for a try (None) or say why not."""
    try:
        check(local_path, message.version, message.config)
    except ConfigError as error:
        _refuse(files, message.version)
        return ConfigReport(message.version, REJECTED, tuple(str(p) for p in error.problems))
    write_atomically(files.trial, json.dumps({"version": message.version, "config": dict(message.config)}))
    return None


def wanted(files: FleetConfigFiles, message: Config) -> bool:
    """Whether a config message is news: newer than the good version and never refused."""
    current = good_version(files)
    return message.version not in refused_versions(files) and (current is None or message.version > current)


def startup(files: FleetConfigFiles, local_path: Path) -> tuple[BoxConfig, list[ConfigReport], bool]:
    """The config to start with, the reports to send, and whether it is a trial (promote it once running).

    A trial left by a start that did not survive is rolled back; a good version that no longer checks
    (after a software update) is set aside too, and the box runs its local file alone.
    """
    reports: list[ConfigReport] = []
    trial = _read_version(files.trial)
    if files.trial.exists():
        if trial is not None and files.trial.with_name(TRIAL + ".started").exists():
            _refuse(files, trial[0])
            reports.append(ConfigReport(trial[0], ROLLED_BACK, ("the agent did not keep running with it",)))
            files.trial.unlink(missing_ok=True)
            files.trial.with_name(TRIAL + ".started").unlink(missing_ok=True)
            trial = None
        elif trial is None:
            files.trial.unlink(missing_ok=True)
    if trial is not None:
        try:
            config = check(local_path, trial[0], trial[1])
        except ConfigError as error:
            _refuse(files, trial[0])
            reports.append(ConfigReport(trial[0], REJECTED, tuple(str(p) for p in error.problems)))
            files.trial.unlink(missing_ok=True)
        else:
            write_atomically(files.trial.with_name(TRIAL + ".started"), str(trial[0]))
            return config, reports, True
    good = _read_version(files.good)
    if good is not None:
        try:
            return check(local_path, good[0], good[1]), reports, False
        except ConfigError as error:
            reports.append(ConfigReport(good[0], ROLLED_BACK, tuple(str(p) for p in error.problems)))
            files.good.unlink(missing_ok=True)
    local, problems = read_toml_file(local_path, "config file")
    problems.raise_if_any()
    return build_config(local, local_path), reports, False


def promote(files: FleetConfigFiles) -> ConfigReport | None:
    """The trial ran: it becomes the last-known-good; its report says it was applied."""
    trial = _read_version(files.trial)
    if trial is None:
        return None
    os.replace(files.trial, files.good)
    files.trial.with_name(TRIAL + ".started").unlink(missing_ok=True)
    return ConfigReport(trial[0], APPLIED)


def roll_back(files: FleetConfigFiles, why: str) -> ConfigReport | None:
    """The trial could not start: refuse it and say why (the caller starts again on the good version)."""
    trial = _read_version(files.trial)
    files.trial.unlink(missing_ok=True)
    files.trial.with_name(TRIAL + ".started").unlink(missing_ok=True)
    if trial is None:
        return None
    _refuse(files, trial[0])
    return ConfigReport(trial[0], ROLLED_BACK, (why,))
