"""Compiler (CTEs, parameters, Spark) and runner API (skips, errors, overrides, findings schema)."""
from __future__ import annotations

import hashlib
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot

from crosscheck.engines import dialect
from crosscheck.catalog import load_catalog
from crosscheck.results import FINDINGS_SCHEMA
from crosscheck.rules import load_ruleset, run_rule, run_rules
from crosscheck.rules.testing import connect, create_tables

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
RULESET = load_ruleset(ROOT / "rules", CATALOG)
from conftest import CORE_RULES
ALL = {t: None for t in CATALOG.tables}
PID = "110101194001011234"


@pytest.mark.parametrize("rule_id", CORE_RULES)
def test_core_rule_transpiles_to_spark(rule_id):
    compiled = RULESET[rule_id].compile()
    spark = compiled.sql("spark")
    sqlglot.parse_one(spark, read="spark")  # and parses back
    assert "$" not in spark.replace("'$", "")
    for p in compiled.parameters:
        assert f":{p}" in spark


@pytest.mark.parametrize("rule_id", CORE_RULES)
def test_core_rule_is_select_only_named_ctes(rule_id):
    compiled = RULESET[rule_id].compile()
    tree = sqlglot.parse_one(compiled.sql(), read="duckdb")
    assert isinstance(tree, sqlglot.exp.Select)
    assert dialect.forbidden_constructs(tree) == []
    names = [c.alias for c in tree.find_all(sqlglot.exp.CTE)]
    assert names[-1] == RULESET[rule_id].spec.steps[-1].name
    assert [c.name for c in compiled.ctes] == names


def test_parameters_are_bound_and_cast_never_formatted():
    compiled = RULESET["pension_no_sign_of_life"].compile()
    sql = compiled.sql()
    assert set(compiled.parameters) == {"as_of", "min_age", "window_days"}
    assert "CAST($min_age AS BIGINT)" in sql and "CAST($as_of AS DATE)" in sql
    assert "80" not in sql and "365" not in sql


def test_views_are_prefixed_ctes_and_optional_table_becomes_empty():
    rule = RULESET["pension_paid_after_death"]
    full = rule.compile()
    assert full.views == ["person_profile", "person_death"] or set(full.views) == {"person_profile", "person_death"}
    names = [c.name for c in full.ctes]
    assert "person_death__death_events" in names and "person_death" in names
    assert full.tables == {"pension_payments", "residents", "inpatient", "pensioners"}
    assert full.optional == {"inpatient", "pensioners"}  # residents is required by person_death
    degraded = rule.compile({"inpatient"})
    assert degraded.ctes[0].name == "inpatient" and "WHERE" in degraded.sql() and "FALSE" in degraded.sql()


def _db(given):
    con = connect()
    create_tables(con, CATALOG, given)
    return con


DEAD = {
    "residents": [{"person_id": PID, "name": "王建国", "death_date": "2024-03-15", "population_status": "死亡"}],
    "pensioners": [{"person_id": PID, "name": "王建国", "scheme": "企业职工基本养老保险", "district": "东城区"}],
    "pension_payments": [
        {"person_id": PID, "scheme": "企业职工基本养老保险", "pay_month": "2024-04", "amount": "3215.40"},
        {"person_id": PID, "scheme": "城乡居民基本养老保险", "pay_month": "2024-04", "amount": "100"},
    ],
}


def test_run_rules_end_to_end_findings_schema_and_outcomes():
    con = _db(DEAD)
    outcomes, findings = run_rules(con, RULESET, available=ALL, as_of=date(2024, 7, 1))
    assert findings.schema.equals(FINDINGS_SCHEMA)
    by_rule = {o.rule_id: o for o in outcomes}
    assert set(CORE_RULES) <= set(by_rule)
    assert all(o.status == "ok" for o in outcomes), [(o.rule_id, o.reason) for o in outcomes]
    o = by_rule["pension_paid_after_death"]
    assert o.findings == 1 and o.amount_at_risk == pytest.approx(3315.40)
    assert o.version == hashlib.sha256(RULESET["pension_paid_after_death"].path.read_bytes()).hexdigest()
    assert o.sql.startswith("WITH") and o.title_zh == "死亡后仍发放养老金" and o.domain == "pension"
    rows = [r for r in findings.to_pylist() if r["rule_id"] == "pension_paid_after_death"]
    assert rows[0]["amount_at_risk"] == Decimal("3315.40")
    assert rows[0]["subject"] == PID and rows[0]["discriminator"] == ""
    assert rows[0]["evidence"] == "死亡日期 2024-03-15（户籍死亡日期），死亡后发放 1 个月（2024-04 至 2024-04），合计 3315.40 元"
    assert '"total": "3315.40"' in rows[0]["evidence_json"]
    assert rows[0]["sources"] == "pension_payments.csv:2; pension_payments.csv:3; residents.csv:2"
    assert by_rule["pension_duplicate_schemes"].findings == 1


def test_skipped_rule_names_the_table_and_reason():
    con = _db(DEAD)
    available = dict(ALL, taps="transit_card folder missing from the delivery")
    outcomes, _ = run_rules(con, RULESET, available=available, as_of=date(2024, 7, 1),
                            only=["transit_card_used_after_death", "pension_paid_after_death"])
    o = {x.rule_id: x for x in outcomes}
    assert o["transit_card_used_after_death"].status == "skipped"
    assert o["transit_card_used_after_death"].reason == "needs taps: transit_card folder missing from the delivery"
    assert o["pension_paid_after_death"].status == "ok"


def test_optional_table_missing_runs_and_says_so():
    con = _db(DEAD)
    outcome, table = run_rule(con, RULESET["pension_paid_after_death"], available=dict(ALL, inpatient="hospital missing"),
                              as_of=date(2024, 7, 1))
    assert outcome.status == "ok" and table.num_rows == 1
    assert "inpatient" in outcome.reason


def test_failed_rule_does_not_stop_others(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "pension" / "boom.yaml").write_text(
        "id: boom\ntitle: {zh: 炸, en: Boom}\nseverity: low\nsteps:\n  - name: f\n"
        "    sql: SELECT person_id, CAST(scheme AS INTEGER) AS n FROM pensioners\n"
        "evidence:\n  fields: {n: integer}\n  template: '{n}'\n", encoding="utf-8")
    ruleset = load_ruleset(rules, CATALOG)
    con = _db(DEAD)
    outcomes, findings = run_rules(con, ruleset, available=ALL, as_of=date(2024, 7, 1))
    o = {x.rule_id: x for x in outcomes}
    assert o["boom"].status == "failed" and "Conversion" in o["boom"].reason
    assert o["pension_paid_after_death"].status == "ok" and findings.num_rows >= 1


def test_unknown_rule_or_parameter_raises_before_running():
    con = _db(DEAD)
    with pytest.raises(ValueError, match="unknown rule id"):
        run_rules(con, RULESET, available=ALL, as_of=date(2024, 7, 1), only=["no_such_rule"])
    with pytest.raises(ValueError, match="unknown parameter 'min_ag'"):
        run_rules(con, RULESET, available=ALL, as_of=date(2024, 7, 1), overrides={"pension_no_sign_of_life": {"min_ag": 70}})
    with pytest.raises(ValueError, match="expected an integer"):
        run_rules(con, RULESET, available=ALL, as_of=date(2024, 7, 1), overrides={"pension_no_sign_of_life": {"min_age": "old"}})
    with pytest.raises(ValueError, match="unknown rule"):
        run_rules(con, RULESET, available=ALL, as_of=date(2024, 7, 1), overrides={"nope": {}})


def test_override_changes_effective_parameters():
    con = _db({"pensioners": [{"person_id": "110101195001011234", "name": "张伟", "scheme": "企业职工基本养老保险"}],
               "pension_payments": [{"person_id": "110101195001011234", "scheme": "企业职工基本养老保险", "pay_month": "2024-06", "amount": 10}]})
    base, t0 = run_rule(con, RULESET["pension_no_sign_of_life"], available=ALL, as_of=date(2024, 7, 15))
    assert base.parameters == {"min_age": 80, "window_days": 365} and t0.num_rows == 0
    over, t1 = run_rule(con, RULESET["pension_no_sign_of_life"], available=ALL, as_of=date(2024, 7, 15), overrides={"min_age": "70"})
    assert over.parameters["min_age"] == 70 and t1.num_rows == 1


def test_ruleset_select_validates_before_running():
    assert RULESET.select() == [r for r in RULESET.ids]
    assert RULESET.select(["pension_identity_mismatch"], {"pension_identity_mismatch": {"unlike_below": "0.3"}}) == ["pension_identity_mismatch"]
    with pytest.raises(ValueError, match="unknown rule id"):
        RULESET.select(["x"])
    with pytest.raises(ValueError, match="expected a number"):
        RULESET.select(None, {"pension_identity_mismatch": {"unlike_below": "high"}})
