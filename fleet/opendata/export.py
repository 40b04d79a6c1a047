"""The NGSI-LD export run: which boxes changed, their entities, what the broker lacks, sending it, remembering it.

A box is looked at when it sent a batch or got a new desired config since the watermark (with WATERMARK_SLACK_S
of overlap), when it has never been exported, and every box once a day (FULL_PASS_S: registry edits). Of its
entities, one whose shape (id, type, location, names, relationships...) changed or that the broker never accepted
goes in a batch upsert, whole; one whose observed values alone changed gets a PATCH of those values. A 4xx is
counted and remembered with a hash of what was refused, which is not sent again until it changes.

Two serve processes: a run first takes a lease (a row updated under `db.lock` in a short transaction), so no
transaction stays open over the network; a run whose lease is held elsewhere does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.opendata.client import Answer, BrokerClient, BrokerUnavailable, describe
from fleet.opendata.collect import device_facts
from fleet.opendata.entities import Built, Skipped
from fleet.opendata.entities_meters import build_device
from fleet.opendata.ngsi import split
from fleet.opendata.settings import NgsiSettings
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.ngsi")
STATE = "export"
LOCK = "hameau-fleet-ngsi-export"
WATERMARK_SLACK_S = 120.0
FULL_PASS_S = 86400.0
#: A run holding the lease longer than this is taken to have died.
LEASE_S = 900.0
#: Entities per batch upsert.
BATCH_MAX = 50


@dataclass(slots=True)
class ExportReport:
    """What one run did."""

    devices: int = 0
    upserted: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def digest(value: Any) -> str:
    """A stable hash of a JSON value."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def all_devices(db: Database) -> list[str]:
    """Every box the fleet heard of or registered, but the revoked ones."""
    rows = db.query(
        "SELECT id FROM devices UNION SELECT device FROM registry"
    )
    revoked = {r[0] for r in db.query("SELECT device FROM registry WHERE revoked_at IS NOT NULL")}
    return sorted(str(r[0]) for r in rows if r[0] not in revoked)


def changed_devices(db: Database, since: float) -> set[str]:
    """Boxes with a batch or a desired config after `since`, boxes never exported, boxes with a lost entity."""
    found = {r[0] for r in db.query("SELECT id FROM devices WHERE last_seen > ?", (since,))}
    found |= {r[0] for r in db.query("SELECT device FROM device_configs WHERE desired_at > ?", (since,))}
    found |= {r[0] for r in db.query(
        "SELECT device FROM registry WHERE NOT EXISTS (SELECT 1 FROM ngsi_entities n WHERE n.device = registry.device)"
    )}
    # Entities the broker lost (a PATCH answered 404): upserted whole again.
    found |= {r[0] for r in db.query(
        "SELECT DISTINCT device FROM ngsi_entities WHERE shape_hash IS NULL AND refused_hash IS NULL")}
    return found


def build(db: Database, settings: NgsiSettings, devices: Iterable[str], now: float) -> Built:
    """The entities of `devices` as of `now`."""
    out = Built()
    for device in devices:
        build_device(device_facts(db, device, now), settings, out)
    return out


@dataclass(frozen=True, slots=True)
class _Row:
    shape_hash: str | None
    values_hash: str | None
    refused_hash: str | None


class NgsiExport:
    """Exports the fleet's entities to the broker of `settings`."""

    def __init__(
        self, settings: NgsiSettings, *, client: BrokerClient | None = None,
        sleep: Callable[[float], None] = time.sleep, owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.client = client if client is not None else BrokerClient(settings, sleep=sleep)
        self.owner = owner or uuid.uuid4().hex

    def _claim(self, db: Database, now: float) -> tuple[float, float | None] | None:
        with db.transaction():
            db.lock(LOCK)
            db.execute("INSERT INTO ngsi_state (name, watermark) VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (STATE,))
            watermark, full_at, owner, until = db.one(
                "SELECT watermark, full_at, lease_owner, lease_until FROM ngsi_state WHERE name = ?", (STATE,))
            if until is not None and until > now and owner != self.owner:
                return None
            db.execute("UPDATE ngsi_state SET lease_owner = ?, lease_until = ? WHERE name = ?",
                       (self.owner, now + LEASE_S, STATE))
        return float(watermark), None if full_at is None else float(full_at)

    def run(self, db: Database, now: float, *, full: bool = False) -> ExportReport | None:
        """Export what changed (everything with `full`); None when another process is exporting."""
        claimed = self._claim(db, now)
        if claimed is None:
            LOG.info("NGSI-LD export: another process holds the lease; nothing done")
            return None
        watermark, full_at = claimed
        full = full or full_at is None or now - full_at >= FULL_PASS_S
        results: dict[str, tuple[str, str | None, str | None, str | None]] = {}
        error: BrokerUnavailable | None = None
        try:
            mark = db.scalar("SELECT coalesce(max(last_seen), 0) FROM devices")
            since = watermark - WATERMARK_SLACK_S
            devices = all_devices(db) if full else sorted(changed_devices(db, since) & set(all_devices(db)))
            built = build(db, self.settings, devices, now)
            report = ExportReport(devices=len(devices), skipped=list(built.skipped))
            rows = self._rows(db, [e["id"] for e in built.entities])
            self._send(built.entities, rows, report, results)
        except BrokerUnavailable as exc:
            error = exc
        except BaseException:
            self._release(db)
            raise
        self._record(db, now, built.entities, results, report, error,
                     None if error else max(float(mark), watermark), now if full and not error else full_at)
        if error is not None:
            raise error
        return report

    def _release(self, db: Database) -> None:
        with db.transaction():
            db.execute("UPDATE ngsi_state SET lease_owner = NULL, lease_until = NULL WHERE name = ? AND lease_owner = ?",
                       (STATE, self.owner))

    @staticmethod
    def _rows(db: Database, ids: Sequence[str]) -> dict[str, _Row]:
        rows: dict[str, _Row] = {}
        for first in range(0, len(ids), 500):
            chunk = ids[first:first + 500]
            marks = ",".join("?" * len(chunk))
            for rid, shape, values, refused in db.query(
                f"SELECT id, shape_hash, values_hash, refused_hash FROM ngsi_entities WHERE id IN ({marks})", chunk
            ):
                rows[rid] = _Row(shape, values, refused)
        return rows

    def _send(
        self, entities: Sequence[dict[str, Any]], rows: Mapping[str, _Row], report: ExportReport,
        results: dict[str, tuple[str, str | None, str | None, str | None]],
    ) -> None:
        """Upsert the new or reshaped entities, PATCH the changed values; `results[id]` = (outcome, shape hash,
        values hash, refusal)."""
        upserts, patches = [], []
        for entity in entities:
            shape, values = split(entity)
            shape_hash, values_hash = digest(shape), digest(values)
            row = rows.get(entity["id"])
            if row is not None and row.refused_hash in (digest(entity), f"{shape_hash}/{values_hash}"):
                report.unchanged += 1
            elif row is None or row.shape_hash != shape_hash:
                upserts.append((entity, shape_hash, values_hash))
            elif row.values_hash != values_hash and values:
                patches.append((entity, values, shape_hash, values_hash))
            else:
                report.unchanged += 1
        for first in range(0, len(upserts), BATCH_MAX):
            chunk = upserts[first:first + BATCH_MAX]
            answer = self.client.upsert([entity for entity, _s, _v in chunk])
            refusals = _upsert_refusals(answer, [entity["id"] for entity, _s, _v in chunk])
            for entity, shape_hash, values_hash in chunk:
                self._note(entity["id"], refusals.get(entity["id"]), "upsert", shape_hash, values_hash,
                           digest(entity), report, results)
        for entity, values, shape_hash, values_hash in patches:
            answer = self.client.patch(entity["id"], values, entity["@context"][0])
            if answer.status == 404:  # the broker lost it: the next run upserts it whole
                LOG.warning("NGSI-LD export: %s unknown to the broker: upserted at the next run", entity["id"])
                report.refused.append((entity["id"], describe(answer)))
                results[entity["id"]] = ("lost", None, None, describe(answer))
                continue
            self._note(entity["id"], _patch_refusal(answer), "patch", shape_hash, values_hash,
                       f"{shape_hash}/{values_hash}", report, results)

    @staticmethod
    def _note(entity_id: str, refusal: str | None, how: str, shape_hash: str | None, values_hash: str,
              refused_hash: str | None, report: ExportReport, results: dict[str, Any]) -> None:
        if refusal is None:
            (report.upserted if how == "upsert" else report.patched).append(entity_id)
            results[entity_id] = ("sent", shape_hash, values_hash, None)
            return
        LOG.warning("NGSI-LD export: %s of %s refused: %s", how, entity_id, refusal)
        report.refused.append((entity_id, refusal))
        results[entity_id] = ("refused", refused_hash, None, refusal)

    def _record(
        self, db: Database, now: float, entities: Sequence[Mapping[str, Any]],
        results: Mapping[str, tuple[str, str | None, str | None, str | None]], report: ExportReport,
        error: BrokerUnavailable | None, watermark: float | None, full_at: float | None,
    ) -> None:
        head = len("urn:ngsi-ld:") + len(self.settings.id_prefix) + 2
        devices = {e["id"]: e["id"][head + len(e["type"]):].split(":")[0] for e in entities}
        types = {e["id"]: e["type"] for e in entities}
        with db.transaction():
            db.lock(LOCK)
            for entity_id, (outcome, first, second, refusal) in results.items():
                if outcome == "sent":
                    db.execute(
                        "INSERT INTO ngsi_entities (id, device, type, shape_hash, values_hash, sent_at)"
                        " VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET shape_hash = excluded.shape_hash,"
                        " values_hash = excluded.values_hash, sent_at = excluded.sent_at, refused_hash = NULL",
                        (entity_id, devices[entity_id], types[entity_id], first, second, now))
                elif outcome == "lost":
                    db.execute("UPDATE ngsi_entities SET shape_hash = NULL, refused_at = ?, refused_reason = ?"
                               " WHERE id = ?", (now, refusal, entity_id))
                else:
                    db.execute(
                        "INSERT INTO ngsi_entities (id, device, type, refused_hash, refused_at, refused_reason)"
                        " VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET refused_hash = excluded.refused_hash,"
                        " refused_at = excluded.refused_at, refused_reason = excluded.refused_reason",
                        (entity_id, devices[entity_id], types[entity_id], first, now, refusal))
            db.execute(
                "UPDATE ngsi_state SET runs = ngsi_state.runs + 1, upserted = ngsi_state.upserted + ?,"
                " patched = ngsi_state.patched + ?, refused = ngsi_state.refused + ?,"
                " failed_runs = ngsi_state.failed_runs + ?, last_run_at = ?, last_error = ?,"
                " watermark = coalesce(?, ngsi_state.watermark), full_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE name = ? AND lease_owner = ?",
                (len(report.upserted), len(report.patched), len(report.refused), 0 if error is None else 1, now,
                 None if error is None else str(error), watermark, full_at, STATE, self.owner))


def _upsert_refusals(answer: Answer, ids: Sequence[str]) -> dict[str, str]:
    """Entity id -> why the broker refused it (201/204: none; 207: its `errors`; anything else: all)."""
    if answer.status in (200, 201, 204):
        return {}
    if answer.status == 207 and isinstance(answer.body, Mapping):
        refusals = {}
        for item in answer.body.get("errors") or ():
            if isinstance(item, Mapping) and isinstance(item.get("entityId"), str):
                problem = item.get("error")
                status = problem.get("status", 207) if isinstance(problem, Mapping) else 207
                refusals[item["entityId"]] = describe(Answer(int(status) if isinstance(status, int) else 207,
                                                             problem, answer.attempts))
        return refusals
    return dict.fromkeys(ids, describe(answer))


def _patch_refusal(answer: Answer) -> str | None:
    """Why a PATCH was not (wholly) taken: None on 204; the attributes not updated on 207; else the status."""
    if answer.status in (200, 204):
        return None
    if answer.status == 207 and isinstance(answer.body, Mapping):
        missed = [f"{item.get('attributeName')}: {item.get('reason')}" for item in answer.body.get("notUpdated") or ()
                  if isinstance(item, Mapping)]
        return "HTTP 207: not updated: " + "; ".join(missed) if missed else None
    return describe(answer)
