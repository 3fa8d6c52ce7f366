"""The rule file schema (closed: unknown keys are errors with file and line).

A rule is one YAML file, `rules/<domain>/<id>.yaml`. Its logic is an ordered list of named
`steps`, each compiled to one CTE: a plain `sql:` SELECT or a declarative step (`from`, `join`,
`where`, `group_by`, `select`, `having`; `pairs`, `reconcile`, `window`, `periods`, `fuzzy_join`,
`link_names`). Steps
read canonical tables, shared views (`rules/_views/`) and earlier steps. The last step returns one row per finding; `output`,
`amount_at_risk` and `evidence` are SQL expressions over that last step.
Parameters are referenced as `$name` and bound, never formatted in; `$as_of`
is always available.
"""
from __future__ import annotations

import re
import string
from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from crosscheck.rules.concepts import HeldInMonth, Pairs, Periods, Reconcile, Window, as_list
from crosscheck.engines.characters import parse_lookalikes
from crosscheck.rules.fuzzy import ComparedField, FuzzyJoin, Sides  # noqa: F401 - the schema's models, as key_docs lists them
from crosscheck.rules.linknames import LinkNames
from crosscheck.rules.parameters import RESERVED_PARAMETERS, Parameter, coerce_param
from crosscheck.rules.review import Review
from crosscheck.yamlio import IDENT, Strict

Status = Literal["draft", "experimental", "stable", "deprecated"]

EvidenceFormat = Literal["text", "date", "month", "datetime", "amount", "integer", "number", "list"]


class Bilingual(Strict):
    """A short text in Chinese and in English, both required (a rule's title)."""

    zh: str = Field(min_length=1, description="Chinese: what the reviewers read first")
    en: str = Field(min_length=1, description="English")


class Description(Strict):
    """What a rule (or view) does, exactly: a plain string is the English text; `{zh: ..., en: ...}`
    gives the Chinese one the reviewers read beside it (a stable rule needs `zh`)."""

    zh: str = Field(default="", description="Chinese description, shown to reviewers first")
    en: str = Field(default="", description="English description")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"en": value} if isinstance(value, str) else value


class Join(Strict):
    table: str = Field(description="table, view or step, optionally with an alias: 'pension_payments p'")
    on: str | None = Field(default=None, description="SQL join condition (give 'on' or 'using')")
    using: list[str] | None = Field(default=None, description="columns of the same name on both sides (give 'on' or 'using')")
    how: Literal["inner", "left", "semi", "anti"] = Field(
        default="inner", description="inner (both sides), left (keep rows without a match), semi (has a match), anti (has none)")
    held: HeldInMonth | None = Field(default=None, description="condition added to 'on': the joined row's interval is held in a month (docs/writing-rules.md, held)")

    @model_validator(mode="after")
    def _on_or_using(self) -> "Join":
        if (self.on is None) == (self.using is None):
            raise ValueError("a join needs exactly one of 'on' or 'using'")
        if self.held is not None and self.on is None:
            raise ValueError("'held' goes with 'on', not 'using'")
        return self


class Step(Strict):
    name: str = Field(pattern=IDENT, description="snake_case; later steps read this step by its name, like a table")
    description: str = Field(default="", description="what the step keeps, for the next reader")
    sql: str | None = Field(default=None, description="one SELECT in DuckDB SQL (a `|` block for several lines)")
    from_: str | None = Field(default=None, alias="from", description="declarative step: the table, view or earlier step read, with an alias")
    join: list[Join] = Field(default_factory=list, description="declarative step: tables joined, in order")
    where: list[str] = Field(default_factory=list, description="declarative step: conditions, all of which must hold (AND)")
    group_by: list[str] = Field(default_factory=list, description="declarative step: one output row per distinct value of these")
    select: list[str] = Field(default_factory=list, description="declarative step: the output columns (`expression AS name`)")
    having: list[str] = Field(default_factory=list, description="declarative step: conditions on the groups (AND)")
    pairs: Pairs | None = Field(default=None, description="self-join within a time window: rows a and b (docs/writing-rules.md, pairs)")
    reconcile: Reconcile | None = Field(default=None, description="two or three sums per key compared with a tolerance (docs/writing-rules.md, reconcile)")
    window: Window | None = Field(default=None, description="windows of days anchored at each row, aggregated per window (docs/writing-rules.md, window)")
    periods: Periods | None = Field(default=None, description="the periods of each row anchored at its start date: contract years (docs/writing-rules.md, periods)")
    fuzzy_join: FuzzyJoin | None = Field(default=None, description="blocked, scored candidate pairs (docs/writing-rules.md, fuzzy_join)")
    link_names: LinkNames | None = Field(default=None, description="each record linked by name and place to one registry person, or its candidates (docs/names.md)")

    _lists = field_validator("where", "group_by", "select", "having", mode="before")(as_list)

    @model_validator(mode="after")
    def _one_form(self) -> "Step":
        declarative = self.from_ is not None or self.join or self.where or self.group_by or self.select or self.having
        kinds = [k for k in ("pairs", "reconcile", "window", "periods") if getattr(self, k) is not None]
        for kind in ("fuzzy_join", "link_names"):
            if getattr(self, kind) is not None:
                if self.sql is not None or declarative or kinds or self.fuzzy_join and self.link_names:
                    raise ValueError(f"a {kind} step has no 'sql', 'pairs', 'reconcile', 'window', 'periods', other step kind or declarative keys")
                return self
        if self.sql is not None and (declarative or kinds):
            raise ValueError("a step is either 'sql' or declarative ('from', 'join', 'where', 'group_by', 'select', 'having'), not both")
        if len(kinds) + (self.from_ is not None) > 1:
            raise ValueError("a step has one of 'from', 'pairs', 'reconcile', 'window' or 'periods'")
        if set(kinds) & {"pairs", "window"} and not self.select:
            raise ValueError(f"a '{kinds[0]}' step needs 'select' (columns of a and b; of a and w)")
        if self.window is not None and self.group_by:
            raise ValueError("a 'window' step groups by its windows itself: no 'group_by'")
        if self.fuzzy_join is None and self.sql is None and not kinds and (self.from_ is None or not self.select):
            raise ValueError("a step needs 'sql', or 'from' and 'select'")
        return self

    def to_sql(self) -> str:
        """The step's SELECT text (a fuzzy_join step's is written by crosscheck.rules.fuzzy)."""
        return "".join(text for _, text in self.sql_pieces())

    def sql_pieces(self) -> list[tuple[tuple, str]]:
        """The step's SELECT text in pieces, each with the key of the step it comes from
        (("select", 2), ("where", 0), ("join", 1, "on"), ...; () for the words in between), so a
        problem at a place in the text is named at the key that wrote it."""
        if self.fuzzy_join is not None or self.link_names is not None:
            raise ValueError(f"step {self.name}: a fuzzy_join or link_names step's SQL is written by the compiler")
        if self.sql is not None:
            return [(("sql",), self.sql)]
        out: list[tuple[tuple, str]] = []

        def listed(key: str, items: list[str], sep: str, wrap: str = "{}") -> None:
            for i, item in enumerate(items):
                before, after = wrap.split("{}")
                out.extend([((), (sep if i else "") + before), ((key, i), item), ((), after)])

        out.append(((), "SELECT "))
        if self.select:
            listed("select", self.select, ", ")
        else:
            out.append(((), "*"))
        if self.pairs is not None:
            out.append((("pairs",), "\n" + self.pairs.from_sql()[0]))
        elif self.reconcile is not None:
            out.append((("reconcile",), f"\nFROM (\n{self.reconcile.to_sql()}\n) r"))
        elif self.window is not None:  # and its GROUP BY below
            out.append((("window",), "\n" + self.window.from_sql()))
        elif self.periods is not None:
            out.append((("periods",), f"\nFROM (\n{self.periods.to_sql()}\n) p"))
        else:
            out.extend([((), "\nFROM "), (("from",), str(self.from_))])
        for k, j in enumerate(self.join):
            kind = {"inner": "JOIN", "left": "LEFT JOIN", "semi": "SEMI JOIN", "anti": "ANTI JOIN"}[j.how]
            out.extend([((), f"\n{kind} "), (("join", k, "table"), j.table), ((), " ")])
            if j.using is not None:
                out.append((("join", k, "using"), f"USING ({', '.join(j.using)})"))
            elif j.held is not None:
                out.extend([((), "ON ("), (("join", k, "on"), str(j.on)), ((), ") AND ("),
                            (("join", k, "held"), j.held.predicate()), ((), ")")])
            else:
                out.extend([((), "ON "), (("join", k, "on"), str(j.on))])
        for key, word, sep in (("where", "WHERE ", " AND "), ("group_by", "GROUP BY ", ", "), ("having", "HAVING ", " AND ")):
            items = getattr(self, key)
            if key == "group_by" and self.window is not None:
                out.append((("window",), "\nGROUP BY " + ", ".join(self.window.group_by())))
            if items:
                out.append(((), f"\n{word}"))
                listed(key, items, sep, "{}" if key == "group_by" else "({})")
        return out

    def key_at(self, offset: int) -> tuple:
        """The key of the step (see `sql_pieces`) that wrote the character at `offset` of its SQL."""
        at = 0
        for key, text in self.sql_pieces():
            if at <= offset < at + len(text) and key:
                return key
            at += len(text)
        return ()


class Label(Strict):
    """What an evidence field is called where reviewers read it: a plain string is the Chinese
    label; `{zh: ..., en: ...}` gives the English one too (default: the field's name)."""

    zh: str = Field(min_length=1, description="Chinese label: what the workbench, report.html and the workbooks show")
    en: str = Field(default="", description="English label (default: the field's name, underscores as spaces)")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"zh": value} if isinstance(value, str) else value


class EvidenceField(Strict):
    expr: str | None = Field(default=None, description="SQL over the last step; default: the column of the field's name")
    format: EvidenceFormat = Field(
        default="text", description="how the value is written: text, date, month, datetime, amount (2 decimals), integer, number or list")
    item: EvidenceFormat = Field(default="text", description="format of each element when format is list")
    description: str = Field(default="", description="what the field holds")
    label: Label | None = Field(default=None, description="the field's name for reviewers, Chinese (and English): a stable rule labels every field")


#: What joins the parts of a list template that are shown.
TEMPLATE_SEPARATOR = "，"


class TemplatePart(Strict):
    """A piece of a list template: a plain string is shown on every finding, `{text: ..., when: x}`
    only on findings where evidence field (or parameter) x is present: not null, not zero,
    not empty text, not an empty list."""

    text: str = Field(min_length=1, description="{field} or {parameter} placeholders")
    when: str | None = Field(default=None, description="evidence field or parameter that must be present")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    def placeholders(self) -> list[str]:
        try:
            return [f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None]
        except ValueError as exc:
            raise ValueError(f"template: {exc}") from None


#: Evidence formats that hold a point in time (what a timeline can place).
DATED_FORMATS = ("date", "month", "datetime")


class TimelineItem(Strict):
    """One mark on a finding's timeline, drawn in report.html beside its evidence: a day
    (`at`) or a span (`from` … `to`), each an evidence field holding a date, month or time.
    `kind: death` is drawn as the death it is; the rest as what happened."""

    label: Bilingual = Field(description="what the mark is, in Chinese and English")
    at: str | None = Field(default=None, description="a date, month or datetime evidence field: a day on the timeline")
    from_: str | None = Field(default=None, alias="from", description="with `to`: the evidence fields a span starts and ends at")
    to: str | None = Field(default=None, description="the evidence field the span ends at")
    kind: Literal["death", "event"] = Field(default="event", description="death is drawn as a death (red); event as what happened")

    @model_validator(mode="after")
    def _a_day_or_a_span(self) -> "TimelineItem":
        if (self.at is None) == (self.from_ is None or self.to is None):
            raise ValueError("a timeline mark has 'at' (a day), or 'from' and 'to' (a span)")
        return self

    @property
    def field_names(self) -> dict[str, str]:
        """The key the mark names each evidence field under (at, from, to) -> the field."""
        return {k: f for k, f in (("at", self.at), ("from", self.from_), ("to", self.to)) if f}


class Evidence(Strict):
    """`template` is one Chinese line, or a list of parts joined by TEMPLATE_SEPARATOR (，):

        template:
          - "持卡人死亡日期 {death_date}，卡号 {cards}"
          - {text: "死亡后刷卡 {taps} 次（{first_tap} 至 {last_tap}）", when: taps}

    so that a finding names only what did happen (a plain string is a one-part list)."""

    fields: dict[str, EvidenceField] = Field(
        min_length=1, description="values of the last step kept with each finding (evidence_json), by snake_case name; "
        "`months: integer` is short for `months: {format: integer}`")
    template: list[TemplatePart] = Field(
        min_length=1, description="one Chinese sentence, or a list of parts joined by ，; {field} or {parameter} placeholders")
    timeline: list[TimelineItem] = Field(
        default_factory=list, description="marks of each finding's timeline in the report: a day (at) or a span (from, to) of date fields")

    @field_validator("template", mode="before")
    @classmethod
    def _one_part(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("template")
    @classmethod
    def _one_part_always_shown(cls, parts: list[TemplatePart]) -> list[TemplatePart]:
        if all(p.when is not None for p in parts):
            raise ValueError("a template needs at least one part without 'when', shown on every finding")
        return parts

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `death_date: date` is short for `death_date: {format: date}`
        if isinstance(value, dict):
            return {k: ({"format": v} if isinstance(v, str) else ({} if v is None else v)) for k, v in value.items()}
        return value

    @field_validator("fields")
    @classmethod
    def _names(cls, value: dict[str, EvidenceField]) -> dict[str, EvidenceField]:
        bad = [k for k in value if not re.fullmatch(IDENT, k)]
        if bad:
            raise ValueError(f"evidence field names must be snake_case: {', '.join(bad)}")
        return value

    def placeholders(self) -> list[str]:
        return [n for part in self.template for n in part.placeholders()]

    def names(self) -> set[str]:
        """Every evidence field or parameter the template reads: placeholders and `when`s."""
        return set(self.placeholders()) | {p.when for p in self.template if p.when is not None}


class Output(Strict):
    """How the last step's columns become the findings' columns (SQL expressions)."""

    subject: str = Field(default="person_id", description="what the finding is about (a person id, or a document|township); with discriminator it makes the finding's key")
    person_id: str | None = Field(default="person_id", description="the person's identity number (null: the finding is about no person)")
    name: str | None = Field(default=None, description="the person's name as shown to reviewers (masked in a masked run)")
    district: str | None = Field(default=None, description="district of the finding, for `--districts` and the report's grouping")
    severity: str | None = Field(default=None, description="per-finding severity expression; default: the rule's severity")
    discriminator: str | None = Field(default=None, description="tells apart several findings of one rule on one subject (default: none)")
    sources: str | None = Field(default=None, description="list or text of 'file:line' of the records the finding rests on")


class RuleTest(Strict):
    name: str = Field(min_length=1, description="what the test shows, unique within the rule")
    description: str = Field(default="", description="more about the case, if the name is not enough")
    as_of: date = Field(description="the run's as-of date for this test ($as_of)")
    params: dict[str, Any] = Field(default_factory=dict, description="parameter values for this test (others: their defaults)")
    given: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="rows of canonical tables, column: value; columns left out are null; other tables are empty")
    unavailable: dict[str, str] = Field(default_factory=dict, description="tables to treat as not delivered, with the reason")
    expect: list[dict[str, Any]] = Field(default_factory=list, description="findings, fields to compare; [] = no finding")
    expect_review: list[dict[str, Any]] | None = Field(default=None, description=(
        "review candidates listed (待人工核实), fields to compare (subject, person_id, match, would_fire...); [] = none; left out: not compared"))
    expect_status: Literal["ok", "partial", "skipped", "failed"] = Field(default="ok", description=(
        "the rule's outcome: ok, or partial (it read rows standing in for a table not delivered), skipped or failed"))


class Logic(Strict):
    """What rules and views share: tables that may be missing, and the steps."""

    optional: list[str] = Field(default_factory=list, description="tables treated as empty when not delivered")
    steps: list[Step] = Field(min_length=1, description="the logic, in order; the last step returns one row per finding")

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: list[Step]) -> list[Step]:
        names = [s.name for s in steps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate step names: {', '.join(dup)}")
        return steps


class View(Logic):
    """A shared derived relation (e.g. person_death), used by rules like a table."""

    id: str = Field(pattern=IDENT, description="the view's name, as rules read it; equals the file name")
    title: Bilingual | None = Field(default=None, description="{zh: ..., en: ...}")
    description: Description = Field(default_factory=Description, description="the view's columns and what a row is")
    owner: str = Field(default="", description="team or person who answers for the view")


class Rule(Logic):
    id: str = Field(pattern=IDENT, description="snake_case, unique, equal to the file name (without .yaml)")
    title: Bilingual = Field(description="short name in Chinese and English: {zh: ..., en: ...}")
    description: Description = Field(
        default_factory=Description, description="exactly what fires and what does not: English text, or {zh: ..., en: ...} (zh required when stable)")
    severity: Literal["high", "medium", "low"] = Field(description="how the findings are ranked and alerted")
    status: Status = Field(
        default="experimental", description="draft, experimental, stable or deprecated: what each does is in "
        "docs/writing-rules.md, \"Status\"")
    owner: str = Field(default="", description="team or person who answers for the rule (required when stable)")
    tags: list[str] = Field(default_factory=list, description="free words to find rules by")
    references: list[str] = Field(default_factory=list, description="where the rule's notions are defined: a shipped document (docs/rules.md#...) or a URL")
    parameters: dict[str, Parameter] = Field(default_factory=dict, description="values a run may change, read as $name in SQL")
    output: Output = Field(default_factory=Output, description="which columns of the last step are the finding's subject, person, name, district")
    amount_at_risk: str | None = Field(default=None, description="SQL over the last step; null = the rule defines none")
    evidence: Evidence = Field(description="the values kept with each finding and the Chinese sentence that shows them")
    review: Review | None = Field(default=None, description="the step whose rows are review candidates (待人工核实), not findings (docs/writing-rules.md, review)")
    tests: list[RuleTest] = Field(default_factory=list, description="embedded tests: given rows, expected findings (`crosscheck rules test`)")
    suppression_days: int | None = Field(default=None, ge=0, description="days a reviewed finding of this rule "
                                         "stays suppressed; default: the store's")
    incremental: bool = Field(default=True, description="false: always run the rule over every row, never only for "
                              "the subjects a new delivery touches (docs/writing-rules.md, \"Rules on the change\")")

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, params: dict[str, Parameter]) -> dict[str, Parameter]:
        bad = [k for k in params if not re.fullmatch(IDENT, k)]
        if bad:
            raise ValueError(f"parameter names must be snake_case: {', '.join(bad)}")
        reserved = [k for k in params if k in RESERVED_PARAMETERS]
        if reserved:
            raise ValueError(f"'{', '.join(reserved)}' is reserved (always bound by the runner)")
        return params

    @model_validator(mode="after")
    def _fuzzy_parameters(self) -> "Rule":
        for step in self.steps:
            kind = step.fuzzy_join or step.link_names
            types = {"integer", "number"} if step.fuzzy_join is not None else {"text"}
            for name in kind.parameters() if kind is not None else ():
                p = self.parameters.get(name)
                if p is None:
                    raise ValueError(f"step '{step.name}': ${name} is used but not declared under 'parameters'")
                if p.type not in types:
                    raise ValueError(f"step '{step.name}': ${name} must be {'an integer or number' if step.fuzzy_join else 'a text'} parameter")
                if step.link_names is not None:
                    parse_lookalikes(str(p.default))
        return self

    def defaults(self) -> dict[str, Any]:
        return {k: coerce_param(p.type, p.default) for k, p in self.parameters.items()}

    def bind(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The parameter values of one run: defaults with `overrides` applied; ValueError
        naming the rule for an unknown parameter or a value of the wrong type."""
        values = self.defaults()
        for name, value in (overrides or {}).items():
            p = self.parameters.get(name)
            if p is None:
                known = ", ".join(self.parameters) or "none"
                raise ValueError(f"rule {self.id}: unknown parameter '{name}' (known: {known})")
            try:
                values[name] = coerce_param(p.type, value)
            except ValueError as exc:
                raise ValueError(f"rule {self.id}: parameter '{name}': {exc}") from None
        return values
