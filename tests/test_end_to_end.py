"""From `crosscheck sample` to findings.csv: the findings equal the ground truth, for every rule the
sample city plants cases for (ALL_RULES). A rule being written (one the city plants nothing for)
runs too, and must run, but has no ground truth: adding one keeps these tests green."""
from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows

from devtools.sample.domains import DOMAIN_RULES
from devtools.sample.planted import CORE_RULES

ALL_RULES = set(CORE_RULES) | set(DOMAIN_RULES)


@pytest.fixture(scope="module")
def sample_run(sample_city, crosscheck_cmd, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = subprocess.run(
        [*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), "--no-mask"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc


def _truth(sample_city):
    return read_csv_rows(sample_city / "_truth" / "findings.csv")


def test_run_writes_every_output(sample_run):
    out, proc = sample_run
    for name in ("findings.csv", "report.html", "summary.json", "quarantine.csv"):
        assert (out / name).is_file(), name
    assert str(out / "report.html") in proc.stdout


def test_findings_equal_ground_truth(sample_run, sample_city):
    out, _ = sample_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ran = {r["rule_id"] for r in summary["rules"] if r["status"] == "ok"}
    assert ran >= ALL_RULES and len(ran) == len(summary["rules"]), {
        r["rule_id"]: r.get("reason") for r in summary["rules"] if r["status"] != "ok"}
    truth_rows = _truth(sample_city)
    truth = {(r["rule_id"], r["subject"], r["person_id"]) for r in truth_rows}
    found = {(r["rule_id"], r["subject"], r["person_id"]) for r in read_csv_rows(out / "findings.csv")
             if r["rule_id"] in ALL_RULES}
    assert {t[0] for t in truth} == ALL_RULES, "ground truth lacks positives for some rules"
    assert found - truth == set(), f"false positives: {sorted(found - truth)[:10]}"
    assert truth - found == set(), f"missed: {sorted(truth - found)[:10]}"


def test_amounts_and_severity_equal_ground_truth(sample_run, sample_city):
    out, _ = sample_run
    found = {(r["rule_id"], r["subject"]): r for r in read_csv_rows(out / "findings.csv")}
    checked = 0
    for row in _truth(sample_city):
        got = found.get((row["rule_id"], row["subject"]))
        if got is None:
            continue
        if row["amount_at_risk"]:
            assert Decimal(got["amount_at_risk"]) == Decimal(row["amount_at_risk"]), row
            checked += 1
        if row.get("severity"):
            assert got["severity"] == row["severity"], row
    assert checked > 0
    assert {r for r, _ in found if found[(r, _)]["amount_at_risk"]} >= {"fund_retained", "fund_not_delivered", "dibao_member_owns_car"}


def test_fund_findings_carry_the_three_amounts(sample_run):
    out, _ = sample_run
    funds = [r for r in read_csv_rows(out / "findings.csv") if r["rule_id"] in {"fund_retained", "fund_not_delivered"}]
    assert funds
    for r in funds:
        assert r["person_id"] == "" and "|" in r["subject"]
        assert "下达" in r["evidence"] and "支出" in r["evidence"] and "到户" in r["evidence"]


@pytest.fixture(scope="module")
def core_only_run(crosscheck_cmd, tmp_path_factory):
    from devtools.sample import generate_city

    city = tmp_path_factory.mktemp("core_city") / "2026-11-01"
    generate_city(city, people=1500, seed=3, as_of=SAMPLE_AS_OF, domains=False)
    out = tmp_path_factory.mktemp("core_run")
    proc = subprocess.run(
        [*crosscheck_cmd, "run", "--extracts", str(city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), "--no-mask"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return city, out


def test_core_only_delivery_runs_core_rules_and_skips_domain_rules(core_only_run):
    city, out = core_only_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    status = {r["rule_id"]: r for r in summary["rules"]}
    inpatient_only = {"medical_split_admission", "medical_overlapping_stays"}  # need only core tables
    assert {r for r, o in status.items() if o["status"] == "ok" and r in ALL_RULES} == set(CORE_RULES) | inpatient_only
    for rule in set(DOMAIN_RULES) - inpatient_only:
        assert status[rule]["status"] == "skipped" and status[rule]["reason"].startswith("needs "), status[rule]
    assert all(status[r]["findings"] == 0 for r in inpatient_only)
    truth = {(r["rule_id"], r["person_id"]) for r in _truth(city)}
    found = {(r["rule_id"], r["person_id"]) for r in read_csv_rows(out / "findings.csv") if r["rule_id"] in ALL_RULES}
    assert truth and found == truth


def test_summary_hashes_every_input_file(sample_run, sample_city):
    out, _ = sample_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    files = {f["file"]: f for load in summary["loads"] for f in load["files"]}
    delivered = {
        p.relative_to(sample_city).as_posix()
        for p in sample_city.rglob("*")
        if p.is_file() and not p.relative_to(sample_city).parts[0].startswith("_")
    }
    assert set(files) == delivered
    assert all(len(f["sha256"]) == 64 for f in files.values())
    for f in files.values():
        assert f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"] + f["duplicates_dropped"], f
