"""CSV export of a series on both engines: the rows written come back, the range edges are the documented ones
(a day included whole, a datetime `--to` excluded), a DST day is 23 hours, quoting and formula cells are safe,
chunks of many rows lose or repeat nothing, and readings without a trusted time are left out and counted."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from fleet.export.catalog import catalog
from fleet.export.readings import reading_rows, untrusted_count
from fleet.export.span import ExportError, UnknownDeviceError, parse_span
from fleet.export.table import CsvExport, ExportRequest
from fleet.registry.devices import add_device
from fleet.store import SqlStore, open_store
from fleet.store.db import Database
from tests.fleet_export_data import RECEIVED, store_readings, utc

PARIS = ZoneInfo("Europe/Paris")
HEADER = ["time_utc", "time_local", "device", "site", "sensor", "reading", "value_c"]


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def export(db: Database, first: str, last: str, *, device: str = "box-a", sensor: str | None = "hall",
           reading: str | None = "temperature_c", rollup: str | None = None, chunk_rows: int = 5000) -> str:
    request = ExportRequest(device, parse_span(first, last, PARIS), sensor, reading, rollup)
    return "".join(CsvExport(db, request, PARIS, chunk_rows=chunk_rows).chunks())


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_readings_are_the_rows_written(store: SqlStore) -> None:
    add_device(store.db, "box-a", "Salle des fêtes", now=RECEIVED)
    store_readings(store, [
        (utc("2026-01-14T07:00:00"), "hall", "temperature_c", 19.5),
        (utc("2026-01-14T07:00:00"), "hall", "relative_humidity_pct", 55.0),  # another reading, same sensor
        (utc("2026-01-14T07:05:00"), "porch", "temperature_c", -4.0),  # another sensor, same reading
        (utc("2026-01-14T07:10:00.250"), "hall", "temperature_c", -2.25),
        (utc("2026-01-14T16:30:00"), "hall", "temperature_c", 20.0),
    ])
    text = export(store.db, "2026-01-14", "2026-01-14")
    assert text.endswith("\r\n") and text.count("\r\n") == 4  # RFC 4180 line ends
    assert rows_of(text) == [
        HEADER,
        ["2026-01-14T07:00:00Z", "2026-01-14T08:00:00+01:00", "box-a", "Salle des fêtes", "hall", "temperature_c",
         "19.5"],
        ["2026-01-14T07:10:00.250Z", "2026-01-14T08:10:00.250+01:00", "box-a", "Salle des fêtes", "hall",
         "temperature_c", "-2.25"],
        ["2026-01-14T16:30:00Z", "2026-01-14T17:30:00+01:00", "box-a", "Salle des fêtes", "hall", "temperature_c",
         "20.0"],
    ]


def test_export_day_range_includes_both_days_whole(store: SqlStore) -> None:
    # Paris in January is UTC+1: 2026-01-14 local runs 2026-01-13T23:00Z .. 2026-01-15T23:00Z (to the 15th's end).
    store_readings(store, [(utc(t), "hall", "temperature_c", v) for t, v in (
        ("2026-01-13T22:59:59", 1.0), ("2026-01-13T23:00:00", 2.0), ("2026-01-15T22:59:59", 3.0),
        ("2026-01-15T23:00:00", 4.0),
    )])
    assert [r[-1] for r in rows_of(export(store.db, "2026-01-14", "2026-01-15"))[1:]] == ["2.0", "3.0"]


def test_export_datetime_range_includes_from_excludes_to(store: SqlStore) -> None:
    store_readings(store, [(utc(t), "hall", "temperature_c", v) for t, v in (
        ("2026-01-14T09:59:59", 1.0), ("2026-01-14T10:00:00", 2.0), ("2026-01-14T10:59:59", 3.0),
        ("2026-01-14T11:00:00", 4.0),
    )])
    values = [r[-1] for r in rows_of(export(store.db, "2026-01-14T10:00:00Z", "2026-01-14T11:00:00Z"))[1:]]
    assert values == ["2.0", "3.0"]
    # Without an offset, a datetime is Paris time: 11:00 local is 10:00Z.
    values = [r[-1] for r in rows_of(export(store.db, "2026-01-14T11:00", "2026-01-14T12:00"))[1:]]
    assert values == ["2.0", "3.0"]


def test_export_spring_forward_day_is_23_hours(store: SqlStore) -> None:
    # 2026-03-29 in Paris: 00:00+01:00 is 2026-03-28T23:00Z, clocks go 02:00 -> 03:00, 24:00+02:00 is 22:00Z.
    store_readings(store, [(utc(t), "hall", "temperature_c", v) for t, v in (
        ("2026-03-28T22:59:59", 1.0), ("2026-03-28T23:00:00", 2.0), ("2026-03-29T00:59:59", 3.0),
        ("2026-03-29T01:00:00", 4.0), ("2026-03-29T21:59:59", 5.0), ("2026-03-29T22:00:00", 6.0),
    )])
    rows = rows_of(export(store.db, "2026-03-29", "2026-03-29"))[1:]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("2026-03-28T23:00:00Z", "2026-03-29T00:00:00+01:00", "2.0"),
        ("2026-03-29T00:59:59Z", "2026-03-29T01:59:59+01:00", "3.0"),
        ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00", "4.0"),
        ("2026-03-29T21:59:59Z", "2026-03-29T23:59:59+02:00", "5.0"),
    ]
    span = parse_span("2026-03-29", "2026-03-29", PARIS)
    assert span.end_s - span.start_s == 23 * 3600
    assert parse_span("2026-10-25", "2026-10-25", PARIS).end_s - parse_span(
        "2026-10-25", "2026-10-25", PARIS).start_s == 25 * 3600


def test_export_quotes_per_rfc_4180_and_defuses_formulas(store: SqlStore) -> None:
    add_device(store.db, "box-a", '=HYPERLINK("http://evil.example","Mairie, salle")', now=RECEIVED)
    store_readings(store, [
        (utc("2026-01-14T07:00:00"), '+cmd|"/c calc"', "@SUM(A1)", -3.5),
        (utc("2026-01-14T07:00:00"), "cave, nord", 'say "hi"\nthere', 7.0),
    ])
    text = export(store.db, "2026-01-14", "2026-01-14", sensor='+cmd|"/c calc"', reading="@SUM(A1)")
    assert rows_of(text)[1][2:] == ["box-a", '\'=HYPERLINK("http://evil.example","Mairie, salle")',
                                    '\'+cmd|"/c calc"', "'@SUM(A1)", "-3.5"]
    assert '"\'=HYPERLINK(""http://evil.example"",""Mairie, salle"")"' in text
    assert rows_of(text)[0][-1] == "value"  # a name without a unit suffix: a bare value column
    text = export(store.db, "2026-01-14", "2026-01-14", sensor="cave, nord", reading='say "hi"\nthere')
    assert text.splitlines()[1].endswith(',"cave, nord","say ""hi""')
    assert rows_of(text)[1][4:] == ["cave, nord", 'say "hi"\nthere', "7.0"]


def test_export_chunks_lose_and_repeat_nothing(store: SqlStore) -> None:
    # Two readings of the series at each second in the raw lane (equal times across chunk edges), a third at
    # each half second in the total lane, another reading interleaved.
    start = utc("2026-01-14T00:00:00")
    raw = [(start + i // 3, "hall", "temperature_c", float(i)) for i in range(3000) if i % 3 != 2]
    raw += [(start + i // 3, "hall", "relative_humidity_pct", 50.0) for i in range(3000)]
    total = [(start + i // 3 + 0.5, "hall", "temperature_c", float(i)) for i in range(2, 3000, 3)]
    store_readings(store, sorted(raw), lane="raw")
    store_readings(store, total, lane="total")
    got = list(reading_rows(store.db, "box-a", "hall", "temperature_c", start, start + 1000, chunk_rows=7))
    assert [value for _, value in got] == [float(i) for i in range(3000)]
    assert [ts for ts, _ in got] == [start + i // 3 + (0.5 if i % 3 == 2 else 0.0) for i in range(3000)]


def test_export_sparse_and_tied_readings_over_a_year(store: SqlStore) -> None:
    # A year in Paris: 2025-12-31T23:00Z .. 2026-12-31T23:00Z. Five readings at one instant (more than a chunk),
    # months of nothing between (the time windows widen), the last second of the year, the first of the next.
    times = ["2025-12-31T22:59:59", "2025-12-31T23:00:00", "2026-07-01T12:00:00", "2026-07-01T12:00:00",
             "2026-07-01T12:00:00", "2026-07-01T12:00:00", "2026-07-01T12:00:00", "2026-12-31T22:59:59",
             "2026-12-31T23:00:00"]
    store_readings(store, [(utc(t), "hall", "temperature_c", float(i)) for i, t in enumerate(times)])
    span = parse_span("2026-01-01", "2026-12-31", PARIS)
    got = list(reading_rows(store.db, "box-a", "hall", "temperature_c", span.start_s, span.end_s, chunk_rows=2))
    assert [value for _, value in got] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


class CountingDatabase(Database):
    """A Database that passes queries on and keeps the largest result any one query returned."""

    def __init__(self, db: Database) -> None:
        self.db, self.dialect, self.largest, self.fetched = db, db.dialect, 0, 0

    def query(self, sql: str, params: object = ()) -> list[tuple[object, ...]]:
        rows = self.db.query(sql, params)  # type: ignore[arg-type]
        self.largest, self.fetched = max(self.largest, len(rows)), self.fetched + len(rows)
        return rows

    def one(self, sql: str, params: object = ()) -> tuple[object, ...] | None:
        return self.db.one(sql, params)  # type: ignore[arg-type]


def test_export_streams_in_chunks_of_rows(store: SqlStore) -> None:
    start = utc("2026-01-14T00:00:00")
    store_readings(store, [(start + 60 * i, "hall", "temperature_c", 20.0) for i in range(6000)])
    counting = CountingDatabase(store.db)
    request = ExportRequest("box-a", parse_span("2026-01-13", "2026-01-20", PARIS), "hall", "temperature_c")
    chunks = CsvExport(counting, request, PARIS, chunk_rows=500).chunks()
    header, first = next(chunks), next(chunks)
    assert header.startswith("time_utc,") and first.count("\r\n") == 1000
    assert counting.largest == 500 and counting.fetched <= 1500  # two or three chunks read, not 6000 rows
    assert sum(chunk.count("\r\n") for chunk in chunks) == 5000
    assert counting.largest == 500 and counting.fetched == 6000


def test_export_leaves_out_untrusted_readings_and_counts_them(store: SqlStore) -> None:
    store_readings(store, [(utc("2026-01-14T07:00:00"), "hall", "temperature_c", 1.0)])
    store_readings(store, [(utc("2026-01-14T08:00:00"), "hall", "temperature_c", 2.0),
                           (utc("2026-01-14T08:00:00"), "hall", "relative_humidity_pct", 50.0)],
                   clock="unsynced", first_seq=2, boot="b2")
    assert [r[-1] for r in rows_of(export(store.db, "2026-01-14", "2026-01-14"))[1:]] == ["1.0"]
    assert untrusted_count(store.db, "box-a", "hall", "temperature_c") == 1
    found = catalog(store.db, "box-a", parse_span("2026-01-01", "2026-01-31", PARIS))
    assert [(s.sensor, s.reading, s.count, s.untrusted) for s in found.readings] == [
        ("hall", "relative_humidity_pct", 0, 1), ("hall", "temperature_c", 1, 1)]


def test_catalog_lists_series_with_counts_and_times(store: SqlStore) -> None:
    store_readings(store, [
        (utc("2026-01-14T07:00:00"), "hall", "temperature_c", 1.0),
        (utc("2026-01-15T07:00:00"), "hall", "temperature_c", 2.0),
        (utc("2026-01-14T09:00:00"), "water-main", "flow_lph", 2.0),
        (utc("2026-02-14T09:00:00"), "water-main", "flow_lph", 2.0),  # outside the span
    ])
    store_readings(store, [(utc("2026-01-14T08:00:00"), "water-main", "volume_total_l", 10.0)], lane="total")
    data = catalog(store.db, "box-a", parse_span("2026-01-01", "2026-01-31", PARIS)).as_dict()
    assert [(s["sensor"], s["reading"], s["unit"], s["count"], s["first_s"], s["last_s"]) for s in data["readings"]] == [
        ("hall", "temperature_c", "°C", 2, utc("2026-01-14T07:00:00"), utc("2026-01-15T07:00:00")),
        ("water-main", "flow_lph", "L/h", 1, utc("2026-01-14T09:00:00"), utc("2026-01-14T09:00:00")),
        ("water-main", "volume_total_l", "L", 1, utc("2026-01-14T08:00:00"), utc("2026-01-14T08:00:00")),
    ]
    with pytest.raises(UnknownDeviceError, match="no device 'box-z'"):
        catalog(store.db, "box-z", parse_span("2026-01-01", "2026-01-31", PARIS))


def test_export_rollups_by_day_both_ends_included(store: SqlStore) -> None:
    add_device(store.db, "box-a", "-Mairie", now=RECEIVED)
    store.db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", [
        ("box-a", "water-main", "2026-01-13", 1.0, 240, 10.0), ("box-a", "water-main", "2026-01-14", 12.5, 240, 60.0),
        ("box-a", "water-garden", "2026-01-14", None, 120, 0.0), ("box-a", "water-main", "2026-01-15", 2.0, 240, 8.0),
        ("box-a", "water-main", "2026-01-16", 3.0, 240, 9.0), ("box-b", "water-main", "2026-01-14", 9.0, 240, 1.0),
    ])
    store.db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
        ("box-a", "mains", "import_energy_kwh", "2026-01-14", 12.25, 96, 0),
        ("box-a", "mains", "export_energy_kwh", "2026-01-14", 0.5, 96, 1),
    ])
    text = export(store.db, "2026-01-14", "2026-01-15", sensor=None, reading=None, rollup="water_nights",
                  chunk_rows=100)  # one day per query
    assert rows_of(text) == [
        ["night", "device", "site", "meter", "min_flow_lph", "samples", "volume_l"],
        ["2026-01-14", "box-a", "'-Mairie", "water-garden", "", "120", "0.0"],
        ["2026-01-14", "box-a", "'-Mairie", "water-main", "12.5", "240", "60.0"],
        ["2026-01-15", "box-a", "'-Mairie", "water-main", "2.0", "240", "8.0"],
    ]
    text = export(store.db, "2026-01-01", "2026-01-31", sensor="mains", reading="import_energy_kwh",
                  rollup="energy_days")
    assert rows_of(text)[1:] == [["2026-01-14", "box-a", "'-Mairie", "mains", "import_energy_kwh", "12.25", "96", "0"]]


@pytest.mark.parametrize(("first", "last", "rollup", "message"), [
    ("2026-01-15", "2026-01-14", None, "the range is empty"),
    ("2026-01-14T10:00Z", "2026-01-14T10:00Z", None, "the range is empty"),
    ("2026-02-30", "2026-03-01", None, "not a date"),
    ("yesterday", "2026-03-01", None, "expected YYYY-MM-DD or an ISO 8601 datetime"),
    ("2026-01-14T00:00", "2026-01-15", "water_nights", "roll-ups are per day"),
])
def test_export_refuses_bad_ranges_in_one_line(first: str, last: str, rollup: str | None, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        ExportRequest("box-a", parse_span(first, last, PARIS), None if rollup else "s", None if rollup else "r",
                      rollup).check()
