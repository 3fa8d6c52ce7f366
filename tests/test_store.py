"""Findings history store: keys, new/recurring/resolved, provenance (real DuckDB files)."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import pytest
from typer.testing import CliRunner

from crosscheck.store import Store, StoreError, finding_key
from crosscheck.cli.review import runs_app
from devtools.run_builders import finding, make_run

P1 = "420202195001011234"
P2 = "42020219510202567X"
P3 = "420202195203033456"
D1 = date(2026, 10, 1)
D2 = date(2026, 11, 1)
D3 = date(2026, 12, 1)


def keys_of(recorded) -> dict[str, dict]:
    return {r["finding_key"]: r for r in recorded.findings.to_pylist()}


def test_finding_key_is_sha256_prefix_without_identity_number():
    key = finding_key("pension_paid_after_death", P1, "")
    assert key == hashlib.sha256(f"pension_paid_after_death|{P1}|".encode()).hexdigest()[:16]
    assert len(key) == 16 and P1 not in key
    assert finding_key("r", P1, "2026") != finding_key("r", P1, "2025")
    assert finding_key("r", P1, None) == finding_key("r", P1, "")


def test_first_run_all_new_second_run_all_recurring(tmp_path):
    store = tmp_path / "h.duckdb"
    rows = [finding("pension_paid_after_death", P1, amount=300, evidence={"months": 3}),
            finding("pension_paid_after_death", P2, amount=200, evidence={"months": 2})]
    with Store.open(store) as st:
        r1 = st.record_run(make_run("r1", D1, rows))
    assert r1.findings.column("status").to_pylist() == ["new", "new"]
    assert r1.findings.column("first_seen").to_pylist() == [D1, D1]
    assert r1.counts["pension_paid_after_death"] == {"findings": 2, "new": 2, "recurring": 0, "resolved": 0, "suppressed": 0}
    assert r1.findings.column("finding_key").to_pylist() == [finding_key("pension_paid_after_death", p, "") for p in (P1, P2)]
    # the run's own columns come back unchanged, in the run's order, with full identity numbers
    assert r1.findings.column("person_id").to_pylist() == [P1, P2]
    assert r1.resolved.num_rows == 0

    with Store.open(store) as st:  # reopened: the history is on disk
        r2 = st.record_run(make_run("r2", D2, rows))
    assert r2.findings.column("status").to_pylist() == ["recurring", "recurring"]
    assert r2.findings.column("first_seen").to_pylist() == [D1, D1]
    assert r2.counts["pension_paid_after_death"]["recurring"] == 2
    assert r2.resolved.num_rows == 0


def test_gone_finding_is_resolved_and_new_one_is_new(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", P1), finding("a", P2), finding("b", P3)]))
        r2 = st.record_run(make_run("r2", D2, [finding("a", P1), finding("a", P3), finding("b", P3)]))
    status = {r["person_id"]: r["status"] for r in r2.findings.to_pylist() if r["rule_id"] == "a"}
    assert status == {P1: "recurring", P3: "new"}
    resolved = r2.resolved.to_pylist()
    assert resolved == [{"finding_key": finding_key("a", P2, ""), "rule_id": "a", "subject": P2, "person_id": P2,
                         "last_seen": D1, "last_run_id": "r1"}]
    assert r2.counts["a"] == {"findings": 2, "new": 1, "recurring": 1, "resolved": 1, "suppressed": 0}
    assert r2.counts["b"]["resolved"] == 0
    # resolved findings are not findings of the run
    assert P2 not in r2.findings.column("person_id").to_pylist()


def test_skipped_or_failed_rule_does_not_resolve_its_findings(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", P1), finding("b", P2), finding("c", P3)]))
        r2 = st.record_run(make_run("r2", D2, [finding("c", P3)], rules={"a": "skipped", "b": "failed"}))
        assert r2.resolved.num_rows == 0
        assert r2.counts["a"] == {"findings": 0, "new": 0, "recurring": 0, "resolved": 0, "suppressed": 0}
        # a rule left out of an ad-hoc run (--rules) does not resolve either
        r3 = st.record_run(make_run("r3", D2, [finding("c", P3)]))
        assert r3.resolved.num_rows == 0
        # when "a" runs again it is compared with r1, the last run in which it ran: P1 still there
        r4 = st.record_run(make_run("r4", D3, [finding("a", P1)], rules={"b": "ok"}))
    assert r4.findings.column("status").to_pylist() == ["recurring"]
    assert r4.findings.column("first_seen").to_pylist() == [D1]
    assert [(r["rule_id"], r["person_id"], r["last_seen"]) for r in r4.resolved.to_pylist()] == [("b", P2, D1)]
    with Store.open(store, read_only=True) as st:
        assert st.run_detail("r2")["run"]["status"] == "partial"
        assert st.run_detail("r1")["run"]["status"] == "ok"


def test_finding_back_after_resolution_keeps_first_seen(tmp_path):
    with Store.open(tmp_path / "h.duckdb") as st:
        st.record_run(make_run("r1", D1, [finding("a", P1)]))
        r2 = st.record_run(make_run("r2", D2, [], rules={"a": "ok"}))
        assert r2.resolved.column("person_id").to_pylist() == [P1]
        r3 = st.record_run(make_run("r3", D3, [finding("a", P1)]))
        assert r3.resolved.num_rows == 0  # nothing of r2 (which had none) is missing
    assert r3.findings.column("status").to_pylist() == ["recurring"]
    assert r3.findings.column("first_seen").to_pylist() == [D1]


def test_discriminator_separates_findings_of_one_subject(tmp_path):
    with Store.open(tmp_path / "h.duckdb") as st:
        st.record_run(make_run("r1", D1, [finding("subsidy", P1, discriminator="2025")]))
        r2 = st.record_run(make_run("r2", D2, [finding("subsidy", P1, discriminator="2026")]))
    assert r2.findings.column("status").to_pylist() == ["new"]
    assert r2.resolved.column("finding_key").to_pylist() == [finding_key("subsidy", P1, "2025")]


def test_empty_run_and_run_recorded_twice(tmp_path):
    with Store.open(tmp_path / "h.duckdb") as st:
        r = st.record_run(make_run("r1", D1, []))
        assert r.findings.num_rows == 0 and r.resolved.num_rows == 0
        assert "finding_key" in r.findings.column_names and "suppressed" in r.findings.column_names
        with pytest.raises(StoreError, match="already recorded"):
            st.record_run(make_run("r1", D1, []))
        assert len(st.runs()) == 1


def test_provenance_recorded_and_shown(tmp_path):
    store = tmp_path / "h.duckdb"
    run = make_run("20261101T020000Z-abc123", D2, [finding("a", P1, amount=12.5)], rules={"b": "skipped"}, started_by="nightly")
    with Store.open(store) as st:
        st.record_run(run)
    with Store.open(store, read_only=True) as st:
        runs = st.runs()
        d = st.run_detail("20261101T")   # unique prefix
    assert runs[0]["run_id"] == run.run_id and runs[0]["started_by"] == "nightly" and runs[0]["findings"] == 1
    r = d["run"]
    assert r["as_of"] == D2 and r["extracts_root"] == run.extracts_root and r["masked"] is True
    assert r["code_version"]  # crosscheck version; git describe where available
    assert r["started_at"].isoformat() == "2026-11-01T02:00:00"
    rules = {x["rule_id"]: x for x in d["rules"]}
    assert rules["a"]["version"] == "ab" * 32 and rules["a"]["sql"].startswith("SELECT")
    assert rules["a"]["parameters"] == {"window_days": 365}
    assert rules["b"]["status"] == "skipped" and rules["b"]["reason"]
    assert [f["sha256"] for f in d["files"]] == ["cd" * 32]

    runner = CliRunner()
    out = runner.invoke(runs_app, ["list", "--store", str(store)])
    assert out.exit_code == 0, out.output
    assert run.run_id in out.output and "nightly" in out.output and "partial" in out.output
    out = runner.invoke(runs_app, ["show", "latest", "--store", str(store)])
    assert out.exit_code == 0, out.output
    for text in ("ab" * 32, "cd" * 32, "pensions/payments.csv", "window_days", "SELECT * FROM x -- a", "skipped"):
        assert text in out.output
    out = runner.invoke(runs_app, ["show", "nope", "--store", str(store)])
    assert out.exit_code == 2 and "no run 'nope'" in out.output


def test_store_keeps_full_values_and_schema_is_queryable(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", P1, amount=99.99, evidence={"months": 3, "first": "2026-01"})]))
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT person_id, amount_at_risk, evidence_json, status FROM findings").fetchall()
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert rows[0][0] == P1 and str(rows[0][1]) == "99.99" and json.loads(rows[0][2])["months"] == 3
    assert {"runs", "run_rules", "run_loads", "run_files", "findings", "finding_keys", "resolved", "reviews", "outcomes", "meta"} <= tables


def test_read_only_open_of_missing_store_fails_clearly(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_larger_run_is_counted(tmp_path):
    """20,000 findings then 19,000 of them again (how fast: bench/, not a test)."""
    rows = [finding("a", f"4202021950{i:08d}", amount=i) for i in range(20_000)]
    with Store.open(tmp_path / "h.duckdb") as st:
        st.record_run(make_run("r1", D1, rows))
        r2 = st.record_run(make_run("r2", D2, rows[:19_000]))
    assert r2.counts["a"]["recurring"] == 19_000 and r2.counts["a"]["resolved"] == 1_000
