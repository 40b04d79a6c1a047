"""One inbound MQTT message through the ingest core: parse, store, and say what to publish back."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from fleet import protocol
from fleet.errors import StoreError
from fleet.store.api import FleetStore

LOG = logging.getLogger("hameau.fleet.ingest")

#: Device under which a message whose topic names no valid device is counted.
UNKNOWN_DEVICE = ""
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message as paho's thread hands it to the writer: raw topic, payload, and what acknowledges it."""

    topic: bytes
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling a message produced: an ack to publish (retained), or the reason it was refused."""

    ack_topic: str | None = None
    ack_payload: bytes | None = None
    rejected: str | None = None


def reason_key(reason: str) -> str:
    """A reject reason with record indexes folded ("records[3].seq" -> "records[].seq"), so counters stay few."""
    return _INDEX.sub("[]", reason)[:200]


class Handler:
    """Turns inbound messages into stored records, device states and reject counts; never raises on input."""

    def __init__(self, store: FleetStore) -> None:
        self.store = store

    def handle(self, message: Inbound) -> Outcome:
        """Handle one message; a StoreError propagates (rolled back: nothing stored, no ack to publish)."""
        try:
            device, kind = protocol.parse_topic(message.topic)
        except protocol.ProtocolError as error:
            return self._reject(UNKNOWN_DEVICE, error.reason, message)
        try:
            if kind == "up":
                batch = protocol.parse_batch(device, message.payload)
                ack = self.store.store_batch(batch, message.received_at)
                return Outcome(ack_topic=protocol.topic(device, "ack"), ack_payload=protocol.encode(ack.to_message()))
            if kind == "status":
                status = protocol.parse_status(device, message.payload)
                self.store.store_status(status, message.received_at)
                LOG.info("device %s is %s (boot %s, version %s)", device, status.state, status.boot, status.version)
                return Outcome()
        except protocol.ProtocolError as error:
            return self._reject(device, error.reason, message)
        return self._reject(device, f"topic: kind {kind!r} is not one the fleet ingests", message)

    def _reject(self, device: str, reason: str, message: Inbound) -> Outcome:
        key = reason_key(reason)
        LOG.warning(
            "rejected message from device %s on %r: %s", device or "?", message.topic[:200], reason[:500]
        )
        try:
            self.store.count_reject(device, key, reason, message.received_at)
        except StoreError as error:
            LOG.error("could not count a rejected message: %s", error)
        return Outcome(rejected=key)
