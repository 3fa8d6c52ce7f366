"""Data-quality expectations with Great Expectations Core 1.x.

The only module that imports great_expectations, and only inside functions
(the import costs ~3 s; `warm_up` starts it in the background). Each connector table's YAML `expectations`
(expectation type -> kwargs) run on a pandas DataFrame of the loaded table:

- tables of up to SAMPLE_ROWS rows are validated whole;
- larger tables (taps) are validated on a deterministic sample:
  `USING SAMPLE reservoir(SAMPLE_ROWS ROWS) REPEATABLE (42)`. element_count
  then says how many rows were looked at. Uniqueness expectations on a sample
  only see duplicates that both fall in the sample: they are a smoke check
  there, not a proof.

Only the columns the expectations name are fetched. A GX exception is
reported as success=False with its text in `detail`, never as a silent data
failure (GX on DuckDB through SQLAlchemy fails this way, hence pandas).
"""
from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
from functools import lru_cache
from typing import Any

from crosscheck.catalog import TableSpec
from crosscheck.results import ExpectationResult

SAMPLE_ROWS = 200_000
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


def fetch_frame(con, table: str, columns: list[str]):
    """The table (or its deterministic sample) as pandas, only the named columns."""
    total = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    cols = ", ".join(f'"{c}"' for c in columns) or "*"
    sample = f" USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (42)" if total > SAMPLE_ROWS else ""
    return con.sql(f'SELECT {cols} FROM "{table}"{sample}').df()


def _is_result_of(result, name: str, kwargs: dict[str, Any]) -> bool:
    """Whether a suite's result is the one of expectation `name` with `kwargs`."""
    config = result.expectation_config
    return config.type == name and all(config.kwargs.get(k) == v for k, v in kwargs.items())


def validate_frame(frame, table: str, expectations: list[dict[str, dict[str, Any]]]) -> list[ExpectationResult]:
    """Run each expectation on a pandas DataFrame; one result per expectation."""
    context = _context()
    source = context.data_sources.add_pandas(f"cc_{table}_{next(_counter)}")
    batch = (
        source.add_dataframe_asset(name=table)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    import great_expectations as gx

    results: list[ExpectationResult | None] = []
    built, at = [], []
    for item in expectations:
        for name, kwargs in item.items():
            column = ",".join(_columns_named(kwargs))
            try:
                built.append(expectation_class(name)(**kwargs))
                at.append((len(results), name, column, kwargs))
                results.append(None)
            except Exception as exc:  # a bad kwarg: report it, don't hide it
                results.append(ExpectationResult(table, name, column, False, len(frame), 0, f"{type(exc).__name__}: {exc}"))
    if built:  # one validation of the table's whole suite (one pass over the frame's metrics)
        suite = gx.ExpectationSuite(name=f"cc_{table}_{next(_counter)}", expectations=built)
        try:  # GX returns the results in an order of its own: each is matched to its expectation
            found = batch.validate(suite).results
            outcomes = [next((r for r in found if _is_result_of(r, name, kwargs)), KeyError("no result from GX"))
                        for _, name, _, kwargs in at]
        except Exception as exc:  # a GX bug: every expectation says so
            outcomes = [exc] * len(built)
        for (i, name, column, _), outcome in zip(at, outcomes):
            if isinstance(outcome, Exception):
                results[i] = ExpectationResult(table, name, column, False, len(frame), 0, f"{type(outcome).__name__}: {outcome}")
                continue
            stats = outcome.result or {}
            results[i] = ExpectationResult(table, name, column, bool(outcome.success),
                                           int(stats.get("element_count", len(frame)) or 0),
                                           int(stats.get("unexpected_count", 0) or 0), _exception_text(outcome.exception_info))
    try:
        context.data_sources.delete(source.name)
    except Exception:
        pass
    return results


def validate_table(con, table: str, spec: TableSpec) -> list[ExpectationResult]:
    """Run the connector YAML's expectations on a loaded canonical table."""
    if not spec.expectations:
        return []
    known = {c.name for c in spec.columns}
    wanted = sorted({c for item in spec.expectations for kw in item.values() for c in _columns_named(kw) if c in known})
    frame = fetch_frame(con, table, wanted)
    return validate_frame(frame, table, spec.expectations)
