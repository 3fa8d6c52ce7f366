"""Checks over loaded rules and views: small named functions, switched by id.

Each check takes the rule set and one rule (or view) and yields `Problem`s with
file, line and field. Checks marked ``lint_only`` run in `crosscheck rules
lint` (and the lint tests) but do not stop a run from loading the rules.
Add a check by writing a function and decorating it with `@check(...)`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from crosscheck.rules.columns import column_problems
from crosscheck.results import FINDING_COLUMNS, RULE_OUTPUT_COLUMNS
from crosscheck.rules.compiler import CompileError, Issue, compile_view, output_expression
from crosscheck.rules.parameters import coerce_param
from crosscheck.errors import did_you_mean
from crosscheck.yamlio import Problem

if TYPE_CHECKING:
    from crosscheck.rules.loader import LoadedRule, LoadedView, RuleSet

#: Fields an embedded test's `expect` rows may compare (plus the rule's evidence fields).
#: What a rule test's `expect` row may name besides the evidence fields (evidence_json: by its fields).
FINDING_FIELDS = {c.name for c in FINDING_COLUMNS} - {"evidence_json"}


@dataclass(frozen=True)
class Check:
    id: str
    target: str                      # "rule" or "view"
    lint_only: bool
    fn: Callable
    engine: str | None = None        # only when linting for this engine (None: always)


CHECKS: list[Check] = []


def check(check_id: str, *, target: str = "rule", lint_only: bool = False, engine: str | None = None):
    def deco(fn):
        CHECKS.append(Check(check_id, target, lint_only, fn, engine))
        return fn

    return deco


def run_checks(ruleset: "RuleSet", *, lint: bool = False, disabled: Iterable[str] = (), engine: str | None = None) -> list[Problem]:
    """Run the checks; `engine` (duckdb, spark) limits engine-specific checks to that engine (None: every engine)."""
    off = set(disabled)
    problems: list[Problem] = []
    for c in CHECKS:
        if c.id in off or (c.lint_only and not lint) or (engine and c.engine and c.engine != engine):
            continue
        targets = ruleset.views.values() if c.target == "view" else ruleset.rules.values()
        for t in targets:
            problems.extend(c.fn(ruleset, t))
    return problems


def _issue_problem(owner, issue: Issue) -> Problem:
    """An issue as a problem of `owner`'s file; a view's issue ("view", id, "steps", ...) is
    located in the view's file (its own key path after the id)."""
    loc = issue.loc[2:] if issue.loc[:1] == ("view",) else issue.loc
    return owner.locator.problem(loc or ("steps",), issue.message, text_line=issue.line)


def _compile_problems(owner, exc: CompileError, skip_views: bool = False) -> list[Problem]:
    return [_issue_problem(owner, p) for p in exc.problems if not (skip_views and p.loc[:1] == ("view",))]


# ------------------------------------------------------------------ views


@check("view_compiles", target="view")
def view_compiles(ruleset: "RuleSet", view: "LoadedView") -> Iterable[Problem]:
    try:
        compiled = compile_view(view.id, ruleset.view_specs, ruleset.catalog)
    except CompileError as exc:
        own = [p for p in exc.problems if len(p.loc) < 2 or p.loc[1] == view.id]
        yield from _compile_problems(view, CompileError(own or exc.problems))
        return
    for o in view.spec.optional:
        if o not in ruleset.catalog.tables:
            yield view.locator.problem(("optional",), f"'{o}' is not a canonical table{did_you_mean(o, ruleset.catalog.tables)}")
    params = [p for p in compiled.parameters if p != "as_of"]
    if params:
        yield view.locator.problem(("steps",), f"views take no parameters except $as_of, found: {', '.join('$' + p for p in params)}")
    for issue in column_problems(compiled, ruleset.catalog):
        if issue.loc[:1] == ("view",) and issue.loc[1] != view.id:
            issue = Issue(("steps",), f"in view '{issue.loc[1]}': {issue.message}")  # a view this one reads
        elif issue.loc[:1] == ("evidence",):
            issue = Issue(("steps",), issue.message)
        yield _issue_problem(view, issue)


# ------------------------------------------------------------------ rules


def _compiled(ruleset: "RuleSet", rule: "LoadedRule"):
    try:
        return rule.compile(), None
    except CompileError as exc:
        return None, exc


@check("sql_compiles")
def sql_compiles(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    """Every step is one SELECT (allow-listed AST), tables known, steps in order."""
    _, exc = _compiled(ruleset, rule)
    if exc is not None:
        yield from _compile_problems(rule, exc, skip_views=True)


@check("columns_resolve")
def columns_resolve(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    compiled, exc = _compiled(ruleset, rule)
    if compiled is None:
        return
    for issue in rule.column_issues():
        if issue.loc[:1] == ("view",):
            issue = Issue(("steps",), f"in view '{issue.loc[1]}': {issue.message}")  # reported where the view is written too
        yield _issue_problem(rule, issue)


@check("personal_data_in_text")
def personal_data_in_text(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    """Personal data leaves a finding only as a value of its own, so a masked run can mask it."""
    compiled, _ = _compiled(ruleset, rule)
    if compiled is None or rule.column_issues():  # personal data is followed through columns that resolve
        return
    for loc, msg in rule.personal().problems:
        yield rule.locator.problem(loc, msg)


@check("parameters_declared")
def parameters_declared(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    compiled, _ = _compiled(ruleset, rule)
    if compiled is None:
        return
    declared = set(rule.spec.parameters)
    for p in compiled.parameters:
        if p != "as_of" and p not in declared:
            yield rule.locator.problem(("steps",), f"${p} is used but not declared under 'parameters'")


@check("parameters_used", lint_only=True)
def parameters_used(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    compiled, _ = _compiled(ruleset, rule)
    if compiled is None:
        return
    in_template = rule.spec.evidence.names() if _template_ok(rule) else set()
    in_fuzzy = {n for st in rule.spec.steps for kind in (st.fuzzy_join, st.link_names) if kind is not None for n in kind.parameters()}
    for p in rule.spec.parameters:
        if p not in compiled.parameters and p not in in_template and p not in in_fuzzy:
            yield rule.locator.problem(("parameters", p), f"parameter '{p}' is declared but never used")


def _template_ok(rule: "LoadedRule") -> bool:
    try:
        rule.spec.evidence.placeholders()
        return True
    except ValueError:
        return False


@check("evidence_template")
def evidence_template(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    ev = rule.spec.evidence
    known = set(ev.fields) | set(rule.spec.parameters) | {"as_of"}
    for i, part in enumerate(ev.template):
        # a part of a list template is located by its index; a plain string template by its key
        loc = ("evidence", "template", i) if ("evidence", "template", i) in rule.locator.lines else ("evidence", "template")
        try:
            names = part.placeholders()
        except ValueError as exc:
            yield rule.locator.problem(loc, str(exc))
            continue
        for n in names:
            if n not in known:
                yield rule.locator.problem(loc, f"{{{n}}} is not an evidence field or parameter")
        if part.when is not None and part.when not in known:
            yield rule.locator.problem((*loc, "when"), f"'{part.when}' is not an evidence field or parameter")


@check("evidence_timeline")
def evidence_timeline(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    """Each timeline mark names evidence fields that hold a date, month or datetime (at the mark's key)."""
    from crosscheck.rules.spec import DATED_FORMATS

    fields = rule.spec.evidence.fields
    dated = [n for n, f in fields.items() if (f.item if f.format == "list" else f.format) in DATED_FORMATS]
    for i, mark in enumerate(rule.spec.evidence.timeline):
        for key, name in mark.field_names.items():
            loc = ("evidence", "timeline", i, key)
            f = fields.get(name)
            if f is None:
                yield rule.locator.problem(loc, f"'{name}' is not an evidence field{did_you_mean(name, dated or fields)}"
                                           + (f" (date fields: {', '.join(dated)})" if dated else ""))
            elif name not in dated:
                yield rule.locator.problem(loc, f"'{name}' is not a date, month or datetime field ({f.format}): a timeline "
                                           f"mark is placed by a date{' (date fields: ' + ', '.join(dated) + ')' if dated else ''}")


@check("tests_well_formed")
def tests_well_formed(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    catalog = ruleset.catalog
    expectable = FINDING_FIELDS | set(rule.spec.evidence.fields)
    for i, t in enumerate(rule.spec.tests):
        for table, rows in t.given.items():
            if table not in catalog.tables:
                yield rule.locator.problem(("tests", i, "given", table), f"'{table}' is not a canonical table")
                continue
            cols = catalog.columns(table)
            for r, row in enumerate(rows):
                if not isinstance(row, dict):
                    yield rule.locator.problem(("tests", i, "given", table, r), "a row must be a mapping column: value")
                    continue
                for col in row:
                    if col not in cols:
                        yield rule.locator.problem(("tests", i, "given", table, r, col), f"'{col}' is not a column of {table}")
        for table in t.unavailable:
            if table not in catalog.tables:
                yield rule.locator.problem(("tests", i, "unavailable", table), f"'{table}' is not a canonical table")
        for name, value in t.params.items():
            p = rule.spec.parameters.get(name)
            if p is None:
                yield rule.locator.problem(("tests", i, "params", name), f"unknown parameter '{name}'")
                continue
            try:
                coerce_param(p.type, value)
            except ValueError as exc:
                yield rule.locator.problem(("tests", i, "params", name), str(exc))
        for r, row in enumerate(t.expect):
            if not isinstance(row, dict) or not row:
                yield rule.locator.problem(("tests", i, "expect", r), "an expected finding is a mapping of fields to compare")
                continue
            for key in row:
                if key not in expectable:
                    yield rule.locator.problem(("tests", i, "expect", r, key), f"'{key}' is neither a findings column nor an evidence field")
    names = [t.name for t in rule.spec.tests]
    for i, n in enumerate(names):
        if n in names[:i]:
            yield rule.locator.problem(("tests", i, "name"), f"duplicate test name '{n}'")


@check("test_coverage", lint_only=True)
def test_coverage(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    """A stable rule has at least one positive and one (near-miss) negative test."""
    if rule.spec.status != "stable":
        return
    ok = [t for t in rule.spec.tests if t.expect_status == "ok"]
    if not any(t.expect for t in ok):
        yield rule.locator.problem(("tests",), "a stable rule needs at least one positive test (expect: one or more findings)")
    if not any(not t.expect for t in ok):
        yield rule.locator.problem(("tests",), "a stable rule needs at least one negative test (expect: [])")


def _engine_problems(owner, engine: str, steps, extra: dict[tuple, str | None]) -> list[Problem]:
    """Functions the engine lacks, named with the file line where the rule (or view) calls them."""
    from crosscheck.engines import dialect
    from crosscheck.rules.compiler import parse_expr, place, step_query

    out: list[Problem] = []
    for i, step in enumerate(steps):
        try:
            tree = step_query(step)
        except Exception:  # noqa: BLE001 - reported by sql_compiles
            continue
        for p in dialect.engine_problems(tree, engine):
            where = place(("steps", i), step, p.start)
            out.append(_issue_problem(owner, where._replace(message=f"not portable to {engine}: {p.message}")))
    for loc, sql in extra.items():
        if not sql:
            continue
        try:
            tree = parse_expr(sql)
        except ValueError:
            continue
        out += [owner.locator.problem(loc, f"not portable to {engine}: {p.message}") for p in dialect.engine_problems(tree, engine)]
    return out


@check("spark_portable", lint_only=True, engine="spark")
def spark_portable(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    compiled, _ = _compiled(ruleset, rule)
    if compiled is None:
        return
    spec = rule.spec
    extra: dict[tuple, str | None] = {loc: sql for sql, loc in (output_expression(spec, c) for c in RULE_OUTPUT_COLUMNS)}
    extra.update({("evidence", "fields", n): f.expr for n, f in spec.evidence.fields.items()})
    found = _engine_problems(rule, "spark", spec.steps, extra)
    yield from found
    if found:
        return
    try:
        compiled.sql("spark")
    except Exception as exc:  # sqlglot UnsupportedError, or a view's function (reported on the view)
        yield rule.locator.problem(("steps",), f"does not transpile to Spark SQL: {exc}")


@check("view_spark_portable", target="view", lint_only=True, engine="spark")
def view_spark_portable(ruleset: "RuleSet", view: "LoadedView") -> Iterable[Problem]:
    yield from _engine_problems(view, "spark", view.spec.steps, {})


def _anchors(text: str) -> list[str]:
    """The sections a Markdown file can be linked to: `<a id="...">` and its headings' slugs."""
    ids = re.findall(r'<a id="([^"]+)"', text)
    for heading in re.findall(r"^#+\s+(.+?)\s*$", text, re.M):
        ids.append(re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-"))
    return ids


@check("references_shipped", lint_only=True)
def references_shipped(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    """A reference is a URL or a document of the project (and a section of it) that exists."""
    root = ruleset.rules_dir.resolve().parent
    for i, ref in enumerate(rule.spec.references):
        if "://" in ref:
            continue
        doc, _, anchor = ref.partition("#")
        path = root / doc
        if not path.is_file():
            yield rule.locator.problem(("references", i), f"'{ref}': the project has no file {doc} (looked for "
                                       f"{path}): name a document beside rules/ (copy the docs/ folder with the "
                                       "rules) or a URL")
            continue
        if anchor:
            known = _anchors(path.read_text(encoding="utf-8"))
            if anchor not in known:
                yield rule.locator.problem(("references", i), f"{doc} has no section '{anchor}'{did_you_mean(anchor, known)}")


@check("metadata", lint_only=True)
def metadata(ruleset: "RuleSet", rule: "LoadedRule") -> Iterable[Problem]:
    if rule.spec.status == "stable":
        if not rule.spec.description.en.strip():
            yield rule.locator.problem(("description",), "a stable rule needs a description")
        if not rule.spec.description.zh.strip():
            yield rule.locator.problem(("description",), "a stable rule needs description.zh, the Chinese description reviewers read: "
                                       "write description: {zh: ..., en: ...}")
        if not rule.spec.owner.strip():
            yield rule.locator.problem(("owner",), "a stable rule needs an owner")
        for name, field in rule.spec.evidence.fields.items():
            if field.label is None:
                yield rule.locator.problem(("evidence", "fields", name), f"a stable rule labels every evidence field: "
                                           f"give {name} the name reviewers read, e.g. `{name}: {{format: {field.format}, label: 中文名称}}`")
