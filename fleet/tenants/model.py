"""What a commune (a tenant of the fleet) is, and the checks of every value a user can give for one."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet.registry.model import GROUP_PATTERN, RegistryError, check_email, check_text

MAX_TITLE_CHARS = 120
MAX_PUBLIC_TEXT_CHARS = 2000
MAX_QUESTION_CHARS = 200
MAX_ANSWER_CHARS = 60
MAX_OUTLINE_POINTS = 5000
MAX_RECIPIENTS = 20
#: Defaults of a new commune: a French public-lighting tariff (EUR per kWh, all taxes) and the French grid's
#: mean emission factor (kg CO2e per kWh, ADEME Base Empreinte, electricity mix 2022).
DEFAULT_TARIFF_EUR_PER_KWH = 0.25
DEFAULT_CO2_KG_PER_KWH = 0.052
MAX_TARIFF_EUR_PER_KWH = 10.0
MAX_CO2_KG_PER_KWH = 2.0

Ring = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune served by the fleet: its name in URLs, its title, its public page's words and factors."""

    name: str
    title: str
    public_text: str
    public_page: bool
    tariff_eur_per_kwh: float
    co2_kg_per_kwh: float
    #: The question a report form asks to keep robots out, and its answer (normalised), or None for neither.
    report_question: str | None
    report_answer: str | None
    #: The commune's outline: rings of (longitude, latitude) points, or () when none was given.
    outline: tuple[Ring, ...]
    #: Who receives the e-mails of this commune's alarms (beside the service's `[notify]` recipients).
    recipients: tuple[str, ...]
    created_at: float


def check_commune_name(value: str, option: str = "NAME") -> str:
    """A commune's short name: the device-id alphabet (it appears in URLs, /c/NAME)."""
    if not isinstance(value, str) or GROUP_PATTERN.fullmatch(value) is None:
        raise RegistryError(
            f"{option} {str(value)[:80]!r}: a commune's name is 1-63 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def check_title(value: str, option: str = "--title") -> str:
    """The commune's name as its inhabitants write it."""
    return check_text(value, option, MAX_TITLE_CHARS)


def check_public_text(value: str, option: str = "--text-file") -> str:
    """The commune's own words on its public page: plain text, paragraphs allowed, no other control character."""
    if not isinstance(value, str):
        raise RegistryError(f"{option}: expected text")
    text = value.replace("\r\n", "\n").strip()
    bad = [c for c in text if (ord(c) < 32 and c != "\n") or ord(c) == 127]
    if bad:
        raise RegistryError(f"{option}: has a control character {bad[0]!r} (plain text only)")
    if len(text) > MAX_PUBLIC_TEXT_CHARS:
        raise RegistryError(f"{option}: {len(text)} characters, at most {MAX_PUBLIC_TEXT_CHARS}")
    return text


def parse_factor(value: str | float, option: str, maximum: float) -> float:
    """A tariff or emission factor: a finite number from 0 to `maximum`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{option} {str(value)[:40]!r}: not a number") from None
    if not math.isfinite(number) or not 0.0 <= number <= maximum:
        raise RegistryError(f"{option} {str(value)[:40]!r}: must be between 0 and {maximum:g}")
    return number


def normalise_answer(value: str) -> str:
    """An answer as compared: trimmed, inner spaces collapsed, case folded."""
    return " ".join(value.split()).casefold()


def check_question(question: str | None, answer: str | None) -> tuple[str | None, str | None]:
    """The report form's question and its answer: both or neither."""
    if (question is None) != (answer is None):
        raise RegistryError("--question and --answer go together: give both (or neither)")
    if question is None or answer is None:
        return None, None
    question = check_text(question, "--question", MAX_QUESTION_CHARS)
    answer = normalise_answer(check_text(answer, "--answer", MAX_ANSWER_CHARS))
    return question, answer


def check_recipients(values: Sequence[str], option: str = "--recipient") -> tuple[str, ...]:
    """The commune's alarm e-mail recipients, each an address, without repeats."""
    if len(values) > MAX_RECIPIENTS:
        raise RegistryError(f"{option}: {len(values)} addresses, at most {MAX_RECIPIENTS}")
    return tuple(dict.fromkeys(str(check_email(v, option)) for v in values))


def _point(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2])):
        raise RegistryError(f"{where}: a point is [longitude, latitude]")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise RegistryError(f"{where}: [{lon:g}, {lat:g}] is not a longitude and latitude in degrees")
    return lon, lat


def _polygons(geometry: Any, where: str) -> list[Any]:
    if not isinstance(geometry, dict):
        raise RegistryError(f"{where}: expected a GeoJSON object")
    kind = geometry.get("type")
    if kind == "FeatureCollection":
        features = geometry.get("features")
        if not isinstance(features, list):
            raise RegistryError(f"{where}: a FeatureCollection needs a list of features")
        return [p for i, f in enumerate(features) for p in _polygons(f, f"{where} feature {i}")]
    if kind == "Feature":
        return _polygons(geometry.get("geometry"), where)
    if kind == "Polygon":
        return [geometry.get("coordinates")]
    if kind == "MultiPolygon":
        found = geometry.get("coordinates")
        return list(found) if isinstance(found, list) else [found]
    raise RegistryError(f"{where}: type {str(kind)[:40]!r}: give a Polygon or MultiPolygon (or a Feature of one)")


def parse_outline(text: str, source: str) -> tuple[Ring, ...]:
    """The outer rings of a GeoJSON (Multi)Polygon, Feature or FeatureCollection: the commune's outline."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise RegistryError(f"{source}: not JSON ({str(error)[:80]})") from None
    rings = []
    total = 0
    for i, polygon in enumerate(_polygons(document, source)):
        if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
            raise RegistryError(f"{source}: polygon {i} has no ring of points")
        ring = tuple(_point(p, f"{source}: polygon {i}") for p in polygon[0])
        if len(ring) < 4 or ring[0] != ring[-1]:
            raise RegistryError(f"{source}: polygon {i}: a ring has at least 4 points and ends where it starts")
        total += len(ring)
        if total > MAX_OUTLINE_POINTS:
            raise RegistryError(f"{source}: more than {MAX_OUTLINE_POINTS} points (simplify the outline)")
        rings.append(ring)
    if not rings:
        raise RegistryError(f"{source}: no polygon in it")
    return tuple(rings)


def contains(rings: Sequence[Ring], lon: float, lat: float) -> bool:
    """Whether a point lies inside one of the rings (even-odd rule on longitude/latitude)."""
    for ring in rings:
        inside = False
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        if inside:
            return True
    return False
