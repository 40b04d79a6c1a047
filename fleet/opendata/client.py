"""The NGSI-LD API calls of the export (ETSI GS CIM 009), through urllib: batch upsert, then PATCH of attributes.

- `POST /ngsi-ld/v1/entityOperations/upsert`: `application/ld+json`, every entity carrying its `@context`;
  201 (created), 204 (updated) or 207 Multi-Status `{"success": [...], "errors": [{"entityId", "error"}]}`.
- `PATCH /ngsi-ld/v1/entities/{id}/attrs`: `application/json` with the model's context in a `Link` header;
  204, or 207 `{"updated": [...], "notUpdated": [{"attributeName", "reason"}]}`.
A 5xx, a timeout or a refused connection is tried again after a growing pause (at most `retries` times, then
`BrokerUnavailable`); a 4xx is never retried: the caller counts it. https is verified (the system's CAs or
`ca_file`); redirects are refused; the bearer token is sent, never logged.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fleet.errors import FleetError
from fleet.notify.settings import tls_client_context
from fleet.notify.transport import network_reason, redact_url
from fleet.opendata.settings import NgsiSettings

LOG = logging.getLogger("hameau.fleet.ngsi")
UPSERT_PATH = "/ngsi-ld/v1/entityOperations/upsert"
ENTITY_ATTRS_PATH = "/ngsi-ld/v1/entities/{}/attrs"
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
#: The first pause before trying again, doubled each time, at most BACKOFF_MAX_S.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
#: Most bytes read of an answer.
MAX_ANSWER_BYTES = 1 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: the data goes where it was configured to, nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class BrokerUnavailable(FleetError):
    """The broker could not be reached or kept failing (5xx) after every retry: try again at the next run."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The broker's answer: its HTTP status and its JSON body (None when empty or not JSON)."""

    status: int
    body: Any
    attempts: int

    @property
    def ok(self) -> bool:
        """A 2xx answer (207 included: see its body)."""
        return 200 <= self.status < 300


def link_header(context: str) -> str:
    """The Link header naming a JSON-LD context."""
    return f"<{context}>; {LINK_REL}"


class BrokerClient:
    """Calls one NGSI-LD broker as the settings say; `sleep` is injected (tests do not wait)."""

    def __init__(self, settings: NgsiSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=tls_client_context(settings.ca_file)))
        self.where = redact_url(settings.url)

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {"Content-Type": content_type, "Accept": "application/json", "User-Agent": "hameau-fleet"}
        if self.settings.tenant:
            headers["NGSILD-Tenant"] = self.settings.tenant
        token = self.settings.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _once(self, method: str, path: str, data: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(self.settings.url + path, data=data, headers=dict(headers), method=method)
        try:
            with self._opener.open(request, timeout=self.settings.timeout_s) as response:
                return int(response.status), response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            try:
                return int(exc.code), exc.read(MAX_ANSWER_BYTES)
            except (OSError, http.client.HTTPException):
                return int(exc.code), b""
            finally:
                exc.close()

    def call(self, method: str, path: str, payload: Any, headers: Mapping[str, str]) -> Answer:
        """One API call, tried again on a 5xx or a network failure; BrokerUnavailable once retries are spent."""
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        reason = ""
        for attempt in range(1, self.settings.retries + 2):
            if attempt > 1:
                self._sleep(min(BACKOFF_FIRST_S * 2.0 ** (attempt - 2), BACKOFF_MAX_S))
            try:
                status, raw = self._once(method, path, data, headers)
            except urllib.error.URLError as exc:
                cause = exc.reason if isinstance(exc.reason, BaseException) else OSError(0, str(exc.reason))
                reason = network_reason(cause, self.settings.timeout_s)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                reason = network_reason(exc, self.settings.timeout_s)
            else:
                if status < 500:
                    return Answer(status, _body(raw), attempt)
                reason = f"HTTP {status}"
            LOG.warning("NGSI-LD broker %s: %s %s: %s (attempt %d of %d)", self.where, method, path.split("?")[0],
                        reason, attempt, self.settings.retries + 1)
        raise BrokerUnavailable(f"NGSI-LD broker {self.where}: {reason} after {self.settings.retries + 1} attempts")

    def upsert(self, entities: Sequence[Mapping[str, Any]]) -> Answer:
        """Batch upsert of full entities (each with its @context)."""
        return self.call("POST", UPSERT_PATH, list(entities), self._headers("application/ld+json"))

    def patch(self, entity_id: str, attrs: Mapping[str, Any], context: str) -> Answer:
        """PATCH the latest values of an entity's attributes, the model's context in the Link header."""
        headers = self._headers("application/json")
        headers["Link"] = link_header(context)
        return self.call("PATCH", ENTITY_ATTRS_PATH.format(quote(entity_id, safe=":")), dict(attrs), headers)


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def describe(answer: Answer) -> str:
    """One line for a refused call: the status and the broker's problem title/detail (RFC 7807) if any."""
    body = answer.body
    if isinstance(body, Mapping):
        words = " ".join(str(body.get(k, "")) for k in ("title", "detail") if body.get(k))
        if words:
            return f"HTTP {answer.status}: {' '.join(words.split())[:200]}"
    return f"HTTP {answer.status}"
