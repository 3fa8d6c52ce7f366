"""Readers: one delivered file -> an all-VARCHAR DuckDB staging table.

Every reader creates the table (CSV: view) `name` with columns c0..c{n-1} (the delivered
columns in order, as text) and `__line` (1-based physical line, header = 1;
xlsx: sheet row; parquet: row index + 2) and returns a `Staged` describing it.
Records that cannot be split into the header's columns (wrong field count,
unterminated quote) are returned as `rejects` for quarantine.
"""
from __future__ import annotations

import csv
import json
import math
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from crosscheck.connectors.files import FileProblem


@dataclass
class Reject:
    line: int
    reason: str
    raw_values: str          # JSON object header -> value (as far as it could be split)


@dataclass
class Staged:
    name: str                # DuckDB staging table
    headers: list[str]       # delivered headers, as delivered
    rows: int                # rows in the staging table
    rejects: list[Reject] = field(default_factory=list)


def normalize_header(header: str | None) -> str:
    return unicodedata.normalize("NFKC", (header or "").replace("\ufeff", "")).strip()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw_json(headers: list[str], values: list[str | None]) -> str:
    obj = {h: v for h, v in zip(headers, values)}
    if len(values) > len(headers):
        obj["(extra fields)"] = values[len(headers):]
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _stage_arrow(con: duckdb.DuckDBPyConnection, name: str, columns: list[list], lines: list[int]) -> int:
    arrays = {f"c{i}": pa.array(col, type=pa.string()) for i, col in enumerate(columns)}
    arrays["__line"] = pa.array(lines, type=pa.int64())
    table = pa.table(arrays)
    view = f"{name}_arrow"
    con.register(view, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return table.num_rows


# ------------------------------------------------------------------- CSV

def read_csv(con: duckdb.DuckDBPyConnection, path: Path, lines: int, name: str) -> Staged:
    """Read a UTF-8 CSV (no BOM). Fast path: DuckDB read_csv; if records and
    physical lines do not line up one to one (blank lines, quoted newlines,
    broken quoting), re-read with Python's csv module to get exact lines."""
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header or not any(normalize_header(h) for h in header):
        raise FileProblem("line 1: no header row")
    n = len(header)
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    rej_table, rej_scan = f"{name}_rej", f"{name}_rejscan"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name}_raw AS SELECT * FROM read_csv({_sql_str(str(path))}, "
            f"columns={cols}, header=true, delim=',', quote='\"', escape='\"', auto_detect=false, "
            f"store_rejects=true, rejects_table='{rej_table}', rejects_scan='{rej_scan}')"
        )
        rows = con.execute(f"SELECT count(*) FROM {name}_raw").fetchall()[0][0]
        rejected = con.execute(
            f"SELECT line, error_message, csv_line FROM {rej_table} ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        rows, rejected = -1, []
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rej_table}")
        con.execute(f"DROP TABLE IF EXISTS {rej_scan}")
    if rows < 0 or rows + len(rejected) + 1 != lines:
        con.execute(f"DROP TABLE IF EXISTS {name}_raw")
        return _read_csv_python(con, path, header, name)
    # One record per physical line: rejected line r_j shifts every later row by one.
    rejects = [Reject(int(line), f"malformed CSV row: {msg}", _raw_json(header, _split(text))) for line, msg, text in rejected]
    if rejects:
        keys = pa.table({"k": [r.line - j for j, r in enumerate(rejects)], "m": list(range(1, len(rejects) + 1))})
        con.register(f"{name}_keys", keys)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT r.* EXCLUDE (__p), r.__p + coalesce(k.m, 0) AS __line "
            f"FROM (SELECT *, rowid + 2 AS __p FROM {name}_raw) r ASOF LEFT JOIN {name}_keys k ON r.__p >= k.k ORDER BY r.__p"
        )
        con.unregister(f"{name}_keys")
        con.execute(f"DROP TABLE IF EXISTS {name}_raw")
    else:  # a view: the rows are not copied (drop with `drop_staged`)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, rowid + 2 AS __line FROM {name}_raw")
    return Staged(name, header, rows, rejects)


def drop_staged(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging table or view made by a reader, and what it reads from."""
    for kind in ("VIEW", "TABLE"):
        try:
            con.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.CatalogException:  # it is the other kind
            pass
    con.execute(f"DROP TABLE IF EXISTS {name}_raw")


def _split(text: str) -> list[str]:
    return next(csv.reader([text.rstrip("\r\n")]), [])


def _read_csv_python(con: duckdb.DuckDBPyConnection, path: Path, header: list[str], name: str) -> Staged:
    csv.field_size_limit(sys.maxsize)
    n = len(header)
    columns: list[list] = [[] for _ in range(n)]
    lines: list[int] = []
    rejects: list[Reject] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, strict=False)
        end = 0
        try:
            for i, record in enumerate(reader):
                start, end = end + 1, reader.line_num
                if i == 0 or not record:
                    continue
                if len(record) != n:
                    rejects.append(Reject(start, f"malformed CSV row: expected {n} fields, found {len(record)}", _raw_json(header, record)))
                    continue
                for col, value in zip(columns, record):
                    col.append(None if value == "" else value)
                lines.append(start)
        except csv.Error as exc:
            raise FileProblem(f"line {end + 1}: cannot parse CSV: {exc}") from exc
    rows = _stage_arrow(con, name, columns, lines)
    return Staged(name, header, rows, rejects)


# ------------------------------------------------------------------- xlsx

def _cell_text(value: object) -> str | None:
    """A cell as the user sees it. Integral floats of 1e15 and more cannot hold
    an 18-digit number exactly: they are shown in scientific notation, which
    the identity check rejects instead of trusting lost digits."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else f"{float(value):.15G}"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15G}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time(0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Staged:
    """First sheet, header in row 1; fully empty rows are skipped (not records)."""
    from python_calamine import CalamineWorkbook

    with open(path, "rb") as fh:
        if fh.read(8) == OLE2_MAGIC:  # Office wraps a password-protected .xlsx in an OLE2 container
            raise FileProblem("workbook is password-protected (encrypted), or is a legacy .xls named .xlsx: "
                              "ask for an unprotected .xlsx")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise FileProblem(f"cannot read Excel workbook (corrupt or truncated?): {exc}") from exc
    if not rows or not any(_cell_text(v) for v in rows[0]):
        raise FileProblem("row 1: no header row")
    header = [_cell_text(v) or "" for v in rows[0]]
    n = len(header)
    columns: list[list] = [[] for _ in range(n)]
    lines: list[int] = []
    for index, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row[:n]]
        if not any(c is not None for c in cells):
            continue
        cells += [None] * (n - len(cells))
        for col, value in zip(columns, cells):
            col.append(value)
        lines.append(index)
    staged = _stage_arrow(con, name, columns, lines)
    return Staged(name, header, staged)


# ---------------------------------------------------------------- parquet

def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Staged:
    src = f"read_parquet({_sql_str(str(path))}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(path))})").fetchall()
        header = [row[0] for row in described]
        select = ", ".join(f'CAST("{h.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}' for i, h in enumerate(header))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}, file_row_number + 2 AS __line FROM {src}")
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileProblem(f"cannot read Parquet file (corrupt or truncated?): {first}") from exc
    return Staged(name, header, rows)
