"""Data-quality expectations with Great Expectations Core 1.x.

The only module that imports great_expectations, and only inside functions
(the import costs ~3 s; a run imports it in a worker process, `Checks`, while it starts). Each connector table's YAML `expectations`
(expectation type -> kwargs) run on pandas DataFrames of the loaded table, in two kinds:

- **row by row** (values in a set, between bounds, not null, a pair of columns in order):
  each row is judged alone, so a table's counts are the sums of its files' counts. Each
  file is validated whole up to SAMPLE_ROWS rows, beyond that on a deterministic sample
  of about SAMPLE_ROWS of its rows (by the hash of the line number). A table that grows
  by a month is then validated on the new month only (`RowCounts`, kept with the table's
  state: crosscheck.cache.tables) and gives the counts a cold load would.
- **table-wide** (uniqueness): run on the whole table; beyond SAMPLE_ROWS rows on the rows
  whose checked values hash into a share of about SAMPLE_ROWS rows. Every copy of a value
  has the same hash, so a duplicate value is seen whole or not at all.

Success of a row-by-row expectation is decided from the summed counts as GX decides it
(the share of non-missing rows that are as expected, against `mostly`). Only the columns
the expectations name are fetched. A GX exception is reported as success=False with its
text in `detail`, never as a silent data failure (GX on DuckDB through SQLAlchemy fails
this way, hence pandas).
"""
from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
from functools import lru_cache
from typing import Any, Callable

from crosscheck.catalog import TableSpec
from crosscheck.results import ExpectationResult

SAMPLE_ROWS = 200_000
#: Seconds the validation worker is given to end on its own when the run closes (an idle one ends at
#: once, cleanly; a busy one is stopped: its outcomes are no longer wanted).
STOP_SECONDS = 1
_COLUMN_KEYS = ("column", "column_A", "column_B", "column_list")
_counter = itertools.count()


_warm_up: threading.Thread | None = None


def _import_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401


def warm_up() -> None:
    """Start importing Great Expectations in a background thread (seconds of imports),
    so that it overlaps the loading of the first tables (DuckDB releases the GIL)."""
    global _warm_up
    if _warm_up is None and "great_expectations" not in sys.modules:
        _warm_up = threading.Thread(target=_import_gx, name="crosscheck-import-gx", daemon=True)
        _warm_up.start()


@lru_cache(maxsize=1)
def _context():
    if _warm_up is not None:
        _warm_up.join()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no INFO chatter in runs
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in list(logging.Logger.manager.loggerDict):  # some GX modules set their own logger to INFO
        if name.startswith("great_expectations."):
            logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def expectation_class(name: str):
    """`expect_column_values_to_be_in_set` -> gx.expectations.ExpectColumnValuesToBeInSet."""
    import great_expectations as gx

    cls = getattr(gx.expectations, "".join(part.capitalize() for part in name.split("_")), None)
    if cls is None:
        raise ValueError(f"unknown GX expectation type '{name}'")
    return cls


def _columns_named(kwargs: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in _COLUMN_KEYS:
        value = kwargs.get(key)
        out.extend(value if isinstance(value, list) else [value] if value else [])
    return out


def _exception_text(info: Any) -> str:
    """GX puts exception info either flat or keyed by metric; collect the messages."""
    if not isinstance(info, dict):
        return ""
    if "raised_exception" in info:
        return info.get("exception_message") or "" if info.get("raised_exception") else ""
    messages = {_exception_text(v) for v in info.values()}
    return "; ".join(sorted(m for m in messages if m))


def is_row_level(name: str) -> bool:
    """Whether expectation `name` judges each row alone (its counts add up over files)."""
    return ((name.startswith("expect_column_values_to_") and "unique" not in name)
            or name.startswith("expect_column_pair_values_")
            or name == "expect_select_column_values_to_be_unique_within_record")


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def fetch_frame(con, relation: str, columns: list[str], files: dict[str, int] | None = None):
    """Rows of `relation` as pandas, only the named columns. `files` (source_file -> rows):
    each file whole up to SAMPLE_ROWS rows, else about SAMPLE_ROWS of its rows by the hash
    of their line number; without it, the whole relation up to SAMPLE_ROWS rows, else the
    rows whose values of `columns` hash into about SAMPLE_ROWS rows."""
    cols = _quoted(columns) or "*"
    if files is not None:  # one query per file: its rows are stored together, the others are skipped unread
        selects = [f"SELECT {cols} FROM {relation} WHERE source_file = {_lit(f)}"
                   + (f" AND hash(source_line) % {k} < {SAMPLE_ROWS}" if k > SAMPLE_ROWS else "")
                   for f, k in sorted(files.items())]
        listed = ", ".join(_lit(f) for f in sorted(files))
        rest = f"source_file IS NULL OR source_file NOT IN ({listed})" if files else "true"
        selects.append(f"SELECT {cols} FROM {relation} WHERE {rest}")  # rows of files not listed: whole
        return con.sql(" UNION ALL ".join(selects)).df()
    total = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    where = f" WHERE hash({cols}) % {total} < {SAMPLE_ROWS}" if total > SAMPLE_ROWS and columns else ""
    return con.sql(f"SELECT {cols} FROM {relation}{where}").df()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_result_of(result, name: str, kwargs: dict[str, Any]) -> bool:
    """Whether a suite's result is the one of expectation `name` with `kwargs`."""
    config = result.expectation_config
    return config.type == name and all(config.kwargs.get(k) == v for k, v in kwargs.items())


def _outcomes(frame, table: str, expectations: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run each (name, kwargs) on a pandas DataFrame as one suite: per expectation GX's
    success, element, missing and unexpected counts, and the text of an exception."""
    context = _context()
    source = context.data_sources.add_pandas(f"cc_{table}_{next(_counter)}")
    batch = (
        source.add_dataframe_asset(name=table)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    import great_expectations as gx

    def failed(exc: Exception) -> dict[str, Any]:
        return {"success": False, "element": len(frame), "missing": 0, "unexpected": 0,
                "detail": f"{type(exc).__name__}: {exc}"}

    out: list[dict[str, Any] | None] = []
    built, at = [], []
    for name, kwargs in expectations:
        try:
            built.append(expectation_class(name)(**kwargs))
            at.append((len(out), name, kwargs))
            out.append(None)
        except Exception as exc:  # a bad kwarg: report it, don't hide it
            out.append(failed(exc))
    if built:  # one validation of the whole suite (one pass over the frame's metrics)
        suite = gx.ExpectationSuite(name=f"cc_{table}_{next(_counter)}", expectations=built)
        try:  # GX returns the results in an order of its own: each is matched to its expectation
            found = batch.validate(suite).results
            outcomes = [next((r for r in found if _is_result_of(r, name, kwargs)), KeyError("no result from GX"))
                        for _, name, kwargs in at]
        except Exception as exc:  # a GX bug: every expectation says so
            outcomes = [exc] * len(built)
        for (i, _, _), outcome in zip(at, outcomes):
            if isinstance(outcome, Exception):
                out[i] = failed(outcome)
                continue
            stats = outcome.result or {}
            out[i] = {"success": bool(outcome.success), "element": int(stats.get("element_count", len(frame)) or 0),
                      "missing": int(stats.get("missing_count", 0) or 0),
                      "unexpected": int(stats.get("unexpected_count", 0) or 0),
                      "detail": _exception_text(outcome.exception_info)}
    try:
        context.data_sources.delete(source.name)
    except Exception:
        pass
    return out


def _items(expectations: list[dict[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, kwargs) for item in expectations for name, kwargs in item.items()]


def validate_frame(frame, table: str, expectations: list[dict[str, dict[str, Any]]]) -> list[ExpectationResult]:
    """Run each expectation on a pandas DataFrame; one result per expectation."""
    items = _items(expectations)
    return [ExpectationResult(table, name, ",".join(_columns_named(kwargs)), o["success"], o["element"], o["unexpected"],
                              o["detail"]) for (name, kwargs), o in zip(items, _outcomes(frame, table, items))]


#: Per expectation of a table (in its YAML order): [element, missing, unexpected, detail] of a
#: row-by-row expectation over some of its files, None for a table-wide one.
RowCounts = list


def row_counts(checks: "Checks", con, relation: str, table: str, spec: TableSpec,
               files: dict[str, int] | None = None) -> Callable[[], RowCounts]:
    """The row-by-row expectations' counts over the rows of `relation` (each file sampled
    alone; `files`: source_file -> rows, counted here when not given). The rows are read
    now; the callable returned gives the counts (waiting for `checks`)."""
    items = _items(spec.all_expectations())
    row = [(i, item) for i, item in enumerate(items) if is_row_level(item[0])]
    if not row:
        return lambda: [None] * len(items)
    if files is None:
        files = dict(con.execute(f"SELECT source_file, count(*) FROM {relation} GROUP BY 1").fetchall())
    frame = fetch_frame(con, relation, _wanted(spec, [kw for _, (_, kw) in row]), files)
    outcomes = checks.outcomes(frame, table, [item for _, item in row])

    def counts() -> RowCounts:
        out: RowCounts = [None] * len(items)
        for (i, _), o in zip(row, outcomes()):
            out[i] = [o["element"], o["missing"], o["unexpected"], o["detail"]]
        return out
    return counts


def add_counts(a: RowCounts, b: RowCounts) -> RowCounts:
    """The counts of two sets of files together."""
    return [None if x is None or y is None else [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] or y[3]]
            for x, y in zip(a, b)]


def _wanted(spec: TableSpec, kwargs_list: list[dict[str, Any]]) -> list[str]:
    known = {c.name for c in spec.columns}
    return sorted({c for kw in kwargs_list for c in _columns_named(kw) if c in known})


def _from_counts(table: str, name: str, kwargs: dict[str, Any], counts: list) -> ExpectationResult:
    """A row-by-row expectation's result from its summed counts, decided as GX decides it."""
    element, missing, unexpected, detail = counts
    considered = element - missing
    mostly = float(kwargs.get("mostly", 1.0))
    success = not detail and (considered <= 0 or (considered - unexpected) / considered >= mostly)
    return ExpectationResult(table, name, ",".join(_columns_named(kwargs)), success, element, unexpected, detail)


def table_results(checks: "Checks", con, relation: str, table: str, spec: TableSpec,
                  counts: Callable[[], RowCounts]) -> Callable[[], list[ExpectationResult]]:
    """Every expectation's result: row-by-row ones from `counts` (row_counts over all the
    table's files), table-wide ones on the whole of `relation`, read now. The callable
    returned gives the results (waiting for `checks`)."""
    items = _items(spec.all_expectations())
    wide = {i: checks.outcomes(fetch_frame(con, relation, _wanted(spec, [kwargs])), table, [(name, kwargs)])
            for i, (name, kwargs) in enumerate(items) if not is_row_level(name)}

    def results() -> list[ExpectationResult]:
        out: list[ExpectationResult] = []
        for i, ((name, kwargs), kept) in enumerate(zip(items, counts())):
            if i not in wide:
                out.append(_from_counts(table, name, kwargs, kept))
                continue
            (o,) = wide[i]()
            out.append(ExpectationResult(table, name, ",".join(_columns_named(kwargs)), o["success"], o["element"],
                                         o["unexpected"], o["detail"]))
        return out
    return results


def validate_table(checks: "Checks", con, table: str, spec: TableSpec) -> Callable[[], list[ExpectationResult]]:
    """The connector YAML's expectations on a loaded canonical table (see table_results)."""
    if not spec.all_expectations():
        return lambda: []
    relation = f'"{table}"'
    return table_results(checks, con, relation, table, spec, row_counts(checks, con, relation, table, spec))


def _worker_start(parent_pid: int, watch) -> None:
    """In the worker, before anything is imported: it ends with the run that started it,
    however the run ends (crosscheck.lifetime.die_with_parent); Ctrl-C is the run's
    to handle; GX without its Spark support (GX imports pyspark when it can; the worker
    validates pandas frames only)."""
    import signal

    from crosscheck.lifetime import die_with_parent

    die_with_parent(parent_pid, watch)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.modules.setdefault("pyspark", None)  # type: ignore[arg-type]


def _import_in_worker() -> None:
    _import_gx()
    _context()


def _start_worker(pool) -> None:
    """Start the pool's worker without the run's main module: a spawned process imports the
    parent's `__main__` first (the CLI, or a Prefect flow), which the worker never uses."""
    import types

    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        pool.submit(_import_in_worker)
    finally:
        sys.modules["__main__"] = main


class Checks:
    """Where a run's expectations are computed. In the background, one worker process imports
    Great Expectations while the run starts and validates each table's rows while the next
    tables load (each kind of check reads its rows at once, then waits for nothing); else in
    this process, at once. `outcomes` gives a callable that waits for its outcomes; `later(fn)`
    runs `fn` at `settle()` (at once when not in the background). A worker that dies is
    replaced by this process: the outcomes are the same."""

    def __init__(self, background: bool = False, warm: bool = True):
        """`warm`: start importing Great Expectations now (a run that loads nothing from files
        may never validate: it imports it only when it does)."""
        self._pool = None
        self._watched = None  # this process's end of the pipe the worker watches (it ends when this closes)
        self._later: list[Callable[[], None]] = []
        if background:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            from crosscheck.lifetime import parent_watch

            watch, self._watched = parent_watch()
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_start, initargs=(os.getpid(), watch))
                _start_worker(self._pool)
            except (OSError, RuntimeError) as exc:  # no process can be started: validate here
                logging.getLogger(__name__).warning("validation runs in the run's process: %s", exc)
                self.close()
            finally:
                watch.close()  # the worker has its own copy
        elif warm:
            warm_up()

    def outcomes(self, frame, table: str, items: list[tuple[str, dict[str, Any]]]) -> Callable[[], list[dict[str, Any]]]:
        if self._pool is not None:
            try:
                future = self._pool.submit(_outcomes, frame, table, items)
            except RuntimeError:  # the worker died: this process validates from here on
                self._pool = None
            else:
                def wait() -> list[dict[str, Any]]:
                    try:
                        return future.result()
                    except Exception:  # noqa: BLE001 - the worker died: the same outcomes here
                        return _outcomes(frame, table, items)
                return wait
        out = _outcomes(frame, table, items)
        return lambda: out

    def later(self, fn: Callable[[], None]) -> None:
        if self._pool is None and not self._later:
            fn()
        else:
            self._later.append(fn)

    def settle(self) -> None:
        """Run what waits for the outcomes, in the order it was asked."""
        while self._later:
            self._later.pop(0)()

    def close(self) -> None:
        """Stop the worker (its outcomes are no longer wanted): an idle one ends at once, a busy
        one is terminated after STOP_SECONDS."""
        pool, self._pool = self._pool, None
        if pool is not None:
            workers = list((getattr(pool, "_processes", None) or {}).values())  # no public way to stop them
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.join(STOP_SECONDS)
                if process.is_alive():
                    process.terminate()
        if self._watched is not None:
            self._watched.close()
            self._watched = None
