"""Only complete runs change the history; every output of a run shows the same figures.

Through the real CLI on the sample city, each test with its own store:
- a what-if run (a changed parameter) neither adds findings to the history nor makes the
  next complete run resolve anything;
- after a suppression, and with a district filter, the console, findings.csv, summary.json,
  report.html and findings.xlsx give the same counts and amounts;
- `--no-record` with a rule that finds nothing writes its (empty) reports;
- the nightly run processes a delivery an ad-hoc run already read, honours --out, and skips
  it only once a complete run of the same files and rules finished, saying so at WARNING.
"""
from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import SAMPLE_AS_OF, read_csv_rows


@pytest.fixture
def check(cli, sample_city, tmp_path):
    def run(name: str, *extra: str) -> tuple[Path, str]:
        out = tmp_path / name
        proc = cli("run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), *extra)
        return out, proc.stdout

    return run


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_a_what_if_run_changes_nothing_in_the_history(check, cli):
    first, _ = check("full-1")
    what_if, _ = check("what-if", "--param", "pension_no_sign_of_life.min_age=70")
    extra = {r["finding_key"] for r in read_csv_rows(what_if / "findings.csv")} - {
        r["finding_key"] for r in read_csv_rows(first / "findings.csv")}
    assert extra, "the what-if run should find more elderly pensioners"
    s = _summary(what_if)
    assert s["scope"] == "subset" and s["history"]["totals"]["resolved"] == 0
    assert {r["status"] for r in read_csv_rows(what_if / "findings.csv") if r["finding_key"] in extra} == {"new"}
    # a finding only the what-if run had is not in the history
    shown = cli("review", "show", sorted(extra)[0], ok=False)
    assert shown.returncode != 0 and "unknown finding key" in shown.stderr
    second, _ = check("full-2")
    s2 = _summary(second)
    assert s2["scope"] == "complete"
    assert s2["history"]["totals"]["resolved"] == 0, s2["history"]["counts"]
    assert s2["history"]["totals"]["new"] == 0
    assert {r["status"] for r in read_csv_rows(second / "findings.csv")} == {"recurring"}
    listing = cli("runs", "list").stdout
    assert re.search(rf"{s['run_id']}.*subset", listing) and re.search(rf"{s2['run_id']}.*complete", listing)


def _console_totals(stdout: str) -> tuple[int, Decimal]:
    m = re.search(r"^\s+total\s+(\d+) findings\s+([\d,.]+) yuan", stdout, re.M)
    assert m, stdout
    return int(m.group(1)), Decimal(m.group(2).replace(",", ""))


def _outputs_agree(out: Path, stdout: str) -> int:
    rows = read_csv_rows(out / "findings.csv")
    csv_amount = sum((Decimal(r["amount_at_risk"]) for r in rows if r["amount_at_risk"]), Decimal("0"))
    n, amount = _console_totals(stdout)
    s = _summary(out)
    assert (n, amount) == (len(rows), csv_amount) == (s["totals"]["findings"], Decimal(str(s["totals"]["amount_at_risk"])))
    per_rule_csv = {}
    for r in rows:
        per_rule_csv[r["rule_id"]] = per_rule_csv.get(r["rule_id"], 0) + 1
    for rule in s["rules"]:
        if rule["findings"] is not None:
            assert rule["findings"] == per_rule_csv.get(rule["rule_id"], 0), rule["rule_id"]
            assert re.search(rf"^\s+{rule['rule_id']}\s+{rule['findings']} findings", stdout, re.M), rule["rule_id"]
    html = (out / "report.html").read_text(encoding="utf-8")
    kpi = re.search(r'疑点总数.*?kpi-value">([\d,]+)<', html, re.S)
    assert kpi and int(kpi.group(1).replace(",", "")) == len(rows)
    h = s.get("history") or {}
    if h:
        listed_new = sum(r["status"] == "new" for r in rows)
        listed_recurring = sum(r["status"] == "recurring" for r in rows)
        assert (h["totals"]["new"], h["totals"]["recurring"]) == (listed_new, listed_recurring)
        assert re.search(r'id="kpi-change">.*?持续</span>.*?<b>' + f"{listed_recurring:,}" + "</b>", html, re.S)
    wb = load_workbook(out / "findings.xlsx", read_only=True)
    summary_sheet = {row[0]: row[1] for row in wb["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary_sheet["疑点总数"] == len(rows)
    return len(rows)


def test_counts_agree_everywhere_after_a_suppression_and_with_one_district(check, cli):
    first, stdout = check("r1")
    _outputs_agree(first, stdout)
    rows = read_csv_rows(first / "findings.csv")
    target = max((r for r in rows if r["amount_at_risk"]), key=lambda r: Decimal(r["amount_at_risk"]))
    cli("review", "mark", target["finding_key"], "--as", "false_positive", "--note", "已核实", "--reviewer", "李娜")
    second, stdout = check("r2")
    n = _outputs_agree(second, stdout)
    assert n == len(rows) - 1
    assert _summary(second)["totals"]["suppressed"] == 1
    districts = sorted({r["district"] for r in rows if r["district"]})
    one = districts[0]
    third, stdout = check("r3", "--districts", one)
    n3 = _outputs_agree(third, stdout)
    s3 = _summary(third)
    assert n3 == sum(r["district"] == one for r in rows) - (target["district"] == one)
    assert s3["totals"]["outside_districts"] == sum(r["district"] != one for r in rows)
    assert "outside the districts asked for" in stdout


def test_no_record_run_of_a_rule_that_finds_nothing(check):
    out, stdout = check("empty", "--no-record", "--rules", "pension_no_sign_of_life",
                        "--param", "pension_no_sign_of_life.min_age=150")
    assert read_csv_rows(out / "findings.csv") == []
    assert _summary(out)["rules"][0]["findings"] == 0
    assert (out / "report.html").is_file() and (out / "findings.xlsx").is_file()
    assert re.search(r"pension_no_sign_of_life\s+0 findings", stdout)


def test_nightly_processes_a_delivery_after_an_adhoc_run_and_skips_it_after_a_complete_one(
        sample_city, tmp_path, caplog):
    from crosscheck.config import ProjectConfig
    from crosscheck.pipeline.nightly import NightlyRequest, run_nightly
    from crosscheck.pipeline.run import RunRequest, execute_run

    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    (deliveries / sample_city.name).symlink_to(sample_city, target_is_directory=True)
    store = tmp_path / "store.duckdb"
    import dataclasses

    config = dataclasses.replace(ProjectConfig.load(), store=store)
    adhoc = execute_run(RunRequest(extracts=deliveries / sample_city.name, as_of=SAMPLE_AS_OF, out=tmp_path / "adhoc",
                                   rules=["pension_paid_after_death", "transit_card_used_after_death"],
                                   districts=["阳新县"]), config)
    assert adhoc.scope == "subset"
    out = tmp_path / "nightly"
    first = run_nightly(NightlyRequest(deliveries=deliveries, out=out), config)
    assert first.result is not None and first.report == out / "report.html" and first.report.is_file()
    assert first.result.scope == "complete"
    with caplog.at_level(logging.WARNING, logger="crosscheck.pipeline.nightly"):
        second = run_nightly(NightlyRequest(deliveries=deliveries, out=tmp_path / "elsewhere"), config)
    assert second.result is None and second.report == out / "report.html"
    warning = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "crosscheck.pipeline.nightly"]
    assert warning and first.result.run_id in warning[0].getMessage()
    assert "nothing was written to" in warning[0].getMessage() and not (tmp_path / "elsewhere").exists()
    # a changed rule file makes it a different run to do
    forced = run_nightly(NightlyRequest(deliveries=deliveries, out=tmp_path / "forced", force=True), config)
    assert forced.result is not None
