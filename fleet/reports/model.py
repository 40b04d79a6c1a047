"""What an inhabitant's report is: its kinds (in the inhabitants' words), limits, checks of what they typed."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fleet.errors import FleetError

LIGHT_OUT, LIGHT_IN_DAYLIGHT, WATER_RUNNING, COLD_BUILDING = (
    "light_out", "light_in_daylight", "water_running", "cold_building")
#: Each kind, as the public form names it (the public pages are in French).
KIND_LABELS: dict[str, str] = {
    LIGHT_OUT: "Un lampadaire éteint la nuit",
    LIGHT_IN_DAYLIGHT: "Un lampadaire allumé en plein jour",
    WATER_RUNNING: "De l'eau qui coule dans la rue",
    COLD_BUILDING: "Un bâtiment public froid",
}
KINDS = tuple(KIND_LABELS)
#: Which circuits of a box fit a kind: its lighting circuits, its water meters (leak watches), its heated zones.
CIRCUIT_OF_KIND = {LIGHT_OUT: "lighting", LIGHT_IN_DAYLIGHT: "lighting", WATER_RUNNING: "water",
                   COLD_BUILDING: "heating"}
OPEN, CLOSED = "open", "closed"
#: The alarm kind a report raises, and its severity.
ALARM_KIND, ALARM_SEVERITY = "report", "warning"

MAX_STREET_CHARS = 120
MAX_DESCRIPTION_CHARS = 2000
MAX_NOTE_CHARS = 2000
MAX_EMAIL_CHARS = 254
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: A report links to a box at most this far from the point given (great-circle distance).
MAX_LINK_DISTANCE_M = 3000.0
EARTH_RADIUS_M = 6_371_008.8
_EMAIL = re.compile(r"[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")
_REPORT_ID = re.compile(r"[0-9a-f]{32}")


class ReportError(FleetError):
    """A report that cannot be taken or an action on one refused: `reason` is a short code, the message French."""

    def __init__(self, reason: str, message: str, status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        #: For a 429: when to try again (seconds).
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Report:
    """One report as the dashboard shows it (never its e-mail nor its client hash: `asked_notice` only)."""

    id: str
    commune: str
    kind: str
    street: str
    latitude: float | None
    longitude: float | None
    description: str
    photo_type: str | None
    asked_notice: bool
    created_at: float
    device: str | None
    circuit: str | None
    distance_m: float | None
    alarm_id: str | None
    state: str
    closed_at: float | None
    closed_by: str | None
    note: str | None
    notified_at: float | None

    @property
    def label(self) -> str:
        """The kind in the inhabitants' words."""
        return KIND_LABELS.get(self.kind, self.kind)


def valid_report_id(value: str) -> bool:
    """Whether `value` has the shape of a report id (32 lower-case hex digits)."""
    return isinstance(value, str) and _REPORT_ID.fullmatch(value) is not None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def clean_text(value: str, limit: int, what: str, *, multiline: bool = False) -> str:
    """Text an inhabitant typed: trimmed, no control characters (newlines if `multiline`), at most `limit`."""
    text = value.replace("\r\n", "\n").strip()
    bad = [c for c in text if (ord(c) < 32 and not (multiline and c == "\n")) or ord(c) == 127]
    if bad:
        raise ReportError("malformed", f"{what} : caractère non accepté.")
    if len(text) > limit:
        raise ReportError("malformed", f"{what} : {len(text)} caractères, au plus {limit}.")
    return text


def check_email(value: str) -> str | None:
    """An e-mail address to be told at, or None when left empty."""
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL_CHARS or _EMAIL.fullmatch(text) is None:
        raise ReportError("malformed", "L'adresse e-mail ne semble pas valide (ou laissez le champ vide).")
    return text


def check_point(latitude: str, longitude: str) -> tuple[float, float] | None:
    """The point clicked on the map (both or neither), as finite degrees."""
    if not latitude.strip() and not longitude.strip():
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        raise ReportError("malformed", "Le point indiqué sur la carte n'est pas lisible.") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ReportError("malformed", "Le point indiqué sur la carte n'est pas lisible.")
    return lat, lon


def photo_type(data: bytes) -> str:
    """The photo's content type from its first bytes (JPEG, PNG, WebP); ReportError for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ReportError("photo_type", "La photo doit être une image JPEG, PNG ou WebP.")
