"""The store's DuckDB plumbing, shared by its parts: the error, connecting, rows, times.

Times are kept as naive UTC ``TIMESTAMP`` values (see `crosscheck.store.schema`).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from crosscheck.store.lock import StoreBusy


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


def connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the database file, turning DuckDB's errors into `StoreBusy` / `StoreError`."""
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreBusy(f"store {path} is open in another program that does not take crosscheck's lock: {text}") from exc
        raise StoreError(f"store {path}: {text}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"store {path}: cannot open ({exc})") from exc


def rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    """The query's result, one dict (column -> value) a row."""
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def next_id(con: duckdb.DuckDBPyConnection, column: str, table: str) -> int:
    """One more than the largest ``column`` of ``table`` (1 for an empty table)."""
    return con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()[0][0]


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Arrow tables visible to SQL under these names meanwhile."""
    names: list[str] = []
    try:
        for name, table in tables.items():
            con.register(name, table)
            names.append(name)
        yield
    finally:
        for name in names:
            try:
                con.unregister(name)
            except duckdb.Error:  # an aborted transaction refuses it; the rollback follows
                pass


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware time as naive UTC; a naive one is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
