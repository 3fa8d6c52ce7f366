"""Rule -> one SQL query made of named CTEs (Splink-style pipeline).

Order of the CTEs in the compiled query:

1. an empty, typed stand-in for every *optional* table that was not delivered
   (same name as the table, so steps read it unchanged);
2. the steps of every view the rule uses, transitively, dependencies first;
   a view's steps are named ``<view>__<step>``, its last step ``<view>``;
3. the rule's steps, in order;
4. the final SELECT from the last step, producing the findings columns
   (``subject``, ``person_id``, ``name``, ``district``, ``severity``,
   ``amount_at_risk``, ``discriminator``, ``sources``) and one ``ev__<field>``
   column per evidence field.

Every ``$name`` parameter is wrapped in a CAST to its declared type, so the
bound Python value never decides the SQL type. The SQL is DuckDB's; `dialect`
turns the same tree into Spark SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from crosscheck import dialect
from crosscheck.rules.fuzzy import Guard, count_sql, fuzzy_join_sql, pass_label
from crosscheck.rules.model import PARAM_SQL_TYPES, Rule, Step, View

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog

OUTPUT_COLUMNS = ["subject", "person_id", "name", "district", "severity", "amount_at_risk", "discriminator", "sources"]
EVIDENCE_PREFIX = "ev__"


class CompileError(Exception):
    """Problems found while compiling; each is (location within the rule, message)."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))


@dataclass
class Cte:
    name: str
    query: exp.Query
    origin: tuple  # where it came from: ("steps", i) in the rule, or ("view", view_id, i)


@dataclass
class Compiled:
    tree: exp.Query
    ctes: list[Cte]
    parameters: list[str]                      # named parameters referenced, as_of included if used
    tables: set[str]                           # canonical tables read, through views too
    views: list[str]                           # views used, dependencies first
    optional: set[str] = field(default_factory=set)  # tables the rule or its views may do without
    fuzzy_guards: list = field(default_factory=list)  # crosscheck.rules.fuzzy.Guard per fuzzy_join step

    def sql(self, engine: str = "duckdb", pretty: bool = True) -> str:
        return dialect.transpile(self.tree, engine, pretty=pretty)


# ---------------------------------------------------------------- parsing


def parse_query(sql: str) -> exp.Query:
    """Parse one SELECT; raise ValueError naming what is wrong."""
    try:
        statements = dialect.parse(sql)
    except ParseError as exc:
        errs = getattr(exc, "errors", None) or []
        msg = errs[0].get("description") if errs else str(exc)
        raise ValueError(f"SQL does not parse: {msg}") from None
    except SqlglotError as exc:
        raise ValueError(f"SQL does not parse: {exc}") from None
    if len(statements) != 1:
        raise ValueError(f"exactly one SELECT statement expected, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise ValueError(f"only SELECT is allowed, found {type(tree).__name__.upper()}")
    bad = dialect.forbidden_constructs(tree)
    if bad:
        raise ValueError("; ".join(dict.fromkeys(bad)))
    return tree


def parse_expr(sql: str) -> exp.Expression:
    try:
        tree = dialect.parse_expression(sql)
    except SqlglotError as exc:
        raise ValueError(f"expression does not parse: {exc}") from None
    bad = dialect.forbidden_constructs(tree)
    if bad:
        raise ValueError("; ".join(dict.fromkeys(bad)))
    return tree


def inner_cte_names(tree: exp.Expression) -> set[str]:
    return {c.alias_or_name for c in tree.find_all(exp.CTE)}


def table_refs(tree: exp.Expression) -> list[exp.Table]:
    """Table references in a query that are not its own (nested) CTEs."""
    own = inner_cte_names(tree)
    return [t for t in tree.find_all(exp.Table) if t.name and t.name not in own]


def step_query(step: Step) -> exp.Query:
    """A step's SELECT: its own text, or the one a fuzzy_join step compiles to."""
    return parse_query(fuzzy_join_sql(step.fuzzy_join) if step.fuzzy_join is not None else step.to_sql())


# ---------------------------------------------------------------- building


def _views_used(names: Iterable[str], views: dict[str, View]) -> list[str]:
    """Views reachable from the names, dependencies first; raises on a cycle."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(v: str, chain: tuple) -> None:
        if state.get(v) == "done":
            return
        if state.get(v) == "active":
            raise CompileError([(("steps",), f"views form a cycle: {' -> '.join(chain + (v,))}")])
        state[v] = "active"
        for step in views[v].steps:
            try:
                q = step_query(step)
            except ValueError:
                continue  # reported on the view itself
            for t in table_refs(q):
                if t.name in views and t.name != v:
                    visit(t.name, chain + (v,))
        state[v] = "done"
        order.append(v)

    for n in names:
        if n in views:
            visit(n, ())
    return order


def _view_ctes(view_order, views, tables, ctes, read_tables, required, problems) -> None:
    """Append the views' CTEs; collect tables read, and those some view cannot do without."""
    for v in view_order:
        view = views[v]
        reads: set[str] = set()
        local = {s.name: (v if j == len(view.steps) - 1 else f"{v}__{s.name}") for j, s in enumerate(view.steps)}
        names = [s.name for s in view.steps]
        for j, step in enumerate(view.steps):
            try:
                q = step_query(step)
            except ValueError as exc:
                problems.append((("view", v, "steps", j), str(exc)))
                continue
            for t in table_refs(q):
                if t.name in names[:j]:
                    t.set("this", exp.to_identifier(local[t.name]))
                elif t.name in tables:
                    reads.add(t.name)
                elif t.name in views and t.name != v:
                    pass
                else:
                    problems.append((("view", v, "steps", j), f"unknown table '{t.name}' (not a canonical table, view or earlier step)"))
            ctes.append(Cte(local[step.name], q, ("view", v, j)))
        read_tables |= reads
        required |= reads - set(view.optional)


def compile_view(view_id: str, views: dict[str, View], catalog: "Catalog") -> Compiled:
    """A view on its own (SELECT * FROM view), to check it where it is defined."""
    problems: list[tuple[tuple, str]] = []
    order = _views_used([view_id], views)
    ctes: list[Cte] = []
    read_tables: set[str] = set()
    required: set[str] = set()
    _view_ctes(order, views, set(catalog.tables), ctes, read_tables, required, problems)
    if problems:
        raise CompileError(problems)
    tree = exp.select("*").from_(exp.to_table(view_id))
    for c in ctes:
        tree = tree.with_(c.name, as_=c.query.copy(), copy=False)
    _cast_parameters(tree, {"as_of": "DATE"})
    return Compiled(tree=tree, ctes=ctes, parameters=dialect.parameter_names(tree), tables=read_tables, views=order, optional=read_tables - required)


def _empty_table(table: str, catalog: "Catalog") -> exp.Query:
    cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in catalog.columns(table).items())
    return parse_query(f"SELECT {cols} WHERE FALSE")


def _cast_parameters(tree: exp.Expression, types: dict[str, str]) -> None:
    for node in list(tree.find_all(exp.Placeholder)):
        t = types.get(node.name)
        if t is None:
            continue
        parent = node.parent
        if isinstance(parent, exp.Cast) and parent.to.sql(dialect=dialect.READ_DIALECT).upper() == t:
            continue
        node.replace(exp.cast(node.copy(), exp.DataType.build(t, dialect=dialect.READ_DIALECT)))


def compile_logic(
    rule: Rule,
    views: dict[str, View],
    catalog: "Catalog",
    unavailable: set[str] | frozenset[str] = frozenset(),
) -> Compiled:
    """Compile a rule with its views; tables in `unavailable` become empty stand-ins."""
    problems: list[tuple[tuple, str]] = []
    tables = set(catalog.tables)

    rule_queries: list[exp.Query | None] = []
    for i, step in enumerate(rule.steps):
        try:
            rule_queries.append(step_query(step))
        except ValueError as exc:
            rule_queries.append(None)
            problems.append((("steps", i, "sql" if step.sql is not None else "select"), str(exc)))

    referenced = {t.name for q in rule_queries if q is not None for t in table_refs(q)}
    view_order = _views_used(sorted(referenced), views)  # sorted: the same SQL in every process

    ctes: list[Cte] = []
    read_tables: set[str] = set()
    required: set[str] = set()
    _view_ctes(view_order, views, tables, ctes, read_tables, required, problems)
    own_reads: set[str] = set()

    step_names = [s.name for s in rule.steps]
    for i, (step, q) in enumerate(zip(rule.steps, rule_queries)):
        if step.name in tables or step.name in views:
            problems.append((("steps", i, "name"), f"step name '{step.name}' hides a table or view of that name"))
        if q is None:
            continue
        where = ("steps", i, "sql" if step.sql is not None else "from")
        for t in table_refs(q):
            if t.name in tables:
                own_reads.add(t.name)
            elif t.name in views:
                pass
            elif t.name in step_names[i:]:
                problems.append((where, f"step '{step.name}' reads '{t.name}', which is not an earlier step"))
            elif t.name not in step_names[:i]:
                problems.append((where, f"unknown table '{t.name}' (not a canonical table, view or earlier step)"))
        ctes.append(Cte(step.name, q, ("steps", i, "sql") if step.sql is not None else ("steps", i)))

    for o in rule.optional:
        if o not in tables:
            problems.append((("optional",), f"'{o}' is not a canonical table"))
    read_tables |= own_reads
    required |= own_reads - set(rule.optional)
    optional = read_tables - required

    # final SELECT over the last step
    last = rule.steps[-1].name
    out = rule.output
    columns: list[tuple[str, str | None, tuple, str]] = [
        ("subject", out.subject, ("output", "subject"), "VARCHAR"),
        ("person_id", out.person_id, ("output", "person_id"), "VARCHAR"),
        ("name", out.name, ("output", "name"), "VARCHAR"),
        ("district", out.district, ("output", "district"), "VARCHAR"),
        ("severity", out.severity if out.severity is not None else f"'{rule.severity}'", ("output", "severity"), "VARCHAR"),
        ("amount_at_risk", rule.amount_at_risk, ("amount_at_risk",), "DECIMAL(18,2)"),
        ("discriminator", out.discriminator if out.discriminator is not None else "''", ("output", "discriminator"), "VARCHAR"),
        ("sources", out.sources, ("output", "sources"), ""),
    ]
    for fname, f in rule.evidence.fields.items():
        columns.append((EVIDENCE_PREFIX + fname, f.expr if f.expr is not None else fname, ("evidence", "fields", fname), ""))
    projections = []
    for alias, sql, loc, cast in columns:
        if sql is None:
            node: exp.Expression = exp.Null()
        else:
            try:
                node = parse_expr(sql)
            except ValueError as exc:
                problems.append((loc, str(exc)))
                continue
        if cast:
            node = exp.cast(node, exp.DataType.build(cast, dialect=dialect.READ_DIALECT))
        projections.append(exp.alias_(node, alias, quoted=False))

    if problems:
        raise CompileError(problems)

    for t in sorted(set(unavailable) & optional):
        ctes.insert(0, Cte(t, _empty_table(t, catalog), ("optional", t)))

    tree = exp.select(*projections).from_(exp.to_table(last))
    for c in ctes:
        tree = tree.with_(c.name, as_=c.query.copy(), copy=False)

    types = {"as_of": "DATE", **{k: PARAM_SQL_TYPES[p.type] for k, p in rule.parameters.items()}}
    params = dialect.parameter_names(tree)
    _cast_parameters(tree, types)
    guards = guard_queries(rule.steps, ctes)
    if guards:
        for g in guards:
            for _, q in g.passes:
                _cast_parameters(q, types)
    return Compiled(tree=tree, ctes=ctes, parameters=params, tables=read_tables, views=view_order, optional=optional, fuzzy_guards=guards)


# ---------------------------------------------------------------- column checks


def catalog_schema(catalog: "Catalog") -> dict[str, dict[str, str]]:
    return {t: dict(catalog.columns(t)) for t in catalog.tables}


def _qualify(tree: exp.Expression, schema: dict) -> None:
    qualify(tree.copy(), schema=schema, dialect=dialect.READ_DIALECT, validate_qualify_columns=True, quote_identifiers=False)


def column_problems(compiled: Compiled, catalog: "Catalog") -> list[tuple[tuple, str]]:
    """Every column reference resolved against tables, views and earlier CTEs (sqlglot qualify).

    The first CTE whose columns do not resolve is named; later ones are not
    checked (they would only repeat the error).
    """
    schema = catalog_schema(catalog)
    try:
        _qualify(compiled.tree, schema)
        return []
    except (OptimizeError, SqlglotError) as exc:
        whole = str(exc)
    for k, cte in enumerate(compiled.ctes):
        probe = exp.select("*").from_(exp.to_table(cte.name))
        for c in compiled.ctes[: k + 1]:
            probe = probe.with_(c.name, as_=c.query.copy(), copy=False)
        try:
            _qualify(probe, schema)
        except (OptimizeError, SqlglotError) as exc:
            origin = cte.origin
            if origin[0] == "view":
                return [(("steps",), f"in view '{origin[1]}' step {origin[2]} ({cte.name}): {exc}")]
            return [(origin, f"step '{cte.name}': {exc}")]
    return [(("evidence",), f"output/evidence expressions over step '{compiled.ctes[-1].name if compiled.ctes else ''}': {whole}")]


def guard_queries(steps, ctes) -> list[Guard]:
    """One Guard per fuzzy_join step of a rule: the candidate-pair count of each blocking pass,
    over the CTEs before the step (`ctes` are the compiled CTEs in order)."""
    guards = []
    for i, step in enumerate(steps):
        if step.fuzzy_join is None:
            continue
        k = next((j for j, c in enumerate(ctes) if c.origin[:2] == ("steps", i)), None)
        if k is None:
            continue
        passes = []
        for keys in step.fuzzy_join.block_on:
            tree = parse_query(count_sql(step.fuzzy_join, keys))
            for c in ctes[:k]:
                tree = tree.with_(c.name, as_=c.query.copy(), copy=False)
            passes.append((pass_label(keys), tree))
        guards.append(Guard(step.name, step.fuzzy_join, passes))
    return guards

