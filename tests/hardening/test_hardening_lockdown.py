"""A locked-down engine: every escape from a rule is refused at lint time and at run time.

Lint: rule SQL is one SELECT over canonical tables (sqlglot AST allow-list,
crosscheck.engines.dialect.forbidden_constructs). Run time: after the delivery is loaded,
RunSession.lock_down() sets enable_external_access = false and locks the
configuration, so even SQL that never went through lint cannot touch files,
databases or extensions. Rule tests' connections are locked the same way.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlglot

from crosscheck.catalog import load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.rules import collect_ruleset, load_ruleset
from crosscheck.rules.compiler import parse_query
from crosscheck.rules.runner import run_rule
from crosscheck.rules.testing import connect as rule_test_connect
from crosscheck.pipeline.run import RunRequest, RunSession
from crosscheck.yamlio import ConfigError

from hardening_figures import record

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "connectors")
DELIVERY = REPO / "tests" / "bad_inputs" / "utf8"     # one small pensioners file


def escapes(tmp: Path) -> dict[str, str]:
    """name -> rule SQL trying to get out of the engine."""
    return {
        "read_csv of an arbitrary path": "SELECT * FROM read_csv('/etc/passwd')",
        "read_text of an arbitrary path": "SELECT * FROM read_text('/etc/passwd')",
        "a file path as a table": "SELECT * FROM '/etc/passwd'",
        "glob over the file system": "SELECT * FROM glob('/etc/*')",
        "read_parquet of another delivery": f"SELECT * FROM read_parquet('{tmp}/other.parquet')",
        "COPY TO a file": f"COPY (SELECT 1 AS x) TO '{tmp}/leak.csv'",
        "ATTACH a database": f"ATTACH '{tmp}/other.duckdb' AS other",
        "INSTALL an extension": "INSTALL httpfs",
        "LOAD an extension": "LOAD httpfs",
        "EXPORT DATABASE": f"EXPORT DATABASE '{tmp}/export'",
        "a second statement after ;": f"SELECT 1 AS x; COPY (SELECT 1 AS x) TO '{tmp}/second.csv'",
        "re-enable external access": "SET enable_external_access = true",
        "unlock the configuration": "SET lock_configuration = false",
        "move the spill directory": f"SET temp_directory = '{tmp}/spill'",
    }


# ------------------------------------------------------------------ lint time


def test_every_escape_is_refused_by_the_allow_list(tmp_path):
    for name, sql in escapes(tmp_path).items():
        with pytest.raises(ValueError) as info:
            parse_query(sql)
        assert str(info.value), name
        record("escape", name, stage="lint", refused=True, message=str(info.value)[:120])


def test_rule_files_with_escapes_fail_lint_with_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    cases = {f"escape_{i}": sql for i, sql in enumerate(escapes(tmp_path).values())}
    for rule_id, sql in cases.items():
        (rules / "test" / f"{rule_id}.yaml").write_text(
            f"id: {rule_id}\ntitle: {{zh: 测试, en: Test}}\nseverity: high\nsteps:\n  - name: f\n"
            f"    sql: \"{sql}\"\nevidence:\n  fields: {{person_id: text}}\n  template: \"{{person_id}}\"\n",
            encoding="utf-8",
        )
    ruleset, problems = collect_ruleset(rules, CATALOG, lint=True)
    flagged = {Path(p.file).stem for p in problems if p.line == 6}
    assert flagged == set(cases), [str(p) for p in problems]
    with pytest.raises(ConfigError):     # and a run refuses to start with them
        load_ruleset(rules, CATALOG)


# ------------------------------------------------------------------ run time


#: How DuckDB refuses: file access disabled, configuration locked, or (a bare path as a
#: table) no replacement scan at all, so the "table" does not exist.
REFUSALS = ("Permission Error", "configuration has been locked", "file system operations are disabled",
            "Table with name /etc/passwd does not exist")


class _Unlinted:
    """A compiled rule as if lint had been bypassed: the runner gets raw SQL."""

    def __init__(self, sql: str, real):
        self._sql, self._real = sql, real
        self.tables: set[str] = set()
        self.optional: set[str] = set()
        self.parameters: list[str] = []
        self.tree = sqlglot.exp.Select()

    def sql(self, engine: str = "duckdb", pretty: bool = True) -> str:
        return self._sql

    def __getattr__(self, name):  # anything else the runner asks for: as the real rule compiled
        return getattr(self._real, name)


class _BypassRule:
    def __init__(self, real, sql: str):
        self._real, self._sql = real, sql

    def __getattr__(self, name):
        return getattr(self._real, name)

    def compile(self, unavailable=frozenset()):
        return _Unlinted(self._sql, self._real.compile(unavailable))


@pytest.fixture
def locked_session(tmp_path):
    session = RunSession(RunRequest(extracts=DELIVERY, as_of=date(2026, 11, 1), out=tmp_path / "out", record=False))
    for table in session.plan.catalog.connectors["social_security"].tables:
        session.load_table(table)
    yield session
    session.close()


def test_every_escape_is_refused_at_run_time(locked_session, tmp_path):
    import pyarrow.parquet as pq
    import pyarrow as pa

    pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
    session = locked_session
    ok = session.run_rule("pension_paid_after_death")           # locks, then runs a real rule
    assert ok.status in {"ok", "skipped"}, ok.reason
    real = session.plan.ruleset["pension_paid_after_death"]
    for name, sql in escapes(tmp_path).items():
        outcome, findings = run_rule(session.con, _BypassRule(real, sql), available=session.available, as_of=date(2026, 11, 1))
        assert outcome.status == "failed", (name, outcome)
        assert findings.num_rows == 0
        assert any(t in outcome.reason for t in REFUSALS), (name, outcome.reason)
        record("escape", name, stage="run", refused=True, message=outcome.reason[:160])
    for leaked in ("leak.csv", "second.csv", "other.duckdb", "export", "spill"):
        assert not (tmp_path / leaked).exists(), leaked
    # the engine still works: the canonical tables are there
    assert session.con.execute("SELECT count(*) FROM pensioners").fetchall()[0][0] == 2


def test_lock_down_is_idempotent_and_before_any_rule(locked_session):
    session = locked_session
    assert session.con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0] is True
    session.lock_down()
    session.lock_down()
    assert session.con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0] is False
    assert session.con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0] is True


def test_spilling_still_works_when_locked(tmp_path):
    config = dataclasses.replace(ProjectConfig.load(), duckdb_memory_limit="48MB", duckdb_threads=1)
    session = RunSession(RunRequest(extracts=DELIVERY, as_of=date(2026, 11, 1), out=tmp_path / "out", record=False), config)
    try:
        session.lock_down()
        n = session.con.execute(
            "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) AS s FROM range(1500000) r(i) ORDER BY s)"
        ).fetchall()[0][0]
        assert n == 1_500_000
        assert os.listdir(session.workspace.spill.name), "expected the sort to spill to the run's temp_directory"
    finally:
        session.close()


def test_rule_test_connections_are_locked():
    con = rule_test_connect()
    try:
        for sql in ("SELECT * FROM read_csv('/etc/passwd')", "SET enable_external_access = true"):
            with pytest.raises(Exception) as info:
                con.execute(sql)
            assert "Permission Error" in str(info.value) or "locked" in str(info.value)
    finally:
        con.close()
