"""Wire protocol v1, bytes side: the error type, limits, topics, and JSON/zlib encode/decode (stdlib only)."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from typing import Any, NoReturn

#: Protocol version carried as `"v"` by every message.
VERSION = 1
#: Largest payload accepted on the wire (compressed or not).
MAX_PAYLOAD_BYTES = 256 * 1024
#: Largest JSON text accepted once decompressed (a zlib bomb is refused before inflating past it).
MAX_JSON_BYTES = 4 * 1024 * 1024
#: Topic tree root and the message kinds under each device.
PREFIX = "hameau/v1"
KINDS = ("up", "status", "ack", "config", "cmd")
#: MQTT 5 shared subscription group of the fleet's ingest workers, and what they subscribe to.
SHARE_GROUP = "hameau-fleet"
FLEET_SUBSCRIPTIONS = (f"$share/{SHARE_GROUP}/{PREFIX}/+/up", f"$share/{SHARE_GROUP}/{PREFIX}/+/status")
#: Device ids, as edge/config/reader.py ID_PATTERN (not imported: the protocol never imports edge).
DEVICE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")

_ZLIB_FIRST_BYTE = 0x78
_JSON_FIRST_BYTE = 0x7B  # "{"
_CONSTANTS = ("NaN", "Infinity", "-Infinity")


class ProtocolError(ValueError):
    """A message that breaks the wire protocol; `reason` names the key path and what is wrong."""

    def __init__(self, reason: str, *, command_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Set by parse_command when the command's id parsed before another field failed.
        self.command_id = command_id


def fail(path: str, problem: str) -> NoReturn:
    """Raise a ProtocolError for the key at `path`."""
    raise ProtocolError(f"{path}: {problem}" if path else problem)


def is_device(value: object) -> bool:
    """Whether `value` is a well-formed device id."""
    return isinstance(value, str) and DEVICE_PATTERN.fullmatch(value) is not None


def topic(device: str, kind: str) -> str:
    """The topic of message `kind` ("up", "status", "ack", "config", "cmd") for `device`."""
    if not is_device(device):
        fail("topic", f"device id {device!r} must match {DEVICE_PATTERN.pattern}")
    if kind not in KINDS:
        fail("topic", f"kind {kind!r} must be one of {', '.join(KINDS)}")
    return f"{PREFIX}/{device}/{kind}"


def parse_topic(name: str | bytes) -> tuple[str, str]:
    """The (device, kind) of a `hameau/v1/{device}/{kind}` topic; anything else is a ProtocolError."""
    if isinstance(name, (bytes, bytearray)):
        try:
            name = bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            fail("topic", "not valid UTF-8")
    if not isinstance(name, str):
        fail("topic", "must be a string")
    parts = name.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != PREFIX:
        fail("topic", f"{name[:200]!r} is not {PREFIX}/<device>/<kind>")
    device, kind = parts[2], parts[3]
    if not is_device(device):
        fail("topic", f"device id {device[:80]!r} must match {DEVICE_PATTERN.pattern}")
    if kind not in KINDS:
        fail("topic", f"kind {kind[:80]!r} must be one of {', '.join(KINDS)}")
    return device, kind


def _mapping_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(message: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of `message`, zlib-compressed when that saves at least 10 %."""
    if not isinstance(message, Mapping):
        fail("message", "must be a mapping")
    try:
        text = json.dumps(
            dict(message), separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_mapping_default
        )
        raw = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as error:
        fail("message", f"not encodable as JSON ({error})")
    if len(raw) > MAX_JSON_BYTES:
        fail("message", f"{len(raw)} bytes of JSON, over the {MAX_JSON_BYTES} byte limit")
    payload = raw
    packed = zlib.compress(raw)
    if 10 * len(packed) <= 9 * len(raw):
        payload = packed
    if len(payload) > MAX_PAYLOAD_BYTES:
        fail("message", f"{len(payload)} byte payload, over the {MAX_PAYLOAD_BYTES} byte limit")
    return payload


def _refuse_constant(name: str) -> NoReturn:
    fail("payload", f"{name} is not allowed in JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        fail("payload", f"number {text[:40]} is out of range")
    return value


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, MAX_JSON_BYTES + 1)
    except zlib.error as error:
        fail("payload", f"bad zlib data ({error})")
    if len(raw) > MAX_JSON_BYTES:
        fail("payload", f"decompresses past the {MAX_JSON_BYTES} byte limit")
    if not inflater.eof:
        fail("payload", "truncated zlib stream")
    if inflater.unused_data:
        fail("payload", "bytes after the end of the zlib stream")
    return raw


def decode(payload: bytes) -> dict[str, Any]:
    """The JSON object in `payload` (JSON or zlib JSON), within the size limits, or a ProtocolError."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        fail("payload", "must be bytes")
    data = bytes(payload)
    if not data:
        fail("payload", "empty")
    if len(data) > MAX_PAYLOAD_BYTES:
        fail("payload", f"{len(data)} bytes, over the {MAX_PAYLOAD_BYTES} byte limit")
    if data[0] == _ZLIB_FIRST_BYTE:
        data = _inflate(data)
    elif data[0] != _JSON_FIRST_BYTE:
        fail("payload", "must start with '{' (JSON) or 0x78 (zlib)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        fail("payload", f"not valid UTF-8 (byte {error.start})")
    try:
        message = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        if "\\u" in text:  # an escaped lone surrogate decodes to a str that cannot be UTF-8
            json.dumps(message, ensure_ascii=False).encode("utf-8")
    except ProtocolError:
        raise
    except UnicodeEncodeError:
        fail("payload", "a string holds a lone UTF-16 surrogate")
    except RecursionError:
        fail("payload", "JSON nested too deeply")
    except ValueError as error:
        fail("payload", f"bad JSON ({str(error)[:200]})")
    if not isinstance(message, dict):
        fail("payload", "top level must be a JSON object")
    return message
