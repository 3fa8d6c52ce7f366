"""From `crosscheck sample` to findings.csv: the findings equal the ground truth."""
from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows


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
    truth = {(r["rule_id"], r["person_id"]) for r in _truth(sample_city) if r["rule_id"] in ran}
    found = {(r["rule_id"], r["person_id"]) for r in read_csv_rows(out / "findings.csv")}
    assert "pension_paid_after_death" in ran
    assert truth, "ground truth has no positives for the rules that ran"
    assert found - truth == set(), f"false positives: {sorted(found - truth)[:10]}"
    assert truth - found == set(), f"missed: {sorted(truth - found)[:10]}"


def test_amounts_and_severity_equal_ground_truth(sample_run, sample_city):
    out, _ = sample_run
    found = {(r["rule_id"], r["person_id"]): r for r in read_csv_rows(out / "findings.csv")}
    checked = 0
    for row in _truth(sample_city):
        got = found.get((row["rule_id"], row["person_id"]))
        if got is None:
            continue
        if row["amount_at_risk"]:
            assert Decimal(got["amount_at_risk"]) == Decimal(row["amount_at_risk"]), row
            checked += 1
        if row.get("severity"):
            assert got["severity"] == row["severity"], row
    assert checked > 0


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
