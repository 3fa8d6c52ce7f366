"""Masked means masked: what a value is comes from the catalog's declaration (never from a
field's name), follows the compiled rule to each evidence field, and is masked wherever
the value appears in a finding's or a quarantined row's texts."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from crosscheck.reports.alerts import overdue_entries
from crosscheck.catalog import load_catalog
from crosscheck.reports.common import finding_rows, quarantine_rows
from crosscheck.privacy.masking import (mask_account, mask_address, mask_card, mask_finding, mask_phone, mask_plate,
                                        mask_quarantine_row, mask_shape)
from crosscheck.results import FINDINGS_SCHEMA, QUARANTINE_SCHEMA, RuleOutcome, RunResult
from crosscheck.rules import load_ruleset
from crosscheck.yamlio import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
ID = "420202195001011234"
CARD, CARD2 = "3120000001007953", "3120000001004291"
HOSPITAL = "西塞山区人民医院"


# --- one mask per kind ---------------------------------------------------------------------

@pytest.mark.parametrize("mask, value, want", [
    (mask_card, CARD, "3120********7953"), (mask_card, "31200001", "31****01"), (mask_card, "123", "***"),
    (mask_plate, "鄂BE1844", "鄂B***44"), (mask_plate, "鄂A12345", "鄂A***45"), (mask_plate, "京A1234D", "京A***4D"),
    (mask_phone, "13812345678", "138****5678"), (mask_phone, "87654321", "87****21"),
    (mask_account, "4220000054", "42******54"),
    (mask_address, "黄石港区颐阳路123号5栋", "黄石港区***"), (mask_address, "阳新县广州路138号14栋", "阳新县***"),
    (mask_address, "湖北省黄石市黄石港区花湖街道胜利社区3号", "湖北省黄石市黄石港区花湖街道***"),
    (mask_address, "阳新县兴国镇王家村5组", "阳新县兴国镇***"), (mask_address, "黄石港区幸福小区3栋", "黄石港区***"),
    (mask_address, "沿湖路88号", "***"),
    (mask_shape, "张三,420202195001011234, 鄂B-12", "**,******************, **-**"),
    (mask_card, None, None), (mask_address, "", ""),
])
def test_each_kind_has_its_mask(mask, value, want):
    assert mask(value) == want


# --- the declaration ------------------------------------------------------------------------

def test_personal_columns_are_declared_in_the_catalog():
    personal = {t: spec.personal_columns() for t, spec in CATALOG.tables.items()}
    for table in ("cards", "annual_reviews", "taps"):
        assert personal[table]["card_no"] == "card"
    assert personal["vehicles"]["plate"] == "plate"
    assert personal["residents"]["address"] == "address"
    assert personal["pensioners"]["name_raw"] == "name" and personal["pensioners"]["person_id"] == "identity"
    for table, cols in (("inpatient", "hospital_name"), ("enterprises", "enterprise_name"), ("public_payroll", "employer")):
        assert cols not in personal[table]  # organisations are plain text
    assert CATALOG.personal_headers()["taps"] == {"卡号": "card"}


@pytest.mark.parametrize("column, message", [
    ("{name: card_no, header: 卡号, type: text, personal: email}",
     "personal: 'email' is not one of card, plate, phone, address, account, document"),
    ("{name: card_no, header: 卡号, type: date, personal: card}", "'personal' goes on text columns"),
])
def test_unknown_or_misplaced_kind_is_rejected_with_file_and_line(tmp_path, column, message):
    text = (ROOT / "connectors" / "transit_card.yaml").read_text(encoding="utf-8")
    (tmp_path / "transit_card.yaml").write_text(text.replace("{name: card_no, header: 卡号, type: text, personal: card}", column, 1),
                                                encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_catalog(tmp_path)
    problems = [p for p in exc.value.problems if message in str(p)]
    assert problems, str(exc.value)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "{name: card_no," in t)  # the card_no column
    assert problems[0].file.endswith("transit_card.yaml") and problems[0].line == line


# --- lineage: each evidence field's kind from the compiled rule ----------------------------

PROBE_VIEW = """\
id: card_holders
steps:
  - name: card_holders
    sql: SELECT person_id, card_no AS card FROM cards
"""
PROBE = """\
id: lineage_probe
title: {zh: 测试, en: Test}
severity: low
steps:
  - name: tapped
    sql: SELECT k.person_id, t.card_no, t.tapped_at FROM taps t JOIN cards k ON k.card_no = t.card_no
  - name: visits
    sql: |
      SELECT o.person_id, o.hospital_name, o.name FROM outpatient o
      UNION ALL
      SELECT i.person_id, coalesce(i.hospital_name, i.hospital_code), i.name_raw FROM inpatient i
  - name: findings
    sql: |
      SELECT d.person_id,
             count(*) AS taps,
             length(min(d.card_no)) AS card_length,
             list(DISTINCT d.card_no) AS cards,
             min(h.card) AS held_card,
             min(v.hospital_name) AS hospital,
             arg_max(v.name, v.hospital_name) AS visit_name,
             CASE WHEN count(*) > 1 THEN min(d.card_no) ELSE max(d.card_no) END AS some_card,
             min(v.person_id) = d.person_id AS same_person,
             max(d.tapped_at) AS last_tap,
             min(p.address) AS address,
             any_value(p.district) AS district
      FROM tapped d
      JOIN card_holders h ON h.person_id = d.person_id
      JOIN visits v ON v.person_id = d.person_id
      JOIN residents p ON p.person_id = d.person_id
      GROUP BY d.person_id
output: {district: district}
evidence:
  fields: {taps: integer, card_length: integer, cards: list, held_card: text, hospital: text, visit_name: text,
           some_card: text, same_person: text, last_tap: datetime, address: text}
  template: "{cards}"
"""


def test_evidence_kinds_follow_the_declaration_through_the_rule(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "_views" / "card_holders.yaml").write_text(PROBE_VIEW, encoding="utf-8")
    (rules / "test").mkdir()
    (rules / "test" / "lineage_probe.yaml").write_text(PROBE, encoding="utf-8")
    personal = load_ruleset(rules, CATALOG)["lineage_probe"].personal()
    assert personal.problems == []
    assert personal.kinds == {
        "subject": "identity", "person_id": "identity",
        "evidence.cards": "card",            # list(DISTINCT t.card_no)
        "evidence.held_card": "card",        # a view's column passes its kind through
        "evidence.visit_name": "name",       # both UNION branches: name and name_raw
        "evidence.some_card": "card",        # CASE branches
        "evidence.address": "address",
    }  # count(*), length(), a comparison, a timestamp, a hospital name, a district: nothing personal


def test_repository_rules_carry_their_kinds():
    ruleset = load_ruleset(ROOT / "rules", CATALOG)
    assert ruleset["transit_card_used_after_death"].personal().kinds["evidence.cards"] == "card"
    assert ruleset["dibao_member_owns_car"].personal().kinds["evidence.vehicles"] == "plate"
    assert ruleset["dibao_cadre_household_unfiled"].personal().kinds["evidence.officials"] == "name"
    assert "evidence.hospital_name" not in ruleset["pension_paid_after_hospital_death"].personal().kinds
    assert ruleset["fund_retained"].personal().kinds == {}


# --- findings --------------------------------------------------------------------------------

FINDING = {
    "rule_id": "r", "subject": ID, "person_id": ID, "name": "熊凯光", "district": "西塞山区",
    "evidence": f"卡号 {CARD}、{CARD2}；{HOSPITAL} 病案号 00312026000315；村干部 顾新永（陈庄村党支部书记）",
    "evidence_json": json.dumps({"cards": [CARD, CARD2], "hospital_name": HOSPITAL, "officials": ["顾新永"], "taps": 3}, ensure_ascii=False),
    "sources": f"transit_card/taps_{ID}.csv:7",
}
KINDS = {"subject": "identity", "person_id": "identity", "name": "name", "evidence.cards": "card", "evidence.officials": "name"}


def test_a_finding_is_masked_by_its_declared_kinds():
    shown = mask_finding(FINDING, KINDS)
    assert shown["person_id"] == shown["subject"] == "420202********1234" and shown["name"] == "熊*光"
    assert shown["evidence"] == f"卡号 3120********7953、3120********4291；{HOSPITAL} 病案号 00312026000315；村干部 顾*永（陈庄村党支部书记）"
    assert json.loads(shown["evidence_json"]) == {"cards": ["3120********7953", "3120********4291"], "hospital_name": HOSPITAL,
                                                  "officials": ["顾*永"], "taps": 3}
    assert shown["sources"] == "transit_card/taps_420202********1234.csv:7" and shown["district"] == "西塞山区"


def test_masking_never_guesses_from_a_fields_name():
    shown = mask_finding(FINDING, {"person_id": "identity", "name": "name"})
    assert HOSPITAL in shown["evidence"] and "顾新永" in shown["evidence"]  # undeclared: shown as delivered


def _run(findings: list[dict], rules: list[RuleOutcome], quarantine: list[dict] = ()) -> RunResult:
    from datetime import date, datetime

    full = [{**{f.name: None for f in FINDINGS_SCHEMA}, **f} for f in findings]
    return RunResult(run_id="r", as_of=date(2026, 11, 1), extracts_root="/x", out_dir="", started_at=datetime(2026, 11, 1),
                     rules=rules, findings=pa.Table.from_pylist(full, schema=FINDINGS_SCHEMA),
                     quarantine=pa.Table.from_pylist(list(quarantine), schema=QUARANTINE_SCHEMA),
                     personal_headers=CATALOG.personal_headers())


def test_hospital_names_are_never_masked_in_a_masked_report():
    ruleset = load_ruleset(ROOT / "rules", CATALOG)
    rule = "pension_paid_after_hospital_death"
    finding = {"rule_id": rule, "subject": ID, "person_id": ID, "name": "范小雪",
               "evidence": f"{HOSPITAL} 病案号 00112026000321 于 2026-04-09 死亡出院（离院方式5）",
               "evidence_json": json.dumps({"hospital_name": HOSPITAL, "case_no": "00112026000321"}, ensure_ascii=False)}
    outcome = RuleOutcome(rule, "t", "t", "high", "ok", personal=ruleset[rule].personal().kinds)
    (row,) = finding_rows(_run([finding], [outcome]), mask=True)
    assert row["evidence"].startswith(HOSPITAL) and json.loads(row["evidence_json"])["hospital_name"] == HOSPITAL
    assert row["name"] == "范*雪" and row["person_id"] == "420202********1234"


def test_alert_examples_mask_a_subject_by_its_kind():
    rows = [{"rule_id": "r", "subject": CARD, "person_id": None, "name": None, "first_seen": None, "days_open": 20}]
    (entry,) = overdue_entries(rows, None, {"r": {"subject": "card"}})
    assert entry["subject"] == "3120********7953"


# --- quarantine ------------------------------------------------------------------------------

def _quarantined(table: str, reason: str, raw: dict) -> dict:
    return {"source": CATALOG.source_of(table), "table": table, "file": f"x/{table}.csv", "line": 2, "reason": reason,
            "raw_values": json.dumps(raw, ensure_ascii=False)}


def test_quarantine_reason_and_values_masked_by_declared_headers():
    short = "42022219931009027"
    row = _quarantined("land_contracts", f"invalid identity number in 承包方身份证号: wrong length (17 characters): '{short}'",
                       {"承包合同编号": "HT420222000001", " 承包方身份证号\ufeff": f" {short} ", "承包方姓名": "熊凯帆", "所属村": "王家村"})
    (shown,) = quarantine_rows(_run([], [], [row]), mask=True)
    assert shown["reason"] == "invalid identity number in 承包方身份证号: wrong length (17 characters): '420222*******9027'"
    assert json.loads(shown["raw_values"]) == {"承包合同编号": "HT420222000001", " 承包方身份证号\ufeff": "420222*******9027",
                                               "承包方姓名": "熊*帆", "所属村": "王家村"}


def test_a_line_not_split_into_columns_is_masked_whole():
    row = _quarantined("cards", "malformed CSV row: expected 6 fields, found 7",
                       {"卡号": "老年卡", "卡类型": CARD, "持卡人身份证号": "熊凯帆", "(extra fields)": [ID]})
    shown = mask_quarantine_row(row, CATALOG.personal_headers()["cards"])
    assert json.loads(shown["raw_values"]) == {"卡号": "***", "卡类型": "*" * 16, "持卡人身份证号": "***", "(extra fields)": ["*" * 18]}
    assert shown["reason"] == row["reason"]
    unknown = mask_quarantine_row(_quarantined("cards", "missing value in 卡号", {"卡号": CARD}), None)
    assert json.loads(unknown["raw_values"]) == {"卡号": "*" * 16}  # a table whose headers are not known
