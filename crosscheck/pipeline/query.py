"""The analyst's questions to a loaded delivery (`crosscheck sql`): one SELECT at a time over the
canonical tables and the shared views, read-only, masked like the reports.

    with Delivery.open(config, extracts, as_of) as delivery:
        answer = delivery.ask("SELECT name AS n, count(*) AS c FROM residents GROUP BY n", mask=True)
        answer.columns, answer.batches()          # masked rows, a batch at a time

The delivery is opened the way a run opens it (crosscheck.pipeline.run.RunSession): its canonical
cache entry attached read-only when a run kept one, else its files loaded and validated (and kept
for the next run); then the DuckDB is locked (no file access, no setting changed back). A query is
parsed and refused as a rule's step is (crosscheck.rules.compiler.compile_query: one SELECT; no
INSERT, COPY, ATTACH, PRAGMA, SET, file path or second statement), and its columns' personal data
is followed to the connectors' declarations (crosscheck.rules.lineage.column_kinds):

- a column passing a personal value as it is (`SELECT name AS n`) is masked as its kind;
- a column building a value around personal data (`name || '（' || post || '）'`, an identity
  number cast to a number) or mixing kinds is masked by shape: every letter, digit and Chinese
  character starred (`Answer.notes` says which and why);
- identity numbers are masked in every other text;
- a query whose columns cannot be followed is refused in a masked session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import duckdb

from crosscheck.config import ProjectConfig
from crosscheck.rules.lineage import SHAPE, ColumnKind

#: Rows fetched from DuckDB at a time.
BATCH = 10_000


class QueryRefused(ValueError):
    """The query is not one this session runs: why, in one message per problem."""


@dataclass
class Answer:
    columns: list[str]
    kinds: list[ColumnKind]
    cursor: Any                      # the DuckDB cursor the rows come from
    mask: bool
    notes: list[str] = field(default_factory=list)   # columns masked by shape, and why

    def batches(self, size: int = BATCH) -> Iterator[list[tuple]]:
        """The rows, masked when the session is, `size` at a time."""
        from crosscheck.privacy.masking import mask_value

        while True:
            rows = self.cursor.fetchmany(size)
            if not rows:
                return
            if self.mask:
                rows = [tuple(mask_value(k.kind, v) for k, v in zip(self.kinds, row)) for row in rows]
            yield rows


class Delivery:
    """A delivery's canonical tables, loaded and locked, and the rules' shared views."""

    def __init__(self, session, from_cache: bool):
        self.session = session          # crosscheck.pipeline.run.RunSession that loaded it
        self.from_cache = from_cache    # read from the canonical cache entry a run kept (else loaded from its files)

    @classmethod
    def open(cls, config: ProjectConfig, extracts: Path, as_of: date) -> "Delivery":
        """Load `extracts` as a run would (RunError for a folder that is not a delivery)."""
        from crosscheck.pipeline.run import RunRequest, RunSession

        session = RunSession(RunRequest(extracts=Path(extracts), as_of=as_of, record=False, engine="duckdb"), config)
        from_cache = session.workspace.cached
        try:
            for table in session.plan.tables:
                session.load_table(table)
            session.lock_down()
            session.settle()
        except BaseException:
            session.close()
            raise
        return cls(session, from_cache)

    def __enter__(self) -> "Delivery":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    @property
    def unavailable(self) -> dict[str, str]:
        """Canonical tables not loaded from this delivery -> why."""
        return {t: why for t, why in self.session.available.items() if why is not None}

    def ask(self, sql: str, *, mask: bool = True) -> Answer:
        """Run one SELECT; QueryRefused (one line per problem) for anything else."""
        from crosscheck.engines.base import DuckDBEngine
        from crosscheck.rules.compiler import CompileError, compile_query
        from crosscheck.rules.lineage import column_kinds
        from crosscheck.rules.runner import materialize_views

        session = self.session
        try:
            compiled = compile_query(sql, session.plan.ruleset.view_specs, session.plan.catalog, set(self.unavailable))
        except CompileError as exc:
            raise QueryRefused("\n".join(_refusal(p) for p in exc.problems)) from None
        try:
            kinds = column_kinds(compiled, session.plan.catalog)
        except ValueError as exc:
            problem = _column_problem(sql, compiled, session.plan.catalog)
            if problem:
                raise QueryRefused(problem) from None
            if mask:
                raise QueryRefused(f"{exc}: name the columns the query returns (or use --no-mask)") from None
            kinds = []
        engine = DuckDBEngine(session.con)
        compiled = materialize_views(engine, compiled, session.workspace.shared_views)  # views a run kept: read, not computed
        if engine.udfs_of(compiled.tree):
            from crosscheck.engines import scorers

            scorers.register(session.con)
        cursor = session.con  # the views made above are temporary tables of this connection
        try:
            cursor.execute(compiled.sql("duckdb"), {"as_of": session.request.as_of} if "as_of" in compiled.parameters else {})
        except duckdb.BinderException as exc:  # a column not there: named as lint names it, with the columns there are
            raise QueryRefused(_column_problem(sql, compiled, session.plan.catalog) or str(exc).splitlines()[0]) from None
        columns = [d[0] for d in cursor.description]
        kinds = kinds if len(kinds) == len(columns) else [ColumnKind(None)] * len(columns)
        notes = [f"column {c} builds a value from personal data ({', '.join(k.columns)}): masked by shape; select "
                 "the column as it is to see it masked as its kind" for c, k in zip(columns, kinds) if mask and k.kind == SHAPE]
        return Answer(columns, kinds, cursor, mask, notes)


def _column_problem(sql: str, compiled, catalog) -> str | None:
    """The first column of the query that does not resolve, as `crosscheck rules lint` says it
    (crosscheck.rules.columns), the query being the last step after the views it reads."""
    import dataclasses

    from sqlglot import exp

    from crosscheck.rules.columns import column_problems
    from crosscheck.rules.compiler import Cte, parse_query

    ctes = [*compiled.ctes, Cte("query", parse_query(sql), ("steps", 0))]
    tree = exp.select("*").from_("query")
    for c in ctes:
        tree = tree.with_(c.name, as_=c.query.copy(), copy=False)
    found = column_problems(dataclasses.replace(compiled, tree=tree, ctes=ctes), catalog)
    return found[0].message if found else None


def _refusal(problem) -> str:
    where = f"line {problem.line}: " if problem.line and problem.line > 1 else ""
    message = problem.message
    if message.startswith(("only SELECT is allowed", "exactly one SELECT", "file path")) or " is not allowed" in message:
        message = f"refused: crosscheck sql only reads the loaded tables: {message}"
    return where + message


def newest_delivery(config: ProjectConfig) -> Path:
    from crosscheck.pipeline.nightly import newest_delivery as newest

    return newest(config.deliveries_dir)
