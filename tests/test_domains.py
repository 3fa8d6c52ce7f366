"""Domain packs: the engine concepts (held, pairs, reconcile), skipping without a source, fund report rows."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from crosscheck.catalog import load_catalog
from crosscheck.results import FINDINGS_SCHEMA
from crosscheck.rules import load_ruleset, run_rule
from crosscheck.rules.concepts import HeldInMonth, Pairs, Reconcile
from crosscheck.rules.spec import Step
from crosscheck.rules.testing import connect, create_tables
from crosscheck.reports.funds import fund_rows

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
RULESET = load_ruleset(ROOT / "rules", CATALOG)
DOMAIN_RULES = [
    "dibao_paid_after_head_death", "dibao_member_on_public_payroll", "dibao_member_owns_car",
    "dibao_member_runs_enterprise", "dibao_cadre_household_unfiled", "subsidy_area_exceeds_contract",
    "subsidy_paid_to_deceased", "fund_retained", "fund_not_delivered", "medical_duplicate_exam",
    "medical_split_admission", "medical_overlapping_stays", "payroll_paid_after_death", "pension_while_on_payroll",
]
DOMAIN_FOLDERS = {"civil_affairs", "agriculture", "funds", "medical", "payroll"}


@pytest.mark.parametrize("rule_id", DOMAIN_RULES)
def test_domain_rule_files(rule_id):
    rule = RULESET[rule_id]
    assert rule.domain in DOMAIN_FOLDERS and rule.path.stem == rule_id and rule.spec.status == "stable"
    assert any(t.expect for t in rule.spec.tests) and any(not t.expect for t in rule.spec.tests)
    text = rule.path.read_text(encoding="utf-8")
    assert "!!python" not in text and "import " not in text   # pure YAML + SQL
    assert isinstance(yaml.safe_load(text), dict)


def test_fund_rules_have_no_person_subject():
    for rid in ("fund_retained", "fund_not_delivered"):
        out = RULESET[rid].spec.output
        assert out.person_id is None and out.subject == "subject"
        assert {"allocated", "disbursed", "delivered"} <= set(RULESET[rid].spec.evidence.fields)


def test_held_in_month_predicate():
    sql = HeldInMonth(month="m.month", start="v.registered_date", end="v.deregistered_date").predicate()
    assert "v.registered_date <= last_day(m.month)" in sql
    assert "v.deregistered_date IS NULL OR v.deregistered_date >= CAST(date_trunc('month', m.month) AS DATE)" in sql


def test_step_forms_are_exclusive():
    with pytest.raises(ValueError, match="needs 'select'"):
        Step.model_validate({"name": "x", "pairs": {"table": "exams", "earlier": "exam_date"}})
    with pytest.raises(ValueError, match="one of 'from', 'pairs', 'reconcile', 'window' or 'periods'"):
        Step.model_validate({"name": "x", "from": "exams", "select": ["*"],
                             "pairs": {"table": "exams", "earlier": "exam_date"}})
    with pytest.raises(ValueError, match="driver"):
        Reconcile.model_validate({"key": ["k"], "driver": "nope", "sums": {"a": {"from": "t", "value": "v"}, "b": {"from": "u", "value": "v"}}})
    with pytest.raises(ValueError, match="number of days or a \\$parameter"):
        Pairs.model_validate({"table": "exams", "earlier": "exam_date", "within_days": "7; DROP"})


def _con(given):
    con = connect()
    create_tables(con, CATALOG, given)
    return con


def test_missing_source_skips_only_the_rules_that_need_it():
    con = _con({})
    available = {t: None for t in CATALOG.tables}
    available["vehicles"] = "source folder vehicle_registry/ is not in the delivery"
    outcome, _ = run_rule(con, RULESET["dibao_member_owns_car"], available=available, as_of=date(2024, 7, 1))
    assert outcome.status == "skipped" and "needs vehicles" in outcome.reason
    outcome, _ = run_rule(con, RULESET["dibao_member_runs_enterprise"], available=available, as_of=date(2024, 7, 1))
    assert outcome.status == "ok"
    available["subsidy_payments"] = "source folder agriculture/ is not in the delivery"
    outcome, _ = run_rule(con, RULESET["fund_retained"], available=available, as_of=date(2024, 7, 1))
    assert outcome.status == "ok" and "ran without optional subsidy_payments" in outcome.reason
    outcome, _ = run_rule(con, RULESET["fund_not_delivered"], available=available, as_of=date(2024, 7, 1))
    assert outcome.status == "skipped" and "needs subsidy_payments" in outcome.reason


def test_fund_rows_for_the_report():
    ev = {"doc_no": "D1", "allocated": "300000.00", "disbursed": "200000.00", "delivered": "1250.00", "gap": "100000.00"}
    rows = {f.name: [] for f in FINDINGS_SCHEMA}
    for rid, subject, evidence in [("fund_retained", "D1|木兰乡", ev), ("pension_paid_after_death", "110", {"months": 2})]:
        for k in rows:
            rows[k].append(None)
        rows["rule_id"][-1], rows["subject"][-1] = rid, subject
        rows["evidence_json"][-1] = json.dumps(evidence, ensure_ascii=False)
    rows["amount_at_risk"][0] = __import__("decimal").Decimal("100000.00")
    out = fund_rows(pa.table(rows, schema=FINDINGS_SCHEMA).to_pylist())
    assert list(out) == ["fund_retained"]
    (r,) = out["fund_retained"]
    assert r["subject"] == "D1|木兰乡" and str(r["allocated"]) == "300000.00" and str(r["gap"]) == "100000.00"
