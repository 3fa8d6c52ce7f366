"""The two capabilities the 营商环境 and 公车 rules brought, on their own: the `working_days`
view (W(a, e) and whether a date is a working day, from a delivered calendar) and the `window`
step (windows of days anchored at each row), including procurement's anchored windows."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from crosscheck.catalog import load_catalog
from crosscheck.rules import load_ruleset
from crosscheck.rules.compiler import compile_view
from crosscheck.rules.spec import Step
from crosscheck.rules.testing import connect, create_tables

REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog(REPO / "connectors")
RULESET = load_ruleset(REPO / "rules", CATALOG)
NATIONAL_DAY_2025 = [{"calendar_date": f"2025-10-0{d}", "is_workday": "否"} for d in range(1, 9)] + [
    {"calendar_date": "2025-09-28", "is_workday": "是"}, {"calendar_date": "2025-10-11", "is_workday": "是"}]


@pytest.fixture(scope="module")
def days():
    con = connect()
    create_tables(con, CATALOG, {"workdays": NATIONAL_DAY_2025 + [{"calendar_date": "2026-01-05", "is_workday": "否"}]})
    compiled = compile_view("working_days", RULESET.view_specs, CATALOG)
    rows = con.execute(compiled.sql()).fetchall()
    cols = [c for c in ("calendar_date", "weekday", "listed", "note", "is_workday", "workday_no")]
    con.close()
    return {r[0]: dict(zip(cols, r)) for r in rows}


def w(days, a: str, e: str) -> int:
    return max(days[date.fromisoformat(e)]["workday_no"] - days[date.fromisoformat(a)]["workday_no"], 0)


def test_working_days_between_two_dates_as_the_contract_counts_them(days):
    assert w(days, "2025-09-30", "2025-10-11") == 3      # 10-09, 10-10, and the 调休 Saturday 10-11
    assert w(days, "2025-09-30", "2025-10-13") == 4
    assert w(days, "2025-10-01", "2025-10-01") == 0 and w(days, "2025-10-13", "2025-10-09") == 0
    assert w(days, "2026-03-24", "2026-03-31") == 5 and w(days, "2026-03-23", "2026-03-31") == 6


def test_a_date_is_a_working_day_by_the_calendar_else_monday_to_friday(days):
    assert days[date(2025, 10, 11)]["is_workday"] and days[date(2025, 10, 11)]["listed"] == "是"   # 调休 Saturday
    assert not days[date(2025, 10, 6)]["is_workday"]                                                # a holiday Monday
    assert not days[date(2026, 1, 5)]["is_workday"] and days[date(2026, 1, 6)]["is_workday"]      # listed 否, unlisted Tuesday
    assert not days[date(2025, 6, 15)]["is_workday"] and days[date(2025, 6, 15)]["weekday"] == "Sun"
    assert min(days) == date(1990, 1, 1) and max(days) == date(2099, 12, 31)


WINDOW = {"name": "windows", "window": {"table": "enterprise_subsidies", "partition_by": ["credit_code"], "time": "paid_date",
                                        "within_days": "$window_days"},
          "select": ["a.credit_code", "a.window_start", "count(*) AS contracts", "sum(w.amount) AS total",
                     "list(w.payment_no ORDER BY w.paid_date, w.payment_no) AS members"],
          "having": ["count(*) >= 2", "sum(w.amount) >= $threshold"]}


def _windows(rows: list[dict], **params) -> list[tuple]:
    con = duckdb.connect()
    create_tables(con, CATALOG, {"enterprise_subsidies": rows}, only={"enterprise_subsidies"})
    sql = Step.model_validate(WINDOW).to_sql()
    out = sorted(con.execute(sql, params).fetchall())
    con.close()
    return out


def test_anchored_windows_find_the_span_that_holds_enough(tmp_path):
    """Procurement's split contracts: 100,000 on day 0, 200,000 on day 25 and 250,000 on day 40 fire:
    the window anchored on day 25 holds 450,000, the one on day 0 only 300,000."""
    rows = [{"payment_no": n, "credit_code": "C1", "paid_date": d, "amount": a}
            for n, d, a in (("P1", "2025-01-01", 100000), ("P2", "2025-01-26", 200000), ("P3", "2025-02-10", 250000))]
    got = _windows(rows, window_days=30, threshold=400000)
    assert got == [("C1", date(2025, 1, 26), 2, 450000, ["P2", "P3"])]
    assert _windows(rows, window_days=30, threshold=450001) == []
    # both days included: day 0 and day 30 are in one window
    edge = [{"payment_no": "Q1", "credit_code": "C2", "paid_date": "2025-01-01", "amount": 200000},
            {"payment_no": "Q2", "credit_code": "C2", "paid_date": "2025-01-31", "amount": 200000},
            {"payment_no": "Q3", "credit_code": "C3", "paid_date": "2025-01-01", "amount": 200000},
            {"payment_no": "Q4", "credit_code": "C3", "paid_date": "2025-02-01", "amount": 200000}]
    assert _windows(edge, window_days=30, threshold=400000) == [("C2", date(2025, 1, 1), 2, 400000, ["Q1", "Q2"])]


def test_a_window_step_is_written_once_and_checked():
    with pytest.raises(ValueError, match="needs 'select'"):
        Step.model_validate({"name": "x", "window": WINDOW["window"]})
    with pytest.raises(ValueError, match="groups by its windows itself"):
        Step.model_validate({**WINDOW, "group_by": ["a.credit_code"]})
    with pytest.raises(ValueError, match="a number of days, a \\$parameter or arithmetic"):
        Step.model_validate({**WINDOW, "window": {**WINDOW["window"], "within_days": "30; DROP TABLE x"}})
