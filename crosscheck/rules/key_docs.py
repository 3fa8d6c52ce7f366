"""Every key a rule or view file may hold, as Markdown, generated from the schema (crosscheck.rules.spec).

The meaning of a key is its pydantic `Field(description=...)`; its example is in `EXAMPLES`
below. `crosscheck rules catalog --write docs/writing-rules.md` writes the list into the
guide, and tests/test_rule_docs.py fails when a key has no meaning or no example, or the
guide is out of date, so the guide cannot drift from the schema.
"""
from __future__ import annotations

import typing
from datetime import date
from types import UnionType
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from crosscheck.rules import concepts, linknames, parameters, review, spec

#: What each status of a rule (crosscheck.rules.spec.Status) does: the one list (docs/writing-rules.md,
#: "Status", is generated from it).
RULE_STATUSES: dict[str, str] = {
    "draft": "runs in shadow in every run: its findings are recorded and counted on the workbench's dashboard "
             "(驾驶舱), never listed in the reports, alerted or pushed as clues, until it is promoted. Lint checks it "
             "like any rule (schema, SQL, columns, template, tests) and asks no more; the rule catalog and docs/rules.md leave it out.",
    "experimental": "runs in every run like the others: its findings are listed, alerted and pushed as clues. Lint "
                    "checks it like any rule and asks no more; the rule catalog and docs/rules.md leave it out, so adding one changes "
                    "no generated document. Start here.",
    "stable": "runs in every run. Lint also wants `description` in Chinese and English, an `owner`, a `label` for "
              "every evidence field, a test that fires and one that does not. The rule catalog (README.md) and "
              "docs/rules.md list it: making a rule stable (or changing a stable rule's title, description, tables, "
              "parameters or evidence) makes them out of date until `crosscheck rules catalog --write README.md` and "
              "`--write docs/rules.md` are run; `crosscheck rules lint` and the tests say so.",
    "deprecated": "not run unless named (`--rules ID`); left out of the rule catalog, kept in docs/rules.md with its "
                  "status. Keep the file while reviewers still have its findings open.",
}

#: The models of the schema, in the order the guide lists them, with where each is written.
MODELS: list[tuple[type[BaseModel], str]] = [
    (spec.Rule, "A rule file, `rules/<domain>/<id>.yaml` (top level)"),
    (spec.Bilingual, "`title:`"),
    (spec.Description, "`description:`"),
    (parameters.Parameter, "`parameters: {<name>: ...}`"),
    (spec.Step, "`steps:`, one item per step"),
    (spec.Join, "`join:` items of a declarative step"),
    (concepts.HeldInMonth, "`held:` on a join"),
    (concepts.Pairs, "`pairs:` step"),
    (concepts.Window, "`window:` step"),
    (concepts.Periods, "`periods:` step"),
    (concepts.Reconcile, "`reconcile:` step"),
    (concepts.SumOf, "`reconcile: sums: {<name>: ...}`"),
    (concepts.ReconcileCompare, "`reconcile: compare:`"),
    (spec.FuzzyJoin, "`fuzzy_join:` step"),
    (spec.ComparedField, "`fuzzy_join: compare:` items"),
    (spec.Sides, "a value that differs between the sides of a fuzzy_join: `{left: ..., right: ...}`"),
    (linknames.LinkNames, "`link_names:` step (docs/names.md)"),
    (linknames.RegistryColumns, "`link_names: registry:`"),
    (review.Review, "`review:` (待人工核实)"),
    (spec.Output, "`output:`"),
    (spec.Evidence, "`evidence:`"),
    (spec.EvidenceField, "`evidence: fields: {<name>: ...}`"),
    (spec.Label, "`label:` of an evidence field"),
    (spec.TemplatePart, "`evidence: template:` items"),
    (spec.TimelineItem, "`evidence: timeline:` items"),
    (spec.RuleTest, "`tests:` items"),
    (spec.View, "A shared view, `rules/_views/<id>.yaml` (top level)"),
]

#: Models a plain value may stand for.
SHORTHANDS: dict[Any, str] = {
    spec.Description: "text (the English description) or {zh: ..., en: ...}",
    spec.TemplatePart: "text, or {text: ..., when: ...}",
}

#: One example per key, as it is written in a rule file ("Model.key": YAML).
EXAMPLES: dict[str, str] = {
    "Rule.optional": "optional: [annual_reviews]",
    "Rule.steps": "steps:\n  - name: findings\n    sql: SELECT person_id FROM pensioners",
    "Rule.id": "id: pension_paid_after_death",
    "Rule.title": "title: {zh: 死亡后仍发放养老金, en: Pension paid after death}",
    "Rule.description": "description:\n  zh: |\n    户籍登记死亡后，仍有养老金发放月份晚于死亡当月。\n  en: |\n    A pension payment is for a month after the month of death.",
    "Rule.severity": "severity: high",
    "Rule.status": "status: stable",
    "Rule.owner": "owner: rules-team",
    "Rule.tags": "tags: [pension, death]",
    "Rule.references": "references: [docs/rules.md#date-of-death]",
    "Rule.parameters": "parameters:\n  min_age: {type: integer, default: 80, description: minimum age in whole years}",
    "Rule.output": "output: {name: name, district: district, sources: payment_sources}",
    "Rule.amount_at_risk": "amount_at_risk: total",
    "Rule.evidence": "evidence:\n  fields: {months: integer, total: amount}\n  template: \"死亡后发放 {months} 个月，合计 {total} 元\"",
    "Rule.tests": "tests:\n  - name: paid after death\n    as_of: 2024-07-01\n    given: {pension_payments: [{person_id: \"110101194001011234\", pay_month: 2024-04, amount: 3000}]}\n    expect: [{person_id: \"110101194001011234\", amount_at_risk: 3000}]",
    "Rule.suppression_days": "suppression_days: 90",
    "Rule.incremental": "incremental: false",
    "Rule.review": "review: {step: candidates, subject: contract_no, name_as_delivered: lessee_name_raw, would_fire: fires}",
    "Step.periods": "periods: {table: leases, start: start_date, before: end_date, months: 12}",
    "Periods.table": "table: leases",
    "Periods.start": "start: start_date",
    "Periods.before": "before: end_date",
    "Periods.months": "months: 12",
    "Review.step": "step: candidates",
    "Review.subject": "subject: contract_no",
    "Review.name_as_delivered": "name_as_delivered: lessee_name_raw",
    "Review.would_fire": "would_fire: cadre_id IS NOT NULL",
    "Review.person_id": "person_id: candidate_id",
    "Review.name": "name: candidate_name",
    "Review.match": "match: candidate_match",
    "Review.status": "status: link_status",
    "Bilingual.zh": "zh: 死亡后仍发放养老金",
    "Bilingual.en": "en: Pension paid after death",
    "Description.zh": "zh: 户籍登记死亡后，仍有养老金发放月份晚于死亡当月。",
    "Description.en": "en: A pension payment is for a month after the month of death.",
    "Parameter.type": "type: integer",
    "Parameter.default": "default: 80",
    "Parameter.description": "description: minimum age in whole years on the as-of date",
    "Step.name": "name: paid_after_death",
    "Step.description": "description: payments for months after the month of death, per person",
    "Step.sql": "sql: |\n  SELECT person_id, count(*) AS months\n  FROM pension_payments\n  GROUP BY person_id",
    "Step.from": "from: pension_payments p",
    "Step.join": "join:\n  - {table: person_death d, on: d.person_id = p.person_id}",
    "Step.where": "where:\n  - date_trunc('month', p.pay_month) > date_trunc('month', d.death_date)",
    "Step.group_by": "group_by: [p.person_id, d.death_date]",
    "Step.select": "select: [p.person_id, d.death_date, sum(p.amount) AS total]",
    "Step.having": "having: [count(*) >= 2]",
    "Step.pairs": "pairs: {table: exams, same: [person_id, item_code], differ: [hospital_name], earlier: exam_date, within_days: $window_days}",
    "Step.reconcile": "reconcile:\n  key: [doc_no, township]\n  sums:\n    allocated: {from: fund_allocations, value: amount}\n    disbursed: {from: fund_disbursements, value: amount}",
    "Step.fuzzy_join": "fuzzy_join:\n  left: pensioners\n  right: residents\n  id: person_id\n  block_on: [birth_date]\n  compare: [{left: name, scorer: name}]\n  min_score: 0.9",
    "Step.link_names": "link_names:\n  records: asset_contracts\n  name: lessee_name\n  township: township\n  village: village",
    "Join.table": "table: person_death d",
    "Join.on": "on: d.person_id = p.person_id",
    "Join.using": "using: [person_id]",
    "Join.how": "how: left",
    "Join.held": "held: {month: m.month, start: v.registered_date, end: v.deregistered_date}",
    "HeldInMonth.month": "month: m.month",
    "HeldInMonth.start": "start: c.term_start",
    "HeldInMonth.end": "end: c.term_end",
    "Step.window": "window: {table: counted, partition_by: [credit_code], time: inspection_date, within_days: $window_days - 1}",
    "Window.table": "table: counted",
    "Window.partition_by": "partition_by: [buyer, supplier_code]",
    "Window.time": "time: signed_date",
    "Window.within_days": "within_days: $window_days",
    "Pairs.table": "table: inpatient",
    "Pairs.same": "same: [person_id, hospital]",
    "Pairs.differ": "differ: [hospital_name]",
    "Pairs.earlier": "earlier: discharged_at",
    "Pairs.later": "later: admitted_at",
    "Pairs.within_days": "within_days: $within_days",
    "Reconcile.key": "key: [doc_no, township]",
    "Reconcile.sums": "sums:\n  allocated: {from: fund_allocations, value: amount}\n  disbursed: {from: fund_disbursements, value: amount}",
    "Reconcile.driver": "driver: allocated",
    "Reconcile.compare": "compare: {left: allocated, right: disbursed, tolerance: $tolerance}",
    "SumOf.from": "from: subsidy_payments",
    "SumOf.value": "value: amount",
    "SumOf.key": "key: [doc_no, township]",
    "SumOf.where": "where: [doc_no IS NOT NULL]",
    "SumOf.also": "also: {allocated_date: min(allocated_date)}",
    "ReconcileCompare.left": "left: allocated",
    "ReconcileCompare.right": "right: disbursed",
    "ReconcileCompare.tolerance": "tolerance: $tolerance",
    "FuzzyJoin.left": "left: roster",
    "FuzzyJoin.right": "right: residents",
    "FuzzyJoin.id": "id: {left: rec_id, right: person_id}",
    "FuzzyJoin.block_on": "block_on:\n  - [birth_date, district]\n  - [{left: \"substr(name_pinyin, 1, 4)\", right: \"substr(pinyin, 1, 4)\"}]",
    "FuzzyJoin.compare": "compare:\n  - {left: name, scorer: name, weight: 2}\n  - {left: address, scorer: token_set, threshold: 0.8}",
    "FuzzyJoin.keep": "keep: [district]",
    "FuzzyJoin.min_score": "min_score: $min_score",
    "FuzzyJoin.max_candidate_pairs": "max_candidate_pairs: 2000000",
    "Sides.left": "left: name_pinyin",
    "Sides.right": "right: pinyin",
    "ComparedField.name": "name: name_start",
    "ComparedField.left": "left: substr(name, 1, 1)",
    "ComparedField.right": "right: surname",
    "ComparedField.scorer": "scorer: jaro_winkler",
    "ComparedField.weight": "weight: 2",
    "ComparedField.threshold": "threshold: 0.8",
    "LinkNames.records": "records: asset_contracts",
    "LinkNames.name": "name: lessee_name",
    "LinkNames.township": "township: township",
    "LinkNames.village": "village: village",
    "LinkNames.sex": "sex: gender",
    "LinkNames.birth_year": "birth_year: year(birth_date)",
    "LinkNames.identity": "identity: lessee_id_no",
    "LinkNames.registry": "registry: {table: residents, sex: null}",
    "LinkNames.lookalikes": "lookalikes: $lookalikes",
    "LinkNames.neighbouring": "neighbouring: true",
    "LinkNames.rows": "rows: candidates",
    "RegistryColumns.table": "table: residents",
    "RegistryColumns.id": "id: person_id",
    "RegistryColumns.name": "name: name",
    "RegistryColumns.township": "township: township",
    "RegistryColumns.village": "village: village",
    "RegistryColumns.sex": "sex: gender",
    "RegistryColumns.birth_year": "birth_year: year(birth_date)",
    "Output.subject": "subject: head_id",
    "Output.person_id": "person_id: head_id",
    "Output.name": "name: name",
    "Output.district": "district: district",
    "Output.severity": "severity: \"CASE WHEN similarity < $unlike_below THEN 'high' ELSE 'low' END\"",
    "Output.discriminator": "discriminator: CAST(subsidy_year AS VARCHAR)",
    "Output.sources": "sources: list_concat(death_sources, payment_sources)",
    "Evidence.fields": "fields:\n  death_date: date\n  cards: {format: list}\n  total: amount",
    "Evidence.template": "template:\n  - \"持卡人死亡日期 {death_date}，卡号 {cards}\"\n  - {text: \"死亡后刷卡 {taps} 次\", when: taps}",
    "Evidence.timeline": "timeline:\n  - {at: death_date, kind: death, label: {zh: 死亡, en: Death}}\n  - {from: first_month, to: last_month, label: {zh: 死亡后仍发放, en: Paid after death}}",
    "TimelineItem.label": "label: {zh: 死亡后仍发放养老金, en: Pension paid after death}",
    "TimelineItem.at": "at: death_date",
    "TimelineItem.from": "from: first_month",
    "TimelineItem.to": "to: last_month",
    "TimelineItem.kind": "kind: death",
    "EvidenceField.expr": "expr: coalesce(taps, 0)",
    "EvidenceField.format": "format: month",
    "EvidenceField.item": "item: month",
    "EvidenceField.description": "description: months paid after the month of death",
    "EvidenceField.label": "label: {zh: 死亡后发放月数, en: months paid after death}",
    "Label.zh": "zh: 死亡后发放月数",
    "Label.en": "en: months paid after death",
    "TemplatePart.text": "text: \"死亡后刷卡 {taps} 次（{first_tap} 至 {last_tap}）\"",
    "TemplatePart.when": "when: taps",
    "RuleTest.name": "name: paid only up to the month of death (near miss)",
    "RuleTest.description": "description: the month of death itself is paid legitimately",
    "RuleTest.as_of": "as_of: 2024-07-01",
    "RuleTest.params": "params: {min_age: 85}",
    "RuleTest.given": "given:\n  residents:\n    - {person_id: \"110101194001011234\", name: 王建国, death_date: 2024-03-15}",
    "RuleTest.unavailable": "unavailable: {inpatient: hospital folder missing from the delivery}",
    "RuleTest.expect": "expect:\n  - {person_id: \"110101194001011234\", months: 2, amount_at_risk: 6000.50}",
    "RuleTest.expect_status": "expect_status: skipped",
    "RuleTest.expect_review": "expect_review:\n  - {subject: ZL-001, person_id: \"110101194001011234\", match: 同音, would_fire: 是}",
    "View.optional": "optional: [inpatient]",
    "View.steps": "steps:\n  - name: person_profile\n    sql: SELECT person_id, min(name) AS name FROM residents GROUP BY person_id",
    "View.id": "id: person_death",
    "View.title": "title: {zh: 死亡日期（多源）, en: Date of death (all sources)}",
    "View.description": "description: One row per person with a date of death; columns person_id, death_date, death_source.",
    "View.owner": "owner: rules-team",
}


def keys(m: type[BaseModel]) -> list[tuple[str, Any]]:
    """(key as written in YAML, pydantic field) of a model: its own keys in declaration order,
    then those it shares with other models (a rule's `optional` and `steps`, also a view's)."""
    own = m.__dict__.get("__annotations__", {})
    names = [n for n in m.model_fields if n in own] + [n for n in m.model_fields if n not in own]
    return [(m.model_fields[n].alias or n, m.model_fields[n]) for n in names]


def type_words(tp: Any) -> str:
    """A field's type in words ('list of text', 'one of high, medium, low', 'mapping name → Step')."""
    if tp in SHORTHANDS:
        return SHORTHANDS[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is UnionType:
        return " or ".join(dict.fromkeys(type_words(a) for a in args if a is not type(None)))
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin is list:
        return f"list of {type_words(args[0])}"
    if origin is dict:
        return f"mapping name → {type_words(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        where = dict(MODELS).get(tp)
        return f"mapping (its keys: {where})" if where else "mapping"
    words = {str: "text", int: "integer", float: "number", bool: "true or false", date: "date (YYYY-MM-DD)"}
    return words.get(tp, "any value")


def default_words(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        return {list: "default []", dict: "default {}"}.get(type(value), "optional")
    if field.default is None or field.default is PydanticUndefined:
        return "default none"
    if field.default == "":
        return "default empty"
    return f"default {field.default!r}" if isinstance(field.default, str) else f"default {field.default}"


def keys_markdown() -> str:
    """The reference of every key, one section per model."""
    lines = []
    for m, where in MODELS:
        lines += [f"### {where}", ""]
        for key, f in keys(m):
            lines.append(f"- `{key}` — {type_words(f.annotation)}, {default_words(f)}: {f.description.rstrip('.')}.")
            example = EXAMPLES[f"{m.__name__}.{key}"]
            lines += ["", "  ```yaml", *(f"  {x}" for x in example.splitlines()), "  ```", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
