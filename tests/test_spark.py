"""The same rules on Spark: identical findings to DuckDB, portability caught at lint time.

The Spark tests share one local Spark session (start-up costs 10-20 s) and skip,
saying why, when pyspark or Java 17+ is missing. The lint tests need neither.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crosscheck.engines import dialect
from crosscheck.catalog import load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.rules import collect_ruleset
from crosscheck.cli.rules import rules_app
from crosscheck.pipeline.run import RunError, RunRequest, RunSession
from crosscheck.engines.spark import unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
AS_OF = date(2026, 11, 1)
COMPARED = ["rule_id", "subject", "person_id", "name", "district", "severity", "amount_at_risk",
            "evidence", "evidence_json", "discriminator", "sources"]

# pyspark 4.x warns that pandas 3 is not yet fully supported; crosscheck's pandas UDF is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

SPARK_MISSING = unavailable_reason(ProjectConfig.load())
needs_spark = pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark tests skipped: {SPARK_MISSING}")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every test here, started as crosscheck starts it."""
    if SPARK_MISSING:
        pytest.skip(f"Spark tests skipped: {SPARK_MISSING}")
    from crosscheck.engines.spark import start_session

    session, _ = start_session(ProjectConfig.load())
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_engine(spark, tmp_path_factory):
    from crosscheck.engines.spark import SparkEngine

    engine = SparkEngine(spark, tmp_path_factory.mktemp("spark-work"))
    yield engine
    engine.close()


# ------------------------------------------------------------------ lint (no Spark needed)

PORTABILITY_RULE = """\
id: not_portable
title: {zh: 不可移植, en: Not portable}
severity: low
status: experimental
steps:
  - name: matched
    sql: |
      SELECT person_id, name
      FROM residents
      WHERE regexp_full_match(name, '张.*')
output:
  name: name
evidence:
  fields:
    name: text
  template: "{name}"
"""


def _rules_with(tmp_path: Path, text: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    (rules / "test" / "not_portable.yaml").write_text(text, encoding="utf-8")
    return rules


def test_unsupported_function_fails_spark_lint_with_file_line_and_function(tmp_path):
    rules = _rules_with(tmp_path, PORTABILITY_RULE)
    _, problems = collect_ruleset(rules, CATALOG, lint=True, engine="spark")
    spark_problems = [p for p in problems if "not portable to spark" in p.message]
    assert len(spark_problems) == 1, "\n".join(map(str, problems))
    p = spark_problems[0]
    assert p.file.endswith("not_portable.yaml")
    assert p.line == 10  # the line of the call inside the `sql: |` block
    assert "regexp_full_match()" in p.message and "regexp_matches" in p.message
    # the same rule is fine for DuckDB
    _, duck = collect_ruleset(rules, CATALOG, lint=True, engine="duckdb")
    assert not [q for q in duck if "not portable" in q.message]


def test_rules_lint_engine_spark_cli(tmp_path):
    rules = _rules_with(tmp_path, PORTABILITY_RULE)
    runner = CliRunner()
    args = ["--rules-dir", str(rules), "--connectors-dir", str(ROOT / "connectors")]
    bad = runner.invoke(rules_app, ["lint", "--engine", "spark", *args])
    assert bad.exit_code == 1
    assert "not_portable.yaml:10: steps.0.sql: not portable to spark: regexp_full_match()" in bad.output
    ok = runner.invoke(rules_app, ["lint", "--engine", "duckdb", *args])
    assert "not portable" not in ok.output


def test_gaps_in_output_and_evidence_expressions_are_named(tmp_path):
    text = PORTABILITY_RULE.replace("WHERE regexp_full_match(name, '张.*')", "WHERE name LIKE '张%'").replace(
        "    name: text\n", "    name: text\n    h: {expr: 'typeof(name)', format: text}\n")
    rules = _rules_with(tmp_path, text)
    _, problems = collect_ruleset(rules, CATALOG, lint=True, engine="spark")
    found = [p for p in problems if "not portable" in p.message]
    assert len(found) == 1 and found[0].field == "evidence.fields.h" and "typeof()" in found[0].message


def test_repository_rules_are_spark_portable():
    _, problems = collect_ruleset(ROOT / "rules", CATALOG, lint=True, engine="spark")
    assert [p for p in problems if "spark" in p.message.lower()] == []


def test_unknown_engine_is_refused(sample_city):
    with pytest.raises(RunError, match="engine 'flink'"):
        RunSession(RunRequest(extracts=sample_city, as_of=AS_OF, record=False, engine="flink"))


def test_missing_java_is_reported_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    reason = unavailable_reason(ProjectConfig.load())
    if reason and "pyspark is not installed" in reason:
        pytest.skip(reason)
    assert reason is not None and "Java 17" in reason


def test_engine_settings_from_crosscheck_toml(tmp_path):
    (tmp_path / "crosscheck.toml").write_text(
        '[crosscheck]\nengine = "spark"\nspark_remote = "sc://spark.example:15002"\nspark_work_dir = "/shared/crosscheck"\n'
        '[crosscheck.spark_conf]\n"spark.executor.memory" = "8g"\n', encoding="utf-8")
    config = ProjectConfig.load(tmp_path)
    assert config.engine == "spark" and config.spark_remote == "sc://spark.example:15002"
    assert config.spark_work_dir == Path("/shared/crosscheck")
    from crosscheck.engines.spark import spark_conf

    conf = spark_conf(config)
    assert conf["spark.executor.memory"] == "8g" and conf["spark.ui.enabled"] == "false"


# ------------------------------------------------------------------ on Spark


@needs_spark
def test_parameters_are_bound_by_spark(spark_engine):
    columns, rows = spark_engine.query("SELECT CAST(:n AS BIGINT) + 1 AS x, CAST(:d AS DATE) AS d", {"n": 41, "d": AS_OF})
    assert columns == ["x", "d"] and rows == [(42, AS_OF)]
    columns, rows = spark_engine.query("SELECT CAST(:s AS STRING) AS s", {"s": "x'; DROP TABLE t; --"})
    assert rows == [("x'; DROP TABLE t; --",)]


@needs_spark
def test_name_similarity_udf_scores_identically(spark_engine):
    from crosscheck.engines.similarity import name_similarity

    pairs = [("张伟", "张维"), ("张伟", "李娜"), ("SMITH JOHN", "John Smith"), ("张伟", "ZHANGWEI"),
             ("阿依古丽·买买提", "买买提·阿依古丽"), ("王芳", "王芳"), (None, "王芳"), ("", "")]
    values = ", ".join(f"({i}, CAST(:a{i} AS STRING), CAST(:b{i} AS STRING))" for i in range(len(pairs)))
    params = {**{f"a{i}": a for i, (a, _) in enumerate(pairs)}, **{f"b{i}": b for i, (_, b) in enumerate(pairs)}}
    _, rows = spark_engine.query(
        f"SELECT i, name_similarity(a, b) AS s FROM VALUES {values} AS t(i, a, b) ORDER BY i", params, udfs=["name_similarity"])
    assert [s for _, s in rows] == [name_similarity(a, b) for a, b in pairs]


DEDUPE_RULE = """\
id: resident_duplicates
title: {zh: 疑似重复户籍, en: Residents registered twice}
severity: low
status: experimental
parameters:
  max_pairs: {type: integer, default: 5000}
steps:
  - name: pairs
    fuzzy_join:
      left: residents
      id: person_id
      block_on: [[district], [birth_date]]
      compare:
        - {left: name, scorer: name, weight: 2}
        - {left: relation_to_head, scorer: jaro_winkler}
        - {left: household_no, scorer: levenshtein}
        - {left: ethnicity, scorer: ratio}
        - {left: address, scorer: token_set}
        - {left: cancel_reason, scorer: token_sort}
        - {left: birth_date, scorer: date}
        - {left: gender, scorer: exact}
      min_score: 0.3
      max_candidate_pairs: $max_pairs
output:
  subject: left_person_id          # a pair: its two identity numbers, each as it is (a masked run masks them)
  discriminator: right_person_id
  person_id: left_person_id
  name: left_name
evidence:
  fields: {match_score: number, score_name: number, score_relation_to_head: number, score_household_no: number,
           score_ethnicity: number, score_address: number, score_cancel_reason: number, score_birth_date: number,
           score_gender: number}
  template: "{match_score} {score_name} {score_relation_to_head} {score_household_no} {score_ethnicity} {score_address} {score_cancel_reason} {score_birth_date} {score_gender}"
"""


def _residents_with_near_duplicates(n: int = 60) -> list[dict]:
    """Residents in three districts, a third of them entered again with typos (and some NULLs)."""
    import random

    rng = random.Random(11)
    surnames, given = "张王李赵刘陈杨黄", ["伟", "芳", "秀英", "建国", "小明", "丽", "Wei Zhang", "阿依古丽·买买提"]
    rows = []
    for i in range(n):
        row = {"person_id": f"1101011950{i:04d}{rng.randint(1000, 9999)}", "name": rng.choice(surnames) + rng.choice(given),
               "birth_date": f"19{rng.randint(40, 60)}-0{rng.randint(1, 9)}-1{rng.randint(0, 2)}",
               "district": rng.choice(["东城区", "西城区", "朝阳区"]), "gender": rng.choice(["男", "女", None]),
               "address": f"{rng.choice(['和平路', '解放街', 'Main St'])} {rng.randint(1, 99)} 号", "household_no": f"H {i % 7} {rng.randint(1, 3)}",
               "relation_to_head": rng.choice(["户主", "配偶", "之子", "长女"]), "ethnicity": rng.choice(["汉族", "回族", "维吾尔族", None]),
               "cancel_reason": rng.choice(["迁出 外省", "死亡 注销", None])}
        rows.append(row)
        if i % 3 == 0:
            twin = dict(row, person_id=row["person_id"][:-2] + "00", name=row["name"][::-1] if i % 2 else row["name"] + "某",
                        birth_date=f"{row['birth_date'][:4]}-{row['birth_date'][8:]}-{row['birth_date'][5:7]}" if i % 6 == 0 else None,
                        address=" ".join(reversed(row["address"].split())), household_no=row["household_no"][::-1],
                        relation_to_head="户主" if i % 2 else row["relation_to_head"], ethnicity=(row["ethnicity"] or "")[:-1] or None,
                        cancel_reason=" ".join(reversed((row["cancel_reason"] or "").split())) or None)
            rows.append(twin)
    return rows


@needs_spark
def test_fuzzy_join_scores_and_pairs_identical_on_spark(spark_engine, tmp_path):
    """A fuzzy_join using every scorer, blocking guard included: the same pairs, scores and
    evidence on Spark (pandas UDFs) as on DuckDB (Arrow UDFs)."""
    import duckdb

    from crosscheck.rules import load_ruleset
    from crosscheck.rules.runner import run_rule
    from crosscheck.rules.testing import create_tables

    folder = tmp_path / "rules" / "linkage"
    folder.mkdir(parents=True)
    (folder / "resident_duplicates.yaml").write_text(DEDUPE_RULE, encoding="utf-8")
    rule = load_ruleset(tmp_path / "rules", CATALOG)["resident_duplicates"]
    assert not dialect.engine_problems(rule.compile().tree, "spark")
    con = duckdb.connect()  # not locked down: it writes the Parquet Spark reads
    create_tables(con, CATALOG, {"residents": _residents_with_near_duplicates()})
    spark_engine.publish(con, "residents")
    available = {t: None for t in CATALOG.tables}
    try:
        duck_outcome, duck = run_rule(con, rule, available=available, as_of=AS_OF)
        spark_outcome, spk = run_rule(spark_engine, rule, available=available, as_of=AS_OF)
        assert duck_outcome.status == "ok" and spark_outcome.status == "ok", spark_outcome.reason
        assert spark_outcome.reason == duck_outcome.reason and "candidate pairs" in duck_outcome.reason
        assert duck.num_rows > 20
        rows = lambda t: sorted(tuple(str(r[c]) for c in COMPARED) for r in t.select(COMPARED).to_pylist())  # noqa: E731
        assert rows(spk) == rows(duck)
        # the guard refuses the same explosion on both engines
        over = {"max_pairs": 10}
        refused = [run_rule(e, rule, available=available, as_of=AS_OF, overrides=over)[0] for e in (con, spark_engine)]
        assert [o.status for o in refused] == ["failed", "failed"] and refused[0].reason == refused[1].reason
    finally:
        spark_engine.unpublish("residents")
        con.close()


@needs_spark
def test_scorer_udfs_score_identically(spark_engine):
    """Each fuzzy_join scorer UDF on Spark gives DuckDB's scores, NULL where a side is NULL."""
    import duckdb

    from crosscheck.engines import scorers

    pairs = [("张伟", "张维"), ("Main St 12", "12 Main St"), ("1950-03-04", "1950-04-03"), (None, "x"), ("", ""),
             ("abcdef", "abcfed"), ("阿依古丽·买买提", "买买提 阿依古丽")]
    values = ", ".join(f"({i}, CAST(:a{i} AS STRING), CAST(:b{i} AS STRING))" for i in range(len(pairs)))
    params = {**{f"a{i}": a for i, (a, _) in enumerate(pairs)}, **{f"b{i}": b for i, (_, b) in enumerate(pairs)}}
    con = duckdb.connect()
    scorers.register(con)
    for name in [n for n, signature in dialect.UDFS.items() if signature.endswith("DOUBLE")]:
        _, rows = spark_engine.query(f"SELECT i, {name}(a, b) FROM VALUES {values} AS t(i, a, b) ORDER BY i", params, udfs=[name])
        expected = [con.execute(f"SELECT {name}(?::VARCHAR, ?::VARCHAR)", [a, b]).fetchone()[0] for a, b in pairs]
        assert [s for _, s in rows] == expected, name
        assert rows[3][1] is None, name
    con.close()


@needs_spark
def test_ordered_lists_keep_duckdb_order_on_spark(spark_engine):
    """sqlglot drops ORDER BY inside list() for Spark; the dialect layer keeps it."""
    import duckdb

    data = "SELECT * FROM (VALUES (1, 'b', 3, NULL), (1, 'a', NULL, 2), (1, NULL, 1, 5), (1, 'c', 1, 1), (2, 'x', 5, 5), (1, 'a', 2, 9)) t(g, x, k, j)"
    sql = f"""WITH t AS ({data})
      SELECT g, list(x ORDER BY x) a, list(x ORDER BY k, j DESC) b, list(DISTINCT x ORDER BY x DESC) c,
             list(x ORDER BY k NULLS FIRST, x) FILTER (WHERE j > 1) d, list(j ORDER BY k DESC NULLS LAST, j) e,
             string_agg(x, ',' ORDER BY x) f, string_agg(DISTINCT x, '、' ORDER BY x) h,
             string_agg(DISTINCT CAST(k AS VARCHAR), '、' ORDER BY CAST(k AS VARCHAR) DESC) i,
             string_agg(x, ';' ORDER BY j DESC) FILTER (WHERE k > 1) m
      FROM t GROUP BY g ORDER BY g"""
    tree = dialect.parse(sql)[0]
    expected = duckdb.sql(dialect.transpile(tree, "duckdb")).fetchall()
    _, rows = spark_engine.query(dialect.transpile(tree, "spark"), {})
    assert rows == expected


#: One DuckDB example per SPARK_GAPS entry: each must fail on Spark, or give another answer.
GAP_EXAMPLES = {
    "RegexpFullMatch": "regexp_full_match('abc', 'a.*')",
    "SimilarTo": "'abc' SIMILAR TO 'a.*'",
    "Glob": "'abc' GLOB 'a*'",
    "ArrayOverlaps": "list_has_any([1, 2], [2])",
    "JarowinklerSimilarity": "jaro_winkler_similarity('abc', 'abd')",
    "DateBin": "time_bucket(INTERVAL 1 DAY, TIMESTAMP '2024-01-01 10:00:00')",
    "Week": "week(DATE '2024-01-01')",
    "PercentileCont": "quantile_cont(1, 0.5)",
    "DateAdd": "date_add(DATE '2024-01-01', INTERVAL 3 DAY)",
    "DateDiff": "date_diff('month', DATE '2024-01-31', DATE '2024-02-01')",
    "DayOfWeek": "dayofweek(DATE '2024-01-01')",
    "DayOfWeekIso": "isodow(DATE '2024-01-01')",
    "Dayname": "dayname(DATE '2024-01-01')",
    "Monthname": "monthname(DATE '2024-01-01')",
    "Typeof": "typeof(1)",
    "Format": "format('{}', 1)",
}


def test_every_gap_has_an_example():
    assert set(GAP_EXAMPLES) == set(dialect.SPARK_GAPS)
    for name, example in GAP_EXAMPLES.items():
        tree = dialect.parse(f"SELECT {example} AS v")[0]
        assert [p for p in dialect.engine_problems(tree, "spark")], name


@needs_spark
@pytest.mark.parametrize("name", sorted(GAP_EXAMPLES))
def test_spark_gap_is_real(spark_engine, name):
    import duckdb

    tree = dialect.parse(f"SELECT {GAP_EXAMPLES[name]} AS v")[0]
    expected = duckdb.sql(tree.sql(dialect="duckdb")).fetchall()[0][0]
    spark_sql = tree.sql(dialect="spark")  # what sqlglot alone would write
    try:
        _, rows = spark_engine.query(spark_sql, {})
    except Exception:
        return  # Spark has no such function
    assert rows[0][0] != expected, f"{name}: Spark gives the same answer; remove it from SPARK_GAPS"


@needs_spark
def test_name_character_udfs_are_identical(spark_engine):
    """The name linker's per-character functions give DuckDB's values on Spark."""
    import duckdb

    from crosscheck.engines import characters

    chars = ["建", "健", "绿", "金", "全", "?", "□", "䶮", None, "a"]
    values = ", ".join(f"({i}, CAST(:c{i} AS STRING))" for i in range(len(chars)))
    params = {f"c{i}": c for i, c in enumerate(chars)}
    con = duckdb.connect()
    characters.register(con)
    for name in characters.KERNELS:
        _, rows = spark_engine.query(f"SELECT i, {name}(c) FROM VALUES {values} AS t(i, c) ORDER BY i", params, udfs=[name])
        assert [v for _, v in rows] == [con.execute(f"SELECT {name}(?::VARCHAR)", [c]).fetchone()[0] for c in chars], name
    con.close()


CANDIDATES_RULE = """\
id: subsidy_name_candidates
title: {zh: 补贴领取人候选, en: Candidates of subsidy recipients}
severity: low
status: experimental
steps:
  - name: candidates
    link_names: {records: subsidy_payments, name: name, township: township, village: village,
                 neighbouring: true, rows: candidates}
output: {subject: "township || '|' || doc_no", person_id: candidate_id, name: candidate_name, discriminator: "coalesce(candidate_id, '')"}
evidence:
  fields: {link_status: text, link_person_id: text, candidate_match: text, candidate_from: text, candidate_to: text,
           candidate_village: text}
  template: "{link_status} {candidate_match}"
"""


@needs_spark
def test_link_names_step_is_identical_on_spark(spark_engine, tmp_path):
    """The link_names step on Spark: the example rule's findings, and every candidate row (one per
    record and candidate, 邻村 included), as on DuckDB."""
    import duckdb

    from crosscheck.rules import load_ruleset
    from crosscheck.rules.runner import run_rule
    from crosscheck.rules.testing import create_tables

    folder = tmp_path / "rules" / "names"
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "rules" / "_views", tmp_path / "rules" / "_views")
    fixture = ROOT / "tests" / "rule_fixtures" / "subsidy_name_points_to_deceased.yaml"
    shutil.copy(fixture, folder / fixture.name)
    (folder / "subsidy_name_candidates.yaml").write_text(CANDIDATES_RULE, encoding="utf-8")
    ruleset = load_ruleset(tmp_path / "rules", CATALOG)
    example, candidates = ruleset["subsidy_name_points_to_deceased"], ruleset["subsidy_name_candidates"]
    available = {t: None for t in CATALOG.tables}
    rows = lambda t: sorted(tuple(str(r[c]) for c in COMPARED) for r in t.select(COMPARED).to_pylist())  # noqa: E731
    given = {"residents": [], "subsidy_payments": []}
    for k, case in enumerate(example.spec.tests):
        for table, items in case.given.items():  # every case in a township of its own, for the candidates rule
            given[table] += [{**row, "township": f"{row['township']}{k}"} for row in items]
    # Spark takes seconds a query: the example rule on its first (same-sound) and last-but-one (look-alike
    # table, lost character) cases; the candidates rule on all the cases at once, with a namesake next door
    cases = [(example, case.given, case.as_of, case.params) for case in (example.spec.tests[0], example.spec.tests[-2])]
    given["residents"].append({"person_id": "110101195001031238", "name": "王建平", "township": "石花镇4", "village": "东瓜村"})
    cases.append((candidates, given, AS_OF, {}))
    for rule, data, as_of, params in cases:
        con = duckdb.connect()
        create_tables(con, CATALOG, data)
        tables = sorted(rule.compile().tables)
        for table in tables:
            spark_engine.publish(con, table)
        try:
            duck_outcome, duck = run_rule(con, rule, available=available, as_of=as_of, overrides=params)
            spark_outcome, spk = run_rule(spark_engine, rule, available=available, as_of=as_of, overrides=params)
            assert duck_outcome.status == spark_outcome.status == "ok", spark_outcome.reason
            assert rows(spk) == rows(duck), rule.id
        finally:
            for table in tables:
                spark_engine.unpublish(table)
            con.close()
    assert duck.num_rows > 8 and "邻村" not in str(rows(duck)) and "东瓜村" in str(rows(duck))
