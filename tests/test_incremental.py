"""Work that grows with the change: a second delivery (the first plus one month of payments,
taps and outpatient visits, and a registry snapshot with new deaths) reuses every file the
first run parsed, and its findings, quarantine and accounting equal a cold run's, byte for
byte in findings.csv.

Both deliveries are real folders of files (the second a copy of the first, as a department
delivers again), each run through the CLI with its own cache folder.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLE_AS_OF

SECOND_AS_OF = "2026-12-01"


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """A delivered CSV (UTF-8 or GBK, as departments send them)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    rows = list(csv.reader(text.splitlines()))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


def _one_more_month(first: Path, second: Path) -> list[str]:
    """The second delivery; returns the identity numbers of the residents who died meanwhile."""
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("_truth"))
    ss = second / "social_security"
    header, rows = _rows(ss / "pension_payments_2026.csv")
    month, day, payee = header.index("发放年月"), header.index("发放日期"), header.index("公民身份号码")
    november = [[*r] for r in rows if r[month] == "2026-10"]
    for r in november:
        r[month], r[day] = "2026-11", "2026-11-10"
    _write(ss / "pension_payments_202611.csv", header, november)
    header, rows = _rows(second / "hospital" / "outpatient_2026.csv")
    on, no = header.index("就诊日期"), header.index("就诊流水号")
    visits = [[*r] for r in rows if r[on].startswith("202610")]
    for r in visits:
        r[on], r[no] = "202611" + r[on][6:8], r[no] + "N"
    _write(second / "hospital" / "outpatient_202611.csv", header, visits)
    header, rows = _rows(second / "transit_card" / "taps_recent.csv")
    at = header.index("交易时间")
    taps = [[*r] for r in rows if r[at].startswith("2026-10")]
    for r in taps:
        r[at] = "2026-11" + r[at][7:]
    _write(second / "transit_card" / "taps_202611.csv", header, taps)
    # the registry: a fresh snapshot in which some paid pensioners died in October
    paid = {r[payee] for r in november}
    registry = second / "household_registry" / "residents_a.csv"
    header, rows = _rows(registry)
    pid, status, death = header.index("公民身份号码"), header.index("人口状态"), header.index("死亡日期")
    died = []
    for r in rows:
        if r[status] == "正常" and r[pid] in paid and len(died) < 4:
            r[status], r[death] = "死亡", "2026-10-15"
            died.append(r[pid])
    _write(registry, header, rows)
    assert len(died) == 4 and november and visits and taps
    return died


@pytest.fixture(scope="module")
def runs(sample_city, crosscheck_cmd, tmp_path_factory):
    base = tmp_path_factory.mktemp("incremental")
    first, second = base / "deliveries" / sample_city.name, base / "deliveries" / SECOND_AS_OF
    shutil.copytree(sample_city, first)
    died = _one_more_month(first, second)

    def run(delivery: Path, as_of: str, out: str, cache: str) -> dict:
        env = {**os.environ, "CROSSCHECK_CACHE_DIR": str(base / cache)}
        proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(delivery), "--as-of", as_of, "--out",
                               str(base / out), "--no-record"], capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads((base / out / "summary.json").read_text(encoding="utf-8"))

    run(first, SAMPLE_AS_OF.isoformat(), "first", "warm")
    incremental = run(second, SECOND_AS_OF, "incremental", "warm")
    cold = run(second, SECOND_AS_OF, "cold", "cold")
    return base, incremental, cold, died


def test_the_incremental_run_equals_a_cold_run(runs):
    base, incremental, cold, died = runs
    for name in ("findings.csv", "quarantine.csv"):
        assert (base / "incremental" / name).read_bytes() == (base / "cold" / name).read_bytes(), name
    accounts = lambda s: [{k: f[k] for k in ("file", "sha256", "rows_read", "rows_loaded", "rows_quarantined",  # noqa: E731
                                             "duplicates_dropped", "balanced", "status")} for f in s["files"]]
    assert accounts(incremental) == accounts(cold)
    assert incremental["totals"]["findings"] == cold["totals"]["findings"]
    findings = (base / "incremental" / "findings.csv").read_text(encoding="utf-8-sig")
    assert sum(pid[-4:] in findings for pid in died) >= 3  # the new deaths are found


def test_only_new_and_changed_files_are_parsed(runs):
    _, incremental, cold, _ = runs
    parsed = {f["file"] for f in incremental["files"] if not f["reused"]}
    assert parsed == {"social_security/pension_payments_202611.csv", "hospital/outpatient_202611.csv",
                      "transit_card/taps_202611.csv", "household_registry/residents_a.csv"}
    assert not any(f["reused"] for f in cold["files"])
    assert sum(f["reused"] for f in incremental["files"]) == len(incremental["files"]) - 4


def test_a_snapshot_delivered_again_parses_only_its_changed_lines(runs):
    """Only the lines that changed, and the lines quarantined before (they are quarantined
    again, with their reasons), are parsed."""
    _, incremental, cold, died = runs
    (registry,) = [f for f in incremental["files"] if f["file"] == "household_registry/residents_a.csv"]
    assert registry["rows_quarantined"] > 0
    assert registry["lines_unchanged"] == registry["rows_read"] - len(died) - registry["rows_quarantined"], registry
    assert not any(f["lines_unchanged"] for f in cold["files"])


def test_the_summary_says_where_the_time_went(runs):
    _, incremental, cold, _ = runs
    for summary in (incremental, cold):
        seconds = summary["seconds"]
        assert seconds["start_to_first_read"] > 0, seconds
        assert {f"load-{load['table']}" for load in summary["loads"]} <= set(seconds)
        assert {f"rule-{rule['rule_id']}" for rule in summary["rules"]} <= set(seconds)


def test_the_cache_lists_and_prunes_table_states_and_a_state_missing_a_segment_is_not_used(runs, crosscheck_cmd, tmp_path):
    base, _, _, _ = runs
    cache = tmp_path / "cache"
    shutil.copytree(base / "warm", cache)
    env = {**os.environ, "CROSSCHECK_CACHE_DIR": str(cache)}
    listing = subprocess.run([*crosscheck_cmd, "cache", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert {line.split()[0] for line in listing.stdout.splitlines()[:-1]} == {"delivery", "part", "table"}
    # the first delivery's payments segment is evicted: the second delivery's state rests on it
    states = sorted((cache / "parts" / "pension_payments").rglob("state-*.json"),
                    key=lambda p: len(json.loads(p.read_text(encoding="utf-8"))["contents"]))
    assert len(states) == 2
    states[0].with_name(states[0].name.replace("state-", "seg-").replace(".json", ".duckdb")).unlink()
    proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(base / "deliveries" / SECOND_AS_OF), "--as-of",
                           SECOND_AS_OF, "--out", str(tmp_path / "again"), "--no-record"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    for name in ("findings.csv", "quarantine.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (base / "cold" / name).read_bytes(), name
    pruned = subprocess.run([*crosscheck_cmd, "cache", "prune", "--all"], capture_output=True, text=True, env=env, timeout=120)
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed "), pruned.stderr
    after = subprocess.run([*crosscheck_cmd, "cache", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert after.stdout.startswith("0 items"), after.stdout
