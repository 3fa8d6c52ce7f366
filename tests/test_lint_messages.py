"""The exact words of the messages an analyst meets writing a rule: each names the line that is
wrong and says what to write instead (docs/writing-rules.md, "Lint messages")."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crosscheck.catalog import load_catalog
from crosscheck.rules import collect_ruleset
from crosscheck.cli.rules import rules_app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "rule_fixtures"
CATALOG = load_catalog(ROOT / "connectors")

FUNCTIONS = ("Rules call DuckDB's SQL functions (coalesce, date_trunc, date_diff, list, string_agg, ...), "
             "name_similarity() and the fz_* scorers, and match records fuzzily with a fuzzy_join step "
             "(docs/writing-rules.md, \"Functions\")")

# (fixture, every problem it has, as `crosscheck rules lint` prints it after the file name)
MESSAGES = [
    ("unknown_column_in_block.yaml", [
        # the 5th line of the `sql: |` block, not the step's first line
        "11: steps.0.sql: pay_mnth: no such column in pension_payments; did you mean pay_month? (columns: pay_month, "
        "personal_no, person_id, name, scheme, amount, paid_date, name_raw, source_file, source_line)"]),
    ("unknown_column.yaml", [
        "6: steps.0.sql: amout: no such column in pension_payments; did you mean amount? (columns: amount, "
        "personal_no, person_id, name, scheme, pay_month, paid_date, name_raw, source_file, source_line)"]),
    ("unknown_column_declarative.yaml", [
        "11: steps.0.where.1: deathdate: no such column in view person_death; did you mean death_date? (columns: "
        "death_date, registry_death_date, hospital_death_date, person_id, death_source, death_sources)"]),
    ("unknown_function_typo.yaml", [
        "7: steps.0.where.0: function 'lenght' is not available in rules; did you mean length? " + FUNCTIONS]),
    ("unknown_function.yaml", [
        "6: steps.0.sql: function 'getenv' is not available in rules; r" + FUNCTIONS[1:]]),
    ("unknown_key_evidance.yaml", [  # once: not also "evidence: required key missing"
        "7: evidance: unknown key; did you mean evidence?"]),
    ("yaml_colon.yaml", [
        "4: invalid YAML: mapping values are not allowed here; "
        "hint: a ': ' inside an unquoted value starts a new key: put the whole value in quotes"]),
    ("yaml_indent.yaml", [
        "6: invalid YAML: mapping values are not allowed here; "
        "hint: this line is indented more than the key above it: keys of one mapping start in the same column"]),
    ("stable_without_zh.yaml", [
        "3: description: a stable rule needs description.zh, the Chinese description reviewers read: "
        "write description: {zh: ..., en: ...}"]),
    ("stable_without_label.yaml", [
        "12: evidence.fields.person_id: a stable rule labels every evidence field: give person_id the name reviewers "
        "read, e.g. `person_id: {format: text, label: 中文名称}`"]),
    # every problem of the file, each at its item's line: the column typo, then the timeline marks
    # (the wrong field was reported at `evidence:` as "Value error, timeline: ...", the column typo not at all)
    ("timeline_field_typo.yaml", [
        "8: steps.0.where.0: cancel_reasn: no such column in residents; did you mean cancel_reason? (columns: "
        "cancel_reason, cancel_date, person_id, name, gender, birth_date, ethnicity, household_no, relation_to_head, "
        "address, district, population_status, death_date, township, village, name_raw, source_file, source_line)",
        "26: evidence.timeline.1.to: 'total' is not a date, month or datetime field (amount): a timeline mark is placed "
        "by a date (date fields: cancel_date, first_month)",
        "27: evidence.timeline.2.at: 'cancel_dat' is not an evidence field; did you mean cancel_date? "
        "(date fields: cancel_date, first_month)"]),
    # an unknown key does not hide the file's other problems
    ("unknown_key_and_column.yaml", [
        "6: steps.0.colour: unknown key (keys here: name, description, sql, from, join, where, group_by, select, "
        "having, pairs, reconcile, window, periods, fuzzy_join, link_names)",
        "7: steps.0.sql: cancel_dat: no such column in residents; did you mean cancel_date? (columns: cancel_date, "
        "cancel_reason, person_id, name, gender, birth_date, ethnicity, household_no, relation_to_head, address, "
        "district, population_status, death_date, township, village, name_raw, source_file, source_line)"]),
    ("step_named_left.yaml", [
        "5: steps.0.name: step name 'left' is a word of SQL and cannot name a table: name the step otherwise "
        "(e.g. left_rows)"]),
    ("wrong_status.yaml", [
        "4: status: 'stabel' is not one of draft, experimental, stable, deprecated; did you mean stable?"]),
]


def _rules_with(tmp_path: Path, fixture: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    shutil.copy(FIXTURES / fixture, rules / "test" / fixture)
    return rules


@pytest.mark.parametrize(("fixture", "expected"), MESSAGES, ids=[f for f, _ in MESSAGES])
def test_lint_message(tmp_path, fixture, expected):
    rules = _rules_with(tmp_path, fixture)
    _, problems = collect_ruleset(rules, CATALOG, lint=True)
    assert [str(p) for p in problems] == [f"{rules / 'test' / fixture}:{m}" for m in expected]


def test_no_message_carries_a_library_prefix(tmp_path):
    """pydantic words a validator's error "Value error, ..."; lint says the validator's own words."""
    rules = _rules_with(tmp_path, "timeline_field_typo.yaml")
    for fixture in FIXTURES.glob("*.yaml"):
        shutil.copy(fixture, rules / "test" / fixture.name)
    _, problems = collect_ruleset(rules, CATALOG, lint=True)
    assert len(problems) > 30
    assert not [str(p) for p in problems if "Value error" in str(p) or "Input should be" in str(p)]


def test_yaml_hints_name_the_usual_cause(tmp_path):
    from crosscheck.yamlio import ConfigError, load_yaml

    cases = {
        "steps:\n\t- name: f\n": "hint: indent with spaces: YAML does not allow tabs",
        "template: {death_date} 元\n": "hint: a value that starts with { or [ is read as a mapping or list: put the whole value in quotes",
        "steps:\n  - name: f\n  -name: g\n": "hint: a list item needs a space after the '-'",
        "a: \"open\nb: 1\n": "hint: the quoted value that starts on line 1 is not closed",
        "evidence:\n  fields:\n    a: text\n   template: x\n": "hint: check the indentation of this line against the lines above it",
    }
    for i, (text, hint) in enumerate(cases.items()):
        path = tmp_path / f"case{i}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as exc:
            load_yaml(path)
        assert hint in str(exc.value), str(exc.value)


def test_failing_rule_test_names_the_fields_that_differ(tmp_path):
    rules = _rules_with(tmp_path, "failing_test.yaml")
    args = ["--rules-dir", str(rules), "--connectors-dir", str(ROOT / "connectors")]
    result = CliRunner().invoke(rules_app, ["test", "failing_test", *args])
    assert result.exit_code == 1
    path = rules / "test" / "failing_test.yaml"
    assert result.output == (
        "FAIL failing_test :: three months paid\n"
        "    expected finding 1 (line 21): months: expected 3, got 2; amount_at_risk: expected 9000.00, got 6000.00\n"
        f"    at {path}:14\n"
        "0 passed, 1 failed\n")


def test_failing_rule_test_names_findings_missing_and_unexpected():
    from crosscheck.rules import load_ruleset
    from crosscheck.rules.testing import run_test

    rule = load_ruleset(ROOT / "rules", CATALOG)["pension_paid_after_death"]
    positive = rule.spec.tests[0]
    none_expected = run_test(rule, positive.model_copy(update={"expect": []}))
    assert none_expected.message == (
        "unexpected finding: subject 110101194001011234, severity high, amount_at_risk 6000.50, "
        "evidence 死亡日期 2024-03-15（户籍死亡日期），死亡后发放 2 个月（2024-04 至 2024-05），合计 6000.50 元")
    one_more = run_test(rule, positive.model_copy(update={"expect": [positive.expect[0], {"person_id": "x"}]}))
    assert one_more.message == "expected finding 2: not found; the rule's 1 finding(s) match other expected rows"


def test_references_name_documents_that_ship(tmp_path):
    rules = _rules_with(tmp_path, "unshipped_reference.yaml")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "rules.md", tmp_path / "docs" / "rules.md")
    _, problems = collect_ruleset(rules, CATALOG, lint=True)
    path = rules / "test" / "unshipped_reference.yaml"
    assert [str(p) for p in problems] == [
        f"{path}:4: references.0: 'core-rules.md': the project has no file core-rules.md (looked for "
        f"{rules.resolve().parent / 'core-rules.md'}): name a document beside rules/ (copy the docs/ folder with "
        "the rules) or a URL",
        f"{path}:4: references.1: docs/rules.md has no section 'date-of-deth'; did you mean date-of-death?",
    ]


def test_a_rule_whose_findings_depend_on_the_order_of_the_rows_fails_its_test(tmp_path):
    """Each test case runs twice, its rows stored in the given order and last first: an unordered
    string_agg passes its expectations but names the schemes in the order the rows were stored."""
    rules = _rules_with(tmp_path, "order_dependent.yaml")
    args = ["--rules-dir", str(rules), "--connectors-dir", str(ROOT / "connectors")]
    result = CliRunner().invoke(rules_app, ["test", "order_dependent", *args])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "FAIL order_dependent :: two schemes"
    assert lines[1].startswith("    the findings depend on the order the rows are stored in (the same rows, stored "
                               "last first, give other findings): ")
    assert "险种 企业职工基本养老保险、城乡居民基本养老保险" in lines[1] and "险种 城乡居民基本养老保险、企业职工基本养老保险" in lines[1]
    assert lines[1].endswith("; give every list and string_agg an ORDER BY")
    ordered = (rules / "test" / "order_dependent.yaml").read_text(encoding="utf-8").replace(
        "string_agg(scheme, '、')", "string_agg(scheme, '、' ORDER BY scheme)")
    (rules / "test" / "order_dependent.yaml").write_text(ordered, encoding="utf-8")
    assert CliRunner().invoke(rules_app, ["test", "order_dependent", *args]).exit_code == 0
