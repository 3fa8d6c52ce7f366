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

A rule with ``review:`` has a second query over the same CTEs: its review candidates
(待人工核实, crosscheck.rules.review), `Compiled.review`.

Every ``$name`` parameter is wrapped in a CAST to its declared type, so the
bound Python value never decides the SQL type. The SQL is DuckDB's; `dialect`
turns the same tree into Spark SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, NamedTuple

from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from crosscheck.engines import dialect
from crosscheck.errors import did_you_mean
from crosscheck.rules.fuzzy import Guard, count_sql, fuzzy_join_sql, pass_label
from crosscheck.rules.linknames import link_names_sql
from crosscheck.rules.spec import Rule, Step, View
from crosscheck.rules.parameters import PARAM_SQL_TYPES
from crosscheck.results import FINDING_COLUMNS

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog

EVIDENCE_PREFIX = "ev__"


def output_expression(rule: Rule, column: str) -> tuple[str | None, tuple]:
    """The SQL a rule gives a finding column (crosscheck.results.FINDING_COLUMNS written by the
    rule), and where in the rule file it is written."""
    if column == "amount_at_risk":
        return rule.amount_at_risk, ("amount_at_risk",)
    sql = getattr(rule.output, column)
    if column == "severity" and sql is None:
        sql = f"'{rule.severity}'"
    elif column == "discriminator" and sql is None:
        sql = "''"
    return sql, ("output", column)


class Issue(NamedTuple):
    """A problem found compiling: where in the rule (or view) file, and what."""

    loc: tuple                  # key path in the file: ("steps", 2, "where", 0), ("view", id, "steps", 1, "sql")
    message: str
    line: int | None = None     # line within the SQL text at `loc` (1-based), when the text is an SQL block


class CompileError(Exception):
    """Problems found while compiling (`Issue`s; a (loc, message) pair is one too)."""

    def __init__(self, problems: list[Issue | tuple]):
        self.problems = [Issue(*p) for p in problems]
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.message}" for p in self.problems))


class SqlError(ValueError):
    """What is wrong with a piece of rule SQL, and where in its text (a character offset), when known."""

    def __init__(self, message: str, start: int | None = None):
        super().__init__(message)
        self.start = start


def text_start(node: exp.Expression) -> int | None:
    """Offset in the parsed SQL text where `node` is written (its first token the parser placed)."""
    starts = [n.meta["start"] for n in node.walk() if isinstance(n, exp.Expression) and "start" in n.meta]
    return min(starts) if starts else None


def place(base: tuple, step: Step, start: int | None, default: str | None = None) -> Issue:
    """Where a problem at offset `start` of a step's SQL is written in the file: the line of a `sql:`
    block, the key of a declarative step (a `where` item, a join's `on`...); `base` is the step's
    location, `default` the key named when the place is not known."""
    if step.fuzzy_join is not None or step.link_names is not None:
        return Issue(base + ("fuzzy_join" if step.fuzzy_join is not None else "link_names",), "")
    if step.sql is not None:
        line = step.sql[:start].count("\n") + 1 if start is not None else None
        return Issue(base + ("sql",), "", line)
    key = step.key_at(start) if start is not None else ()
    return Issue(base + (key or ((default,) if default else ())), "")


def at(base: tuple, step: Step, start: int | None, message: str, default: str | None = None) -> Issue:
    return place(base, step, start, default)._replace(message=message)


@dataclass
class Cte:
    name: str
    query: exp.Query
    origin: tuple  # where it came from: ("steps", i) in the rule, or ("view", view_id, i)
    step: Step | None = None  # the step it compiles (None: a stand-in for a table not delivered)


@dataclass
class Compiled:
    tree: exp.Query
    ctes: list[Cte]
    parameters: list[str]                      # named parameters referenced, as_of included if used
    tables: set[str]                           # canonical tables read, through views too
    views: list[str]                           # views used, dependencies first
    optional: set[str] = field(default_factory=set)  # tables the rule or its views may do without
    fuzzy_guards: list = field(default_factory=list)  # crosscheck.rules.fuzzy.Guard per fuzzy_join step
    review: exp.Query | None = None            # the review candidates' query (crosscheck.rules.review), with the CTEs

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
        raise SqlError(f"SQL does not parse: {msg}", _offset(sql, errs[0]) if errs else None) from None
    except SqlglotError as exc:
        raise SqlError(f"SQL does not parse: {exc}") from None
    if len(statements) != 1:
        raise SqlError(f"exactly one SELECT statement expected, found {len(statements)}", text_start(statements[1]) if statements[1:] else None)
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SqlError(f"only SELECT is allowed, found {type(tree).__name__.upper()}")
    _refuse_forbidden(tree)
    return tree


def _offset(sql: str, err: dict) -> int | None:
    """Offset in `sql` of a parse error's line and column (sqlglot counts both from 1)."""
    line, col = err.get("line"), err.get("col")
    if not line:
        return None
    lines = sql.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + max(int(col or 1) - 1, 0)


def _refuse_forbidden(tree: exp.Expression) -> None:
    bad = dialect.forbidden_nodes(tree)
    if bad:
        raise SqlError("; ".join(dict.fromkeys(m for m, _ in bad)), text_start(bad[0][1]))


def parse_expr(sql: str) -> exp.Expression:
    try:
        tree = dialect.parse_expression(sql)
    except SqlglotError as exc:
        raise SqlError(f"expression does not parse: {exc}") from None
    _refuse_forbidden(tree)
    return tree


def inner_cte_names(tree: exp.Expression) -> set[str]:
    return {c.alias_or_name for c in tree.find_all(exp.CTE)}


def table_refs(tree: exp.Expression) -> list[exp.Table]:
    """Table references in a query that are not its own (nested) CTEs."""
    own = inner_cte_names(tree)
    return [t for t in tree.find_all(exp.Table) if t.name and t.name not in own]


def step_query(step: Step) -> exp.Query:
    """A step's SELECT: its own text, or the one a fuzzy_join or link_names step compiles to."""
    if step.link_names is not None:
        return parse_query(link_names_sql(step.link_names))
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
            base = ("view", v, "steps", j)
            try:
                q = step_query(step)
            except ValueError as exc:
                problems.append(at(base, step, getattr(exc, "start", None), str(exc), "select"))
                continue
            for t in table_refs(q):
                if t.name in names[:j]:
                    t.set("this", exp.to_identifier(local[t.name]))
                elif t.name in tables:
                    reads.add(t.name)
                elif t.name in views and t.name != v:
                    pass
                else:
                    problems.append(at(base, step, text_start(t), unknown_table_message(t.name, tables, views, names[:j]), "from"))
            ctes.append(Cte(local[step.name], q, ("view", v, j), step))
        read_tables |= reads
        required |= reads - set(view.optional)


def compile_view(view_id: str, views: dict[str, View], catalog: "Catalog") -> Compiled:
    """A view on its own (SELECT * FROM view), to check it where it is defined."""
    problems: list[Issue] = []
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
    problems: list[Issue] = []
    tables = set(catalog.tables)

    rule_queries: list[exp.Query | None] = []
    for i, step in enumerate(rule.steps):
        try:
            rule_queries.append(step_query(step))
        except ValueError as exc:
            rule_queries.append(None)
            problems.append(at(("steps", i), step, getattr(exc, "start", None), str(exc), "select"))

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
            problems.append(Issue(("steps", i, "name"), f"step name '{step.name}' hides a table or view of that name"))
        elif not usable_name(step.name):
            problems.append(Issue(("steps", i, "name"), f"step name '{step.name}' is a word of SQL and cannot name a "
                                                        f"table: name the step otherwise (e.g. {step.name}_rows)"))
        if q is None:
            continue
        for t in table_refs(q):
            if t.name in tables:
                own_reads.add(t.name)
            elif t.name in views:
                pass
            elif t.name in step_names[i:]:
                problems.append(at(("steps", i), step, text_start(t), f"step '{step.name}' reads '{t.name}', which is not an earlier step", "from"))
            elif t.name not in step_names[:i]:
                problems.append(at(("steps", i), step, text_start(t), unknown_table_message(t.name, tables, views, step_names[:i]), "from"))
        ctes.append(Cte(step.name, q, ("steps", i, "sql") if step.sql is not None else ("steps", i), step))

    for o in rule.optional:
        if o not in tables:
            problems.append(Issue(("optional",), f"'{o}' is not a canonical table{did_you_mean(o, tables)}"))
    read_tables |= own_reads
    required |= own_reads - set(rule.optional)
    optional = read_tables - required

    # final SELECT over the last step
    last = rule.steps[-1].name
    columns: list[tuple[str, str | None, tuple, str]] = [
        (c.name, *output_expression(rule, c.name), "" if c.name == "sources" else c.sql)  # sources: a list or text, formatted by the runner
        for c in FINDING_COLUMNS if c.from_rule]
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
                problems.append(Issue(loc, str(exc)))
                continue
        if cast:
            node = exp.cast(node, exp.DataType.build(cast, dialect=dialect.READ_DIALECT))
        projections.append(exp.alias_(node, alias, quoted=False))

    review = None
    if rule.review is not None:
        if rule.review.step not in step_names:
            problems.append(Issue(("review", "step"), f"'{rule.review.step}' is not a step of the rule{did_you_mean(rule.review.step, step_names)}"))
        try:
            review = parse_query(rule.review.select_sql())
        except ValueError as exc:
            problems.append(Issue(("review",), str(exc)))

    if problems:
        raise CompileError(problems)

    for t in sorted(set(unavailable) & optional):
        ctes.insert(0, Cte(t, _empty_table(t, catalog), ("optional", t)))

    tree = exp.select(*projections).from_(exp.to_table(last))
    for c in ctes:
        tree = tree.with_(c.name, as_=c.query.copy(), copy=False)
        if review is not None:
            review = review.with_(c.name, as_=c.query.copy(), copy=False)

    types = {"as_of": "DATE", **{k: PARAM_SQL_TYPES[p.type] for k, p in rule.parameters.items()}}
    params = dialect.parameter_names(tree)
    _cast_parameters(tree, types)
    if review is not None:
        params += [p for p in dialect.parameter_names(review) if p not in params]
        _cast_parameters(review, types)
    guards = guard_queries(rule.steps, ctes)
    if guards:
        for g in guards:
            for _, q in g.passes:
                _cast_parameters(q, types)
    return Compiled(tree=tree, ctes=ctes, parameters=params, tables=read_tables, views=view_order, optional=optional,
                    fuzzy_guards=guards, review=review)


def compile_query(sql: str, views: dict[str, View], catalog: "Catalog",
                  unavailable: set[str] | frozenset[str] = frozenset()) -> Compiled:
    """An analyst's own query (`crosscheck sql`) over the canonical tables and the shared views,
    parsed and refused as a rule's step is (one SELECT; nothing that writes, reads files or
    changes a setting), with the views it reads as CTEs before its own. Tables in `unavailable`
    (not loaded) are refused, or empty where only a view may do without them; `$as_of` is the
    only parameter. Raises CompileError (the line is the line of `sql`)."""
    def line(start: int | None) -> int | None:
        return sql[:start].count("\n") + 1 if start is not None else None

    try:
        tree = parse_query(sql)
    except SqlError as exc:
        raise CompileError([Issue(("sql",), str(exc), line(exc.start))]) from None
    tables, problems = set(catalog.tables), []
    refs = table_refs(tree)
    for t in refs:
        if t.name not in tables and t.name not in views:
            problems.append(Issue(("sql",), unknown_table_message(t.name, tables, views, []), line(text_start(t))))
    for p in sorted(dialect.parameter_names(tree)):
        if p != "as_of":
            problems.append(Issue(("sql",), f"${p}: the only parameter a query has is $as_of (--as-of)"))
    order = _views_used(sorted({t.name for t in refs}), views)
    ctes: list[Cte] = []
    read, required = {t.name for t in refs if t.name in tables}, set()
    required |= read
    _view_ctes(order, views, tables, ctes, read, required, problems)
    if problems:
        raise CompileError(problems)
    missing = sorted(required & set(unavailable))
    if missing:
        raise CompileError([Issue(("sql",), f"table {t} is not loaded from this delivery") for t in missing])
    for t in sorted(set(unavailable) & (read - required)):
        ctes.insert(0, Cte(t, _empty_table(t, catalog), ("optional", t)))
    key = "with_" if "with_" in tree.args or "with_" in type(tree).arg_types else "with"
    own = tree.args.get(key)
    made = [exp.CTE(this=c.query.copy(), alias=exp.TableAlias(this=exp.to_identifier(c.name))) for c in ctes]
    if made:
        tree.set(key, exp.With(expressions=made + (list(own.expressions) if own is not None else []),
                               recursive=own.args.get("recursive") if own is not None else None))
    _cast_parameters(tree, {"as_of": "DATE"})
    return Compiled(tree=tree, ctes=ctes, parameters=dialect.parameter_names(tree), tables=read, views=order,
                    optional=read - required)


# ---------------------------------------------------------------- names


def usable_name(name: str) -> bool:
    """`name` can name a step, as a table is named (`left`, `where` cannot)."""
    try:
        exp.maybe_parse(name, into=exp.TableAlias, dialect=dialect.READ_DIALECT)
        return isinstance(dialect.parse_expression(f"SELECT * FROM {name} AS t").args["from_"].this, exp.Table)
    except (SqlglotError, KeyError, AttributeError):
        return False


def catalog_schema(catalog: "Catalog") -> dict[str, dict[str, str]]:
    return {t: dict(catalog.columns(t)) for t in catalog.tables}


def unknown_table_message(name: str, tables: Iterable[str], views: Iterable[str], steps: Iterable[str]) -> str:
    known = [*steps, *views, *tables]
    return f"unknown table '{name}' (not a canonical table, view or earlier step){did_you_mean(name, known)}"


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

