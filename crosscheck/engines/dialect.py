"""The only module that knows DuckDB from Spark.

Rules are written in DuckDB SQL (``read='duckdb'``, never guessed) and parsed
with sqlglot. This module supplies, per engine:

- the SQL text of a parsed query (`to_sql`), raising when a construct has no
  translation (`sqlglot.ErrorLevel.RAISE`), so a rule that cannot run on Spark
  fails at lint time, not at night;
- how named parameters are written (DuckDB ``$name``, Spark ``:name``);
- the functions a rule may call: sqlglot function classes that read files or
  touch the system are refused, and an unknown (anonymous) function must be a
  registered UDF or a known engine function with its support per engine;
- the DuckDB functions that sqlglot writes out for Spark but that Spark does not
  have, or computes differently (`SPARK_GAPS`): `engine_problems` names them, with
  the line, for `crosscheck rules lint --engine spark`;
- how bound parameter values are handed to each engine (`engine_params`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import sqlglot
from sqlglot import exp

#: The SQL dialect rules are written in and parsed as; each engine gets its own text from `transpile`.
READ_DIALECT = "duckdb"

#: sqlglot expression classes a rule may never contain (not SELECT-only, or touching files/system).
FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    cls
    for cls in (
        getattr(exp, name, None)
        for name in (
            "DDL", "DML", "Command", "Copy", "Pragma", "Attach", "Detach", "Install", "Use", "Set",
            "Transaction", "Commit", "Rollback", "Export", "ReadCSV", "ReadParquet", "LoadData",
        )
    )
    if cls is not None
)


@dataclass(frozen=True)
class Dialect:
    name: str
    sqlglot_name: str
    #: anonymous (not modelled by sqlglot) functions and whether this engine has them
    functions: frozenset[str] = field(default_factory=frozenset)

    def to_sql(self, tree: exp.Expression, pretty: bool = True) -> str:
        if self.name == "spark":
            tree = _spark_rewrites(tree)
        return tree.sql(dialect=self.sqlglot_name, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)


def _ordered_values_for_spark(order: exp.Order, where: exp.Expression | None, as_text: bool = False) -> str:
    """Spark SQL for the values of ``agg(x ORDER BY k1, k2 DESC)``, in that order, as an array.

    Spark's COLLECT_LIST has no ORDER BY (sqlglot drops it silently) and its
    LISTAGG ... WITHIN GROUP fails when two DISTINCT ones share a query: collect
    (keys, value) structs, sort them with a comparator that follows DuckDB's
    ASC/DESC and NULLS FIRST/LAST, keep the values."""
    value = order.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        value = value.expressions[0]
    v = value.sql(dialect="spark")
    keys = [(o.this.sql(dialect="spark"), bool(o.args.get("desc")), bool(o.args.get("nulls_first"))) for o in order.expressions]
    flt = f" FILTER (WHERE {where.sql(dialect='spark')})" if where is not None else ""
    if as_text:
        v = f"CAST({v} AS STRING)"
    if distinct:
        if any(k != value.sql(dialect="spark") for k, _, _ in keys):
            raise sqlglot.errors.UnsupportedError("DISTINCT with ORDER BY on Spark: order by the aggregated value itself")
        # a struct per value keeps NULL in the list, as DuckDB does (COLLECT_LIST drops NULLs)
        collected = f"array_distinct(collect_list(named_struct('v', {v})){flt})"
    else:
        struct = ", ".join(f"'k{i}', {k}" for i, (k, _, _) in enumerate(keys))
        collected = f"collect_list(named_struct({struct}, 'v', {v})){flt}"
    cmp = "0"
    for i in reversed(range(len(keys))):
        _, desc, nulls_first = keys[i]
        left, right = ("l.v", "r.v") if distinct else (f"l.k{i}", f"r.k{i}")
        cmp = (  # two NULLs compare as neither < nor >: on to the next key
            f"CASE WHEN {left} IS NULL AND {right} IS NOT NULL THEN {-1 if nulls_first else 1} "
            f"WHEN {right} IS NULL AND {left} IS NOT NULL THEN {1 if nulls_first else -1} "
            f"WHEN {left} < {right} THEN {1 if desc else -1} WHEN {left} > {right} THEN {-1 if desc else 1} ELSE {cmp} END"
        )
    return f"transform(array_sort({collected}, (l, r) -> {cmp}), s -> s.v)"


def _string_agg_for_spark(agg: exp.GroupConcat, where: exp.Expression | None) -> exp.Expression:
    """``string_agg(x, sep ORDER BY ...)`` / ``string_agg(DISTINCT x, sep)`` as ARRAY_JOIN over
    the ordered values (ARRAY_JOIN skips NULLs, as string_agg does)."""
    sep = agg.args.get("separator")
    sep_sql = sep.sql(dialect="spark") if sep is not None else "','"
    inner = agg.this
    if isinstance(inner, exp.Order):
        values = _ordered_values_for_spark(inner, where, as_text=True)
    else:  # DISTINCT without ORDER BY: the order is arbitrary on both engines
        flt = f" FILTER (WHERE {where.sql(dialect='spark')})" if where is not None else ""
        values = f"array_distinct(collect_list(CAST({inner.expressions[0].sql(dialect='spark')} AS STRING)){flt})"
    return sqlglot.parse_one(f"array_join({values}, {sep_sql})", read="spark")


def _spark_rewrites(tree: exp.Expression) -> exp.Expression:
    """Rewrite what sqlglot would translate to Spark with other semantics (on a copy)."""

    def needs(node: exp.Expression) -> bool:
        if isinstance(node, exp.ArrayAgg):
            return isinstance(node.this, exp.Order)
        if isinstance(node, exp.GroupConcat):
            return isinstance(node.this, (exp.Order, exp.Distinct))
        return False

    def rewrite(agg: exp.Expression, where: exp.Expression | None) -> exp.Expression:
        if isinstance(agg, exp.GroupConcat):
            return _string_agg_for_spark(agg, where)
        return sqlglot.parse_one(_ordered_values_for_spark(agg.this, where), read="spark")

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Filter) and needs(node.this):
            return rewrite(node.this, node.expression.this)
        if needs(node) and not isinstance(node.parent, exp.Filter):
            return rewrite(node, None)
        return node

    return tree.transform(fix)


#: User-defined functions the engine registers on every connection (see crosscheck.engines.similarity).
UDFS: dict[str, str] = {
    "name_similarity": "name_similarity(a VARCHAR, b VARCHAR) -> DOUBLE",
    # fuzzy_join scorers (crosscheck.engines.scorers), registered with name_similarity
    **{f: f"{f}(a VARCHAR, b VARCHAR) -> DOUBLE" for f in (
        "fz_jaro_winkler", "fz_levenshtein", "fz_ratio", "fz_token_set", "fz_token_sort", "fz_date")},
    # the name linker's per-character tables (crosscheck.engines.characters), registered with them
    "name_char_reading": "name_char_reading(c VARCHAR) -> VARCHAR",
    "name_char_shape": "name_char_shape(c VARCHAR) -> VARCHAR",
}

#: Engine functions sqlglot parses as anonymous, with the engines that have them.
#: Add a function here (and on which engines it exists) before a rule may use it.
ANONYMOUS_FUNCTIONS: dict[str, frozenset[str]] = {
    # UDFs: DuckDB Arrow UDFs (crosscheck.engines.scorers.register), Spark pandas UDFs (spark_engine.register_udfs)
    **{f: frozenset({"duckdb", "spark"}) for f in UDFS},
    "list_distinct": frozenset({"duckdb"}),
}

DUCKDB = Dialect("duckdb", "duckdb", frozenset(n for n, e in ANONYMOUS_FUNCTIONS.items() if "duckdb" in e))
SPARK = Dialect("spark", "spark", frozenset(n for n, e in ANONYMOUS_FUNCTIONS.items() if "spark" in e))
DIALECTS: dict[str, Dialect] = {"duckdb": DUCKDB, "spark": SPARK}


def parse(sql: str) -> list[exp.Expression]:
    """Parse rule SQL in the rules' source dialect (DuckDB)."""
    return [s for s in sqlglot.parse(sql, read=READ_DIALECT) if s is not None]


def parse_expression(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=READ_DIALECT)


def qualify_expr(sql: str, alias: str) -> str:
    """The expression with its unqualified columns read from `alias`."""
    tree = parse_expression(sql)
    for col in list(tree.find_all(exp.Column)):
        if not col.table:
            col.set("table", exp.to_identifier(alias))
    return tree.sql(dialect=READ_DIALECT)


def forbidden_constructs(tree: exp.Expression) -> list[str]:
    """Human-readable reasons the tree is not a plain, side-effect-free SELECT."""
    return [message for message, _ in forbidden_nodes(tree)]


def forbidden_nodes(tree: exp.Expression) -> list[tuple[str, exp.Expression]]:
    """Each reason the tree is not a plain, side-effect-free SELECT, with the node it is about."""
    problems: list[tuple[str, exp.Expression]] = []
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            problems.append((f"{type(node).__name__.upper()} is not allowed (rules are SELECT only)", node))
        elif isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog"):
                problems.append((f"'{node.sql(dialect=READ_DIALECT)}' is not allowed as a table (only canonical tables, views and steps)", node))
            elif node.this.quoted and any(c in node.name for c in "./\\:*"):
                problems.append((f"file path '{node.name}' is not allowed as a table", node))
        elif isinstance(node, exp.Anonymous):
            fname = node.name.lower()
            if fname not in ANONYMOUS_FUNCTIONS:
                problems.append((unknown_function_message(fname), node))
        elif isinstance(node, exp.Placeholder) and not node.name:
            problems.append(("positional parameter '?' is not allowed: use $name", node))
    return problems


#: Functions sqlglot knows by name that read files or the system: never suggested.
_NOT_SUGGESTED = {"read_csv", "read_csv_auto", "read_parquet", "read_json", "read_json_auto", "getenv", "current_setting"}


def known_functions() -> list[str]:
    """Names of the functions a rule may call: DuckDB's as sqlglot knows them, and crosscheck's own."""
    from sqlglot.dialects.duckdb import DuckDB

    names = {n.lower() for n in DuckDB.Parser.FUNCTIONS} | set(ANONYMOUS_FUNCTIONS)
    return sorted(n for n in names if n.isidentifier() and n not in _NOT_SUGGESTED)


def unknown_function_message(name: str) -> str:
    """Why a function a rule calls cannot be used, and what to use instead."""
    from crosscheck.errors import did_you_mean

    hint = did_you_mean(name, [f for f in known_functions() if f != name])
    return (f"function '{name}' is not available in rules" + (f"{hint} Rules" if hint else "; rules")
            + " call DuckDB's SQL functions (coalesce, date_trunc, date_diff, list, string_agg, ...), name_similarity() "
            "and the fz_* scorers, and match records fuzzily with a fuzzy_join step (docs/writing-rules.md, \"Functions\")")


def unsupported_functions(tree: exp.Expression, dialect: Dialect) -> list[str]:
    return sorted(
        {n.name.lower() for n in tree.find_all(exp.Anonymous) if n.name.lower() in ANONYMOUS_FUNCTIONS and n.name.lower() not in dialect.functions}
    )


@dataclass(frozen=True)
class Gap:
    """A DuckDB function with no twin on an engine: sqlglot writes it out, the engine fails or differs."""

    function: str                 # as a rule writes it in DuckDB SQL
    problem: str                  # what happens on the engine
    instead: str                  # a portable way to write it
    applies: Callable[[exp.Expression], bool] = lambda node: True

    def message(self, engine: str) -> str:
        return f"{self.function} has no {engine.capitalize()} twin ({self.problem}); write {self.instead}"


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "day").lower().strip("'")


#: DuckDB functions (by sqlglot expression class) that Spark lacks or computes differently.
#: Found by running each transpiled function on Spark (tests/test_spark.py keeps the list honest).
#: Functions sqlglot does not model are refused earlier (`ANONYMOUS_FUNCTIONS`).
SPARK_GAPS: dict[str, Gap] = {
    "RegexpFullMatch": Gap("regexp_full_match()", "Spark has no REGEXP_FULL_MATCH", "regexp_matches(s, '^(…)$')"),
    "SimilarTo": Gap("SIMILAR TO", "Spark has no SIMILAR TO", "regexp_matches(s, '^(…)$')"),
    "Glob": Gap("GLOB", "Spark has no GLOB", "LIKE with % and _"),
    "ArrayOverlaps": Gap("list_has_any() / &&", "Spark has no && on arrays", "a join on unnest() of the lists"),
    "JarowinklerSimilarity": Gap("jaro_winkler_similarity()", "Spark has no JARO_WINKLER", "name_similarity(a, b) (same scores on both engines)"),
    "DateBin": Gap("time_bucket()", "Spark has no DATE_BIN", "date_trunc('month', ts) (or 'day', 'hour', ...)"),
    "Week": Gap("week()", "Spark has no WEEK", "weekofyear(d)"),
    "PercentileCont": Gap("quantile_cont() / percentile_cont()", "Spark computes it approximately or rejects the arguments", "median(x)"),
    "DateAdd": Gap("date_add(d, INTERVAL …)", "Spark's DATE_ADD takes days only", "d + INTERVAL 3 DAY",
                   lambda node: isinstance(node.args.get("expression"), exp.Interval)),
    "DateDiff": Gap("date_diff() in months, years, weeks, hours…", "DuckDB counts boundaries crossed, Spark whole units elapsed",
                    "date_diff('day', a, b) on dates, or (year(b) * 12 + month(b)) - (year(a) * 12 + month(a)) for months",
                    lambda node: _unit(node) not in {"day", "days", "d"}),
    "DayOfWeek": Gap("dayofweek()", "Spark numbers the days differently", "strftime(d, '%a') (the weekday's name)"),
    "DayOfWeekIso": Gap("isodow()", "sqlglot's Spark form gives other numbers", "strftime(d, '%a') (the weekday's name)"),
    "Dayname": Gap("dayname()", "Spark abbreviates (Mon, not Monday)", "strftime(d, '%A')"),
    "Monthname": Gap("monthname()", "Spark abbreviates (Jan, not January)", "month(d)"),
    "Typeof": Gap("typeof()", "the engines name types differently", "no type names in rules"),
    "Format": Gap("format()", "Spark's FORMAT_STRING uses printf patterns", "printf() or ||"),
}

#: Gaps per engine (DuckDB, the rules' own dialect, has none).
ENGINE_GAPS: dict[str, dict[str, Gap]] = {"duckdb": {}, "spark": SPARK_GAPS}


@dataclass(frozen=True)
class EngineProblem:
    function: str
    line: int | None              # line within the SQL text the tree was parsed from (1-based)
    message: str
    start: int | None = None      # offset within that text


def engine_problems(tree: exp.Expression, engine: str) -> list[EngineProblem]:
    """Functions in a parsed rule query that `engine` lacks or computes differently, in order."""
    out: list[EngineProblem] = []
    gaps = ENGINE_GAPS[engine]
    functions = DIALECTS[engine].functions
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in ANONYMOUS_FUNCTIONS and name not in functions:
                out.append(EngineProblem(f"{name}()", node.meta.get("line"), f"{name}() has no {engine.capitalize()} twin",
                                         node.meta.get("start")))
            continue
        gap = gaps.get(type(node).__name__)
        if gap is not None and gap.applies(node):
            out.append(EngineProblem(gap.function, node.meta.get("line"), gap.message(engine), node.meta.get("start")))
    return out


def transpile(tree: exp.Expression, dialect: str = "duckdb", pretty: bool = True) -> str:
    """SQL text of a parsed rule query for an engine; raises on what the engine cannot express."""
    d = DIALECTS[dialect]
    missing = engine_problems(tree, dialect)
    if missing:
        raise ValueError(f"not available on {dialect}: " + "; ".join(dict.fromkeys(p.message for p in missing)))
    return d.to_sql(tree, pretty=pretty)


def engine_params(values: dict[str, Any], engine: str) -> dict[str, Any]:
    """Bound parameter values as the engine's client takes them (never formatted into SQL).

    DuckDB takes Python values as they are. Spark's ``spark.sql(sql, args=...)``
    turns each value into a literal: dates, numbers, text and booleans are fine;
    the compiler wraps every parameter in a CAST to its declared type anyway.
    """
    if engine == "duckdb":
        return dict(values)
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, (list, tuple, set)):
            raise ValueError(f"parameter {k}: list values cannot be bound on {engine}")
        out[k] = v
    return out


def parameter_names(tree: exp.Expression) -> list[str]:
    """Named parameters ($name / :name) referenced in the tree, in order of first use."""
    seen: dict[str, None] = {}
    for node in tree.find_all(exp.Placeholder):
        if node.name:
            seen.setdefault(node.name, None)
    return list(seen)
