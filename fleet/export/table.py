"""One export as CSV text (RFC 4180, via the csv module), streamed in chunks, safe to open in a spreadsheet.

A cell of text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (a site name, a sensor id: text
someone typed) is prefixed with `'`, so that a spreadsheet shows it rather than run it as a formula; numbers
the export writes itself (a negative temperature) are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from fleet.export.catalog import device_site
from fleet.export.readings import CHUNK_ROWS, reading_rows, unit_suffix
from fleet.export.rollups import ROLLUPS, rollup_rows
from fleet.export.span import ExportError, Span, iso_times
from fleet.store.db import Database

#: First characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk of text handed to the reader.
LINES_PER_CHUNK = 1000
READING_COLUMNS = ("time_utc", "time_local", "device", "site", "sensor", "reading")


def safe_text(text: str) -> str:
    """`text` as a cell a spreadsheet will not run: prefixed with `'` when it starts like a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def number(value: Any) -> str:
    """A figure as CSV text: '' for none, shortest round-trip text for a float, digits for an integer."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def value_column(reading: str) -> str:
    """The value column's name with the reading's unit (`temperature_c` -> `value_c`), `value` without one."""
    suffix = unit_suffix(reading)
    return "value" if suffix is None else f"value_{suffix}"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: a device's raw readings of (sensor, reading), or one of its roll-ups, over a span."""

    device: str
    span: Span
    sensor: str | None = None
    reading: str | None = None
    rollup: str | None = None

    def check(self) -> None:
        """ExportError unless the request names exactly one series."""
        if self.rollup is not None:
            if self.rollup not in ROLLUPS:
                raise ExportError(f"roll-up {self.rollup!r}: expected one of {', '.join(ROLLUPS)}")
            if self.reading is not None and ROLLUPS[self.rollup].register is None:
                raise ExportError(f"{self.rollup} has no register: give --sensor only (its meter or circuit)")
            self.span.days  # noqa: B018 - raises unless the span is whole days
        elif not self.sensor or not self.reading:
            raise ExportError("say which series: --sensor S --reading R (raw readings) or --rollup NAME")

    @property
    def filename(self) -> str:
        """A file name for the export: device, series and span, in safe characters."""
        parts = [self.device, *(p for p in (self.rollup, self.sensor, self.reading) if p)]
        if self.span.first_day is not None and self.span.last_day is not None:
            parts += [self.span.first_day.isoformat(), self.span.last_day.isoformat()]
        name = "_".join(parts)
        return re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:180] + ".csv"


class CsvExport:
    """A checked export: its header now, its rows as CSV text chunks when `chunks()` is iterated."""

    def __init__(self, db: Database, request: ExportRequest, zone: tzinfo, *, chunk_rows: int = CHUNK_ROWS) -> None:
        request.check()
        self.site = device_site(db, request.device)
        self.db, self.request, self.zone, self.chunk_rows = db, request, zone, chunk_rows
        self.filename = request.filename
        self.rows = 0
        if request.rollup is not None:
            rollup = ROLLUPS[request.rollup]
            self.header: tuple[str, ...] = (rollup.day, "device", "site", *rollup.keys, *rollup.values)
        else:
            assert request.reading is not None
            self.header = (*READING_COLUMNS, value_column(request.reading))

    def _rows(self) -> Iterator[Sequence[str]]:
        r, device, site = self.request, safe_text(self.request.device), safe_text(self.site)
        if r.rollup is not None:
            first, last = r.span.days
            for day, *rest in rollup_rows(self.db, ROLLUPS[r.rollup], r.device, first, last, sensor=r.sensor,
                                          register=r.reading, window_days=max(1, self.chunk_rows // 100)):
                keys = len(ROLLUPS[r.rollup].keys)
                yield (str(day), device, site, *(safe_text(str(k)) for k in rest[:keys]),
                       *(number(v) for v in rest[keys:]))
            return
        assert r.sensor is not None and r.reading is not None
        sensor, reading = safe_text(r.sensor), safe_text(r.reading)
        for ts, value in reading_rows(self.db, r.device, r.sensor, r.reading, r.span.start_s, r.span.end_s,
                                      chunk_rows=self.chunk_rows):
            utc, local = iso_times(ts, self.zone)
            yield (utc, local, device, site, sensor, reading, number(value))

    def chunks(self) -> Iterator[str]:
        """The CSV text: the header line, then the rows, `LINES_PER_CHUNK` lines per chunk (CRLF line ends)."""
        yield _text([self.header])
        batch: list[Sequence[str]] = []
        for row in self._rows():
            batch.append(row)
            self.rows += 1
            if len(batch) >= LINES_PER_CHUNK:
                yield _text(batch)
                batch = []
        if batch:
            yield _text(batch)


def _text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
