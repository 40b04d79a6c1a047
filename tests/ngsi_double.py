"""An NGSI-LD context broker double for the export's tests: a real HTTP server on a free loopback port that checks
the ETSI GS CIM 009 contract the way a broker does, answers as one does, can be told to fail, and records what it
got; and a seeded fleet to export.

Contract checked (a violation is answered 400/415 as a broker would, and recorded in `violations`):
- `POST /ngsi-ld/v1/entityOperations/upsert`: a JSON array of entities; `application/ld+json` with an `@context`
  in every entity, or `application/json` with a JSON-LD `Link` header and no `@context`; every entity an `id`
  URI and a `type`, every attribute a Property (`value`), Relationship (`object`) or GeoProperty (GeoJSON
  `value`), `observedAt` an ISO 8601 UTC time. Answers 201 + the created ids, 204 when all existed, 207
  `{"success", "errors"}` when some are refused (`refuse_ids`).
- `PATCH /ngsi-ld/v1/entities/{id}/attrs`: the same media-type rules; 404 for an unknown entity; 204, or 207
  `{"updated", "notUpdated"}` for attributes the entity does not have.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

#: The pinned Smart Data Models beside the checkout (../shared/reference), or where $HAMEAU_REFERENCE_DIR says.
REFERENCE = Path(os.environ.get("HAMEAU_REFERENCE_DIR") or Path(__file__).resolve().parents[2] / "shared" / "reference"
                 ) / "smart-data-models"
assert (REFERENCE / "common-schema.json").is_file(), (
    f"the pinned Smart Data Models are not at {REFERENCE}: set HAMEAU_REFERENCE_DIR to the shared reference folder")
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"'
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"
ATTRS_PREFIX, ATTRS_SUFFIX = "/ngsi-ld/v1/entities/", "/attrs"


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the double got it, and the status it answered."""

    method: str
    path: str
    #: Case-insensitive, as HTTP header names are.
    headers: Any
    body: Any
    status: int


@dataclass
class BrokerDouble:
    """The broker's state: entities by id, what it received, what it is told to do next."""

    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Statuses to answer the next requests with, before looking at them (503: a broker restarting...).
    failures: deque[int] = field(default_factory=deque)
    #: Entity ids an upsert refuses (207, error 400 BadRequestData).
    refuse_ids: set[str] = field(default_factory=set)
    #: The bearer token required (None: no authentication).
    token: str | None = None
    #: Seconds to wait before answering (a slow broker); `answering` is set when a request arrives.
    delay_s: float = 0.0
    answering: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        self.failures.extend(statuses)


def problem(status: int, kind: str, title: str) -> dict[str, Any]:
    """An RFC 7807 problem as NGSI-LD brokers answer."""
    return {"type": f"https://uri.etsi.org/ngsi-ld/errors/{kind}", "title": title, "status": status}


def _iso_utc(text: Any) -> bool:
    if not isinstance(text, str) or not text.endswith("Z"):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def attribute_problems(name: str, member: Any) -> list[str]:
    """What is wrong with one attribute in normalized form."""
    if not isinstance(member, dict):
        return [f"{name}: not an object"]
    kind = member.get("type")
    found = []
    if kind == "Property" and "value" not in member:
        found.append(f"{name}: a Property without value")
    elif kind == "Relationship" and not isinstance(member.get("object"), str | list):
        found.append(f"{name}: a Relationship without object")
    elif kind == "GeoProperty":
        value = member.get("value")
        if not isinstance(value, dict) or value.get("type") != "Point" or len(value.get("coordinates", ())) != 2:
            found.append(f"{name}: a GeoProperty that is not a GeoJSON Point")
    elif kind not in ("Property", "Relationship", "GeoProperty"):
        found.append(f"{name}: type {kind!r}")
    if "observedAt" in member and not _iso_utc(member["observedAt"]):
        found.append(f"{name}: observedAt {member['observedAt']!r} is not an ISO 8601 UTC time")
    if "unitCode" in member and not (isinstance(member["unitCode"], str) and 2 <= len(member["unitCode"]) <= 3):
        found.append(f"{name}: unitCode {member['unitCode']!r} is not a UN/CEFACT code")
    return found


def entity_problems(entity: Any, *, with_context: bool) -> list[str]:
    """What is wrong with an entity a client sends."""
    if not isinstance(entity, dict):
        return ["an entity is not an object"]
    found = []
    if not isinstance(entity.get("id"), str) or not entity["id"].startswith("urn:"):
        found.append(f"id {entity.get('id')!r} is not a URI")
    if not isinstance(entity.get("type"), str):
        found.append("no type")
    if with_context != ("@context" in entity):
        found.append("@context in the body goes with application/ld+json, and only with it")
    for name, member in entity.items():
        if name not in ("id", "type", "@context"):
            found += attribute_problems(name, member)
    return found


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None, kind: str = "application/json") -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/problem+json" if status >= 400 else kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        double = self.server.double
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = urlsplit(self.path).path
        double.answering.set()
        if double.delay_s:
            time.sleep(double.delay_s)
        with double.lock:
            status, answer = self._decide(double, method, path, body)
            double.received.append(Received(method, path, self.headers, body, status))
        self._answer(status, answer)

    def _media(self, double: BrokerDouble) -> tuple[bool | None, str]:
        """(body carries @context, problem): the media-type and Link rules."""
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        link = self.headers.get("Link") or ""
        if media == "application/ld+json":
            if link:
                return None, "a Link header goes with application/json only"
            return True, ""
        if media == "application/json":
            if LINK_REL not in link or not link.startswith("<https://"):
                return None, "application/json without a JSON-LD context Link header"
            return False, ""
        return None, f"unsupported media type {media!r}"

    def _decide(self, double: BrokerDouble, method: str, path: str, body: Any) -> tuple[int, Any]:
        if double.failures:
            status = double.failures.popleft()
            return status, problem(status, "InternalError" if status >= 500 else "BadRequestData", "told to fail")
        if double.token is not None and self.headers.get("Authorization") != f"Bearer {double.token}":
            return 401, problem(401, "Unauthorized", "bad or missing token")
        with_context, why = self._media(double)
        if with_context is None:
            double.violations.append(f"{method} {path}: {why}")
            return (415 if why.startswith("unsupported") else 400), problem(400, "BadRequestData", why)
        if method == "POST" and path == UPSERT:
            return self._upsert(double, body, with_context)
        if method == "PATCH" and path.startswith(ATTRS_PREFIX) and path.endswith(ATTRS_SUFFIX):
            return self._patch(double, unquote(path[len(ATTRS_PREFIX):-len(ATTRS_SUFFIX)]), body, with_context)
        return 404, problem(404, "ResourceNotFound", f"no route {method} {path}")

    @staticmethod
    def _upsert(double: BrokerDouble, body: Any, with_context: bool) -> tuple[int, Any]:
        if not isinstance(body, list) or not body:
            double.violations.append("upsert: the body is not a non-empty array")
            return 400, problem(400, "BadRequestData", "an array of entities is expected")
        created, success, errors = [], [], []
        for entity in body:
            found = entity_problems(entity, with_context=with_context)
            if found:
                double.violations.extend(f"upsert {entity.get('id') if isinstance(entity, dict) else '?'}: {p}"
                                         for p in found)
            eid = entity.get("id") if isinstance(entity, dict) else None
            if found or eid in double.refuse_ids:
                errors.append({"entityId": eid, "error": problem(400, "BadRequestData", "; ".join(found) or "refused")})
                continue
            if eid not in double.entities:
                created.append(eid)
            double.entities[eid] = {k: v for k, v in entity.items() if k != "@context"}
            success.append(eid)
        if errors:
            return 207, {"success": success, "errors": errors}
        return (201, created) if created else (204, None)

    @staticmethod
    def _patch(double: BrokerDouble, entity_id: str, body: Any, with_context: bool) -> tuple[int, Any]:
        if entity_id not in double.entities:
            return 404, problem(404, "ResourceNotFound", f"{entity_id} not found")
        if not isinstance(body, dict) or not body:
            double.violations.append(f"patch {entity_id}: the body is not an object of attributes")
            return 400, problem(400, "BadRequestData", "attributes expected")
        found = [p for n, m in body.items() if n != "@context" for p in attribute_problems(n, m)]
        if with_context != ("@context" in body):
            found.append("@context in the body goes with application/ld+json, and only with it")
        if found:
            double.violations.extend(f"patch {entity_id}: {p}" for p in found)
            return 400, problem(400, "BadRequestData", "; ".join(found))
        entity = double.entities[entity_id]
        updated, missing = [], []
        for name, member in body.items():
            if name == "@context":
                continue
            if name in entity:
                entity[name] = member
                updated.append(name)
            else:
                missing.append({"attributeName": name, "reason": "attribute not found"})
        return (207, {"updated": updated, "notUpdated": missing}) if missing else (204, None)

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    double: BrokerDouble

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a refused TLS handshake...) is the client's business: no traceback."""


@contextmanager
def broker_double(token: str | None = None, tls: tuple[Path, Path] | None = None) -> Iterator[BrokerDouble]:
    """A running double on 127.0.0.1 (a free port; https with `tls` = (cert, key)), shut down and closed on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    server.double = BrokerDouble(token=token, url=f"{scheme}://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- a seeded fleet -----------------------------------------------------------------------------------------------
#: 2026-01-15 12:00:00 UTC: "now" of the seeded fleet.
NOW = 1_768_478_400.0
H = 3600.0


def box_config() -> dict[str, Any]:
    """box-a's desired config, the tables the export reads (the fleet's configs store the whole box config)."""
    return {
        "device": {"id": "box-a", "latitude": 45.187, "longitude": 5.726},
        "sensors": [
            {"id": "hall-temp", "driver": "ds18b20"}, {"id": "hall-climate", "driver": "sht31"},
            {"id": "water-main", "driver": "pulse_meter"}, {"id": "energy-main", "driver": "sdm630"},
        ],
        "lighting": [{"id": "street-main", "relay": "street-lights", "lux_sensor": "lux-roof"}],
        "heating": [{"id": "hall", "relay": "hall-heating", "thermometer": "hall-climate"}],
        "leak": [{"id": "leak-hall", "meter": "water-main"}],
    }


def reading(ts: float, sensor: str, name: str, value: float) -> tuple[float, str, dict[str, Any]]:
    """(time, type, body) of a reading."""
    return ts, "reading", {"sensor": sensor, "name": name, "value": value}


def decision(ts: float, source: str, **data: Any) -> tuple[float, str, dict[str, Any]]:
    """(time, type, body) of a relay controller's decision event."""
    return ts, "event", {"kind": "decision", "source": source, "reason": "seeded", "data": data}


def store_lane(store: Any, device: str, lane: str, items: list[tuple[float, str, dict[str, Any]]],
               after: int = 0, received_at: float = NOW) -> int:
    """Store `items` as one batch of `lane` through the real ingest (observers included); the last seq."""
    from fleet import protocol

    records = tuple(
        protocol.Record(seq, "b1", 1000.0 + seq, ts, "synced", kind, body)
        for seq, (ts, kind, body) in enumerate(sorted(items, key=lambda i: i[0]), start=after + 1)
    )
    store.store_batch(protocol.Batch(device, "b1", lane, after, after + 1, after + len(records), received_at, True,
                                     {}, records), received_at)
    return after + len(records)


def seed(store: Any) -> None:
    """box-a (registered with coordinates and a desired config): street lights, heating, water meter with a
    night-flow leak alarm, an SDM630; box-b (registered without coordinates): one lighting circuit."""
    db = store.db
    db.execute("INSERT INTO registry (device, site, latitude, longitude, added_at) VALUES (?,?,?,?,?)",
               ("box-a", "Mairie de Saint-Aubin", 45.187, 5.726, NOW - 30 * 86400))
    db.execute("INSERT INTO registry (device, site, added_at) VALUES (?,?,?)", ("box-b", "École", NOW - 86400))
    db.execute(
        "INSERT INTO device_configs (device, desired_version, desired_hash, desired_body, desired_at, desired_by,"
        " inputs) VALUES (?,?,?,?,?,?,?)",
        ("box-a", 1, "h1", json.dumps(box_config()), NOW - 86400, "test", "[]"))
    # Minimum night flows: the last week's lowest is 8.6 L/h; 2.0 L/h was three weeks ago.
    for night, lph in (("2025-12-25", 2.0), ("2026-01-12", 12.4), ("2026-01-13", 8.6), ("2026-01-14", 10.1)):
        db.execute("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", ("box-a", "water-main", night, lph, 49, 40.0))
    raw = [
        reading(NOW - 1200, "hall-climate", "temperature_c", 18.5),
        reading(NOW - 300, "hall-climate", "temperature_c", 19.25),
        reading(NOW - 300, "hall-climate", "relative_humidity_pct", 52.0),
        reading(NOW - 200, "hall-temp", "temperature_c", 17.0),
        reading(NOW - 600, "lux-roof", "illuminance_lx", 12.0),
        *(reading(NOW - 240, "energy-main", name, value) for name, value in (
            ("voltage_l1_v", 231.5), ("voltage_l2_v", 229.75), ("voltage_l3_v", 232.25),
            ("current_l1_a", 3.25), ("current_l2_a", 2.75), ("current_l3_a", 3.0),
            ("active_power_l1_w", 700.0), ("active_power_l2_w", 640.0), ("active_power_l3_w", 690.0),
            ("active_power_w", 2030.0), ("power_factor", 0.95), ("frequency_hz", 50.0),
        )),
        reading(NOW - 8 * H, "energy-main", "frequency_hz", 49.5),  # older than the 6 h window
    ]
    total = [
        reading(NOW - 1800, "water-main", "volume_total_l", 123456.4),
        reading(NOW - 60, "water-main", "volume_total_l", 123460.6),
        reading(NOW - 240, "energy-main", "import_energy_kwh", 1520.25),
        reading(NOW - 240, "energy-main", "export_energy_kwh", 3.5),
    ]
    # Lights on at 17:42, off at 23:00, on at 05:30, off at 08:00 (UTC); the hall heated since 11:00.
    events = [
        decision(NOW - 18 * H - 18 * 60, "street-main", relay="street-lights", on=True, mode="lux", lux=12.0),
        decision(NOW - 13 * H, "street-main", relay="street-lights", on=False, mode="cut-off", lux=3.0),
        decision(NOW - 6.5 * H, "street-main", relay="street-lights", on=True, mode="lux", lux=4.0),
        decision(NOW - 4 * H, "street-main", relay="street-lights", on=False, mode="lux", lux=80.0),
        decision(NOW - 1 * H, "hall", relay="hall-heating", on=True, mode="comfort", temperature_c=18.1,
                 setpoint_c=19.0),
        (NOW - 5 * H, "event", {"kind": "alarm", "source": "leak-hall", "reason": "night flow 8.6 L/h", "data": {
            "key": "leak-hall/night_flow", "alarm_kind": "night_flow", "evidence": {"night_flow_lph": 8.6}}}),
    ]
    store_lane(store, "box-a", "raw", raw)
    store_lane(store, "box-a", "total", total)
    store_lane(store, "box-a", "event", events)
    store_lane(store, "box-b", "event", [
        decision(NOW - 2 * H, "lamps", relay="k1", on=True, mode="lux", lux=5.0),
    ])

