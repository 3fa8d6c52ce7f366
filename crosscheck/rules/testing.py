"""Embedded rule tests (dbt unit-test style: given rows -> expected findings).

Each test builds an in-memory DuckDB with every canonical table of the catalog
(typed as the catalog says; columns a row leaves out are NULL), inserts the
`given` rows, and runs the rule through the same compiler and runner as a real
run. `expect` lists the findings; each expected row names only the fields it
compares (findings columns such as person_id, severity, amount_at_risk, or
evidence fields such as months). The findings must match one to one: an
empty `expect` means the rule must not fire. `expect_review`, when given, lists the
review candidates (待人工核实, crosscheck.rules.review) the same way.

Conveniences for writing rows by hand: a `name_raw` left out copies `name`;
`source_file`/`source_line` default to `<table>.csv` and the row's position
(header = line 1); a month written `2024-03` means 2024-03-01; numbers given
for text columns (an unquoted identity number) become text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from crosscheck.rules.spec import RuleTest
from crosscheck.rules.runner import run_rule

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog
    from crosscheck.results import StandIn
    from crosscheck.rules.loader import LoadedRule, RuleSet


@dataclass
class RuleTestResult:
    rule_id: str
    test: str
    passed: bool
    message: str = ""
    line: int | None = None
    file: str = ""

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        return f"{status} {self.rule_id} :: {self.test}" + (f"\n    {self.message}" if self.message else "")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB locked down as a run's is before its rules (no file access,
    configuration locked): a rule that passes its tests here cannot reach files at night."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _cell(value: Any, sql_type: str) -> Any:
    if value is None:
        return None
    if sql_type == "VARCHAR":
        return value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
    if sql_type in {"DATE", "TIMESTAMP"} and isinstance(value, str):
        v = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}", v):
            return f"{v}-01"
        if re.fullmatch(r"\d{6}", v):
            return f"{v[:4]}-{v[4:]}-01"
        return v
    if sql_type.startswith("DECIMAL") and isinstance(value, float):
        return str(value)
    return value


def create_tables(con, catalog: "Catalog", given: dict[str, list[dict[str, Any]]], skip: set[str] = frozenset(),
                  reverse: bool = False, only: set[str] | None = None) -> None:
    """Create every canonical table (except `skip`; or `only` these) and insert the given rows
    (last first when `reverse`: the same rows, the same source lines, stored in the other order)."""
    for table in catalog.tables:
        if table in skip or (only is not None and table not in only):
            continue
        cols = catalog.columns(table)
        con.execute(f'CREATE TABLE "{table}" ({", ".join(f"{c} {t}" for c, t in cols.items())})')
        rows = given.get(table) or []
        if not rows:
            continue
        names = list(cols)
        values = []
        for i, row in enumerate(rows):
            row = dict(row)
            for c in cols:
                if c.endswith("_raw") and c not in row and c[: -len("_raw")] in row:
                    row[c] = row[c[: -len("_raw")]]
            row.setdefault("source_file", f"{table}.csv")
            row.setdefault("source_line", i + 2)
            values.append([_cell(row.get(c), cols[c]) for c in names])
        placeholders = ", ".join("?" for _ in names)
        values = values[::-1] if reverse else values
        con.executemany(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({placeholders})', values)


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and (actual is None or actual == "")
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    if isinstance(expected, (int, float, Decimal)) or isinstance(actual, (int, float, Decimal)):
        try:
            return abs(Decimal(str(expected)) - Decimal(str(actual))) < Decimal("0.005")
        except Exception:
            return False
    if isinstance(expected, (date, datetime)):
        expected = expected.isoformat()
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual))
    return str(expected) == str(actual)


def _finding_dicts(table) -> list[dict[str, Any]]:
    import json

    out = []
    for row in table.to_pylist():
        d = dict(row)
        d.update(json.loads(row["evidence_json"] or "{}"))
        out.append(d)
    return out


def stand_in_tables(con, catalog: "Catalog", unavailable: dict[str, str]) -> dict[str, "StandIn"]:
    """The tables not delivered whose connector declares a `fallback`: created with the rows
    that stand in for them (crosscheck.connectors.fallbacks), as a run does."""
    from crosscheck.connectors.fallbacks import FALLBACKS
    from crosscheck.results import StandIn

    out = {}
    for table, why in unavailable.items():
        spec = catalog.tables.get(table)
        if spec is None or spec.fallback is None:
            continue
        fallback = FALLBACKS[spec.fallback]()
        create_tables(con, catalog, {table: fallback.rows.to_pylist()}, only={table})
        out[table] = StandIn(table, f"{why}; {fallback.reason}", fallback.first_year, fallback.last_year)
    return out


def _run_on_given(rule: "LoadedRule", test: RuleTest, reverse: bool = False):
    con = connect()
    try:
        create_tables(con, rule.catalog, test.given, skip=set(test.unavailable), reverse=reverse)
        stand_ins = stand_in_tables(con, rule.catalog, test.unavailable)
        available = {t: None if t in stand_ins else test.unavailable.get(t) for t in rule.catalog.tables}
        return run_rule(con, rule, available=available, as_of=test.as_of, overrides=test.params, stand_ins=stand_ins)
    finally:
        con.close()


def _comparable(table) -> list[tuple[str, str]]:
    """A run's findings as a reviewer gets them, whatever order they came in (sources as a set)."""
    sources = table.column("sources").to_pylist() if "sources" in table.column_names else [None] * table.num_rows
    rows = table.drop_columns(["sources"]).to_pylist() if "sources" in table.column_names else table.to_pylist()
    return sorted((repr(sorted(row.items())), repr(sorted(refs or []))) for row, refs in zip(rows, sources))


def order_dependence(table, reversed_table) -> str:
    """'' when the findings are the same with the given rows stored in the other order, else what differs."""
    one, other = _comparable(table), _comparable(reversed_table)
    if one == other:
        return ""
    first = lambda rows, but: next((r[0][:300] for r in rows if r not in but), "no finding")  # noqa: E731
    return ("the findings depend on the order the rows are stored in (the same rows, stored last first, give "
            f"other findings): {first(one, other)} vs {first(other, one)}; give every list and "
            "string_agg an ORDER BY")


def run_test(rule: "LoadedRule", test: RuleTest) -> RuleTestResult:
    try:
        outcome, table = _run_on_given(rule, test)
        reversed_table = _run_on_given(rule, test, reverse=True)[1] if any(len(r) > 1 for r in test.given.values()) else table
    except Exception as exc:
        return RuleTestResult(rule.id, test.name, False, f"{type(exc).__name__}: {exc}")
    if outcome.status != test.expect_status:
        return RuleTestResult(rule.id, test.name, False, f"status {outcome.status} (expected {test.expect_status}): {outcome.reason}")
    found = _finding_dicts(table)
    problems = compare_findings(rule, test, found)
    if test.expect_review is not None:
        problems += _compare_review(test.expect_review, outcome.review_rows)
    if not problems and (why := order_dependence(table, reversed_table)):
        problems = [why]
    return RuleTestResult(rule.id, test.name, not problems, "\n    ".join(problems))


#: Evidence formats whose values a failing test shows with two decimals.
_AMOUNT_FIELDS = {"amount_at_risk"}


def _shown(value: Any, amount: bool = False) -> str:
    """A value as a failing test shows it: amounts with two decimals, dates ISO, lists [a, b]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if amount and isinstance(value, (int, float, Decimal)) or amount and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_differences(expected: dict[str, Any], finding: dict[str, Any], amounts: set[str] = _AMOUNT_FIELDS) -> list[str]:
    """'months: expected 3, got 2' for each field of an expected row the finding does not match."""
    return [f"{k}: expected {_shown(v, k in amounts)}, got {_shown(finding.get(k), k in amounts)}"
            for k, v in expected.items() if not _same(v, finding.get(k))]


def compare_findings(rule: "LoadedRule", test: RuleTest, found: list[dict[str, Any]]) -> list[str]:
    """Why the findings do not match the test's `expect`, one line per expected finding not found
    (the fields that differ on the finding most like it) and per finding not expected; [] when they match."""
    unmatched = list(range(len(found)))
    missing: list[int] = []
    for r, exp_row in enumerate(test.expect):
        hit = next((i for i in unmatched if not field_differences(exp_row, found[i])), None)
        if hit is None:
            missing.append(r)
        else:
            unmatched.remove(hit)
    amounts = _AMOUNT_FIELDS | {n for n, f in rule.spec.evidence.fields.items() if f.format == "amount"}
    index = next((i for i, t in enumerate(rule.spec.tests) if t is test or t == test), None)
    lines = []
    for r in missing:
        exp_row = test.expect[r]
        line = rule.locator.line_of(("tests", index, "expect", r)) if index is not None else None
        label = f"expected finding {r + 1}" + (f" (line {line})" if line else "")
        if not unmatched:
            lines.append(f"{label}: not found; " + ("the rule found nothing" if not found else
                         f"the rule's {len(found)} finding(s) match other expected rows"))
            continue
        best = min(unmatched, key=lambda i: len(field_differences(exp_row, found[i], amounts)))
        unmatched.remove(best)
        lines.append(f"{label}: " + "; ".join(field_differences(exp_row, found[best], amounts)))
    for i in unmatched:
        f = found[i]
        shown = ", ".join(f"{k} {_shown(f.get(k), k in amounts)}" for k in ("subject", "severity", "amount_at_risk", "evidence"))
        lines.append(f"unexpected finding: {shown}")
    return lines


def _compare_review(expected: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
    """Why the review candidates differ from `expect_review` (one to one); [] when they match."""
    unmatched = list(range(len(rows)))
    lines = []
    for r, exp_row in enumerate(expected):
        hit = next((i for i in unmatched if not field_differences(exp_row, rows[i])), None)
        if hit is None:
            lines.append(f"expected review candidate {r + 1}: not listed ({', '.join(f'{k} {_shown(v)}' for k, v in exp_row.items())})")
        else:
            unmatched.remove(hit)
    lines += [f"unexpected review candidate: {', '.join(f'{k} {_shown(v)}' for k, v in rows[i].items())}" for i in unmatched]
    return lines


def embedded_tests(ruleset: "RuleSet", ids: list[str] | None = None) -> list[tuple["LoadedRule", RuleTest]]:
    rules = [ruleset[i] for i in ids] if ids else list(ruleset)
    return [(r, t) for r in rules for t in r.spec.tests]


def run_tests(ruleset: "RuleSet", ids: list[str] | None = None) -> list[RuleTestResult]:
    results = []
    for rule, t in embedded_tests(ruleset, ids):
        res = run_test(rule, t)
        i = rule.spec.tests.index(t)
        res.file, res.line = str(rule.path), rule.locator.line_of(("tests", i))
        results.append(res)
    return results
