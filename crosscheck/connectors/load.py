"""Load one connector's tables into DuckDB: read, map, parse, quarantine, dedupe, account.

Per table:
  1. each matching file is hashed, decoded and staged as all-VARCHAR text;
  2. headers are matched (NFKC, trimmed, BOM-free; aliases allowed; extra
     columns ignored). A missing header of a non-nullable column fails the
     file; a missing header of a nullable column gives NULLs and a warning in
     TableLoad.reason;
  3. values are parsed in SQL into `__cc_parsed_<table>`; rows with errors
     go to `quarantine` with every reason;
  4. names are normalised over their DISTINCT values (`normalize_names`);
  5. exact duplicates (all canonical columns equal after parsing, `_raw` and
     provenance excluded) are dropped, keeping the first by file order then
     line; each extra copy is counted on the file where it sits. Only rows
     whose hash of the canonical columns collides are ranked; the canonical
     table is the parsed rows minus quarantined rows and extra copies, in
     the order they were parsed (no sort of the whole table).
"""
from __future__ import annotations

import logging
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from crosscheck.catalog import Catalog, ConnectorSpec, TableSpec
from crosscheck.connectors.files import FileProblem, discover, scan, transcode
from crosscheck.connectors.parse import install_macros, lit, parse_select
from crosscheck.connectors.readers import Staged, drop_staged, normalize_header, read_csv, read_parquet, read_xlsx
from crosscheck.normalize import normalize_names
from crosscheck.results import QUARANTINE_SCHEMA, FileAccount, TableLoad

log = logging.getLogger(__name__)

STAGING = "__cc_stg"
_DUCK_OF_ARROW = {pa.string(): "VARCHAR", pa.int64(): "BIGINT"}

#: Wall seconds per (table, phase) of the loads in this process (profiling aid; cheap).
PHASE_SECONDS: dict[tuple[str, str], float] = {}


@contextmanager
def _phase(table: str, name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        key = (table, name)
        PHASE_SECONDS[key] = PHASE_SECONDS.get(key, 0.0) + time.perf_counter() - start


def ensure_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    cols = ", ".join(f'"{f.name}" {_DUCK_OF_ARROW[f.type]}' for f in QUARANTINE_SCHEMA)
    con.execute(f"CREATE TABLE IF NOT EXISTS quarantine ({cols})")


def load_delivery(con, extracts_root: Path, catalog: Catalog, *, validate: bool = True) -> list[TableLoad]:
    loads: list[TableLoad] = []
    for connector in catalog.connectors.values():
        loads.extend(load_source(con, extracts_root, connector, validate=validate))
    return loads


def load_source(con, extracts_root: Path, connector: ConnectorSpec, *, validate: bool = True) -> list[TableLoad]:
    extracts_root = Path(extracts_root)
    folder = extracts_root / connector.folder
    install_macros(con)
    ensure_quarantine(con)
    loads: list[TableLoad] = []
    for table, spec in connector.tables.items():
        if not folder.is_dir():
            load = TableLoad(connector.source, table, "missing", f"source folder {connector.folder}/ is not in the delivery")
        else:
            paths = discover(folder, spec.files)
            if not paths:
                load = TableLoad(connector.source, table, "missing",
                                 f"no file matching {', '.join(spec.files)} in {connector.folder}/")
            else:
                load = _load_table(con, extracts_root, connector, table, spec, paths)
        if load.status != "loaded":
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        elif validate:
            from crosscheck.validation import validate_table

            with _phase(table, "validate"):
                load.expectations = validate_table(con, table, spec)
        loads.append(load)
    return loads


def _match_headers(spec: TableSpec, headers: list[str]) -> tuple[dict[str, int | None], list[str], list[str]]:
    """canonical column -> delivered position; plus missing required and missing optional headers."""
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        seen.setdefault(normalize_header(h), i)
    positions: dict[str, int | None] = {}
    missing, absent = [], []
    for col in spec.columns:
        pos = next((seen[normalize_header(h)] for h in col.headers if normalize_header(h) in seen), None)
        positions[col.name] = pos
        if pos is None:
            (absent if col.nullable else missing).append(f"{col.header} ({col.name})")
    return positions, missing, absent


def _stage(con, path: Path, account: FileAccount, workdir: Path) -> Staged:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise FileProblem("empty file (0 bytes)")
    if suffix == ".parquet":
        account.sha256 = scan(path, text=False).sha256
        account.encoding = "parquet"
        return read_parquet(con, path, STAGING)
    if suffix == ".xlsx":
        account.sha256 = scan(path, text=False).sha256
        account.encoding = "xlsx"
        return read_xlsx(con, path, STAGING)
    with _phase("*", "scan (hash, encoding, lines)"):
        info = scan(path, text=True)
    account.sha256, account.encoding = info.sha256, info.encoding
    if info.utf8_break:
        line, offset, raw = info.utf8_break
        raise FileProblem(
            f"line {line}: bytes at offset {offset} are not UTF-8 like the lines before them ({raw!r}): "
            "the file mixes encodings or is cut inside a character; re-export it in one encoding"
        )
    source, lines = path, info.lines
    if info.encoding != "utf-8":
        source = workdir / f"{path.stem}.utf8.csv"
        lines = transcode(path, info.encoding, source)
    try:
        return read_csv(con, source, lines, STAGING)
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _load_table(con, root: Path, connector: ConnectorSpec, table: str, spec: TableSpec, paths: list[Path]) -> TableLoad:
    parsed = f"__cc_parsed_{table}"
    columns = spec.canonical_columns()
    extra = {"__file_idx": "INTEGER", "__reason": "VARCHAR", "__raw": "VARCHAR"}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {parsed} ("
                + ", ".join(f'"{c}" {t}' for c, t in {**columns, **extra}.items()) + ")")
    load = TableLoad(connector.source, table, "loaded")
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crosscheck-") as tmp:
        for index, path in enumerate(paths):
            rel = path.relative_to(root).as_posix()
            account = FileAccount(connector.source, table, rel, sha256="")
            load.files.append(account)
            try:
                _load_file(con, connector, table, spec, parsed, index, path, rel, account, Path(tmp), warnings)
            except FileProblem as exc:
                account.status, account.error = "failed", f"{rel}: {exc}"
            except duckdb.Error as exc:
                account.status, account.error = "failed", f"{rel}: cannot load: {exc}"
            except OSError as exc:  # e.g. the file vanished or became unreadable after it was listed
                account.status, account.error = "failed", f"{rel}: cannot read: {exc.strerror or exc}"
            finally:
                drop_staged(con, STAGING)
            if account.status == "failed":
                account.rows_read = account.rows_loaded = account.rows_quarantined = account.duplicates_dropped = 0
                con.execute(f"DELETE FROM {parsed} WHERE __file_idx = {index}")
                from crosscheck.reports.masking import mask_ids_in_text  # logs never carry a full identity number

                log.warning(mask_ids_in_text(account.error))
    if all(f.status == "failed" for f in load.files):
        load.status = "failed"
        load.reason = "; ".join(f.error for f in load.files)
        con.execute(f"DROP TABLE IF EXISTS {parsed}")
        return load
    with _phase(table, "names"):
        _normalise_names(con, parsed, spec)
    with _phase(table, "quarantine+dedupe"):
        _quarantine_and_dedupe(con, connector, table, parsed, columns, spec, load)
    failed = [f.error for f in load.files if f.status == "failed"]
    load.reason = "; ".join(failed + warnings)
    return load


def _load_file(con, connector, table, spec, parsed, index, path, rel, account, workdir, warnings) -> None:
    with _phase(table, "stage"):
        staged = _stage(con, path, account, workdir)
    positions, missing, absent = _match_headers(spec, staged.headers)
    if missing:
        raise FileProblem(f"line 1: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if absent:
        warnings.append(f"{rel}: optional column{'s' if len(absent) > 1 else ''} {', '.join(absent)} absent, loaded as empty")
    select = parse_select(spec.columns, positions, staged.headers, connector.null_markers, STAGING, rel, index)
    with _phase(table, "parse"):
        con.execute(f"INSERT INTO {parsed} BY NAME {select}")
    if staged.rejects:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
            [(connector.source, table, rel, r.line, r.reason, r.raw_values) for r in staged.rejects],
        )
    account.rows_read = staged.rows + len(staged.rejects)
    account.rows_quarantined = len(staged.rejects)


def _normalise_names(con, parsed: str, spec: TableSpec) -> None:
    for col in (c.name for c in spec.columns if c.type == "name"):
        distinct = con.sql(
            f'SELECT DISTINCT "{col}" AS raw FROM {parsed} WHERE "{col}" IS NOT NULL AND __reason IS NULL'
        ).to_arrow_table()
        if distinct.num_rows == 0:
            continue
        mapping = pa.table({"raw": distinct["raw"], "norm": normalize_names(distinct["raw"])})
        con.register("__cc_name_map", mapping)
        try:
            con.execute(f'UPDATE {parsed} SET "{col}" = m.norm FROM __cc_name_map m WHERE {parsed}."{col}" = m.raw')
        finally:
            con.unregister("__cc_name_map")


def _quarantine_and_dedupe(con, connector, table, parsed, columns, spec, load: TableLoad) -> None:
    con.execute(
        f"INSERT INTO quarantine SELECT {lit(connector.source)}, {lit(table)}, source_file, source_line, __reason, __raw "
        f"FROM {parsed} WHERE __reason IS NOT NULL ORDER BY __file_idx, source_line"
    )
    keys = ", ".join(f'"{c.name}"' for c in spec.columns)
    dups = f"__cc_dups_{table}"
    # Only rows whose hash of all canonical columns collides can be duplicates: group the
    # hashes (one UBIGINT per row), rank just the colliding rows on the real values.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dups} AS "
        f"WITH c AS (SELECT __h FROM (SELECT hash({keys}) AS __h FROM {parsed} WHERE __reason IS NULL) "
        f"           GROUP BY __h HAVING count(*) > 1), "
        f"r AS (SELECT rowid AS __rid, __file_idx, row_number() OVER (PARTITION BY {keys} ORDER BY __file_idx, source_line) AS __rn "
        f"      FROM {parsed} WHERE __reason IS NULL AND hash({keys}) IN (SELECT __h FROM c)) "
        f"SELECT __rid, __file_idx FROM r WHERE __rn > 1"
    )
    counts = {
        idx: (valid, bad)
        for idx, valid, bad in con.execute(
            f"SELECT __file_idx, count(*) FILTER (WHERE __reason IS NULL), count(*) FILTER (WHERE __reason IS NOT NULL) "
            f"FROM {parsed} GROUP BY 1"
        ).fetchall()
    }
    dropped = dict(con.execute(f"SELECT __file_idx, count(*) FROM {dups} GROUP BY 1").fetchall())
    if dropped:
        con.execute(f"DELETE FROM {parsed} WHERE rowid IN (SELECT __rid FROM {dups})")
    con.execute(f"DROP TABLE IF EXISTS {dups}")
    quarantined = {idx: bad for idx, (_, bad) in counts.items()}
    counts = {idx: (valid - dropped.get(idx, 0), dropped.get(idx, 0)) for idx, (valid, _) in counts.items()}
    cols = ", ".join(f'"{c}"' for c in columns)
    con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT {cols} FROM {parsed} WHERE __reason IS NULL')
    con.execute(f"DROP TABLE IF EXISTS {parsed}")
    for index, account in enumerate(load.files):
        if account.status == "failed":
            continue
        account.rows_loaded, account.duplicates_dropped = counts.get(index, (0, 0))
        account.rows_quarantined += quarantined.get(index, 0)
        if not account.balanced:  # an invariant, checked even under python -O
            raise AssertionError(f"{account.file}: rows read != loaded + quarantined + duplicates: {account}")
    load.rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
