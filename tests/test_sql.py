"""`crosscheck sql`: the analyst asks the loaded delivery a question, read-only and masked like the
reports, on the canonical cache a run keeps (crosscheck.pipeline.query)."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from conftest import REPO, SAMPLE_AS_OF, read_csv_rows

from crosscheck.cli import app
from crosscheck.config import ProjectConfig
from crosscheck.pipeline.query import Delivery, QueryRefused
from crosscheck.privacy.masking import mask_id, mask_name

FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")


@pytest.fixture(scope="module")
def project(sample_city, tmp_path_factory) -> Path:
    """A project whose deliveries folder holds the sample city (the newest delivery)."""
    root = tmp_path_factory.mktemp("sqlproject")
    (root / "crosscheck.toml").write_text(
        f'[crosscheck]\nconnectors_dir = "{REPO / "connectors"}"\nrules_dir = "{REPO / "rules"}"\n'
        f'deliveries_dir = "{sample_city.parent}"\nreports_dir = "{root / "reports"}"\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def delivery(project, sample_city):
    with Delivery.open(ProjectConfig.load(project), sample_city, SAMPLE_AS_OF) as opened:
        yield opened


def _rows(answer) -> list[tuple]:
    return [r for batch in answer.batches() for r in batch]


def test_a_query_over_tables_and_views(delivery):
    answer = delivery.ask("SELECT cancel_reason, count(*) AS n FROM residents GROUP BY ALL ORDER BY n DESC")
    counts = dict(_rows(answer))
    loaded = next(t.rows for t in delivery.session.result.loads if t.table == "residents")
    assert answer.columns == ["cancel_reason", "n"] and sum(counts.values()) == loaded > 1000
    assert {"死亡", "迁出"} <= set(counts)
    # a shared view reads like a table, $as_of is the session's
    deaths = _rows(delivery.ask("SELECT count(*) AS n, max(death_date) <= $as_of AS before FROM person_death"))
    assert deaths[0][0] > 10 and deaths[0][1] is True


def test_masked_like_the_reports_by_what_each_column_holds(delivery):
    sql = ("SELECT r.person_id, r.name AS n, r.name || '（' || r.district || '）' AS built, "
           "TRY_CAST(r.person_id AS BIGINT) AS num, r.address, r.death_date, length(r.name) AS len "
           "FROM residents r WHERE r.death_date IS NOT NULL ORDER BY r.person_id LIMIT 30")
    full = _rows(delivery.ask(sql, mask=False))
    answer = delivery.ask(sql)
    masked = _rows(answer)
    assert len(masked) == len(full) == 30
    for f, m in zip(full, masked):
        assert m[0] == mask_id(f[0]) and MASKED_ID.match(m[0])      # traced to residents.person_id
        assert m[1] == mask_name(f[1]) and m[1] != f[1]             # an alias is still the name
        assert set(m[2]) <= {"*", "（", "）"}                         # text built around a name: by shape
        assert (m[3], f[3]) == (None, None) if f[0].endswith("X") else (set(m[3]), f[3]) == ({"*"}, int(f[0]))  # a number made of it: by shape
        assert m[4].endswith("***") and m[4] != f[4]                 # address: the district part only
        assert m[5] == f[5] and m[6] == f[6]                         # dates and lengths are not personal
        assert not FULL_ID.search(" ".join(map(str, m)))
    assert [n.split(" ")[1] for n in answer.notes] == ["built", "num"]
    assert "residents.name" in answer.notes[0] and "residents.person_id" in answer.notes[1]
    # a column mixing kinds (identity numbers under names) is masked by shape too
    mixed = delivery.ask("SELECT person_id AS v FROM residents UNION ALL SELECT name FROM pensioners")
    assert [k.kind for k in mixed.kinds] == ["shape"]
    assert all(set(v) <= {"*", "·", " "} for (v,) in _rows(mixed))


def test_read_only(delivery):
    before = _rows(delivery.ask("SELECT count(*) FROM residents"))
    for sql, words in [
        ("INSERT INTO residents (person_id) VALUES ('x')", "only SELECT is allowed, found INSERT"),
        ("COPY residents TO 'x.csv'", "found COPY"),
        ("ATTACH 'x.duckdb' AS x", "found ATTACH"),
        ("PRAGMA enable_profiling", "found PRAGMA"),
        ("SET threads = 1", "found SET"),
        ("SELECT 1 AS a; DROP TABLE residents", "exactly one SELECT statement expected, found 2"),
        ("SELECT * FROM read_csv('/etc/passwd')", "is not allowed as a table"),
        ("SELECT * FROM '/etc/passwd'", "file path '/etc/passwd' is not allowed as a table"),
        ("SELECT * FROM __cc_cache.residents", "is not allowed as a table"),
    ]:
        with pytest.raises(QueryRefused) as exc:
            delivery.ask(sql)
        assert str(exc.value).startswith("refused: crosscheck sql only reads the loaded tables: ") and words in str(exc.value), sql
    # and below the parser, the session's DuckDB itself reads no file and changes no setting
    for statement in ("COPY (SELECT 1) TO 'leak.csv'", "SET enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            delivery.session.con.execute(statement)
    assert _rows(delivery.ask("SELECT count(*) FROM residents")) == before


def test_names_what_is_wrong_as_lint_does(delivery):
    cases = {
        "SELECT nme FROM residents": "nme: no such column in residents; did you mean name?",
        "SELECT deathdate FROM person_death": "deathdate: no such column in view person_death; did you mean death_date?",
        "SELECT * FROM residnts": "unknown table 'residnts' (not a canonical table, view or earlier step); did you mean residents?",
        "SELECT $cutoff AS c": "$cutoff: the only parameter a query has is $as_of (--as-of)",
    }
    for sql, words in cases.items():
        with pytest.raises(QueryRefused) as exc:
            delivery.ask(sql)
        assert str(exc.value).startswith(words), str(exc.value)


def test_the_command_exports_prompts_and_lists(project, tmp_path):
    runner = CliRunner()
    # the newest delivery of the project; every row to a CSV and an XLSX, masked
    out = tmp_path / "deaths.csv"
    query = "SELECT person_id, name, death_date FROM residents WHERE death_date IS NOT NULL ORDER BY person_id"
    result = runner.invoke(app, ["sql", "--project", str(project), "--out", str(out), query])
    assert result.exit_code == 0, result.output
    rows = read_csv_rows(out)
    assert len(rows) > 10 and f"{len(rows):,} rows written to {out}" in result.output
    assert all(MASKED_ID.match(r["person_id"]) and "*" in r["name"] for r in rows)
    xlsx = tmp_path / "deaths.xlsx"
    assert runner.invoke(app, ["sql", "--project", str(project), "--out", str(xlsx), query]).exit_code == 0
    sheet = load_workbook(xlsx).active
    assert [c.value for c in sheet[1]] == ["person_id", "name", "death_date"] and sheet.max_row == len(rows) + 1
    assert sheet.cell(2, 1).value == rows[0]["person_id"]
    unmasked = runner.invoke(app, ["sql", "--project", str(project), "--no-mask", query])
    assert FULL_ID.search(unmasked.output) and not FULL_ID.search(result.output)

    # without a query: a prompt, one query per `;`, a refusal does not end it
    session = runner.invoke(app, ["sql", "--project", str(project)], input=(
        "SELECT count(*) AS n\nFROM residents;\nINSERT INTO residents (person_id) VALUES ('x');\n"
        "SELECT 'second' AS q;\n.quit\nSELECT 'never' AS q;\n"))
    assert session.exit_code == 0, session.output
    assert "refused: crosscheck sql only reads the loaded tables" in session.output
    assert "second" in session.output and "never" not in session.output

    refused = runner.invoke(app, ["sql", "--project", str(project), "COPY residents TO 'x.csv'"])
    assert refused.exit_code == 2

    listed = runner.invoke(app, ["sql", "--project", str(project), "--tables"])
    assert listed.exit_code == 0
    assert re.search(r"residents  户籍人口信息 / Registered residents", listed.output)
    assert re.search(r"  person_id +VARCHAR +公民身份号码  \[identity: masked\]", listed.output)
    assert re.search(r"  pay_month +DATE \(month\) +发放年月", listed.output)
    assert "person_death  死亡日期（多源）" in listed.output and "death_date, death_source" in listed.output


def test_reads_the_canonical_cache_a_run_keeps(project, sample_city):
    config = ProjectConfig.load(project)
    with Delivery.open(config, sample_city, SAMPLE_AS_OF):
        pass
    with Delivery.open(config, sample_city, SAMPLE_AS_OF) as again:   # the entry the first one kept, if not an earlier run's
        assert again.from_cache
        assert _rows(again.ask("SELECT count(*) FROM pension_payments"))[0][0] > 1000
