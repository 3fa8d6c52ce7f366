"""Byte-deterministic file writers: CSV (any encoding), xlsx and parquet."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

def write_csv(path: Path, df: pd.DataFrame, encoding: str, crlf: bool = False) -> None:
    """Comma separated, minimal quoting (fields holding a comma get double quotes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n" if crlf else "\n")


def write_xlsx(path: Path, df: pd.DataFrame, stamp: dt.datetime) -> None:
    """First sheet, header in row 1; str cells are TEXT cells, date objects become date cells.

    openpyxl stamps the document properties and the zip entries with the current
    time, so the archive is rewritten with fixed timestamps afterwards.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "hrss-export"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    ws = wb.create_sheet("Sheet1")
    ws.append(list(df.columns))
    for row in df.itertuples(index=False, name=None):
        ws.append([v if isinstance(v, dt.date) else str(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + iso.encode() + rb"\g<3>", data)
            out = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = 0o600 << 16
            dst.writestr(out, data)


def write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy", row_group_size=1_000_000)
