"""The service's page comparing communes (/service/communes), its CSV and `hameau-fleet communes report`.

Scenario (written here, figures worked out by hand): two communes whose names sort the other way round from
their titles, zeta "Ambert" (tariff 0.20 EUR/kWh, 0.1 kg CO2/kWh) and alpha "Brioude" (defaults 0.25 and
0.052), each one box at Paris's coordinates with the town hall's street circuit (street-main, 740 W), and a box
of the service's own. Paris almanac, mid-January: sunrise 08:40, sunset 17:20 CET, so 15 h 20 of night a day
(D below; a minute or so less from one day to the next, hence the tolerances).
- 2025: Ambert lit 10 h on 14 Jan, 10 kWh counted; Brioude lit 8 h on 14 and 15 Jan, 50 kWh counted, a burst of
  100 L/h seen at 03:00 on 10 March, above normal since 02:00, cleared at 05:00; the service's box 5 kWh.
- 2024: Ambert lit 12 h on 14 Jan, 20 kWh counted; Brioude no lighting, a continuous flow of 20 L/h raised at
  03:00 on 1 May, flowing since 23:00 the evening before, cleared at 05:00.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from web_helpers import NOW, client, login, web_app
from web_seed import PARIS, at, clear_alarm, desire, hall_tables, raise_alarm, register

from fleet.cli import main
from fleet.registry.groups import add_user
from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    new_commune,
    set_members,
    update_commune,
)

D = 15 + 20 / 60
#: Hours of night a day may differ from D (the almanac's minute, a day later a minute less).
TOL_H = 3 / 60
LOAD_KW = 0.740
QUARTER_HALF_H = 91.3125 * 24 / 2


def _iso(day: date, hh: int) -> str:
    return datetime.fromtimestamp(at(day, hh), PARIS).isoformat()


def _seed(url: str) -> None:
    store = open_store(url)
    try:
        db = store.db
        create_commune(db, new_commune("zeta", "Ambert", now=0.0))
        create_commune(db, new_commune("alpha", "Brioude", now=0.0))
        update_commune(db, "zeta", tariff_eur_per_kwh=0.20, co2_kg_per_kwh=0.1)
        register(db, "box-a", "Mairie", 48.8566, 2.3522)
        register(db, "box-b", "Mairie", 48.8566, 2.3522)
        register(db, "box-s", "Depot", None, None)
        set_members(db, "zeta", "device", ["box-a"])
        set_members(db, "alpha", "device", ["box-b"])
        desire(db, "box-a", hall_tables())
        desire(db, "box-b", hall_tables())
        db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
            ("box-a", "street-main", "2025-01-14", 10 * 3600.0, None, 4),
            ("box-b", "street-main", "2025-01-14", 8 * 3600.0, None, 4),
            ("box-b", "street-main", "2025-01-15", 8 * 3600.0, None, 4),
            ("box-a", "street-main", "2024-01-14", 12 * 3600.0, None, 4),
        ])
        db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
            ("box-a", "energy-lighting", "import_energy_kwh", "2025-01-14", 10.0, 5, 0),
            ("box-b", "energy-lighting", "import_energy_kwh", "2025-01-14", 50.0, 5, 0),
            ("box-s", "energy-lighting", "import_energy_kwh", "2025-01-14", 5.0, 5, 0),
            ("box-a", "energy-lighting", "import_energy_kwh", "2024-01-14", 20.0, 5, 0),
        ])
        old = raise_alarm(db, "box-b", "continuous_flow", "warning", at(date(2024, 5, 1), 3),
                          evidence={"average_flow_lph": 20.0, "flowing_since": _iso(date(2024, 4, 30), 23)})
        clear_alarm(db, old, at(date(2024, 5, 1), 5))
        new = raise_alarm(db, "box-b", "burst", "critical", at(date(2025, 3, 10), 3),
                          evidence={"flow_lph": 100.0, "above_since": _iso(date(2025, 3, 10), 2)})
        clear_alarm(db, new, at(date(2025, 3, 10), 5))
        add_user(db, "ambert-admin", "admin", now=NOW, commune="zeta")
    finally:
        store.close()


def _rows(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    table = list(csv.reader(io.StringIO(text, newline="")))
    header, body = table[0], table[1:]
    return header, {row[2]: dict(zip(header, row, strict=True)) for row in body}


def _f(cells: dict[str, str], key: str) -> float:
    return float(cells[key])


EXPECTED_HEADER = [
    "kind", "commune", "title", "first", "last", "boxes", "tariff_eur_per_kwh", "co2_kg_per_kwh",
    "lit_h", "dusk_to_dawn_h", "saved_h", "saved_pct", "saved_kwh", "saved_eur", "saved_co2_kg", "energy_kwh",
    "energy_days", "leaks", "water_lost_l", "water_caught_l", "prev_first", "prev_last",
    "prev_lit_h", "prev_dusk_to_dawn_h", "prev_saved_h", "prev_saved_pct", "prev_saved_kwh", "prev_saved_eur",
    "prev_saved_co2_kg", "prev_energy_kwh", "prev_energy_days", "prev_leaks", "prev_water_lost_l",
    "prev_water_caught_l", "change_lit_h", "change_saved_h", "change_saved_pct_points", "change_saved_kwh",
    "change_saved_eur", "change_saved_co2_kg", "change_energy_kwh", "change_leaks", "change_water_lost_l",
    "change_water_caught_l",
]


def test_web_service_csv_rows_and_total_by_hand(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url) as app:
        browser, _ = login(app, store_url, "service-viewer", "viewer")
        answer = browser.get("/service/communes.csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="communes_2025-01-01_2025-12-31.csv"'
    assert answer.content.decode("utf-8").endswith("\r\n")
    header, rows = _rows(answer.content.decode("utf-8"))
    assert header == EXPECTED_HEADER
    assert [r["kind"] for r in rows.values()] == ["commune", "commune", "service", "total"]
    assert list(rows) == ["Ambert", "Brioude", "The service's own boxes", "Total"]
    a, b, s, t = rows["Ambert"], rows["Brioude"], rows["The service's own boxes"], rows["Total"]
    assert (a["commune"], b["commune"], s["commune"], t["commune"]) == ("zeta", "alpha", "", "")
    assert {r["first"] + ".." + r["last"] for r in rows.values()} == {"2025-01-01..2025-12-31"}
    # Ambert: 10 h lit of D, 740 W, 0.20 EUR and 0.1 kg a kWh.
    assert (a["boxes"], _f(a, "lit_h"), _f(a, "tariff_eur_per_kwh"), _f(a, "co2_kg_per_kwh")) == ("1", 10.0, 0.2, 0.1)
    assert _f(a, "saved_h") == pytest.approx(D - 10, abs=TOL_H)
    assert _f(a, "saved_pct") == pytest.approx(100 * (D - 10) / D, abs=0.3)
    assert _f(a, "saved_kwh") == pytest.approx(LOAD_KW * (D - 10), abs=LOAD_KW * TOL_H)
    assert _f(a, "saved_eur") == pytest.approx(0.20 * LOAD_KW * (D - 10), abs=0.20 * LOAD_KW * TOL_H)
    assert _f(a, "saved_co2_kg") == pytest.approx(0.1 * LOAD_KW * (D - 10), abs=0.1 * LOAD_KW * TOL_H)
    assert (_f(a, "energy_kwh"), a["energy_days"], a["leaks"], _f(a, "water_caught_l")) == (10.0, "1", "0", 0.0)
    # Brioude: 2 x 8 h lit of 2 D, at the default factors; the burst lost 100 L/h x 3 h and was found after 1 h.
    assert _f(b, "saved_h") == pytest.approx(2 * D - 16, abs=2 * TOL_H)
    assert _f(b, "saved_kwh") == pytest.approx(LOAD_KW * (2 * D - 16), abs=2 * LOAD_KW * TOL_H)
    assert _f(b, "saved_eur") == pytest.approx(0.25 * LOAD_KW * (2 * D - 16), abs=0.25 * LOAD_KW * 2 * TOL_H)
    assert _f(b, "saved_co2_kg") == pytest.approx(0.052 * LOAD_KW * (2 * D - 16), abs=0.052 * LOAD_KW * 2 * TOL_H)
    assert (b["leaks"], _f(b, "water_lost_l")) == ("1", 300.0)
    assert _f(b, "water_caught_l") == pytest.approx(100 * (QUARTER_HALF_H - 1), abs=0.1)
    # The service's own box: no coordinates, no lighting: 5 kWh counted, nothing saved known.
    assert (s["boxes"], _f(s, "energy_kwh"), s["saved_kwh"], s["saved_pct"]) == ("1", 5.0, "", "")
    # Total: sums; the share of hours saved from the sums (20 of 3 D), not the mean of 34.8 % and 47.8 %.
    assert (t["boxes"], _f(t, "lit_h"), _f(t, "energy_kwh"), t["energy_days"], t["leaks"]) == ("3", 26.0, 65.0, "3", "1")
    assert _f(t, "saved_h") == pytest.approx(3 * D - 26, abs=3 * TOL_H)
    assert _f(t, "saved_pct") == pytest.approx(100 * (3 * D - 26) / (3 * D), abs=0.3)
    assert abs(_f(t, "saved_pct") - (100 * (D - 10) / D + 100 * (2 * D - 16) / (2 * D)) / 2) > 1.5
    assert _f(t, "saved_kwh") == pytest.approx(LOAD_KW * (3 * D - 26), abs=3 * LOAD_KW * TOL_H)
    assert _f(t, "saved_eur") == pytest.approx(LOAD_KW * (0.20 * (D - 10) + 0.25 * (2 * D - 16)),
                                         abs=LOAD_KW * 0.7 * TOL_H)
    assert _f(t, "saved_co2_kg") == pytest.approx(LOAD_KW * (0.1 * (D - 10) + 0.052 * (2 * D - 16)),
                                            abs=LOAD_KW * 0.204 * TOL_H)
    assert (t["tariff_eur_per_kwh"], t["co2_kg_per_kwh"]) == ("", "")


def test_web_service_csv_previous_year_and_change(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url) as app:
        browser, _ = login(app, store_url, "service-viewer", "viewer")
        _, rows = _rows(browser.get("/service/communes.csv?year=2025").content.decode("utf-8"))
    a, b, t = rows["Ambert"], rows["Brioude"], rows["Total"]
    assert {r["prev_first"] + ".." + r["prev_last"] for r in rows.values()} == {"2024-01-01..2024-12-31"}
    # 2024: Ambert 12 h lit of D, 20 kWh; Brioude no lighting (nothing saved known), the 20 L/h flow for 6 h.
    assert _f(a, "prev_saved_kwh") == pytest.approx(LOAD_KW * (D - 12), abs=LOAD_KW * TOL_H)
    assert _f(a, "change_saved_kwh") == pytest.approx(LOAD_KW * 2, abs=LOAD_KW * TOL_H)
    assert _f(a, "change_energy_kwh") == -10.0
    assert _f(a, "change_saved_pct_points") == pytest.approx(100 * 2 / D, abs=0.3)
    assert (b["prev_lit_h"], b["prev_saved_kwh"], b["prev_saved_pct"], b["change_saved_kwh"]) == ("0", "", "", "")
    assert (b["prev_leaks"], _f(b, "prev_water_lost_l"), b["change_leaks"]) == ("1", 120.0, "0")
    assert _f(b, "prev_water_caught_l") == pytest.approx(20 * (QUARTER_HALF_H - 4), abs=0.1)
    assert _f(t, "prev_saved_kwh") == pytest.approx(LOAD_KW * (D - 12), abs=LOAD_KW * TOL_H)
    assert _f(t, "change_water_caught_l") == pytest.approx(100 * (QUARTER_HALF_H - 1) - 20 * (QUARTER_HALF_H - 4),
                                                           abs=0.2)
    assert _f(t, "change_energy_kwh") == 45.0


def test_web_service_page_orders_by_title_with_total_chart_and_definitions(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url) as app:
        browser, _ = login(app, store_url, "service-viewer", "viewer")
        html = browser.get("/service/communes").text
        ytd = browser.get("/service/communes.csv?year=2026").content.decode("utf-8")
        home = browser.get("/").text
    assert "2025, the last complete calendar year" in html
    now_table = html.split('class="communes now"')[1].split("</table>")[0]
    kinds = [part.split('"')[0] for part in now_table.split('data-kind="')[1:]]
    assert kinds == ["commune", "commune", "service", "total"]
    assert now_table.index("Ambert") < now_table.index("Brioude") < now_table.index("own boxes") < now_table.index(
        "Total")
    total = now_table.split('data-kind="total"')[1]
    assert '<td data-col="lit_h">26.0</td>' in total and '<td data-col="energy_kwh">65.0</td>' in total
    assert '<td data-col="saved_pct">43.' in total  # 100 x (3 D - 26) / 3 D = 43.5 (the mean would be 41.3)
    change = html.split('class="communes change"')[1].split("</table>")[0]
    assert '<td data-col="energy_kwh">+45.0</td>' in change.split('data-kind="total"')[1]
    bars = dict(re.findall(r'<rect class="bar"[^>]* data-x="([^"]+)" data-y="([^"]+)"', html))
    assert 'data-series="saved_kwh"' in html and list(bars) == ["Ambert", "Brioude"]  # the service's: unknown
    assert float(bars["Ambert"]) == pytest.approx(LOAD_KW * (D - 10), abs=LOAD_KW * TOL_H)
    assert float(bars["Brioude"]) == pytest.approx(LOAD_KW * (2 * D - 16), abs=2 * LOAD_KW * TOL_H)
    assert "style=" not in html and "<script" not in html
    for words in ("Hours saved are", "share of the dusk-to-dawn hours", "declared load", "own tariff",
                  "half a reading period", "summed over the rows"):
        assert words in html
    assert 'href="/service/communes"' in home
    _, rows = _rows(ytd)
    assert (rows["Total"]["first"], rows["Total"]["last"], rows["Total"]["prev_last"]) == (
        "2026-01-01", "2026-06-15", "2025-06-15")


def test_web_service_hidden_from_a_communes_user(store_url: str) -> None:
    _seed(store_url)
    with web_app(store_url) as app:
        browser, _ = login(app, store_url, "ambert-admin", "admin")
        page, table = browser.get("/service/communes"), browser.get("/service/communes.csv?year=2025")
        home = browser.get("/").text
        anonymous = client(app).get("/service/communes.csv")
    assert (page.status_code, table.status_code) == (404, 404)
    assert "Brioude" not in page.text and "Brioude" not in table.text
    assert 'href="/service/communes"' not in home
    assert anonymous.status_code == 303


@pytest.mark.parametrize("query", ("year=20x5", "year=2027", "year=1999", "first=2025-01-01",
                                   "year=2025&first=2025-01-01&last=2025-02-01", "first=2025-02-01&last=2025-01-01",
                                   "first=2025-13-01&last=2025-12-31"))
def test_web_service_refuses_a_bad_span(tmp_path: Path, query: str) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    with web_app(url) as app:
        browser, _ = login(app, url, "service-viewer", "viewer")
        answer = browser.get(f"/service/communes.csv?{query}")
    assert answer.status_code == 400, answer.text


def test_web_service_csv_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(url)
    try:
        create_commune(store.db, new_commune("odd", "=HYPERLINK(\"http://x\")", now=0.0))
    finally:
        store.close()
    with web_app(url) as app:
        browser, _ = login(app, url, "service-viewer", "viewer")
        _, rows = _rows(browser.get("/service/communes.csv?first=2025-01-01&last=2025-01-31").text)
    assert list(rows) == ["'=HYPERLINK(\"http://x\")", "Total"]


def test_web_service_cli_prints_the_csv_and_refuses_bad_dates(store_url: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _seed(store_url)
    with web_app(store_url) as app:
        browser, _ = login(app, store_url, "service-viewer", "viewer")
        web_csv = browser.get("/service/communes.csv?year=2025").content.decode("utf-8")
    capsys.readouterr()
    assert main(["communes", "report", "--db", store_url, "--year", "2025", "--csv", "-"]) == 0
    assert capsys.readouterr().out == web_csv
    out_file = tmp_path / "report.csv"
    assert main(["communes", "report", "--db", store_url, "--first", "2025-01-01", "--last", "2025-12-31",
                 "--csv", str(out_file)]) == 0
    assert out_file.read_bytes().decode("utf-8") == web_csv
    assert "Ambert" in capsys.readouterr().out
    assert main(["communes", "report", "--db", store_url, "--year", "2025", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["title"] for r in records] == ["Ambert", "Brioude", "The service's own boxes", "Total"]
    assert records[3]["energy_kwh"] == 65 and records[2]["saved_kwh"] is None
    for argv in (["--first", "2025-02-30", "--last", "2025-03-01"], ["--year", "next"], ["--last", "2025-01-01"]):
        assert main(["communes", "report", "--db", store_url, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("hameau-fleet communes report: --") and err.count("\n") == 1, err
