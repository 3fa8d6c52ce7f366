"""The only module that knows DuckDB from Spark.

Rules are written in DuckDB SQL (``read='duckdb'``, never guessed) and parsed
with sqlglot. This module supplies, per engine:

- the SQL text of a parsed query (`to_sql`), raising when a construct has no
  translation (`sqlglot.ErrorLevel.RAISE`), so a rule that cannot run on Spark
  fails at lint time, not at night;
- how named parameters are written (DuckDB ``$name``, Spark ``:name``);
- the functions a rule may call: sqlglot function classes that read files or
  touch the system are refused, and an unknown (anonymous) function must be a
  registered UDF or a known engine function with its support per engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

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
        return tree.sql(dialect=self.sqlglot_name, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)


#: User-defined functions the engine registers on every connection (see crosscheck.similarity).
UDFS: dict[str, str] = {"name_similarity": "name_similarity(a VARCHAR, b VARCHAR) -> DOUBLE"}

#: Engine functions sqlglot parses as anonymous, with the engines that have them.
#: Add a function here (and on which engines it exists) before a rule may use it.
ANONYMOUS_FUNCTIONS: dict[str, frozenset[str]] = {
    "name_similarity": frozenset({"duckdb", "spark"}),  # UDF: DuckDB via similarity.register, Spark via a pandas UDF
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


def forbidden_constructs(tree: exp.Expression) -> list[str]:
    """Human-readable reasons the tree is not a plain, side-effect-free SELECT."""
    problems: list[str] = []
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            problems.append(f"{type(node).__name__.upper()} is not allowed (rules are SELECT only)")
        elif isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog"):
                problems.append(f"'{node.sql(dialect=READ_DIALECT)}' is not allowed as a table (only canonical tables, views and steps)")
            elif node.this.quoted and any(c in node.name for c in "./\\:*"):
                problems.append(f"file path '{node.name}' is not allowed as a table")
        elif isinstance(node, exp.Anonymous):
            fname = node.name.lower()
            if fname not in ANONYMOUS_FUNCTIONS:
                problems.append(f"function '{fname}' is not known to crosscheck.dialect (add it to ANONYMOUS_FUNCTIONS with its engines)")
        elif isinstance(node, exp.Placeholder) and not node.name:
            problems.append("positional parameter '?' is not allowed: use $name")
    return problems


def unsupported_functions(tree: exp.Expression, dialect: Dialect) -> list[str]:
    return sorted(
        {n.name.lower() for n in tree.find_all(exp.Anonymous) if n.name.lower() in ANONYMOUS_FUNCTIONS and n.name.lower() not in dialect.functions}
    )


def transpile(tree: exp.Expression, dialect: str = "duckdb", pretty: bool = True) -> str:
    """SQL text of a parsed rule query for an engine; raises on what the engine cannot express."""
    d = DIALECTS[dialect]
    missing = unsupported_functions(tree, d)
    if missing:
        raise ValueError(f"functions not available on {dialect}: {', '.join(missing)}")
    return d.to_sql(tree, pretty=pretty)


def parameter_names(tree: exp.Expression) -> list[str]:
    """Named parameters ($name / :name) referenced in the tree, in order of first use."""
    seen: dict[str, None] = {}
    for node in tree.find_all(exp.Placeholder):
        if node.name:
            seen.setdefault(node.name, None)
    return list(seen)
