"""Readers: one delivered file -> a DuckDB staging relation.

Every reader creates the table or view `name` with columns c0..c{n-1} (the delivered
columns in order; text, but for typed parquet columns) and `__line` (1-based physical
line, header = 1; xlsx: sheet row; parquet: row index + 2), and the table
`<name>_distinct` (`build_distinct`) holds the DISTINCT values of the columns the
caller checks once per value (see `distinct_sql`). Each reader returns a `Staged`. Records that cannot be split into the header's columns
(wrong field count, unterminated quote) are returned as `rejects` for quarantine.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from crosscheck.catalog import normalize_header
from crosscheck.connectors.files import FileProblem
from crosscheck.results import MALFORMED_ROW


class NotUTF8(FileProblem):
    """A CSV taken to be UTF-8 from its start holds other bytes further on."""


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
    #: DuckDB type of each staged column (VARCHAR but for typed parquet columns)
    types: list[str] = field(default_factory=list)
    #: Set when the staging is a view on the file, read only by the parse: the
    #: message for a read failure then (the file is corrupt or truncated).
    read_error: str | None = None


    def __post_init__(self):
        self.types = self.types or ["VARCHAR"] * len(self.headers)

    @property
    def distinct(self) -> str:
        return f"{self.name}_distinct"


def distinct_sql(staged: Staged, pos: int) -> str:
    """The DISTINCT non-NULL values of staged column `pos` (as text), column `raw`."""
    return f"SELECT c{pos} AS raw FROM {staged.distinct} WHERE g{pos} = 0 AND c{pos} IS NOT NULL"


def _grouping(source: str, lookups: list[int], types: list[str] | None = None) -> str:
    """One pass over `source`: the row count (grouping set ()) and each lookup column's distinct values."""
    cols = [f"c{p}" if not types or types[p] == "VARCHAR" else f"CAST(c{p} AS VARCHAR) AS c{p}" for p in lookups]
    inner = f"SELECT {', '.join(cols) or '1 AS __one'} FROM {source}"
    sets = ", ".join(["()"] + [f"(c{p})" for p in lookups])
    groups = "".join(f", GROUPING(c{p}) AS g{p}" for p in lookups) + "".join(f", c{p}" for p in lookups)
    return f"SELECT count(*) AS __n{groups} FROM ({inner}) GROUP BY GROUPING SETS ({sets})"


def build_distinct(con: duckdb.DuckDBPyConnection, staged: Staged, lookups: list[int]) -> None:
    """`<name>_distinct` from a staging table or view."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staged.distinct} AS {_grouping(staged.name, lookups, staged.types)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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

def csv_header(path: Path) -> list[str]:
    """The header record (the first line: decoding stops there, the rest may be unchecked)."""
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        header = next(csv.reader([first.decode("utf-8").rstrip("\r\n")]), None)
    except UnicodeDecodeError as exc:
        raise FileProblem(f"line 1: the header is not UTF-8 ({exc.reason})") from exc
    if not header or not any(normalize_header(h) for h in header):
        raise FileProblem("line 1: no header row")
    return header


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, lines: int, name: str, header: list[str]) -> Staged:
    """Stage a UTF-8 CSV (no BOM) whose header row is `header`. Fast path: DuckDB
    read_csv into a table (in file order, so rowid gives the line); if records and
    physical lines do not line up one to one (blank lines, quoted newlines, broken
    quoting), re-read with Python's csv module to get exact lines."""
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
            f"SELECT line, error_message, csv_line, error_type FROM {rej_table} ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        rows, rejected = -1, []
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rej_table}")
        con.execute(f"DROP TABLE IF EXISTS {rej_scan}")
    not_utf8 = next((line for line, _, _, kind in rejected if kind == "INVALID ENCODING"), None)
    if not_utf8 is not None:
        con.execute(f"DROP TABLE IF EXISTS {name}_raw")
        raise NotUTF8(f"line {not_utf8}: bytes that are not UTF-8")
    if rows < 0 or rows + len(rejected) + 1 != lines:
        con.execute(f"DROP TABLE IF EXISTS {name}_raw")
        return _read_csv_python(con, path, header, name)
    # One record per physical line: rejected line r_j shifts every later row by one.
    rejects = [Reject(int(line), f"{MALFORMED_ROW}: {msg}", _raw_json(header, _split(text))) for line, msg, text, _ in rejected]
    if rejects:
        keys = pa.table({"k": [r.line - j for j, r in enumerate(rejects)], "m": list(range(1, len(rejects) + 1))})
        con.register(f"{name}_keys", keys)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT r.* EXCLUDE (__p), r.__p + coalesce(k.m, 0) AS __line "
            f"FROM (SELECT *, rowid + 2 AS __p FROM {name}_raw) r ASOF LEFT JOIN {name}_keys k ON r.__p >= k.k ORDER BY r.__p"
        )
        con.unregister(f"{name}_keys")
        con.execute(f"DROP TABLE IF EXISTS {name}_raw")
    else:  # a view: the rows are not copied again (drop with `drop_staged`)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, rowid + 2 AS __line FROM {name}_raw")
    return Staged(name, header, rows, rejects)


def drop_staged(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging table or view made by a reader, and its distinct values."""
    for kind in ("VIEW", "TABLE"):
        try:
            con.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.CatalogException:  # it is the other kind
            pass
    con.execute(f"DROP TABLE IF EXISTS {name}_raw")
    con.execute(f"DROP TABLE IF EXISTS {name}_distinct")


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
                    rejects.append(Reject(start, f"{MALFORMED_ROW}: expected {n} fields, found {len(record)}", _raw_json(header, record)))
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
    """A cell as the user sees it; a date or date-time cell as `YYYY-MM-DD HH:MM:SS` (the
    workbook reader gives a date for a date-time cell at midnight: both carry a time of day).
    Integral floats of 1e15 and more cannot hold
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
    if isinstance(value, date):  # an Excel date cell carries its time, midnight included
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else f"{value.isoformat()} 00:00:00"
    if isinstance(value, time):
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

#: Parquet column types the parse takes as they are (parse.typed_parse); others are read as text.
_PARQUET_NATIVE = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TINYINT", "SMALLINT",
                   "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT",
                   "DOUBLE", "DECIMAL", "VARCHAR")
PARQUET_READ_ERROR = "cannot read Parquet file (corrupt or truncated?)"


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Staged:
    """A view on the file (nothing is copied): typed columns keep their type, the rest are text."""
    src = f"read_parquet({_sql_str(str(path))}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(path))})").fetchall()
        header = [row[0] for row in described]
        types = [row[1] if row[1].split("(")[0] in _PARQUET_NATIVE else "VARCHAR" for row in described]
        select = ", ".join(
            f"{_ident(col)} AS c{i}" if kept == native else f"CAST({_ident(col)} AS VARCHAR) AS c{i}"
            for i, ((col, native, *_), kept) in enumerate(zip(described, types))
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {select}, file_row_number + 2 AS __line FROM {src}")
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileProblem(f"{PARQUET_READ_ERROR}: {first}") from exc
    return Staged(name, header, rows, types=types, read_error=PARQUET_READ_ERROR)
