"""Home Assistant's ON/OFF on a switch's command topic, queued as a box command like any other: a relay override
for `override_s`, in the configured user's name (a technician or admin), expiring after `command_ttl_s`; the
box's interlocks then decide (edge/link/commands.py). Anything else is refused, logged and counted, never raised.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from fleet.cli_users import COMMAND_ROLES, acting_user
from fleet.commands.queue import CommandError, enqueue
from fleet.errors import FleetError, StoreError
from fleet.homeassistant.entities import OFF, ON, SWITCH, Topics
from fleet.homeassistant.settings import HomeAssistantSettings
from fleet.serve.handler import Inbound
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.homeassistant")

#: The box command an ON/OFF becomes (protocol.ACTIONS) and the reason its override row gives.
ACTION = "override"
REASON = "Home Assistant"
#: Reject reasons (counted per device in the store's rejects, prefixed "homeassistant: ").
MALFORMED_TOPIC, MALFORMED_PAYLOAD = "malformed topic", "malformed payload"
UNKNOWN_DEVICE, UNKNOWN_RELAY, NOT_ALLOWED, NOT_QUEUED = "unknown device", "unknown relay", "user may not", "not queued"
_PAYLOADS = {ON.encode(): "on", OFF.encode(): "off"}


class Refused(FleetError):
    """A command from Home Assistant the fleet does not queue; `key` is the counted reason."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key


class CommandRoute:
    """Serve's route for Home Assistant's command topics (fleet/serve/service.py: subscription, owns, handle)."""

    def __init__(self, settings: HomeAssistantSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.discovery_prefix, settings.state_prefix)
        self.subscription = self.topics.command_subscription
        self._head = f"{settings.state_prefix}/".encode()
        #: Commands queued, and refusals per reason, since this process started.
        self.queued = 0
        self.refused: Counter[str] = Counter()

    def owns(self, topic: bytes) -> bool:
        """Whether a message's topic is under the state prefix (so this route, not the ingest, handles it)."""
        return topic.startswith(self._head)

    def handle(self, store: Any, message: Inbound) -> str | None:
        """Queue the command a message asks for; its id, or None when refused (logged and counted)."""
        db: Database = store.db
        device = ""
        try:
            device, relay = self.parse_topic(message.topic)
            state = self.parse_payload(message.payload, message.topic)
            command_id = self.queue(db, device, relay, state, message.received_at)
        except Refused as refusal:
            self._refuse(store, device, refusal.key, str(refusal), message)
            return None
        except StoreError as error:
            self._refuse(store, device, NOT_QUEUED, f"the store failed: {error}", message)
            return None
        self.queued += 1
        LOG.info("Home Assistant: %s %s on %s queued as command %s (%s)", relay, state, device, command_id,
                 self.settings.user)
        return command_id

    def parse_topic(self, topic: bytes) -> tuple[str, str]:
        """(device, relay) of a command topic; Refused when it is not one."""
        try:
            text = topic.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(MALFORMED_TOPIC, "command topic is not valid UTF-8") from None
        found = self.topics.parse_command(text)
        if found is None:
            raise Refused(MALFORMED_TOPIC, f"{text[:200]!r} is not {self.topics.command_filter}")
        return found

    @staticmethod
    def parse_payload(payload: bytes, topic: bytes) -> str:
        """"on" or "off" from Home Assistant's exact ON / OFF; Refused for anything else."""
        state = _PAYLOADS.get(payload)
        if state is None:
            raise Refused(MALFORMED_PAYLOAD, f"payload {payload[:40]!r} on {topic[:200]!r}: must be {ON} or {OFF}")
        return state

    def queue(self, db: Database, device: str, relay: str, state: str, now: float) -> str:
        """Queue the override in one transaction, after checking the box, the relay and the user."""
        with db.transaction():
            row = db.one("SELECT revoked_at FROM registry WHERE device = ?", (device,))
            if row is not None and row[0] is not None:
                raise Refused(UNKNOWN_DEVICE, f"device {device!r} is revoked")
            known = db.query("SELECT DISTINCT source FROM ha_entities WHERE device = ? AND component = ?",
                             (device, SWITCH))
            if not known:
                raise Refused(UNKNOWN_DEVICE, f"device {device!r} has no relay the fleet knows of")
            if relay not in {source for (source,) in known}:
                raise Refused(UNKNOWN_RELAY, f"device {device!r} has no relay {relay!r}")
            try:
                user = acting_user(db, self.settings.user, roles=COMMAND_ROLES, doing="send commands")
            except FleetError as error:
                raise Refused(NOT_ALLOWED, f"[homeassistant] user: {error}") from None
            args = {"relay": relay, "state": state, "duration_s": self.settings.override_s, "reason": REASON}
            try:
                return enqueue(db, device, ACTION, args, created_by=user.name, now=now,
                               ttl_s=self.settings.command_ttl_s)
            except CommandError as error:
                raise Refused(NOT_QUEUED, str(error)) from None

    def _refuse(self, store: Any, device: str, key: str, detail: str, message: Inbound) -> None:
        self.refused[key] += 1
        LOG.warning("Home Assistant command refused (%s): %s", key, detail[:500])
        try:
            store.count_reject(device, f"homeassistant: {key}", detail, message.received_at)
        except StoreError as error:
            LOG.error("could not count a refused Home Assistant command: %s", error)
