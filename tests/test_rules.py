"""Every rule's embedded tests, run through the real compiler and runner (one parametrised test)."""
from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.catalog import load_catalog
from crosscheck.rules import load_ruleset
from crosscheck.rules.testing import embedded_tests, run_test

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
RULESET = load_ruleset(ROOT / "rules", CATALOG)
CASES = embedded_tests(RULESET)


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{r.id}::{t.name}" for r, t in CASES])
def test_embedded(rule, case):
    result = run_test(rule, case)
    assert result.passed, f"{rule.path}: {result.message}"


def test_harness_detects_wrong_expectations():
    rule = RULESET["pension_paid_after_death"]
    positive = next(t for t in rule.spec.tests if t.expect)
    wrong_amount = positive.model_copy(update={"expect": [{**positive.expect[0], "amount_at_risk": 1}]})
    assert not run_test(rule, wrong_amount).passed
    nothing_expected = positive.model_copy(update={"expect": []})
    result = run_test(rule, nothing_expected)
    assert not result.passed and "unexpected finding" in result.message
    negative = next(t for t in rule.spec.tests if not t.expect and t.expect_status == "ok")
    assert not run_test(rule, negative.model_copy(update={"expect": [{"person_id": "x"}]})).passed


def test_description_is_english_text_or_chinese_and_english():
    from crosscheck.rules.spec import Description

    assert Description.model_validate("Pension paid after death.") == Description(en="Pension paid after death.")
    assert Description.model_validate({"zh": "死亡后仍发放养老金。", "en": "Pension paid."}).zh == "死亡后仍发放养老金。"
    assert all(r.spec.description.zh.strip() for r in RULESET if r.spec.status == "stable")


def test_outcome_carries_both_descriptions():
    import duckdb

    from crosscheck.rules.runner import run_rule
    from crosscheck.rules.testing import create_tables

    rule = RULESET["pension_paid_after_death"]
    con = duckdb.connect(":memory:")
    create_tables(con, CATALOG, {})
    outcome, _ = run_rule(con, rule, available={t: None for t in CATALOG.tables}, as_of=rule.spec.tests[0].as_of)
    assert outcome.description.startswith("The registry gives a date of death")
    assert outcome.description_zh.startswith("户籍给出了死亡日期")
