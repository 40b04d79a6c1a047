"""The intercommunal service's report: each commune's figures over a span and the same span a year before, the
service's own boxes apart, and the service's total, as rows for the page, the CSV and the CLI.

Every figure comes from fleet/tenants/figures.py (definitions in fleet/web/views/savings.py). A total is a sum;
its share of hours saved is worked out from the summed hours, never averaged; its kWh, euros and CO2 are sums
of the rows whose kWh is known (each row's euros at its commune's tariff, CO2 at its factor). The service's own
boxes (no commune) are priced at a new commune's default factors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fleet.errors import FleetError
from fleet.export.table import safe_text
from fleet.store.db import Database
from fleet.tenants.communes import list_communes
from fleet.tenants.figures import (
    CommuneFigures,
    a_year_before,
    commune_figures,
    figures_from,
)
from fleet.tenants.model import (
    DEFAULT_CO2_KG_PER_KWH,
    DEFAULT_TARIFF_EUR_PER_KWH,
    Commune,
)
from fleet.web.views.savings import savings

#: Years a report may cover, and its longest span of days.
FIRST_YEAR, MAX_DAYS = 2000, 3 * 366
SERVICE_TITLE = "The service's own boxes"
#: (figure, decimals in the CSV) in column order; `saved_pct` is a share of the dusk-to-dawn hours.
FIGURES: tuple[tuple[str, int], ...] = (
    ("lit_h", 2), ("dusk_to_dawn_h", 2), ("saved_h", 2), ("saved_pct", 2), ("saved_kwh", 3), ("saved_eur", 2),
    ("saved_co2_kg", 3), ("energy_kwh", 3), ("energy_days", 0), ("leaks", 0), ("water_lost_l", 1),
    ("water_caught_l", 1),
)
#: Figures whose change from the year before is given (saved_pct: in percentage points).
CHANGES = ("lit_h", "saved_h", "saved_pct", "saved_kwh", "saved_eur", "saved_co2_kg", "energy_kwh", "leaks",
           "water_lost_l", "water_caught_l")
CSV_HEADER: tuple[str, ...] = (
    "kind", "commune", "title", "first", "last", "boxes", "tariff_eur_per_kwh", "co2_kg_per_kwh",
    *(name for name, _ in FIGURES), "prev_first", "prev_last", *(f"prev_{name}" for name, _ in FIGURES),
    *(f"change_{name}" + ("_points" if name == "saved_pct" else "") for name in CHANGES),
)


class ReportError(FleetError):
    """A span the report cannot cover (said in one line, naming the parameter)."""


@dataclass(frozen=True, slots=True)
class ReportSpan:
    """The local days a report covers, the same days a year before, and how the page names them."""

    first: date
    last: date
    label: str

    @property
    def before(self) -> tuple[date, date]:
        """The same days a year earlier."""
        return a_year_before(self.first), a_year_before(self.last)


def _day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{name}: expected a date YYYY-MM-DD, got {text[:40]!r}") from None
    if day.year < FIRST_YEAR or day.year > 2099:
        raise ReportError(f"{name}: give a date from {FIRST_YEAR}-01-01 to 2099-12-31")
    return day


def report_span(year: str | None, first: str | None, last: str | None, today: date, dash: str = "") -> ReportSpan:
    """The span asked (`dash`: '--' to name CLI options): a year, first..last, or by default the last complete
    calendar year (what an annual report covers); this year runs to today."""
    year, first, last = (None if v in (None, "") else str(v).strip() for v in (year, first, last))
    if year is not None and (first is not None or last is not None):
        raise ReportError(f"{dash}year with {dash}first/{dash}last: give one or the other")
    if first is not None or last is not None:
        if first is None or last is None:
            raise ReportError(f"{dash}first and {dash}last go together: give both (or {dash}year)")
        a, b = _day(first, f"{dash}first"), _day(last, f"{dash}last")
        if a > b or (b - a).days >= MAX_DAYS:
            raise ReportError(f"{dash}first..{dash}last: first on or before last, at most {MAX_DAYS} days")
        return ReportSpan(a, b, f"{a.isoformat()} to {b.isoformat()}")
    if year is None:
        y = today.year - 1
        return ReportSpan(date(y, 1, 1), date(y, 12, 31), f"{y}, the last complete calendar year")
    if not year.isdigit() or len(year) != 4:
        raise ReportError(f"{dash}year: expected a year YYYY, got {year[:40]!r}")
    y = int(year)
    if not FIRST_YEAR <= y <= today.year:
        raise ReportError(f"{dash}year {y}: give a year from {FIRST_YEAR} to {today.year}")
    if y == today.year:
        return ReportSpan(date(y, 1, 1), today, f"{y} to date (1 January to {today.isoformat()}), not yet complete")
    return ReportSpan(date(y, 1, 1), date(y, 12, 31), str(y))


@dataclass(frozen=True, slots=True)
class Figures:
    """One row's totals over a span (a commune's, the service's own boxes', or the sum of every row)."""

    lit_h: float
    dusk_to_dawn_h: float
    saved_kwh: float | None
    saved_eur: float | None
    saved_co2_kg: float | None
    energy_kwh: float
    energy_days: int
    leaks: int
    water_lost_l: float
    water_caught_l: float

    @property
    def saved_h(self) -> float:
        """Dusk-to-dawn hours minus hours lit."""
        return self.dusk_to_dawn_h - self.lit_h

    @property
    def saved_pct(self) -> float | None:
        """Hours saved as a share (%) of the dusk-to-dawn hours; None without any."""
        return 100.0 * self.saved_h / self.dusk_to_dawn_h if self.dusk_to_dawn_h > 0 else None

    @classmethod
    def of(cls, found: CommuneFigures) -> Figures:
        """A commune's figures."""
        return cls(found.lit_h, found.astronomical_h, found.saved_kwh, found.saved_eur, found.saved_co2_kg,
                   found.energy_kwh, found.energy_days, found.leaks, found.water_lost_l, found.water_caught_l)

    @classmethod
    def total(cls, parts: Sequence[Figures]) -> Figures:
        """The sum of rows (kWh, euros, CO2: of the rows where they are known; None when none is)."""

        def known(values: Iterable[float | None]) -> float | None:
            found = [v for v in values if v is not None]
            return sum(found) if found else None

        return cls(
            sum(p.lit_h for p in parts), sum(p.dusk_to_dawn_h for p in parts), known(p.saved_kwh for p in parts),
            known(p.saved_eur for p in parts), known(p.saved_co2_kg for p in parts),
            sum(p.energy_kwh for p in parts), sum(p.energy_days for p in parts), sum(p.leaks for p in parts),
            sum(p.water_lost_l for p in parts), sum(p.water_caught_l for p in parts),
        )

    def value(self, name: str) -> float | None:
        """A figure by its CSV name."""
        return getattr(self, name)


def change(now: Figures, before: Figures, name: str) -> float | None:
    """now - before for a figure (None when either is unknown)."""
    a, b = now.value(name), before.value(name)
    return None if a is None or b is None else a - b


@dataclass(frozen=True, slots=True)
class ReportRow:
    """A row of the report: `kind` commune, service (its own boxes) or total."""

    kind: str
    commune: str
    title: str
    boxes: int
    tariff_eur_per_kwh: float | None
    co2_kg_per_kwh: float | None
    now: Figures
    before: Figures


@dataclass(frozen=True, slots=True)
class ServiceReport:
    """Every commune's row by title, the service's own boxes' row (if it has any), and the total."""

    span: ReportSpan
    rows: tuple[ReportRow, ...]
    total: ReportRow

    @property
    def every(self) -> tuple[ReportRow, ...]:
        """The rows, then the total."""
        return (*self.rows, self.total)


def service_report(db: Database, span: ReportSpan, zone: ZoneInfo, now: float) -> ServiceReport:
    """The report over `span` and the same days a year before."""
    before = span.before

    def row(kind: str, commune: Commune, found: CommuneFigures, prev: CommuneFigures) -> ReportRow:
        return ReportRow(kind, commune.name, commune.title, found.boxes, commune.tariff_eur_per_kwh,
                         commune.co2_kg_per_kwh, Figures.of(found), Figures.of(prev))

    rows = [
        row("commune", c, commune_figures(db, c, span.first, span.last, zone, now),
            commune_figures(db, c, before[0], before[1], zone, now))
        for c in sorted(list_communes(db), key=lambda c: (c.title.casefold(), c.name))
    ]
    own = [str(r[0]) for r in db.query("SELECT device FROM registry WHERE commune IS NULL ORDER BY device")]
    if own:
        service = Commune("", SERVICE_TITLE, "", False, DEFAULT_TARIFF_EUR_PER_KWH, DEFAULT_CO2_KG_PER_KWH,
                          None, None, (), (), 0.0)
        rows.append(row("service", service,
                        figures_from(service, savings(db, own, span.first, span.last, zone, now)),
                        figures_from(service, savings(db, own, before[0], before[1], zone, now))))
    total = ReportRow("total", "", "Total", sum(r.boxes for r in rows), None, None,
                      Figures.total([r.now for r in rows]), Figures.total([r.before for r in rows]))
    return ServiceReport(span, tuple(rows), total)


def _cell(value: float | None, digits: int) -> str:
    """A figure as CSV text: fixed decimals (never an exponent), trailing zeros dropped, '' when unknown."""
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def csv_row(report: ServiceReport, row: ReportRow) -> tuple[str, ...]:
    """One row as CSV cells in CSV_HEADER's order (text made safe for a spreadsheet)."""
    first, last = report.span.first, report.span.last
    prev_first, prev_last = report.span.before
    return (
        row.kind, safe_text(row.commune), safe_text(row.title), first.isoformat(), last.isoformat(), str(row.boxes),
        _cell(row.tariff_eur_per_kwh, 6), _cell(row.co2_kg_per_kwh, 6),
        *(_cell(row.now.value(name), digits) for name, digits in FIGURES),
        prev_first.isoformat(), prev_last.isoformat(),
        *(_cell(row.before.value(name), digits) for name, digits in FIGURES),
        *(_cell(change(row.now, row.before, name), dict(FIGURES)[name]) for name in CHANGES),
    )


def csv_text(report: ServiceReport) -> str:
    """The report as CSV (RFC 4180, CRLF line ends): the header, a row per commune, the service's, the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_row(report, row) for row in report.every)
    return buffer.getvalue()


def as_records(report: ServiceReport) -> list[dict[str, Any]]:
    """The report's rows as JSON-ready dicts keyed like the CSV's columns (numbers as numbers, None as null)."""
    records = []
    for row in report.every:
        cells = dict(zip(CSV_HEADER, csv_row(report, row), strict=True))
        record: dict[str, Any] = {}
        for key, text in cells.items():
            if key in ("kind", "first", "last", "prev_first", "prev_last"):
                record[key] = text
            elif key in ("commune", "title"):
                record[key] = getattr(row, key)
            else:
                record[key] = None if text == "" else (int(text) if text.lstrip("-").isdigit() else float(text))
        records.append(record)
    return records


def filename(span: ReportSpan) -> str:
    """The CSV's file name for a span."""
    return f"communes_{span.first.isoformat()}_{span.last.isoformat()}.csv"
