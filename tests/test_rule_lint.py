"""Lint checks over every rule file, and each bad fixture caught with file:line: field."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crosscheck.catalog import load_catalog
from crosscheck.rules import collect_ruleset, load_ruleset
from crosscheck.cli.rules import rules_app
from crosscheck.yamlio import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "rule_fixtures"
CATALOG = load_catalog(ROOT / "connectors")
from conftest import CORE_RULES


def test_repository_rules_lint_clean():
    ruleset, problems = collect_ruleset(ROOT / "rules", CATALOG, lint=True)
    assert problems == [], "\n".join(map(str, problems))
    assert set(CORE_RULES) <= set(ruleset.ids)
    assert {"person_death", "person_profile"} <= set(ruleset.views)


@pytest.mark.parametrize("rule_id", CORE_RULES)
def test_core_rule_metadata(rule_id):
    rule = load_ruleset(ROOT / "rules", CATALOG)[rule_id]
    assert rule.path.stem == rule_id
    assert rule.spec.status == "stable"
    assert rule.domain in {"pension", "transit", "medical"}
    assert any(t.expect for t in rule.spec.tests) and any(not t.expect and t.expect_status == "ok" for t in rule.spec.tests)
    assert len(rule.version) == 64


# (fixture file, expected line, expected text in the message)
BAD = [
    ("unknown_key.yaml", 4, "severty: unknown key; did you mean severity?"),
    ("two_problems.yaml", 7, "steps.0.colour: unknown key (keys here: name, description, sql, from, join,"),
    ("two_problems.yaml", 3, "severity: 'urgent' is not one of high, medium, low"),
    ("unknown_column.yaml", 6, "amout: no such column in pension_payments; did you mean amount?"),
    ("unknown_table.yaml", 6, "unknown table 'pensioner'"),
    ("ddl.yaml", 6, "only SELECT is allowed, found DROP"),
    ("copy_stmt.yaml", 6, "only SELECT is allowed, found COPY"),
    ("attach_stmt.yaml", 6, "only SELECT is allowed, found ATTACH"),
    ("read_csv.yaml", 6, "is not allowed as a table"),
    ("file_table.yaml", 6, "file path '/data/x.parquet' is not allowed"),
    ("two_statements.yaml", 6, "exactly one SELECT statement expected, found 2"),
    ("undeclared_param.yaml", 4, "$cutoff is used but not declared"),
    ("unknown_function.yaml", 6, "function 'getenv' is not available in rules; rules call DuckDB's SQL functions"),
    ("wrong_name.yaml", 1, "must equal the file name 'wrong_name'"),
    ("bad_template.yaml", 9, "{nope} is not an evidence field"),
    ("template_part_unknown_key.yaml", 11, "evidence.template.1.whne: unknown key; did you mean when?"),
    ("template_when_unknown.yaml", 11, "'tap_count' is not an evidence field or parameter"),
    ("template_part_placeholder.yaml", 11, "evidence.template.1: {tap_count} is not an evidence field or parameter"),
    ("bad_param_default.yaml", 5, "expected an integer, got 'eighty'"),
    ("stable_untested.yaml", 13, "needs at least one negative test"),
    ("bad_test_rows.yaml", 14, "'nmae' is not a column of pensioners"),
    ("later_step.yaml", 6, "reads 'b', which is not an earlier step"),
    ("embedded_name.yaml", 9, "evidence field 'official' embeds a person name (cadres.name) in computed text "
                              "(step 'f': '干部 ' || cadres.name AS official), where a masked run cannot mask it; "
                              "give the value its own evidence field"),
    ("mixed_kinds.yaml", 11, "evidence field 'thing' passes personal data of different kinds (cards.card_no, vehicles.plate)"),
    # a number made of an identity number still holds it: an unmasked report would show it
    ("number_of_identity.yaml", 9, "evidence field 'pid_sum' embeds an identity number (pensioners.person_id) in computed text"),
]


def _lint_one(tmp_path: Path, fixture: str):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    shutil.copy(FIXTURES / fixture, rules / "test" / fixture)
    return rules, collect_ruleset(rules, CATALOG, lint=True)[1]


@pytest.mark.parametrize(("fixture", "line", "text"), BAD, ids=[f"{f}:{t[:30]}" for f, _, t in BAD])
def test_bad_fixture_is_reported_with_file_and_line(tmp_path, fixture, line, text):
    _, problems = _lint_one(tmp_path, fixture)
    hits = [p for p in problems if text in str(p)]
    assert hits, f"{text!r} not in:\n" + "\n".join(map(str, problems))
    assert hits[0].file.endswith(fixture)
    assert hits[0].line == line, str(hits[0])


def test_template_when_naming_no_field_is_one_problem_with_the_exact_message(tmp_path):
    rules, problems = _lint_one(tmp_path, "template_when_unknown.yaml")
    path = rules / "test" / "template_when_unknown.yaml"
    assert [str(p) for p in problems] == [f"{path}:11: evidence.template.1.when: 'tap_count' is not an evidence field or parameter"]


def test_all_problems_are_collected_not_just_the_first(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    for f in ("unknown_key.yaml", "ddl.yaml", "unknown_column.yaml"):
        shutil.copy(FIXTURES / f, rules / "test" / f)
    with pytest.raises(ConfigError) as exc:
        load_ruleset(rules, CATALOG)
    text = str(exc.value)
    assert "unknown_key.yaml:4" in text and "ddl.yaml:6" in text and "unknown_column.yaml:6" in text


def test_lint_only_checks_do_not_block_loading(tmp_path):
    rules, problems = _lint_one(tmp_path, "stable_untested.yaml")
    assert problems
    assert "stable_untested" in load_ruleset(rules, CATALOG)


def test_personal_data_in_text_stops_loading(tmp_path):
    rules, _ = _lint_one(tmp_path, "embedded_name.yaml")
    with pytest.raises(ConfigError, match=r"embedded_name.yaml:9: evidence.fields.official: .* embeds a person name"):
        load_ruleset(rules, CATALOG)


def test_duplicate_ids_are_reported(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    for d in ("a", "b"):
        (rules / d).mkdir(parents=True)
        shutil.copy(ROOT / "rules" / "pension" / "pension_duplicate_schemes.yaml", rules / d / "pension_duplicate_schemes.yaml")
    _, problems = collect_ruleset(rules, CATALOG)
    assert any("already used by" in str(p) for p in problems)


def test_cli_lint_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(rules_app, ["lint", "--rules-dir", str(ROOT / "rules"), "--connectors-dir", str(ROOT / "connectors")])
    assert ok.exit_code == 0, ok.output
    rules, _ = _lint_one(tmp_path, "unknown_column.yaml")
    bad = runner.invoke(rules_app, ["lint", "--rules-dir", str(rules), "--connectors-dir", str(ROOT / "connectors")])
    assert bad.exit_code == 1
    assert "unknown_column.yaml:6: steps.0.sql" in bad.output


def test_cli_list_show_test():
    runner = CliRunner()
    args = ["--rules-dir", str(ROOT / "rules"), "--connectors-dir", str(ROOT / "connectors")]
    listed = runner.invoke(rules_app, ["list", *args])
    assert listed.exit_code == 0 and "pension_paid_after_death" in listed.output
    shown = runner.invoke(rules_app, ["show", "pension_no_sign_of_life", "--sql", *args])
    assert shown.exit_code == 0 and "WITH" in shown.output and "$min_age" in shown.output
    spark = runner.invoke(rules_app, ["show", "pension_no_sign_of_life", "--sql", "--engine", "spark", *args])
    assert spark.exit_code == 0 and ":min_age" in spark.output
    tested = runner.invoke(rules_app, ["test", "pension_duplicate_schemes", *args])
    assert tested.exit_code == 0 and "PASS" in tested.output
    unknown = runner.invoke(rules_app, ["show", "no_such_rule", *args])
    assert unknown.exit_code == 1
