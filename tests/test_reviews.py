"""Reviewer dispositions: suppression, expiry, material change, CSV/XLSX import, precision, outcomes."""
from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from crosscheck.store import Store, StoreError, finding_key, material_change
from crosscheck.cli.review import review_app
from crosscheck.store.reviews import ReviewError, header_field, normalise_disposition
from devtools.run_builders import finding, make_run

RULE = "pension_paid_after_death"
P1 = "420202195001011234"
P2 = "42020219510202567X"
P3 = "420202195203033456"
D1 = date(2026, 10, 1)
D2 = date(2026, 11, 1)
K1 = finding_key(RULE, P1, "")
K2 = finding_key(RULE, P2, "")
K3 = finding_key(RULE, P3, "")


def base_rows(months1: int = 3, amount1: float = 300.0):
    return [
        finding(RULE, P1, amount=amount1, evidence={"months": months1, "first": "2026-05", "source": "registry"}),
        finding(RULE, P2, amount=200, evidence={"months": 2, "first": "2026-06", "source": "registry"}),
        finding(RULE, P3, amount=100, evidence={"months": 1, "first": "2026-07", "source": "hospital"}),
    ]


def by_key(recorded):
    return {r["finding_key"]: r for r in recorded.findings.to_pylist()}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "h.duckdb"
    with Store.open(path) as st:
        st.record_run(make_run("r1", D1, base_rows()))
    return path


# -- suppression ----------------------------------------------------------------

def test_false_positive_is_suppressed_next_run_and_counted(store):
    with Store.open(store) as st:
        st.mark(K1, "false_positive", note="死亡登记错误，已核实本人健在", reviewer="李娜", on=date(2026, 10, 5))
        r2 = st.record_run(make_run("r2", D2, base_rows()))
    rows = by_key(r2)
    assert rows[K1]["suppressed"] is True and rows[K1]["review"] == "false_positive"
    assert rows[K1]["suppressed_until"] == date(2026, 10, 5) + timedelta(days=180)
    assert rows[K1]["status"] == "recurring"            # still returned, never dropped
    assert rows[K2]["suppressed"] is False and rows[K2]["review"] is None
    assert r2.findings.num_rows == 3
    assert r2.counts[RULE]["suppressed"] == 1 and r2.counts[RULE]["findings"] == 3
    assert r2.suppressed == 1


def test_explained_is_suppressed_confirmed_is_not(store):
    with Store.open(store) as st:
        st.mark(K1, "explained", note="补发历史欠款", reviewer="王强", on=D1)
        st.mark(K2, "confirmed", note="", reviewer="王强", on=D1)
        r2 = st.record_run(make_run("r2", D2, base_rows()))
    rows = by_key(r2)
    assert rows[K1]["suppressed"] is True and rows[K1]["review"] == "explained"
    assert rows[K2]["suppressed"] is False and rows[K2]["review"] == "confirmed"


def test_amount_growth_lifts_suppression(store):
    with Store.open(store) as st:
        st.mark(K1, "false_positive", note="n", reviewer="李娜", on=D1)
        r2 = st.record_run(make_run("r2", D2, base_rows(amount1=500.0)))
    row = by_key(r2)[K1]
    assert row["suppressed"] is False and row["review"] == "false_positive"
    assert "amount_at_risk 300.00 -> 500.00" in row["review_change"]
    assert r2.counts[RULE]["suppressed"] == 0


def test_numeric_evidence_growth_lifts_suppression(store):
    with Store.open(store) as st:
        st.mark(K1, "false_positive", note="n", reviewer="李娜", on=D1)
        r2 = st.record_run(make_run("r2", D2, base_rows(months1=5)))
    row = by_key(r2)[K1]
    assert row["suppressed"] is False and "months 3 -> 5" in row["review_change"]


def test_expiry_lifts_suppression_and_is_per_rule(store):
    with Store.open(store) as st:
        st.mark(K1, "false_positive", note="n", reviewer="李娜", on=D1)
        late = D1 + timedelta(days=180)
        r2 = st.record_run(make_run("r2", late, base_rows()))
        r3 = st.record_run(make_run("r3", D1 + timedelta(days=179), base_rows()))
        r4 = st.record_run(make_run("r4", D1 + timedelta(days=31), base_rows()), suppression_days={RULE: 30})
        r5 = st.record_run(make_run("r5", D1 + timedelta(days=29), base_rows()), suppression_days={RULE: 30, "other": 1})
    assert by_key(r2)[K1]["suppressed"] is False and "expired" in by_key(r2)[K1]["review_change"]
    assert by_key(r3)[K1]["suppressed"] is True
    assert by_key(r4)[K1]["suppressed"] is False
    assert by_key(r5)[K1]["suppressed"] is True


def test_newest_review_wins(store):
    with Store.open(store) as st:
        st.mark(K1, "false_positive", note="n", reviewer="a", on=D1)
        st.mark(K1, "confirmed", note="复查后确认", reviewer="b", on=D1 + timedelta(days=1))
        r2 = st.record_run(make_run("r2", D2, base_rows()))
    assert by_key(r2)[K1]["suppressed"] is False and by_key(r2)[K1]["review"] == "confirmed"


def test_mark_rejects_unknown_key_value_and_missing_reviewer(store):
    with Store.open(store) as st:
        with pytest.raises(StoreError, match="unknown finding key"):
            st.mark("0123456789abcdef", "confirmed", reviewer="a")
        with pytest.raises(StoreError, match="unknown disposition"):
            st.mark(K1, "maybe", reviewer="a")
        with pytest.raises(StoreError, match="reviewer"):
            st.mark(K1, "confirmed", reviewer=" ")
        assert st.mark(K1.upper(), "误报", reviewer="a") == 1   # Chinese value, key case-insensitive


# -- material change definition -------------------------------------------------

@pytest.mark.parametrize(
    "then, now, changed",
    [
        ({"months": 3}, {"months": 3}, False),
        ({"months": 3}, {"months": 5}, True),
        ({"months": 5}, {"months": 3}, False),                     # shrinking is not material
        ({"months": 3}, {}, False),                                # a numeric field gone
        ({}, {"months": 1}, True),                                 # a numeric field new
        ({"a": {"n": 1}}, {"a": {"n": 2}}, True),                  # nested
        ({"hospitals": ["A", "B"]}, {"hospitals": ["B", "A"]}, False),  # order in lists ignored
        ({"hospitals": ["A"]}, {"hospitals": ["A", "C"]}, True),
        ({"last": "2026-05"}, {"last": "2026-06"}, True),
        ({"source": "registry"}, {"source": "hospital"}, True),
        ({"flag": True}, {"flag": True}, False),
        ({"x": None}, {"x": "v"}, True),
    ],
)
def test_material_change_evidence(then, now, changed):
    import json
    assert (material_change(100, json.dumps(then), 100, json.dumps(now)) is not None) is changed


def test_material_change_amount_and_non_json():
    assert material_change(Decimal("100.00"), "{}", Decimal("100.01"), "{}")
    assert material_change(Decimal("100.00"), "{}", Decimal("99.00"), "{}") is None
    assert material_change(None, "{}", Decimal("1"), "{}")
    assert material_change(Decimal("1"), "{}", None, "{}") is None
    assert material_change(None, "not json", None, "not json") is None
    assert material_change(None, "not json", None, "other") is not None


# -- disposition values and headers ---------------------------------------------

def test_disposition_and_header_aliases():
    assert normalise_disposition("确认") == "confirmed"
    assert normalise_disposition(" False positive ") == "false_positive"
    assert normalise_disposition("false-positive") == "false_positive"
    assert normalise_disposition("误报 / false_positive") == "false_positive"
    assert normalise_disposition("已解释") == "explained"
    assert normalise_disposition("  ") is None
    with pytest.raises(ReviewError):
        normalise_disposition("误报 / confirmed")
    assert header_field("处置 / disposition") == "disposition"
    assert header_field("结论") == "disposition"
    assert header_field("备注") == "note"
    assert header_field("复核人") == "reviewer"
    assert header_field("\ufefffinding_key") == "finding_key"
    assert header_field("规则编号") == "rule_id"
    assert header_field("evidence") is None


# -- import ---------------------------------------------------------------------

def write_csv(path, header, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_import_csv_chinese_headers_values_and_bad_rows(store, tmp_path):
    sheet = tmp_path / "findings.csv"
    header = ["rule_id", "person_id", "name", "amount_at_risk", "evidence", "finding_key", "status", "处置", "备注", "复核人"]
    write_csv(sheet, header, [
        [RULE, "420202********1234", "张*", "300.00", "3个月", K1, "new", "误报", "本人健在，\n死亡登记有误", ""],   # multi-line note
        [RULE, "420202********567X", "张*", "200.00", "2个月", K2, "new", "确认", "", "王强"],
        [RULE, "420202********3456", "张*", "100.00", "1个月", K3, "new", "", "", ""],           # blank: no decision
        [RULE, "x", "x", "1", "x", "ffffffffffffffff", "new", "确认", "", ""],                    # unknown key
        [RULE, "x", "x", "1", "x", K3, "new", "待定", "", ""],                                  # unknown value
    ])
    with Store.open(store) as st:
        res = st.import_reviews(sheet, reviewer="李娜", on=date(2026, 10, 9))
        assert res.applied == 2 and res.blank == 1
        assert res.errors == [
            "findings.csv:6: unknown finding key 'ffffffffffffffff'",
            "findings.csv:7: unknown disposition '待定' (expected confirmed/属实, false_positive/误报 or explained/已解释)",
        ]
        h1, h2 = st.finding(K1)["reviews"], st.finding(K2)["reviews"]
        assert (h1[0]["disposition"], h1[0]["reviewer"], h1[0]["note"], h1[0]["reviewed_on"]) == (
            "false_positive", "李娜", "本人健在，\n死亡登记有误", date(2026, 10, 9))
        assert h1[0]["source"] == "findings.csv:2"
        assert (h2[0]["disposition"], h2[0]["reviewer"]) == ("confirmed", "王强")
        assert st.finding(K3)["reviews"] == []
        again = st.import_reviews(sheet, reviewer="李娜")           # re-import is idempotent
        assert again.applied == 0 and again.unchanged == 2
        r2 = st.record_run(make_run("r2", D2, base_rows()))
    assert by_key(r2)[K1]["suppressed"] is True


def test_import_gbk_csv_saved_by_excel_and_english_headers(store, tmp_path):
    sheet = tmp_path / "edited.csv"
    write_csv(sheet, ["finding_key", "Disposition", "Note", "Reviewer", "Review date"], [
        [K1, "explained", "补发", "赵", "2026-10-03"],
        [K2, "False positive", "", "", "2026/10/04"],
    ], encoding="gb18030")
    with Store.open(store) as st:
        res = st.import_reviews(sheet, reviewer="default")
        assert res.applied == 2 and res.errors == []
        r1 = st.finding(K1)["reviews"][0]
        r2 = st.finding(K2)["reviews"][0]
    assert (r1["disposition"], r1["reviewer"], r1["reviewed_on"]) == ("explained", "赵", date(2026, 10, 3))
    assert (r2["disposition"], r2["reviewer"], r2["reviewed_on"]) == ("false_positive", "default", date(2026, 10, 4))


def test_import_file_without_key_column_reports_it(store, tmp_path):
    sheet = tmp_path / "nokey.csv"
    write_csv(sheet, ["rule_id", "处置"], [[RULE, "确认"]])
    with Store.open(store) as st:
        res = st.import_reviews(sheet, reviewer="a")
    assert res.applied == 0 and res.errors and res.errors[0].startswith("nokey.csv:1: no finding_key column")


def test_import_xlsx_one_sheet_per_rule(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "h.duckdb"
    with Store.open(path) as st:
        st.record_run(make_run("r1", D1, base_rows() + [finding("transit_card_used_after_death", P1)]))
    k_transit = finding_key("transit_card_used_after_death", P1, "")
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append(["规则", "线索数"])
    summary.append([RULE, 3])
    ws = wb.create_sheet(RULE)
    ws.append(["线索编号", "姓名", "处置 / disposition", "备注 / note", "复核人 / reviewer", "复核日期"])
    ws.append([K1, "张*", "已解释", "补发", "", date(2026, 10, 2)])
    ws.append([K2, "张*", "bogus", "", "", None])
    ws.append([K3, "张*", None, None, None, None])
    ws2 = wb.create_sheet("transit")
    ws2.append(["finding_key", "结论"])
    ws2.append([k_transit, "确认"])
    wb.save(tmp_path / "findings.xlsx")
    with Store.open(path) as st:
        res = st.import_reviews(tmp_path / "findings.xlsx", reviewer="周")
        assert res.applied == 2 and res.blank == 1
        assert len(res.errors) == 1 and res.errors[0].startswith(f"findings.xlsx[{RULE}]:3: unknown disposition 'bogus'")
        r = st.finding(K1)["reviews"][0]
        assert (r["disposition"], r["reviewed_on"], r["reviewer"]) == ("explained", date(2026, 10, 2), "周")
        assert st.finding(k_transit)["reviews"][0]["disposition"] == "confirmed"


# -- precision and outcomes -----------------------------------------------------

def test_precision_per_rule(tmp_path):
    path = tmp_path / "h.duckdb"
    people = [f"4202021950{i:08d}" for i in range(6)]
    with Store.open(path) as st:
        st.record_run(make_run("r1", D1, [finding("a", p) for p in people] + [finding("b", people[0])]))
        keys = [finding_key("a", p, "") for p in people]
        for k in keys[:3]:
            st.mark(k, "confirmed", reviewer="r")
        st.mark(keys[3], "false_positive", reviewer="r")
        st.mark(keys[4], "explained", reviewer="r")
        st.mark(keys[4], "confirmed", reviewer="r")        # the newest review counts
        prec = st.precision()
        r2 = st.record_run(make_run("r2", D2, [finding("a", p) for p in people]))
    assert prec["a"] == {"confirmed": 4, "false_positive": 1, "explained": 0, "reviewed": 5,
                         "precision": pytest.approx(0.8), "recovered": Decimal("0")}
    assert "b" not in prec
    assert r2.precision["a"]["precision"] == pytest.approx(0.8)


def test_outcomes_only_for_confirmed(store):
    with Store.open(store) as st:
        with pytest.raises(StoreError, match="not been reviewed"):
            st.record_outcome(K1, "10")
        st.mark(K2, "false_positive", reviewer="r")
        with pytest.raises(StoreError, match="not confirmed"):
            st.record_outcome(K2, "10")
        st.mark(K1, "confirmed", reviewer="r")
        with pytest.raises(StoreError, match="expected a number"):
            st.record_outcome(K1, "abc")
        st.record_outcome(K1, "1234.50", on=date(2026, 12, 1), note="追回凭证 001")
        st.record_outcome(K1, Decimal("100"), on=date(2026, 12, 5))
        outcomes = st.finding(K1)["outcomes"]
        assert [o["recovered"] for o in outcomes] == [Decimal("1234.50"), Decimal("100.00")]
        assert st.precision()[RULE]["recovered"] == Decimal("1334.50")


# -- CLI ------------------------------------------------------------------------

def test_review_cli_mark_import_outcome_precision(store, tmp_path):
    runner = CliRunner()
    s = ["--store", str(store)]
    out = runner.invoke(review_app, ["mark", K1, "--as", "false_positive", "--note", "健在", "--reviewer", "李娜", "--date", "2026-10-05", *s])
    assert out.exit_code == 0, out.output
    assert "false_positive by 李娜 on 2026-10-05" in out.output
    out = runner.invoke(review_app, ["mark", K2, "--as", "confirmed", "--reviewer", "李娜", *s])
    assert out.exit_code == 0, out.output
    out = runner.invoke(review_app, ["outcome", K2, "--recovered", "1234.50", *s])
    assert out.exit_code == 0 and "1,234.50" in out.output, out.output
    out = runner.invoke(review_app, ["mark", "ffffffffffffffff", "--as", "confirmed", "--reviewer", "x", *s])
    assert out.exit_code == 2 and "unknown finding key" in out.output
    out = runner.invoke(review_app, ["mark", K1, "--as", "confirmed", "--reviewer", "x", "--date", "2026-13-01", *s])
    assert out.exit_code == 2 and "expected a date" in out.output

    sheet = tmp_path / "f.csv"
    write_csv(sheet, ["finding_key", "处置"], [[K3, "已解释"], ["nope", "确认"]])
    out = runner.invoke(review_app, ["import", str(sheet), "--reviewer", "周", *s])
    assert out.exit_code == 1
    assert "1 reviews recorded" in out.output and "f.csv:3: 'nope' is not a finding key" in out.output

    out = runner.invoke(review_app, ["precision", *s])
    assert out.exit_code == 0 and RULE in out.output and "33.3%" in out.output, out.output
    out = runner.invoke(review_app, ["show", K1, *s])
    assert out.exit_code == 0 and P1 in out.output and "false_positive" in out.output, out.output
