"""A table of rows as a file an analyst opens: CSV (UTF-8 with BOM, so Excel shows Chinese) or
XLSX (one sheet), written as the report files are (atomically, owner-only, spreadsheet formulas
neutralised). `crosscheck sql --out FILE` writes its answers with it."""
from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from crosscheck.privacy.masking import neutralise_formula
from crosscheck.reports.common import atomic_path

#: What a table may be written as, by the file's suffix.
SUFFIXES = (".csv", ".xlsx")
#: Rows one sheet holds below its header.
XLSX_ROWS = 1_048_575


def cell_text(value: Any) -> str:
    """A value as text: dates ISO, lists joined by 、, missing empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(cell_text(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, Decimal)):
        return str(value)
    return str(value)


def write_table(path: Path, columns: list[str], batches: Iterable[list[tuple]]) -> int:
    """Write the rows into `path` (.csv or .xlsx); the number of rows written. ValueError for another
    suffix, or more rows than a sheet holds."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: write a .csv or an .xlsx file")
    path.parent.mkdir(parents=True, exist_ok=True)
    return (_write_csv if suffix == ".csv" else _write_xlsx)(path, columns, batches)


def _write_csv(path: Path, columns: list[str], batches: Iterable[list[tuple]]) -> int:
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(columns)
        for rows in batches:
            w.writerows([neutralise_formula(cell_text(v)) if isinstance(v, (str, list, tuple)) else cell_text(v)
                         for v in row] for row in rows)  # a number stays a number, even a negative one
            n += len(rows)
    return n


def _write_xlsx(path: Path, columns: list[str], batches: Iterable[list[tuple]]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from crosscheck.reports.xlsx import HEADER_FILL, HEADER_FONT, _text

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("查询结果")
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=_text(c))
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        header.append(cell)
    ws.append(header)
    n = 0
    for rows in batches:
        if n + len(rows) > XLSX_ROWS:
            raise ValueError(f"{path}: more than {XLSX_ROWS:,} rows, more than a sheet holds: write a .csv file")
        for row in rows:
            ws.append([v if isinstance(v, (int, float, Decimal, date)) and not isinstance(v, bool) else _text(cell_text(v))
                       for v in row])
        n += len(rows)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return n
