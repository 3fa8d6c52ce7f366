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
