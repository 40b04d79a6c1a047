"""Inside each ingest transaction: keep the latest value of every Home Assistant entity of the box (cheap: one
upsert per entity the batch touches; a batch arriving again changes nothing, since only a newer seq wins)."""

from __future__ import annotations

from fleet import protocol
from fleet.homeassistant.discovery import state_payload
from fleet.homeassistant.entities import Entity, reading_entity, relay_state
from fleet.store.api import trusted_ts
from fleet.store.db import Database

UPSERT = (
    "INSERT INTO ha_entities (device, component, source, name, lane, seq, value, value_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device, component, source, name) DO UPDATE SET lane = excluded.lane, seq = excluded.seq,"
    " value = excluded.value, value_at = excluded.value_at"
    " WHERE excluded.seq > ha_entities.seq OR excluded.lane <> ha_entities.lane"
)


def latest_values(batch: protocol.Batch, received_at: float) -> dict[Entity, tuple[int, str, float | None]]:
    """Per entity the batch feeds: (seq, state payload text, trusted time) of its latest record."""
    latest: dict[Entity, tuple[int, str, float | None]] = {}
    for record in batch.records:
        if record.type == "reading":
            entity = reading_entity(batch.device, record.body)
            if entity is None:
                continue
            value = state_payload(float(record.body["value"])).decode()
        elif record.type == "event":
            found = relay_state(batch.device, record.body)
            if found is None:
                continue
            entity, value = found
        else:
            continue
        seen = latest.get(entity)
        if seen is None or record.seq > seen[0]:
            latest[entity] = (record.seq, value, trusted_ts(record.clock, record.wall_s, received_at))
    return latest


class HomeAssistantObserver:
    """The ingest observer behind Home Assistant's state messages (serve's job publishes them)."""

    def on_batch(self, db: Database, batch: protocol.Batch, received_at: float) -> None:
        """Upsert the latest value of each entity the batch feeds."""
        latest = latest_values(batch, received_at)
        if latest:
            db.executemany(UPSERT, [
                (e.device, e.component, e.source, e.name, batch.lane, seq, value, at)
                for e, (seq, value, at) in sorted(latest.items(), key=lambda item: item[0].unique_id)
            ])

    def on_status(self, db: Database, status: protocol.Status, received_at: float) -> None:
        """Nothing: availability comes from the devices table the status just updated."""
