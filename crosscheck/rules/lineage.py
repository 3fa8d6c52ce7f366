"""Which personal data each finding column and evidence field of a compiled rule carries.

The kind of a column is declared once, in the catalog (`ColumnSpec.kind`: identity,
name, card, plate, ...). Here it is followed through the compiled query with
sqlglot's scopes, from the final SELECT back to the canonical columns, through
steps, views, derived tables and UNION branches:

- a value passes through as it is: plain column references, coalesce, min/max,
  any_value/first/last, arg_min/arg_max (their first argument), list/array_agg,
  list_distinct/list_sort/list_concat/flatten, string_agg, list literals, CASE/IF
  branches, trim/upper/lower, substr (a part of a value is masked as that kind of value:
  the name linker's differing characters), a CAST to text, FILTER and OVER;
- a value that is a count, a length, a truth value or a date carries nothing: count, length,
  date_diff, comparisons, similarity scores, a CAST to a date or time;
- a number computed from personal data holds it (a CAST of an identity number to a number,
  arithmetic on it, its sum): it is embedded, like computed text;
- anything else computes new text from its inputs: a personal value inside it is
  *embedded* (``'干部 ' || c.name``) and masking cannot find it in the result.

`trace_personal` gives each output its kind and a problem for every output that
embeds personal data in computed text, or mixes two kinds: the analyst gives the
value its own field. Reports mask by these kinds (carried on RuleOutcome.personal).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from crosscheck.engines import dialect
from crosscheck.results import EVIDENCE_KEY, REVIEW_KEY
from crosscheck.rules.compiler import EVIDENCE_PREFIX, catalog_schema

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog
    from crosscheck.rules.compiler import Compiled

#: Finding columns a reader sees, checked like evidence fields (discriminator and
#: severity are never shown as text; amount_at_risk is a number).
SHOWN_COLUMNS = ("subject", "person_id", "name", "district", "sources")

#: Node -> the arguments whose values come out of it unchanged.
PASS_THROUGH: dict[type, tuple[str, ...]] = {
    exp.Alias: ("this",), exp.Paren: ("this",), exp.Distinct: ("expressions",), exp.Order: ("this",),
    exp.Filter: ("this",), exp.Window: ("this",), exp.IgnoreNulls: ("this",), exp.RespectNulls: ("this",),
    exp.Coalesce: ("this", "expressions"), exp.Nullif: ("this",), exp.Case: ("ifs", "default"), exp.If: ("true", "false"),
    exp.Min: ("this",), exp.Max: ("this",), exp.AnyValue: ("this",), exp.First: ("this",), exp.Last: ("this",),
    exp.ArgMin: ("this",), exp.ArgMax: ("this",),
    exp.ArrayAgg: ("this",), exp.ArrayDistinct: ("this",), exp.ArraySort: ("this",), exp.ArrayConcat: ("this", "expressions"),
    exp.Flatten: ("this",), exp.GroupConcat: ("this",), exp.Array: ("expressions",), exp.Bracket: ("this",),
    exp.Trim: ("this",), exp.Upper: ("this",), exp.Lower: ("this",), exp.Substring: ("this",),
}
#: Nodes whose value is a count, a length, a truth value or a date: no personal data comes out.
CARRIES_NOTHING: tuple[type, ...] = (
    exp.Count, exp.Length, exp.ArraySize, exp.DateDiff, exp.Predicate, exp.Connector, exp.Not,
    exp.Literal, exp.Null, exp.Boolean, exp.Placeholder, exp.Star,
)
#: Nodes computing a number from their inputs: a number made from personal data (an identity
#: number cast to a number, or summed) still holds it, so it is embedded like computed text.
NUMBER_OF: tuple[type, ...] = (exp.Sum, exp.Avg, exp.Round, exp.Abs, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg)
_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR}


@dataclass(frozen=True)
class Embedding:
    """A personal column mixed into computed text."""

    kind: str
    column: str        # table.column it comes from
    step: str          # CTE (step, or view__step) where the text is computed
    sql: str           # the projection computing it


@dataclass(frozen=True)
class Flow:
    """What comes out of an expression: kinds passed as they are, and embeddings."""

    passed: frozenset[tuple[str, str]] = frozenset()    # (kind, table.column)
    embedded: frozenset[Embedding] = frozenset()

    def __or__(self, other: "Flow") -> "Flow":
        return Flow(self.passed | other.passed, self.embedded | other.embedded)

    @property
    def kinds(self) -> set[str]:
        return {k for k, _ in self.passed}


NOTHING = Flow()


@dataclass
class Personal:
    """Per finding column / evidence field (EVIDENCE_KEY + name): its kind; and the problems found."""

    kinds: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[tuple, str]] = field(default_factory=list)   # (location in the rule, message)


KIND_WORDS = {"identity": "an identity number", "name": "a person name", "card": "a card number", "plate": "a licence plate",
              "phone": "a phone number", "address": "an address", "account": "an account number"}


class _Tracer:
    def __init__(self, tree: exp.Expression, catalog: "Catalog"):
        self.catalog = catalog
        self.scopes = traverse_scope(tree)
        self.by_expression = {id(s.expression): s for s in self.scopes}
        self.memo: dict[tuple[int, str], Flow] = {}

    def output(self, name: str) -> Flow:
        return self.select_flow(self.scopes[-1], name)

    def select_flow(self, scope: Scope, name: str) -> Flow:
        key = (id(scope), name)
        if key not in self.memo:
            self.memo[key] = NOTHING  # a recursive reference carries nothing more
            self.memo[key] = self._select_flow(scope, name)
        return self.memo[key]

    def _select_flow(self, scope: Scope, name: str) -> Flow:
        query = scope.expression
        if isinstance(query, exp.SetOperation):  # UNION branches match by position
            position = query.named_selects.index(name) if name in query.named_selects else -1
            flows = [self.flow(self.by_expression[id(b)], b.selects[position])
                     for b in _branches(query) if id(b) in self.by_expression and 0 <= position < len(b.selects)]
            return reduce(Flow.__or__, flows, NOTHING)
        for projection in query.selects:
            if projection.alias_or_name == name:
                return self.flow(scope, projection)
        return NOTHING

    def flow(self, scope: Scope, node: exp.Expression) -> Flow:
        if isinstance(node, exp.Column):
            return self.column_flow(scope, node)
        if isinstance(node, exp.Subquery) and id(node.this) in self.by_expression:
            inner = self.by_expression[id(node.this)]
            return self.flow(inner, inner.expression.selects[0]) if inner.expression.selects else NOTHING
        if isinstance(node, (exp.Cast, exp.TryCast)):
            if node.to.this in _TEXT_TYPES:
                return self.flow(scope, node.this)
            return _embedded(node, self.flow(scope, node.this)) if node.to.is_type(*exp.DataType.NUMERIC_TYPES) else NOTHING
        if isinstance(node, exp.Anonymous) and node.name.lower() in dialect.UDFS:
            return NOTHING  # similarity scores
        if isinstance(node, CARRIES_NOTHING):
            return NOTHING
        if isinstance(node, NUMBER_OF):
            return _embedded(node, reduce(Flow.__or__, (self.flow(scope, c) for c in node.iter_expressions()), NOTHING))
        args = PASS_THROUGH.get(type(node))
        if args is not None:
            parts = [v for a in args for v in _listed(node.args.get(a))]
            return reduce(Flow.__or__, (self.flow(scope, p) for p in parts), NOTHING)
        return _embedded(node, reduce(Flow.__or__, (self.flow(scope, c) for c in node.iter_expressions()), NOTHING))

    def position_flows(self) -> list[Flow]:
        """What comes out of each column of the final SELECT, in order (UNION branches by position)."""
        query = self.scopes[-1].expression
        if isinstance(query, exp.SetOperation):
            return [self._select_flow(self.scopes[-1], name) for name in query.named_selects]
        return [self.flow(self.scopes[-1], p) for p in query.selects]

    def column_flow(self, scope: Scope, column: exp.Column) -> Flow:
        source = scope.sources.get(column.table)
        if isinstance(source, Scope):
            return self.select_flow(source, column.name)
        if isinstance(source, exp.Table) and source.name in self.catalog.tables:
            kind = self.catalog.tables[source.name].personal_columns().get(column.name)
            return Flow(frozenset({(kind, f"{source.name}.{column.name}")})) if kind else NOTHING
        return NOTHING


def _embedded(node: exp.Expression, inner: Flow) -> Flow:
    """`node` computes a new value from `inner`: what `inner` passed as it is is embedded in it."""
    if not inner.passed:
        return inner
    step, sql = _where(node)
    return Flow(frozenset(), inner.embedded | frozenset(Embedding(k, col, step, sql) for k, col in inner.passed))


def _branches(query: exp.Expression) -> list[exp.Select]:
    """The SELECTs of a (nested) set operation, left to right."""
    query = query.unnest() if isinstance(query, (exp.Paren, exp.Subquery)) else query
    if isinstance(query, exp.SetOperation):
        return _branches(query.this) + _branches(query.expression)
    return [query] if isinstance(query, exp.Select) else []


def _listed(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _where(node: exp.Expression) -> tuple[str, str]:
    """(the step, the whole projection) where `node` computes text."""
    while node.parent is not None and not isinstance(node.parent, exp.Select):
        node = node.parent
    cte = node.find_ancestor(exp.CTE)
    sql = node.sql(dialect=dialect.READ_DIALECT)
    return (cte.alias_or_name if cte is not None else "the final select"), (sql if len(sql) <= 160 else sql[:157] + "...")


def trace_personal(compiled: "Compiled", catalog: "Catalog", evidence_fields: list[str]) -> Personal:
    """The kind of personal data of every finding column and evidence field of a compiled rule, and
    of its review candidates' columns ("review.<column>": crosscheck.rules.review)."""
    out = Personal()
    if compiled.review is not None:
        out.kinds.update({f"{REVIEW_KEY}{c}": k for c, k in _review_kinds(compiled, catalog).items()})
    try:
        tree = qualify(compiled.tree.copy(), schema=catalog_schema(catalog), dialect=dialect.READ_DIALECT,
                       validate_qualify_columns=False, quote_identifiers=False)
        tracer = _Tracer(tree, catalog)
    except (SqlglotError, ValueError) as exc:
        out.problems.append((("steps",), f"cannot follow personal data through the rule's SQL: {exc}"))
        return out
    # (key in Personal.kinds, column of the compiled final SELECT, location in the rule, how the message names it)
    outputs = [(c, c, ("output", c), f"output '{c}'") for c in SHOWN_COLUMNS]
    outputs += [(EVIDENCE_KEY + f, EVIDENCE_PREFIX + f, ("evidence", "fields", f), f"evidence field '{f}'") for f in evidence_fields]
    for key, alias, loc, what in outputs:
        flow = tracer.output(alias)
        places: dict[tuple[str, str], set[Embedding]] = {}
        for e in flow.embedded:
            places.setdefault((e.step, e.sql), set()).add(e)
        for (step, sql), found in sorted(places.items()):
            words = " and ".join(sorted({KIND_WORDS[e.kind] for e in found}))
            cols = ", ".join(sorted({e.column for e in found}))
            out.problems.append((loc, (
                f"{what} embeds {words} ({cols}) in computed text (step '{step}': {sql}), where a masked run "
                "cannot mask it; give the value its own evidence field (the column as it is, or list()/min()/"
                "coalesce() of it) and put it in the template as a {placeholder}")))
        kinds = flow.kinds
        if len(kinds) > 1:
            cols = ", ".join(sorted(c for _, c in flow.passed))
            out.problems.append((loc, f"{what} passes personal data of different kinds ({cols}): give each kind its own field"))
        elif kinds and not flow.embedded:
            out.kinds[key] = next(iter(kinds))
    return out


def _review_kinds(compiled: "Compiled", catalog: "Catalog") -> dict[str, str]:
    """The review candidates' columns that hold personal data: the name as delivered, the candidate's
    identity number and name always; the subject as followed through the rule (by shape when it
    cannot be followed or builds text around personal data)."""
    from crosscheck.rules.review import REVIEW_KINDS

    kinds = dict(REVIEW_KINDS)
    try:
        tree = qualify(compiled.review.copy(), schema=catalog_schema(catalog), dialect=dialect.READ_DIALECT,
                       validate_qualify_columns=False, quote_identifiers=False)
        flow = _Tracer(tree, catalog).output("subject")
    except (SqlglotError, ValueError):
        return {**kinds, "subject": SHAPE}
    if flow.embedded or len(flow.kinds) > 1:
        kinds["subject"] = SHAPE
    elif flow.kinds:
        kinds["subject"] = next(iter(flow.kinds))
    return kinds


#: The kind of a column that builds a value around personal data, or mixes kinds: masked by shape.
SHAPE = "shape"


@dataclass(frozen=True)
class ColumnKind:
    """What a query's column holds: a kind of personal data passed as it is (`kind`), SHAPE when
    it builds a value around personal data or mixes kinds, None for none; and where it comes from."""

    kind: str | None
    columns: tuple[str, ...] = ()   # table.column of the personal data in it


def column_kinds(compiled: "Compiled", catalog: "Catalog") -> list[ColumnKind]:
    """The personal data of each column of an analyst's query (crosscheck sql), in order, followed
    as for a rule's findings. ValueError when the query cannot be followed (its columns not known)."""
    try:
        tree = qualify(compiled.tree.copy(), schema=catalog_schema(catalog), dialect=dialect.READ_DIALECT,
                       validate_qualify_columns=False, quote_identifiers=False)
        tracer = _Tracer(tree, catalog)
    except (SqlglotError, ValueError) as exc:
        raise ValueError(f"cannot follow personal data through the query: {exc}") from None
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
           for s in tracer.scopes for p in s.expression.selects if isinstance(s.expression, exp.Select)):
        raise ValueError("cannot follow personal data through the query: a * whose columns are not known")
    out = []
    for flow in tracer.position_flows():
        cols = tuple(sorted({c for _, c in flow.passed} | {e.column for e in flow.embedded}))
        if flow.embedded or len(flow.kinds) > 1:
            out.append(ColumnKind(SHAPE, cols))
        else:
            out.append(ColumnKind(next(iter(flow.kinds), None), cols))
    return out


def view_columns(view_id: str, views: dict, catalog: "Catalog") -> list[str]:
    """The columns of a shared view, in order (crosscheck sql --tables)."""
    from crosscheck.rules.compiler import compile_view

    compiled = compile_view(view_id, views, catalog)
    tree = qualify(compiled.tree.copy(), schema=catalog_schema(catalog), dialect=dialect.READ_DIALECT,
                   validate_qualify_columns=False, quote_identifiers=False)
    return list(tree.named_selects)
