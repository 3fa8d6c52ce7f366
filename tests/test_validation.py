"""GX expectations on loaded tables: good data passes, bad data fails with counts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crosscheck.catalog import load_catalog
from crosscheck.connectors import load_source

REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog(REPO / "connectors")
ID1 = "11010519491231002X"
HEAD = "就诊流水号,医疗机构名称,公民身份号码,姓名,就诊日期,科室,结算金额,结算类型"


def outpatient(tmp_path: Path, types: list[str]) -> Path:
    path = tmp_path / "hospital" / "outpatient.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"V{i},市一院,{ID1},陈大文,2023-01-05,内科,10.00,{t}" for i, t in enumerate(types)]
    path.write_text(HEAD + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def results(con, root):
    loads = load_source(con, root, CATALOG.connectors["hospital"])
    return next(t for t in loads if t.table == "outpatient").expectations


def test_known_good_table_passes(con, tmp_path):
    (result,) = results(con, outpatient(tmp_path, ["医保", "自费", "医保"]))
    assert result.expectation == "expect_column_values_to_be_in_set" and result.column == "settlement_type"
    assert (result.success, result.element_count, result.unexpected_count, result.detail) == (True, 3, 0, "")


def test_known_bad_table_fails_with_unexpected_count(con, tmp_path):
    (result,) = results(con, outpatient(tmp_path, ["医保", "现金", "自费", "其他", "医保"]))
    assert (result.success, result.element_count, result.unexpected_count, result.detail) == (False, 5, 2, "")


def test_pair_expectation_and_gx_exception_reported_with_detail(con, tmp_path):
    from crosscheck.connectors.validation import validate_frame

    frame = con.sql(
        "SELECT * FROM (VALUES (TIMESTAMP '2023-01-01', TIMESTAMP '2023-01-03'), (TIMESTAMP '2023-01-05', TIMESTAMP '2023-01-04'),"
        " (TIMESTAMP '2023-01-05', NULL)) t(admitted_at, discharged_at)"
    ).df()
    expectations = [
        {"expect_column_pair_values_a_to_be_greater_than_b": {"column_A": "discharged_at", "column_B": "admitted_at",
                                                               "or_equal": True, "ignore_row_if": "either_value_is_missing"}},
        {"expect_column_values_to_be_in_set": {"column": "no_such_column", "value_set": ["x"]}},
        {"expect_no_such_thing": {"column": "admitted_at"}},
    ]
    pair, missing_column, unknown = validate_frame(frame, "inpatient", expectations)
    assert (pair.success, pair.unexpected_count) == (False, 1)
    assert not missing_column.success and "no_such_column" in missing_column.detail
    assert not unknown.success and "unknown GX expectation type" in unknown.detail


def test_large_tables_are_sampled_deterministically(con, monkeypatch):
    import crosscheck.connectors.validation as validation

    monkeypatch.setattr(validation, "SAMPLE_ROWS", 1000)
    con.execute("CREATE TABLE big AS SELECT range AS x FROM range(5000)")
    first = validation.fetch_frame(con, "big", ["x"])
    con.execute("CREATE TABLE shuffled AS SELECT * FROM big ORDER BY hash(x + 7)")
    second = validation.fetch_frame(con, "shuffled", ["x"])
    assert 700 < len(first) < 1300   # about SAMPLE_ROWS, whatever order the rows are stored in
    assert sorted(first["x"].tolist()) == sorted(second["x"].tolist())


def _spec(expectations):
    from crosscheck.catalog import TableSpec

    return TableSpec.model_validate({"title": {"zh": "测试", "en": "test"}, "files": ["t*.csv"], "columns": [
        {"name": "kind", "header": "类别", "type": "text", "nullable": True},
        {"name": "code", "header": "编码", "type": "text", "nullable": True}], "expectations": expectations})


@pytest.fixture(params=["here", "worker"])
def checks(request):
    """Expectations computed in this process, or in the worker process a run validates in."""
    from crosscheck.connectors.validation import Checks

    c = Checks(background=request.param == "worker")
    yield c
    c.close()


def test_row_by_row_counts_of_files_add_up_to_the_table_s(con, monkeypatch, checks):
    """A table that grows by a file is validated on that file alone: its counts and success
    are those of the whole table validated at once (in this process or in the run's worker)."""
    import crosscheck.connectors.validation as validation

    monkeypatch.setattr(validation, "SAMPLE_ROWS", 400)
    spec = _spec([{"expect_column_values_to_be_in_set": {"column": "kind", "value_set": ["a", "b"], "mostly": 0.9}}])
    con.execute("""CREATE TABLE t AS SELECT CASE WHEN range % 13 = 0 THEN 'x' WHEN range % 17 = 0 THEN NULL ELSE 'a' END AS kind,
                   'c' AS code, 'f' || (range // 1000) || '.csv' AS source_file, range % 1000 + 2 AS source_line FROM range(3000)""")
    whole = validation.row_counts(checks, con, "t", "t", spec)
    parts = [validation.row_counts(checks, con, f"(SELECT * FROM t WHERE source_file = 'f{i}.csv')", "t", spec)()
             for i in range(3)]
    summed = validation.add_counts(validation.add_counts(parts[0], parts[1]), parts[2])
    assert summed == whole() and 1000 < whole()[0][0] < 1400   # each file sampled alone, about 400 rows of its 1,000
    (result,) = validation.table_results(checks, con, "t", "t", spec, whole)()
    gx_on_the_sample = validation.validate_frame(
        validation.fetch_frame(con, "t", ["kind"], {f"f{i}.csv": 1000 for i in range(3)}), "t", spec.expectations)
    assert (result.success, result.element_count, result.unexpected_count) == (
        gx_on_the_sample[0].success, gx_on_the_sample[0].element_count, gx_on_the_sample[0].unexpected_count)
    strict = _spec([{"expect_column_values_to_be_in_set": {"column": "kind", "value_set": ["a", "b"], "mostly": 0.95}}])
    assert result.success and not validation.table_results(checks, con, "t", "t", strict, whole)()[0].success


def test_a_sampled_uniqueness_check_sees_every_copy_of_a_value_or_none(con, monkeypatch):
    import crosscheck.connectors.validation as validation

    checks = validation.Checks()
    monkeypatch.setattr(validation, "SAMPLE_ROWS", 300)
    spec = _spec([{"expect_column_values_to_be_unique": {"column": "code"}}])
    con.execute("CREATE TABLE t AS SELECT NULL AS kind, 'c' || (range % 2900) AS code, 'f.csv' AS source_file, "
                "range + 2 AS source_line FROM range(3000)")   # 100 values delivered twice
    (result,) = validation.table_results(checks, con, "t", "t", spec, validation.row_counts(checks, con, "t", "t", spec))()
    assert result.unexpected_count % 2 == 0 and result.unexpected_count > 0 and not result.success


def test_when_the_worker_dies_the_run_s_process_gives_the_same_outcomes(con):
    """A worker killed (e.g. out of memory) loses no check: what it had not answered, and all
    that comes after, is computed in the run's process."""
    import os
    import signal

    from crosscheck.connectors import validation

    spec = _spec([{"expect_column_values_to_be_in_set": {"column": "kind", "value_set": ["a"]}}])
    con.execute("CREATE TABLE t AS SELECT CASE WHEN range % 10 = 0 THEN 'x' ELSE 'a' END AS kind, 'c' AS code, "
                "'f.csv' AS source_file, range + 2 AS source_line FROM range(1000)")
    expected = validation.row_counts(validation.Checks(), con, "t", "t", spec)()
    worker = validation.Checks(background=True)
    try:
        before = validation.row_counts(worker, con, "t", "t", spec)
        for pid in list(worker._pool._processes):
            os.kill(pid, signal.SIGKILL)
        after = validation.row_counts(worker, con, "t", "t", spec)
        got = (before(), after())
    finally:
        worker.close()
    assert got == (expected, expected) and expected[0][2] == 100


def test_connectors_do_not_import_great_expectations():
    code = "import crosscheck.connectors, crosscheck.connectors.validation, sys; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"
