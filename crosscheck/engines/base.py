"""What the rule runner needs of an engine, and the DuckDB engine (see crosscheck.engines)."""
from __future__ import annotations

from typing import Any

from sqlglot import exp

from crosscheck.engines import dialect


class Engine:
    """What the rule runner needs of an engine."""

    name = ""
    #: shared views (rules/_views) are computed once per run into tables of the engine
    keeps_views = False
    #: the run reads and keeps the delivery's canonical cache entry (crosscheck.cache.canonical)
    uses_canonical_cache = False

    def execute(self, sql: str, tree: exp.Expression, bound: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        """Run this engine's SQL text of the parsed query `tree` with its bound parameters."""
        raise NotImplementedError

    def run(self, tree: exp.Expression, bound: dict[str, Any], *, pretty: bool = True) -> tuple[str, list[str], list[tuple]]:
        """Run a parsed query: (the SQL run, column names, rows)."""
        sql = dialect.transpile(tree, self.name, pretty=pretty)
        return (sql, *self.execute(sql, tree, bound))

    def run_compiled(self, compiled, bound: dict[str, Any]) -> tuple[str, list[str], list[tuple]]:
        """Run a compiled rule (crosscheck.rules.compiler.Compiled): (the SQL run, column names, rows)."""
        sql = compiled.sql(self.name)
        return (sql, *self.execute(sql, compiled.tree, bound))

    def create_table(self, name: str, tree: exp.Expression, bound: dict[str, Any] | None = None) -> None:
        """A temporary table of the query's rows, its parameters bound (engines that keep views)."""
        raise NotImplementedError

    def offer_tables(self, con, available: dict[str, str | None]) -> None:
        """Make the loaded canonical tables (in the run's DuckDB `con`) readable by this engine."""

    def forget_table(self, table: str) -> None:
        """The table is being loaded again: offer it afresh next time."""

    def close(self) -> None:
        """Release what the engine holds (not the run's DuckDB connection)."""

    @staticmethod
    def udfs_of(tree: exp.Expression) -> list[str]:
        """The project's functions (crosscheck.engines.dialect.UDFS) a query calls."""
        return sorted({n.name.lower() for n in tree.find_all(exp.Anonymous)} & set(dialect.UDFS))


class DuckDBEngine(Engine):
    """The run's own DuckDB connection (the canonical tables are already in it)."""

    name = "duckdb"
    keeps_views = True
    uses_canonical_cache = True

    def __init__(self, con):
        self.con = con
        self._registered = False

    def _register_udfs(self, tree) -> None:
        if not self._registered and self.udfs_of(tree):
            from crosscheck.engines import scorers

            scorers.register(self.con)
            self._registered = True

    def execute(self, sql, tree, bound):
        self._register_udfs(tree)
        cur = self.con.execute(sql, bound)
        return [d[0] for d in cur.description], cur.fetchall()

    def create_table(self, name, tree, bound=None):
        self._register_udfs(tree)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {dialect.transpile(tree, self.name, pretty=False)}", bound or {})


def as_engine(target) -> Engine:
    """An Engine as it is, a DuckDB connection as the DuckDB engine on it."""
    return target if isinstance(target, Engine) else DuckDBEngine(target)
