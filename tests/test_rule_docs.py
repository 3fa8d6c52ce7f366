"""The analyst's documents ship with the project and cannot drift from it: every key of the rule
schema is documented with an example, the generated sections are current, the README names every
command, and nothing points to a document a user does not have."""
from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from crosscheck.catalog import load_catalog
from crosscheck.rules import load_ruleset
from crosscheck.rules.docs import SECTIONS, refresh
from crosscheck.rules.key_docs import EXAMPLES, MODELS, keys
from crosscheck.rules.spec import Rule, View

ROOT = Path(__file__).resolve().parent.parent
RULESET = load_ruleset(ROOT / "rules", load_catalog(ROOT / "connectors"))


def _models_under(tp, seen: list) -> None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen.append(tp)
        for f in tp.model_fields.values():
            _models_under(f.annotation, seen)
    for arg in typing.get_args(tp):
        _models_under(arg, seen)


def test_every_model_of_the_schema_is_in_the_guide():
    reachable: list = []
    _models_under(Rule, reachable)
    _models_under(View, reachable)
    assert {m for m, _ in MODELS} == set(reachable)


@pytest.mark.parametrize("model", [m for m, _ in MODELS], ids=[m.__name__ for m, _ in MODELS])
def test_every_key_has_a_meaning_and_an_example(model):
    for key, field in keys(model):
        assert field.description, f"{model.__name__}.{key} has no description (Field(description=...))"
        example = EXAMPLES.get(f"{model.__name__}.{key}")
        assert example, f"{model.__name__}.{key} has no example in crosscheck.rules.key_docs.EXAMPLES"
        written = [k.value for k, _ in yaml.compose(example).value]  # the keys as written (`on` is not true)
        assert written == [key], f"the example of {model.__name__}.{key} is not '{key}: ...'"


def test_no_example_for_a_key_that_does_not_exist():
    documented = {f"{m.__name__}.{k}" for m, _ in MODELS for k, _ in keys(m)}
    assert set(EXAMPLES) - documented == set()


@pytest.mark.parametrize("section", SECTIONS, ids=[s.home for s in SECTIONS])
def test_generated_sections_are_current(section):
    text = (ROOT / section.home).read_text(encoding="utf-8")
    assert section.start in text and section.end in text
    assert refresh(text, RULESET) == text, f"{section.home} is out of date: run `crosscheck rules catalog --write {section.home}`"


def test_the_guide_lists_every_key():
    text = (ROOT / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    for m, where in MODELS:
        assert f"### {where}" in text
        for key, _ in keys(m):
            assert f"- `{key}` — " in text


def test_readme_names_every_command():
    from crosscheck.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = []
    for command in app.registered_commands:
        names.append(command.name or command.callback.__name__)
    for group in app.registered_groups:
        names += [f"{group.name} {c.name or c.callback.__name__}" for c in group.typer_instance.registered_commands]
    assert len(names) >= 15
    for name in names:
        assert f"crosscheck {name}" in readme, f"README.md does not name `crosscheck {name}`"


UNSHIPPED = re.compile(r"\b(core-rules|domain-rules|extracts|extracts-domains)\.md\b")


def test_nothing_points_to_a_document_users_do_not_have():
    found = []
    for path in [*ROOT.glob("rules/**/*.yaml"), *ROOT.glob("crosscheck/**/*.py"), ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNSHIPPED.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_every_reference_of_a_rule_is_shipped():
    for rule in RULESET:
        assert rule.spec.references, rule.id
        for ref in rule.spec.references:
            doc, _, anchor = ref.partition("#")
            text = (ROOT / doc).read_text(encoding="utf-8")
            assert f'<a id="{anchor}"></a>' in text, ref


EXPERIMENTAL_RULE = """\
id: pension_paid_after_leaving
title: {zh: 迁出后仍领取养老金, en: Pension paid after leaving}
severity: medium
status: experimental
steps:
  - name: findings
    sql: |
      SELECT p.person_id, r.cancel_date, count(*) AS months, sum(p.amount) AS total
      FROM pension_payments p JOIN residents r USING (person_id)
      WHERE r.cancel_reason IN ('迁出', '出国') AND p.pay_month > r.cancel_date
      GROUP BY p.person_id, r.cancel_date
amount_at_risk: total
evidence:
  fields: {cancel_date: date, months: integer, total: amount}
  template: "注销日期 {cancel_date}，此后发放 {months} 个月，合计 {total} 元"
"""
STABLE = {
    "status: experimental": "status: stable\nowner: rules-team\nreferences: [docs/rules.md#months]\n"
                            "description: {zh: 迁出或出国注销后仍发放养老金。, en: Paid after the registry cancelled for leaving.}",
    "{cancel_date: date, months: integer, total: amount}":
        "{cancel_date: {format: date, label: 注销日期}, months: {format: integer, label: 月数}, total: {format: amount, label: 合计}}",
}
STABLE_TESTS = """\
tests:
  - name: paid after leaving
    as_of: 2024-07-01
    given:
      residents: [{person_id: "110101194001011234", name: 王建国, cancel_date: 2024-03-15, cancel_reason: 出国}]
      pension_payments: [{person_id: "110101194001011234", scheme: 企业职工基本养老保险, pay_month: 2024-04, amount: 3000}]
    expect: [{person_id: "110101194001011234", amount_at_risk: 3000}]
  - name: still here (near miss)
    as_of: 2024-07-01
    given:
      residents: [{person_id: "110101194001011234", name: 王建国}]
      pension_payments: [{person_id: "110101194001011234", scheme: 企业职工基本养老保险, pay_month: 2024-04, amount: 3000}]
    expect: []
"""


def _project_copy(tmp_path: Path) -> Path:
    import shutil

    for folder in ("rules", "docs", "connectors"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_an_experimental_rule_changes_no_document_and_lint_says_when_one_is_out_of_date(tmp_path):
    """Adding an experimental rule keeps every check green (the catalog and the reference list the
    stable rules); making it stable makes them out of date, and lint says which and what to run."""
    from crosscheck.rules import collect_ruleset
    from crosscheck.rules.docs import write_catalog

    project = _project_copy(tmp_path)
    catalog = load_catalog(project / "connectors")
    rule = project / "rules" / "pension" / "pension_paid_after_leaving.yaml"
    rule.write_text(EXPERIMENTAL_RULE, encoding="utf-8")
    ruleset, problems = collect_ruleset(project / "rules", catalog, lint=True)
    assert "pension_paid_after_leaving" in ruleset and [str(p) for p in problems] == []
    for section in SECTIONS:  # what test_generated_sections_are_current checks, on the copy
        text = (project / section.home).read_text(encoding="utf-8")
        assert refresh(text, ruleset) == text, section.home

    stable = EXPERIMENTAL_RULE
    for old, new in STABLE.items():
        stable = stable.replace(old, new)
    rule.write_text(stable + STABLE_TESTS, encoding="utf-8")
    ruleset, problems = collect_ruleset(project / "rules", catalog, lint=True)
    assert [str(p) for p in problems] == [
        f"{(project / home).resolve()}: its generated sections are out of date (a stable rule, or a connector, "
        f"changed): run `crosscheck rules catalog --write {home}`" for home in ("README.md", "docs/rules.md")]
    for home in ("README.md", "docs/rules.md"):
        assert write_catalog(project / home, ruleset)
    assert "`pension_paid_after_leaving` (medium) 迁出后仍领取养老金" in (project / "README.md").read_text(encoding="utf-8")
    assert collect_ruleset(project / "rules", catalog, lint=True)[1] == []


def test_one_list_of_statuses():
    """The schema's statuses, the list the guide shows (generated) and the README agree."""
    from crosscheck.rules.key_docs import RULE_STATUSES
    from crosscheck.rules.spec import Status

    assert list(RULE_STATUSES) == list(typing.get_args(Status))
    guide = (ROOT / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Status"):guide.index("<!-- rule-statuses:end -->")]
    assert [line.split("`")[1] for line in section.splitlines() if line.startswith("- `")] == list(RULE_STATUSES)
    assert "experimental | stable | deprecated" not in guide.replace("draft | experimental | stable | deprecated", "")
