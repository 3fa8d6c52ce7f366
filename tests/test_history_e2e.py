"""The findings history through the real CLI: recurring findings, a false positive that stays
away, a reviewer's edited findings.csv / findings.xlsx imported back, precision in the next
report, and `crosscheck runs list / show` with file hashes and rule versions.

Each test has its own store (`--store <tmp>/store.duckdb`).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import SAMPLE_AS_OF, read_csv_rows

DISPOSITION, NOTE, REVIEWER = "处置 / disposition", "备注 / note", "复核人 / reviewer"
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


@pytest.fixture
def check(cli, sample_city, tmp_path):
    """`crosscheck run` of the sample city into <tmp>/<name>; returns the output folder."""

    def run(name: str, *extra: str) -> Path:
        out = tmp_path / name
        cli("run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), *extra)
        return out

    return run


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _html(out: Path) -> str:
    return (out / "report.html").read_text(encoding="utf-8")


def test_second_run_shows_every_finding_recurring_and_runs_are_listed(check, cli):
    first, second = check("r1"), check("r2")
    rows1, rows2 = read_csv_rows(first / "findings.csv"), read_csv_rows(second / "findings.csv")
    assert rows1 and {r["status"] for r in rows1} == {"new"}
    assert {r["status"] for r in rows2} == {"recurring"}
    assert {r["finding_key"] for r in rows2} == {r["finding_key"] for r in rows1}
    assert {r["first_seen"] for r in rows2} == {SAMPLE_AS_OF.isoformat()}
    assert all(r[DISPOSITION] == r[NOTE] == r[REVIEWER] == "" for r in rows2)
    h = _summary(second)["history"]
    assert h["totals"]["recurring"] == len(rows2) and h["totals"]["new"] == 0 and h["totals"]["resolved"] == 0
    html = _html(second)
    assert "与上次运行相比" in html and re.search(r'id="kpi-change">.*?持续</span>.*?<b>' + f"{len(rows2):,}" + "</b>", html, re.S)
    # masked by default: no full identity number in any file the run wrote
    for name in ("findings.csv", "report.html", "summary.json", "quarantine.csv"):
        text = (second / name).read_text(encoding="utf-8-sig")
        assert not FULL_ID.search(text), name

    # `crosscheck runs list / show`: both runs, with input file hashes and rule versions
    s1, s2 = _summary(first), _summary(second)
    listing = cli("runs", "list").stdout
    assert s1["run_id"] in listing and s2["run_id"] in listing
    assert listing.index(s2["run_id"]) < listing.index(s1["run_id"])  # newest first
    shown = cli("runs", "show", s2["run_id"], "--no-sql").stdout
    assert f"run {s2['run_id']}" in shown and SAMPLE_AS_OF.isoformat() in shown
    assert f"recurring {len(rows2)}" in shown
    files = [f for load in s2["loads"] for f in load["files"]]
    assert files
    for f in files:
        assert f["sha256"] in shown and f["file"] in shown
    versions = [r for r in s2["rules"] if r.get("version")]
    assert versions
    for r in versions:
        assert r["version"] in shown, r["rule_id"]


def test_false_positive_disappears_and_is_counted_as_suppressed(check, cli):
    first = check("r1")
    row = read_csv_rows(first / "findings.csv")[0]
    key, rule = row["finding_key"], row["rule_id"]
    cli("review", "mark", key, "--as", "false_positive", "--note", "户籍死亡登记有误，本人健在", "--reviewer", "李娜")

    second = check("r2")
    rows = read_csv_rows(second / "findings.csv")
    assert key not in {r["finding_key"] for r in rows}
    assert len(rows) == len(read_csv_rows(first / "findings.csv")) - 1
    s = _summary(second)
    assert s["history"]["counts"][rule]["suppressed"] == 1
    assert s["history"]["totals"]["suppressed"] == 1 and s["totals"]["suppressed"] == 1
    html = _html(second)
    assert re.search(r'id="kpi-suppressed">1<', html)
    assert re.search(r'id="suppressed-note">.*?<b>1</b>', html, re.S)
    change = re.search(rf'<tr data-rule-id="{rule}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="num c-suppressed">1<', change)
    assert key not in html


def test_imported_findings_csv_gives_precision_in_next_report(check, cli, tmp_path):
    first = check("r1")
    with open(first / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
        fh.seek(0)
        rows = list(csv.DictReader(fh))
    rule = next(r["rule_id"] for r in rows if sum(x["rule_id"] == r["rule_id"] for x in rows) >= 2)
    wrong, right = [r for r in rows if r["rule_id"] == rule][:2]
    wrong[DISPOSITION], wrong[NOTE] = "误报", "同名不同人"
    right[DISPOSITION], right[REVIEWER] = "确认", "王强"
    edited = tmp_path / "findings_reviewed.csv"
    with open(edited, "w", encoding="utf-8-sig", newline="") as fh:  # as Excel saves it: BOM, CRLF
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    proc = cli("review", "import", str(edited), "--reviewer", "张审")
    assert "2 reviews recorded" in proc.stdout and "0 problems" in proc.stdout

    second = check("r2")
    keys = {r["finding_key"] for r in read_csv_rows(second / "findings.csv")}
    assert wrong["finding_key"] not in keys and right["finding_key"] in keys
    p = _summary(second)["history"]["precision"][rule]
    assert (p["reviewed"], p["confirmed"], p["false_positive"], p["precision"]) == (2, 1, 1, 0.5)
    html = _html(second)
    prec = re.search(r'<table class="grid compact" id="precision-table">(.*?)</table>', html, re.S).group(1)
    assert re.search(rf'<tr data-rule-id="{rule}"[^>]*>.*?50\.0%', prec, re.S)
    out = cli("review", "precision").stdout
    assert rule in out and "50.0%" in out


def test_imported_findings_xlsx_round_trip(check, cli, tmp_path):
    first = check("r1")
    wb = load_workbook(first / "findings.xlsx")
    ws = wb["优先核查"]   # every finding in priority order; each is also on its rule's sheet, left blank
    header = [c.value for c in ws[1]]
    key = ws.cell(row=2, column=header.index("发现编号 / finding_key") + 1).value
    ws.cell(row=2, column=header.index(DISPOSITION) + 1, value="已解释")
    ws.cell(row=2, column=header.index(NOTE) + 1, value="补发历史欠款")
    edited = tmp_path / "findings_reviewed.xlsx"
    wb.save(edited)
    proc = cli("review", "import", str(edited), "--reviewer", "张审")
    assert "1 reviews recorded" in proc.stdout and "0 problems" in proc.stdout, proc.stdout + proc.stderr
    shown = cli("review", "show", key).stdout
    assert "explained" in shown and "补发历史欠款" in shown and "张审" in shown


def test_one_finding_given_two_decisions_in_one_workbook_is_refused(check, cli, tmp_path):
    """findings.xlsx lists a finding on the priority sheet and on its rule's sheet: the same
    decision on both is applied once; two different ones are an error naming both, none applied."""
    first = check("r1")
    wb = load_workbook(first / "findings.xlsx")
    top = wb["优先核查"]
    header = [c.value for c in top[1]]
    key = top.cell(row=2, column=header.index("发现编号 / finding_key") + 1).value
    top.cell(row=2, column=header.index(DISPOSITION) + 1, value="确认")
    sheet = next(ws for ws in wb.worksheets[2:] for r in range(2, ws.max_row + 1)
                 if ws.cell(row=r, column=[c.value for c in ws[1]].index("发现编号 / finding_key") + 1).value == key)
    rh = [c.value for c in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=rh.index("发现编号 / finding_key") + 1).value == key)
    sheet.cell(row=row, column=rh.index(DISPOSITION) + 1, value="确认")
    same = tmp_path / "same.xlsx"
    wb.save(same)
    proc = cli("review", "import", str(same), "--reviewer", "张审")
    assert "1 reviews recorded, 1 unchanged" in proc.stdout, proc.stdout
    sheet.cell(row=row, column=rh.index(DISPOSITION) + 1, value="误报")
    top.cell(row=2, column=header.index(DISPOSITION) + 1, value="已解释")
    differ = tmp_path / "differ.xlsx"
    wb.save(differ)
    proc = cli("review", "import", str(differ), "--reviewer", "张审", ok=False)
    assert proc.returncode == 1 and "0 reviews recorded" in proc.stdout
    assert f"finding {key} has different dispositions" in proc.stderr and "优先核查" in proc.stderr and sheet.title in proc.stderr
    assert "confirmed" in cli("review", "show", key).stdout.split("reviews:")[1]
