"""Column references of a compiled rule, resolved against tables, views and earlier steps.

sqlglot's `qualify` says whether every column resolves. When one does not, the first
step (CTE) that fails is found, then the column itself: the message names the table,
view or step it was looked for in, the closest column names first, and the line of the
rule file where the column is written (`compiler.place`):

    amout: no such column in pension_payments; did you mean amount? (columns: amount, ...)

Later steps are not checked (they would only repeat the error). Output and evidence
expressions are checked one by one over the last step.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from crosscheck.engines import dialect
from crosscheck.results import RULE_OUTPUT_COLUMNS
from crosscheck.rules.compiler import EVIDENCE_PREFIX, Compiled, Cte, Issue, catalog_schema, place, text_start
from crosscheck.errors import closest, closest_first, did_you_mean

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog

_UNRESOLVED = (
    re.compile(r"Unknown column: (?P<col>[^\s,]+)"),
    re.compile(r"Column '(?P<col>[^']+)' could not be resolved(?: for table: '(?P<table>[^']+)')?"),
)


def _qualified(tree: exp.Expression, schema: dict) -> exp.Expression:
    return qualify(tree.copy(), schema=schema, dialect=dialect.READ_DIALECT, validate_qualify_columns=True, quote_identifiers=False)


def _with(select: exp.Select, ctes: list[Cte]) -> exp.Select:
    for c in ctes:
        select = select.with_(c.name, as_=c.query.copy(), copy=False)
    return select


def column_problems(compiled: Compiled, catalog: "Catalog") -> list[Issue]:
    """Every column reference resolved (sqlglot qualify); the first that does not, named and placed."""
    schema = catalog_schema(catalog)
    try:
        _qualified(compiled.tree, schema)
        return []
    except (OptimizeError, SqlglotError) as exc:
        whole = str(exc)
    outputs: dict[str, list[str]] = {}   # columns of each CTE that resolved, by name
    for k, cte in enumerate(compiled.ctes):
        probe = _with(exp.select("*").from_(exp.to_table(cte.name)), compiled.ctes[: k + 1])
        try:
            resolved = _qualified(probe, schema)
        except (OptimizeError, SqlglotError) as exc:
            return [_cte_problem(cte, str(exc), _Sources(catalog, compiled.ctes, outputs))]
        outputs[cte.name] = list(resolved.named_selects)
    return _output_problems(compiled, schema, catalog, outputs) or [Issue(("evidence",), f"output/evidence expressions: {whole}")]


class _Sources:
    """The columns and the name for people of what a step reads: a table, view, step or subquery."""

    def __init__(self, catalog: "Catalog", ctes: list[Cte], outputs: dict[str, list[str]]):
        self.catalog = catalog
        self.outputs = outputs
        self.names: dict[str, str] = {}
        for c in ctes:
            if c.origin[0] == "view":
                view, j = c.origin[1], c.origin[2]
                self.names[c.name] = f"view {view}" if c.name == view else f"step '{c.step.name if c.step else j}' of view {view}"
            else:
                self.names[c.name] = f"step '{c.name}'"

    def columns(self, source: exp.Expression, inner: dict[str, exp.Expression]) -> tuple[str, list[str]] | None:
        """(name, columns) of a FROM/JOIN source, None when they cannot be told (a table function...)."""
        if isinstance(source, exp.Table):
            name = source.name
            if name in inner:
                cols = list(inner[name].named_selects)
                return (f"'{name}'", cols) if "*" not in cols else None
            if name in self.outputs:
                return self.names.get(name, f"'{name}'"), self.outputs[name]
            if name in self.catalog.tables:
                return name, list(self.catalog.columns(name))
            return None
        if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Query):
            cols = list(source.this.named_selects)
            return (f"subquery {source.alias_or_name}", cols) if cols and "*" not in cols else None
        return None


def _from_sources(select: exp.Select) -> list[exp.Expression]:
    found = []
    source = select.args.get("from_") or select.args.get("from")  # the key's name depends on the sqlglot version
    if source is not None:
        found.append(source.this)
    found += [j.this for j in select.args.get("joins") or []]
    return found


def _unresolved(message: str) -> tuple[str, str | None] | None:
    for pattern in _UNRESOLVED:
        m = pattern.search(message)
        if m:
            parts = m.group("col").replace('"', "").split(".")
            table = m.groupdict().get("table") or (parts[-2] if len(parts) > 1 else None)
            return parts[-1], table.replace('"', "") if table else None
    return None


def _column_node(query: exp.Expression, name: str, table: str | None) -> exp.Column | None:
    found = [c for c in query.find_all(exp.Column) if c.name.lower() == name.lower() and (table is None or c.table == table)]
    found.sort(key=lambda c: text_start(c) if text_start(c) is not None else 1 << 30)
    return found[0] if found else None


def _cte_problem(cte: Cte, error: str, sources: _Sources) -> Issue:
    """The failing step's problem, at the line (or key) of the unresolved column."""
    base = cte.origin[:2] if cte.origin[0] == "steps" else ("view", cte.origin[1], "steps", cte.origin[2])
    where = _unresolved(error)
    node = _column_node(cte.query, *where) if where else None
    message = _column_message(node, sources, cte.query) if node is not None else None
    if cte.step is None:
        return Issue(base, message or error)
    return place(base, cte.step, text_start(node) if node is not None else None)._replace(message=message or f"step '{cte.name}': {error}")


def _column_message(node: exp.Column, sources: _Sources, query: exp.Expression) -> str | None:
    """'amout: no such column in pension_payments; did you mean amount? (columns: amount, ...)'."""
    inner = {c.alias_or_name: c.this for c in query.find_all(exp.CTE)}
    name, qualifier = node.name, node.table or None
    scope: list[tuple[str, tuple[str, list[str]] | None]] = []   # (alias, (what, columns)) of the enclosing SELECTs
    select = node.find_ancestor(exp.Select)
    while select is not None:
        for s in _from_sources(select):
            scope.append((s.alias_or_name, sources.columns(s, inner)))
        select = select.find_ancestor(exp.Select)
    if qualifier is not None:
        match = next((known for alias, known in scope if alias == qualifier), "none")
        if match == "none":
            aliases = [a for a, _ in scope]
            return f"{qualifier}.{name}: no table or alias '{qualifier}' here{did_you_mean(qualifier, aliases)} (tables here: {', '.join(aliases)})"
        if match is None:
            return None
        what, cols = match
        return f"{name}: no such column in {what}{did_you_mean(name, cols)} (columns: {', '.join(closest_first(name, cols))})"
    known = [(alias, k) for alias, k in scope if k is not None]
    if len(known) == 1 and len(scope) == 1:
        what, cols = known[0][1]
        return f"{name}: no such column in {what}{did_you_mean(name, cols)} (columns: {', '.join(closest_first(name, cols))})"
    if not known:
        return None
    near = [f"{alias}.{c}" for alias, (_, cols) in known for c in closest(name, cols, n=1)]
    hint = f"; did you mean {' or '.join(near[:3])}?" if near else ""
    return f"{name}: no such column in {', '.join(f'{what} {alias}' for alias, (what, _) in known)}{hint}"


def _output_problems(compiled: Compiled, schema: dict, catalog: "Catalog", outputs: dict[str, list[str]]) -> list[Issue]:
    """The output and evidence expressions over the last step that do not resolve, each at its key."""
    last = compiled.ctes[-1].name if compiled.ctes else ""
    cols = outputs.get(last, [])
    problems = []
    for projection in compiled.tree.expressions:
        alias = projection.alias_or_name
        probe = _with(exp.select(projection.copy()).from_(exp.to_table(last)), compiled.ctes)
        try:
            _qualified(probe, schema)
            continue
        except (OptimizeError, SqlglotError) as exc:
            error = str(exc)
        if alias.startswith(EVIDENCE_PREFIX):
            loc: tuple = ("evidence", "fields", alias[len(EVIDENCE_PREFIX):])
        elif alias in RULE_OUTPUT_COLUMNS:
            loc = ("amount_at_risk",) if alias == "amount_at_risk" else ("output", alias)
        else:
            loc = ("evidence",)
        where = _unresolved(error)
        if where is None:
            problems.append(Issue(loc, error))
            continue
        name = where[0]
        problems.append(Issue(loc, f"{name}: no such column in step '{last}', the last step{did_you_mean(name, cols)} "
                                   f"(columns: {', '.join(closest_first(name, cols))})"))
    return problems
