"""Fuzzy identity matching: name similarity (Chinese and Latin), the vectorised UDFs,
the fuzzy_join rule step with its blocking guard, and `crosscheck eval-linkage`."""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from crosscheck.catalog import load_catalog
from crosscheck.rules import load_ruleset
from crosscheck.rules.fuzzy import BlockingTooLarge
from crosscheck.rules.runner import candidate_pairs, check_blocking
from crosscheck.rules.spec import Rule
from crosscheck.rules.runner import run_rule
from crosscheck.rules.testing import connect, create_tables, run_tests
from crosscheck.engines.scorers import register, score
from crosscheck.engines.similarity import name_similarity, name_similarity_arrow

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
MATCH = 0.85      # what "the same name" must reach
NO_MATCH = 0.6    # what a different person must stay under

# ------------------------------------------------------------------ names

SAME_CHINESE = [
    ("张伟", "張偉"),                       # traditional -> simplified
    ("陈明", "陳明"),
    ("张伟", "张 伟"),                      # space inside
    ("张伟", "张\u3000伟"),                 # full-width space
    ("ＬＩ娜", "LI娜"),                     # full-width letters
    ("阿依古丽·买买提", "阿依古丽•买买提"),  # middle-dot variants
    ("阿依古丽·买买提", "阿依古丽.买买提"),
    ("阿依古丽·买买提", "阿依古丽・买买提"),
    ("阿依古丽·买买提", "阿依古丽．买买提"),
    ("阿依古丽·买买提", "阿依古丽 买买提"),
    ("阿依古丽·买买提", "买买提·阿依古丽"),  # parts in either order
]
HIGH_CHINESE = [
    ("张小明", "张晓明"),   # homophone typo (xiao)
    ("张伟", "张维"),       # homophone (wei)
    ("王建国", "王健国"),   # homophone (jian)
    ("刘德华", "刘德化"),   # homophone (hua)
]
DIFFERENT_CHINESE = [
    ("张伟", "李娜"),
    ("王芳", "赵磊"),
    ("陈明", "刘强"),
    ("张小明", "李大龙"),
    ("阿依古丽·买买提", "古丽娜尔·吐尔逊"),
]
SAME_LATIN = [
    ("John Smith", "Smith John"),          # token order
    ("JOHN SMITH", "john smith"),          # case
    ("JohnSmith", "Smith.John"),           # spaces removed by a connector
    ("J. Smith", "John Smith"),            # initial
    ("Smith, J.", "John Smith"),           # initial, surname first
    ("John  Smith", "John Smith"),
    ("Jon Smith", "John Smith"),           # one-letter typo
]
DIFFERENT_LATIN = [
    ("John Smith", "Maria Garcia"),
    ("J. Smith", "Mary Smith"),            # initial does not fit
    ("Peter Brown", "Paul Green"),
    ("Anna Lee", "Lee Min-ho"),
]


@pytest.mark.parametrize(("a", "b"), SAME_CHINESE)
def test_chinese_variants_are_one_name(a, b):
    assert name_similarity(a, b) == 1.0


@pytest.mark.parametrize(("a", "b"), HIGH_CHINESE)
def test_chinese_homophone_typo_scores_high(a, b):
    assert name_similarity(a, b) >= 0.8


@pytest.mark.parametrize(("a", "b"), DIFFERENT_CHINESE)
def test_different_chinese_names_do_not_match(a, b):
    assert name_similarity(a, b) < 0.5


@pytest.mark.parametrize(("a", "b"), SAME_LATIN)
def test_latin_same_name_matches(a, b):
    assert name_similarity(a, b) >= MATCH


@pytest.mark.parametrize(("a", "b"), DIFFERENT_LATIN)
def test_latin_different_names_do_not_match(a, b):
    assert name_similarity(a, b) < NO_MATCH


def test_homophone_ranks_above_unrelated_and_symmetry():
    assert name_similarity("张小明", "张晓明") > name_similarity("张小明", "张大明") > name_similarity("张小明", "李娜")
    for a, b in SAME_LATIN + HIGH_CHINESE + DIFFERENT_CHINESE:
        assert name_similarity(a, b) == name_similarity(b, a)


def test_arrow_path_equals_scalar_and_handles_nulls():
    rnd = random.Random(3)
    pool = [x for p in SAME_CHINESE + HIGH_CHINESE + DIFFERENT_CHINESE + SAME_LATIN + DIFFERENT_LATIN for x in p] + ["", None]
    left = [rnd.choice(pool) for _ in range(500)]
    right = [rnd.choice(pool) for _ in range(500)]
    got = name_similarity_arrow(pa.array(left, pa.string()), pa.array(right, pa.string())).to_pylist()
    assert got == [name_similarity(a, b) for a, b in zip(left, right)]
    assert got[[i for i, (a, b) in enumerate(zip(left, right)) if a is None or b is None][0]] is None


def test_arrow_udf_scores_a_large_batch():
    surnames, given = "张王李赵刘陈杨黄周吴", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀英华"
    rnd = random.Random(5)
    names = ["".join([rnd.choice(surnames), rnd.choice(given), rnd.choice(given)]) for _ in range(200_000)]
    left = pa.array(names)
    right = pa.array(names[1:] + names[:1])
    out = name_similarity_arrow(left, right)  # speed is measured in make bench, not here
    assert len(out) == 200_000 and out.null_count == 0


# ------------------------------------------------------------------ scorers in DuckDB


def test_scorer_udfs_in_duckdb():
    con = connect()
    register(con)
    row = con.execute(
        "SELECT fz_jaro_winkler('martha', 'marhta'), fz_levenshtein('kitten', 'sitting'), fz_token_set('stanley street', 'street stanley'),"
        " fz_date('19151111', '19151111'), fz_date('19150311', '19151103'), fz_date(NULL, '1915'), fz_ratio('', ''),"
        " name_similarity('張偉', '张伟')"
    ).fetchall()[0]
    con.close()
    assert row[0] == pytest.approx(0.9611, abs=1e-3)
    assert row[1] == pytest.approx(1 - 3 / 7)
    assert row[2] == 1.0
    assert row[3] == 1.0 and row[4] == 0.8 and row[5] is None
    assert row[7] == 1.0


def test_score_function_matches_udf_names():
    out = score("fz_levenshtein", pa.array(["abc", None]), pa.array(["abd", "x"])).to_pylist()
    assert out[0] == pytest.approx(2 / 3) and out[1] is None


# ------------------------------------------------------------------ the fuzzy_join step

ROSTER_RULE = """
id: roster_link
title: {zh: 无身份证号名册与户籍匹配, en: Roster without identity numbers linked to the registry}
description: Pensioner roster rows linked to residents by name, birth date and district.
severity: low
status: experimental
parameters:
  min_score: {type: number, default: 0.85}
  max_pairs: {type: integer, default: 1000}
steps:
  - name: linked
    fuzzy_join:
      left: pensioners
      right: residents
      id: {left: personal_no, right: person_id}
      block_on:
        - [birth_date, district]
        - [{left: "substr(name, 1, 1)", right: "substr(name, 1, 1)"}, birth_date]
        - [name, district]
      compare:
        - {left: name, scorer: name, weight: 2}
        - {left: birth_date, scorer: date}
      keep: [district]
      min_score: $min_score
      max_candidate_pairs: $max_pairs
  - name: best
    sql: |
      SELECT left_personal_no, arg_max(right_person_id, match_score) AS person_id,
             arg_max(right_name, match_score) AS registry_name, any_value(left_name) AS roster_name,
             max(match_score) AS match_score, any_value(left_district) AS district
      FROM linked GROUP BY left_personal_no
output:
  subject: left_personal_no
  person_id: person_id
  name: roster_name
  district: district
evidence:
  fields:
    roster_name: text
    registry_name: text
    match_score: number
  template: "名册「{roster_name}」对应户籍「{registry_name}」，匹配分 {match_score}"
tests:
  - name: traditional characters and a homophone link, a stranger does not
    as_of: 2024-07-01
    given:
      pensioners:
        - {personal_no: P1, name: 張偉, birth_date: 1950-01-01, district: 东城区, scheme: x}
        - {personal_no: P2, name: 张晓明, birth_date: 1951-02-03, district: 西城区, scheme: x}
        - {personal_no: P3, name: 李娜, birth_date: 1950-01-01, district: 东城区, scheme: x}
      residents:
        - {person_id: "110101195001011234", name: 张伟, birth_date: 1950-01-01, district: 东城区}
        - {person_id: "110101195102031234", name: 张小明, birth_date: 1951-02-03, district: 西城区}
    expect:
      - {subject: P1, person_id: "110101195001011234", registry_name: 张伟, match_score: 1.0}
      - {subject: P2, person_id: "110101195102031234"}
  - name: a day-month swap with the same name links through the third blocking pass
    as_of: 2024-07-01
    given:
      pensioners:
        - {personal_no: P1, name: 王建国, birth_date: 1950-03-04, district: 东城区, scheme: x}
      residents:
        - {person_id: "110101195004031234", name: 王建国, birth_date: 1950-04-03, district: 东城区}
    params: {min_score: 0.9}
    expect:
      - {subject: P1, match_score: 0.93}
  - name: blocking over the limit errors
    as_of: 2024-07-01
    params: {max_pairs: 1}
    given:
      pensioners:
        - {personal_no: P1, name: 张伟, birth_date: 1950-01-01, district: 东城区, scheme: x}
      residents:
        - {person_id: "110101195001011234", name: 张伟, birth_date: 1950-01-01, district: 东城区}
        - {person_id: "110101195001012345", name: 张伟, birth_date: 1950-01-01, district: 东城区}
    expect_status: failed
"""

EXPLODING_RULE = """
id: roster_by_year
title: {zh: 按出生年分块, en: Blocking on birth year}
severity: low
parameters:
  limit: {type: integer, default: 10}
steps:
  - name: pairs
    fuzzy_join:
      left: pensioners
      right: residents
      id: {left: personal_no, right: person_id}
      block_on: ["year(birth_date)"]
      compare: [{left: name, scorer: name}]
      min_score: 0.9
      max_candidate_pairs: $limit
output: {subject: left_personal_no, person_id: right_person_id, discriminator: right_person_id}
evidence:
  fields: {match_score: number}
  template: "匹配分 {match_score}"
"""


def _ruleset(tmp_path: Path, *texts: str):
    folder = tmp_path / "rules" / "linkage"
    folder.mkdir(parents=True)
    for text in texts:
        rid = text.split("id: ", 1)[1].split("\n", 1)[0].strip()
        (folder / f"{rid}.yaml").write_text(text, encoding="utf-8")
    return load_ruleset(tmp_path / "rules", CATALOG)


def test_fuzzy_join_rule_embedded_tests(tmp_path):
    results = run_tests(_ruleset(tmp_path, ROSTER_RULE))
    assert len(results) == 3
    assert all(r.passed for r in results), "\n".join(str(r) for r in results if not r.passed)


def test_fuzzy_join_compiles_to_one_select_with_scores(tmp_path):
    rule = _ruleset(tmp_path, ROSTER_RULE)["roster_link"]
    sql = rule.compile().sql()
    sql = sql.lower()
    assert "name_similarity(" in sql and "fz_date(" in sql and "union all" in sql and "match_score" in sql
    assert len(rule.compile().fuzzy_guards) == 1


def _exploding(tmp_path, n: int = 6):
    rule = _ruleset(tmp_path, EXPLODING_RULE)["roster_by_year"]
    con = connect()
    given = {
        "pensioners": [{"personal_no": f"P{i}", "name": "张伟", "birth_date": f"1950-0{1 + i % 9}-01", "scheme": "x"} for i in range(n)],
        "residents": [{"person_id": f"R{i}", "name": "张伟", "birth_date": "1950-06-01"} for i in range(n)],
    }
    create_tables(con, CATALOG, given)
    return rule, con


def test_blocking_guard_refuses_an_exploding_rule(tmp_path):
    rule, con = _exploding(tmp_path)
    outcome, findings = run_rule(con, rule, available={t: None for t in CATALOG.tables}, as_of=date(2024, 7, 1))
    assert outcome.status == "failed" and findings.num_rows == 0
    assert outcome.reason == (
        "BlockingTooLarge: rule roster_by_year, step pairs: blocking on (year(birth_date)) would produce "
        "36 candidate pairs, over the limit 10 (max_candidate_pairs); block on more selective keys"
    )
    # the same rule within its limit runs, and says how many pairs it scored
    outcome, findings = run_rule(con, rule, available={t: None for t in CATALOG.tables}, as_of=date(2024, 7, 1), overrides={"limit": 36})
    assert outcome.status == "ok" and findings.num_rows == 36
    assert "pairs: blocking on (year(birth_date)): 36 candidate pairs" in outcome.reason
    con.close()


def test_blocking_count_api(tmp_path):
    rule, con = _exploding(tmp_path, n=50)
    counts = candidate_pairs(con, rule, as_of=date(2024, 7, 1))
    assert [(c.step, c.passes, c.limit) for c in counts] == [("pairs", [("(year(birth_date))", 2500)], 10)]
    with pytest.raises(BlockingTooLarge, match=r"would produce 2,500 candidate pairs, over the limit 10"):
        check_blocking(con, rule.id, rule.compile(), {"as_of": date(2024, 7, 1), "limit": 10})
    con.close()


def test_dedupe_counts_each_pair_once(tmp_path):
    text = EXPLODING_RULE.replace("      right: residents\n", "").replace("{left: personal_no, right: person_id}", "personal_no").replace(
        "left_personal_no, person_id: right_person_id, discriminator: right_person_id",
        "left_personal_no, discriminator: right_personal_no, person_id: null")  # a pair: its two account numbers, each as it is
    rule = _ruleset(tmp_path, text)["roster_by_year"]
    con = connect()
    create_tables(con, CATALOG, {"pensioners": [{"personal_no": f"P{i}", "name": "张伟", "birth_date": "1950-01-01", "scheme": "x"} for i in range(5)]})
    assert candidate_pairs(con, rule, as_of=date(2024, 7, 1))[0].total == 10
    outcome, findings = run_rule(con, rule, available={t: None for t in CATALOG.tables}, as_of=date(2024, 7, 1))
    assert outcome.status == "ok" and findings.num_rows == 10
    con.close()


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("max_candidate_pairs: $limit", "max_candidate_pairs: $nope"), "$nope is used but not declared"),
    (lambda t: t.replace("  - name: pairs\n", "  - name: pairs\n    sql: SELECT 1\n"), "fuzzy_join step has no 'sql'"),
    (lambda t: t.replace("scorer: name", "scorer: soundex"), "scorer"),
    (lambda t: t.replace("compare: [{left: name, scorer: name}]", "compare: [{left: 'upper(name)', scorer: name}]"), "needs a 'name'"),
])
def test_fuzzy_join_schema_errors(change, message):
    import yaml

    with pytest.raises(Exception, match=message.replace("$", r"\$")):
        Rule.model_validate(yaml.safe_load(change(EXPLODING_RULE)))


# ------------------------------------------------------------------ FEBRL evaluation

FEBRL = ROOT.parent / "shared" / "data" / "febrl"


def test_febrl_rules_embedded_tests():
    from devtools.linkage import load_ruleset as febrl_rules

    results = run_tests(febrl_rules())
    assert len(results) == 4 and all(r.passed for r in results), "\n".join(str(r) for r in results if not r.passed)


def test_febrl_rules_are_not_production_rules():
    assert not {"febrl4_link", "febrl3_dedup"} & set(load_ruleset(ROOT / "rules", CATALOG).ids)


@pytest.mark.skipif(not (FEBRL / "dataset4a.csv").is_file(), reason="FEBRL data not present")
def test_eval_linkage_febrl4_command(crosscheck_cmd):
    proc = subprocess.run([*crosscheck_cmd, "eval-linkage", "--dataset", "febrl4", "--data-dir", str(FEBRL)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    import re

    m = re.fullmatch(r"precision=(\d\.\d{4}) recall=(\d\.\d{4}) f1=(\d\.\d{4})", last)
    assert m, last
    assert float(m.group(3)) >= 0.95
    assert "candidate pairs" in proc.stdout


@pytest.mark.skipif(not (FEBRL / "dataset3.csv").is_file(), reason="FEBRL data not present")
def test_eval_linkage_febrl3_and_guard():
    from typer.testing import CliRunner

    from crosscheck.cli import app

    res = CliRunner().invoke(app, ["eval-linkage", "--dataset", "febrl3", "--data-dir", str(FEBRL), "--limit-entities", "500"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("precision=")
    res = CliRunner().invoke(app, ["eval-linkage", "--dataset", "febrl4", "--data-dir", str(FEBRL), "--param", "max_candidate_pairs=100"])
    assert res.exit_code == 2 and "over the limit 100" in res.output
