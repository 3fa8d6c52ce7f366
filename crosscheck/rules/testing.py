"""Embedded rule tests (dbt unit-test style: given rows -> expected findings).

Each test builds an in-memory DuckDB with every canonical table of the catalog
(typed as the catalog says; columns a row leaves out are NULL), inserts the
`given` rows, and runs the rule through the same compiler and runner as a real
run. `expect` lists the findings; each expected row names only the fields it
compares (findings columns such as person_id, severity, amount_at_risk, or
evidence fields such as months). The findings must match one to one: an
empty `expect` means the rule must not fire.

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

from crosscheck.rules.model import RuleTest
from crosscheck.rules.runner import run_rule

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog
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


def create_tables(con, catalog: "Catalog", given: dict[str, list[dict[str, Any]]], skip: set[str] = frozenset()) -> None:
    """Create every canonical table (except `skip`) and insert the given rows."""
    for table in catalog.tables:
        if table in skip:
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


def run_test(rule: "LoadedRule", test: RuleTest) -> RuleTestResult:
    con = connect()
    try:
        create_tables(con, rule.catalog, test.given, skip=set(test.unavailable))
        available = {t: test.unavailable.get(t) for t in rule.catalog.tables}
        outcome, table = run_rule(con, rule, available=available, as_of=test.as_of, overrides=test.params)
    except Exception as exc:
        return RuleTestResult(rule.id, test.name, False, f"{type(exc).__name__}: {exc}")
    finally:
        con.close()
    if outcome.status != test.expect_status:
        return RuleTestResult(rule.id, test.name, False, f"status {outcome.status} (expected {test.expect_status}): {outcome.reason}")
    found = _finding_dicts(table)
    unmatched = list(range(len(found)))
    missing = []
    for exp_row in test.expect:
        hit = next((i for i in unmatched if all(_same(v, found[i].get(k)) for k, v in exp_row.items())), None)
        if hit is None:
            missing.append(exp_row)
        else:
            unmatched.remove(hit)
    if missing or unmatched:
        lines = []
        for m in missing:
            lines.append(f"expected, not found: {m}")
        for i in unmatched:
            f = found[i]
            lines.append(
                "unexpected finding: "
                + str({k: f.get(k) for k in ("subject", "severity", "amount_at_risk", "evidence")})
            )
        if missing and found:
            lines.append("findings were: " + "; ".join(str({k: f.get(k) for k in ("subject", "severity", "amount_at_risk", "evidence")}) for f in found))
        return RuleTestResult(rule.id, test.name, False, "\n    ".join(lines))
    return RuleTestResult(rule.id, test.name, True)


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
