"""A whole run over a messy delivery: broken files fail alone, with file and line;
everything else loads, every rule runs, no row is lost; files that vanish between
listing and reading are failed, not fatal. Report, quarantine and store files are
owner-only; nothing printed carries a full identity number.
"""
from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from crosscheck.pipeline.run import RunRequest, RunSession

from hardening_figures import record, rows_lost

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "bad_inputs"
AS_OF = date(2026, 11, 1)
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")

#: broken file dropped into the delivery -> (corpus file it copies, text the file's error must contain)
BROKEN = {
    "social_security/pensioners_zz_switch.csv": ("encoding_switch/social_security/pensioners.csv", "line 4: bytes at offset"),
    "social_security/pensioners_zz_nocolumn.csv": ("missing_required_column/social_security/pensioners.csv", "line 1: missing required column"),
    "social_security/pension_payments_zz_empty.csv": ("zero_byte/social_security/pensioners.csv", "empty file (0 bytes)"),
    "transit_card/taps_zz.parquet": ("corrupt_parquet/transit_card/taps_202301.parquet", "cannot read Parquet file"),
    "household_registry/residents_zz.xlsx": ("xlsx_encrypted/household_registry/residents.xlsx", "password-protected"),
    "household_registry/residents_zz_cut.xlsx": ("xlsx_corrupt/household_registry/residents.xlsx", "cannot read Excel workbook"),
}
#: partly broken: loads, with the damaged rows quarantined
PARTIAL = {
    "social_security/pensioners_zz_truncated.csv": ("truncated_csv/social_security/pensioners.csv", 1),
}
VANISHING = "hospital/outpatient_2025.csv"


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    from devtools.sample import generate_city

    out = tmp_path_factory.mktemp("hcity") / "2026-11-01"
    generate_city(out, people=300, seed=5, as_of=AS_OF)
    return out


@pytest.fixture(scope="module")
def messy_run(city, tmp_path_factory):
    import crosscheck.connectors.load as load_mod

    root = tmp_path_factory.mktemp("messy") / "2026-11-01"
    shutil.copytree(city, root, ignore=shutil.ignore_patterns("_truth"))
    for rel, (src, _) in {**BROKEN, **PARTIAL}.items():
        shutil.copy(CORPUS / src, root / rel)
    real_discover = load_mod.discover

    def discover_then_vanish(folder, patterns):  # listed, then deleted before it is read
        paths = real_discover(folder, patterns)
        victim = root / VANISHING
        if victim in paths:
            victim.unlink()
        return paths

    mp = pytest.MonkeyPatch()
    mp.setattr(load_mod, "discover", discover_then_vanish)
    out = tmp_path_factory.mktemp("messy-out") / "run"
    store = tmp_path_factory.mktemp("messy-store") / "private" / "store.duckdb"
    try:
        result = RunSession(RunRequest(extracts=root, as_of=AS_OF, out=out, store=store)).execute()
    finally:
        mp.undo()
    return result, out, store


def test_broken_files_fail_alone_with_file_and_line(messy_run):
    result, _, _ = messy_run
    by_file = {f.file: f for f in result.files}
    for rel, (_, text) in BROKEN.items():
        f = by_file[rel]
        assert f.status == "failed" and f.error.startswith(f"{rel}: ") and text in f.error, f
        record("corpus", f"in a full run: {rel.split('/')[-1]}", outcome=f.error[:140], rows_lost=0)
    vanished = by_file[VANISHING]
    assert vanished.status == "failed" and vanished.error.startswith(f"{VANISHING}: cannot read"), vanished
    record("corpus", "file vanishes between listing and reading", outcome=vanished.error[:140], rows_lost=0)
    for rel, (_, quarantined) in PARTIAL.items():
        assert by_file[rel].status == "loaded" and by_file[rel].rows_quarantined == quarantined


def test_rest_of_the_run_is_unaffected(messy_run):
    result, out, _ = messy_run
    assert {t.table for t in result.loads if t.status == "failed"} == set(), [t.reason for t in result.loads if t.status == "failed"]
    for table in ("pensioners", "pension_payments", "residents", "taps", "outpatient"):
        load = next(t for t in result.loads if t.table == table)
        lost = any(f.status == "failed" for f in load.files)
        assert load.status == ("partial" if lost else "loaded"), (table, load.status, load.reason)
    errored = [r for r in result.rules if r.status == "failed"]
    assert errored == [], errored
    ran = {r.rule_id for r in result.rules if r.status in ("ok", "partial")}
    assert {"pension_paid_after_death", "transit_card_used_after_death"} <= ran
    assert (out / "report.html").is_file()


def test_no_row_is_lost(messy_run):
    result, out, _ = messy_run
    assert all(f.balanced for f in result.files)
    assert rows_lost(result.files) == 0
    read = sum(f.rows_read for f in result.files)
    quarantined = sum(f.rows_quarantined for f in result.files)
    assert result.quarantine.num_rows == quarantined
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["totals"]
    assert summary["rows_read"] == read == summary["rows_loaded"] + summary["rows_quarantined"] + summary["duplicates_dropped"]
    record("run", "messy delivery, full run", files=len(result.files), rows_read=read,
           rows_loaded=summary["rows_loaded"], rows_quarantined=quarantined,
           duplicates=summary["duplicates_dropped"], rows_lost=rows_lost(result.files))


def test_outputs_are_owner_only(messy_run):
    _, out, store = messy_run
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = [p for p in out.iterdir()]
    assert {p.name for p in files} >= {"findings.csv", "quarantine.csv", "summary.json", "findings.xlsx", "report.html"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    record("pii", "report, quarantine and store files owner-only", files=len(files) + 1, outcome="0600 files, 0700 folders")


def test_unrecorded_run_outputs_are_owner_only_too(city, tmp_path):
    out = tmp_path / "a" / "b"
    root = tmp_path / "d"
    for folder in ("social_security", "household_registry"):
        shutil.copytree(city / folder, root / folder)
    RunSession(RunRequest(extracts=root, as_of=AS_OF, out=out, record=False, rules=["pension_paid_after_death"])).execute()
    assert stat.S_IMODE(out.stat().st_mode) == 0o700 and stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())


def test_masking_is_on_by_default_and_nothing_printed_has_a_full_id(city, tmp_path):
    """The CLI's output and the Prefect artifact never show a full identity number, even when
    a reason quotes one (here: a file named after a person, and a rule failing on a subject)."""
    from crosscheck.reports.text import markdown_summary as summary_markdown

    assert RunRequest(extracts=city, as_of=AS_OF).mask is True
    root = tmp_path / "d"
    for folder in ("social_security", "household_registry"):
        shutil.copytree(city / folder, root / folder)
    leaked_name = "pensioners_11010519491231002X.csv"
    (root / "social_security" / leaked_name).write_bytes(b"")   # fails: its error names the file
    (root / "social_security" / "pensioners_110105491231002.csv").write_bytes(b"")  # a legacy 15-digit number
    proc = subprocess.run(
        [sys.executable, "-m", "crosscheck.cli", "run", "--extracts", str(root), "--as-of", AS_OF.isoformat(),
         "--out", str(tmp_path / "out"), "--no-record", "--rules", "pension_paid_after_death"],
        capture_output=True, text=True, timeout=300, cwd=str(REPO),
    )
    assert proc.returncode == 0, proc.stderr
    assert FULL_ID.findall(proc.stdout + proc.stderr) == [], proc.stdout + proc.stderr
    findings = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig")
    quarantine = (tmp_path / "out" / "quarantine.csv").read_text(encoding="utf-8-sig")
    assert FULL_ID.findall(findings) == [] and FULL_ID.findall(quarantine) == []
    legacy = {m for f in root.rglob("*.csv") for m in re.findall(r"(?<![0-9])[0-9]{15}(?![0-9])", f.read_text(encoding="utf-8", errors="replace"))}
    assert legacy  # the delivery's rows hold legacy 15-digit numbers, and so does a file name: none is shown in full
    shown = proc.stdout + proc.stderr + findings + quarantine + (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")
    assert "110105*****1002" in proc.stderr + proc.stdout
    assert "Warning" not in proc.stderr, proc.stderr  # no library noise among the run's own lines
    assert [n for n in legacy | {"110105491231002"} if n in shown] == []
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["masked"] is True

    from crosscheck.results import RuleOutcome, RunResult

    result = RunResult(run_id="r", as_of=AS_OF, extracts_root=f"/data/{leaked_name}", out_dir=str(tmp_path), started_at=None)
    result.rules = [RuleOutcome(rule_id="x", title_zh="x", title_en="x", severity="high", status="failed",
                                reason="RuntimeError: more than one finding for subject '11010519491231002X'")]
    markdown = summary_markdown(result, tmp_path / "report.html")
    assert FULL_ID.findall(markdown) == [], markdown
    record("pii", "CLI output, findings.csv, quarantine.csv, Prefect artifact scanned for full identity numbers",
           outcome="none found", leaks=0)
