"""Load one connector's tables into DuckDB: read, map, parse, quarantine, dedupe, account.

Per table:
  1. each matching file is hashed, decoded and staged as all-VARCHAR text;
  2. headers are matched (NFKC, trimmed, BOM-free; aliases allowed; extra
     columns ignored). A missing header of a non-nullable column fails the
     file; a missing header of a nullable column gives NULLs and a warning in
     TableLoad.reason;
  3. values are parsed in SQL into `__cc_parsed_<table>` (identity numbers, names, text keys
     and phone numbers once per DISTINCT delivered value, the last three normalised in Python
     by `normalize_values`); rows with errors go to `quarantine` with every reason;
  4. exact duplicates (all canonical columns equal after parsing, `_raw` and
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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from crosscheck.catalog import Catalog, ConnectorSpec, TableSpec
from crosscheck.connectors.headers import lookup_positions, match_headers, value_maps
from crosscheck.connectors.files import FileProblem, discover, scan, transcode
from crosscheck.cache.parts import PartStore, declaration
from crosscheck.cache.tables import HASH, RAW_HASH, TableStates, comes_after, define_view, quarantine_sql
from crosscheck.connectors.growth import EarlierCopies, drop_copies_of, take_unchanged
from crosscheck.errors import is_fault
from crosscheck.connectors.conflicts import quarantine_conflicts
from crosscheck.connectors.parse import install_macros, lit, parse_select
from crosscheck.connectors.readers import (NotUTF8, Staged, build_distinct, csv_header, distinct_sql, drop_staged,
                                          read_csv, read_parquet, read_xlsx)
from crosscheck.results import FileAccount, TableLoad, quarantine_ddl

if TYPE_CHECKING:
    from crosscheck.connectors.validation import Checks

log = logging.getLogger(__name__)

STAGING = "__cc_stg"
#: Columns the parse adds to each row, dropped once the table is complete.
WORK_COLUMNS = {"__file_idx": "INTEGER", "__reason": "VARCHAR", "__raw": "VARCHAR", RAW_HASH: "UBIGINT"}

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


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ensure_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(quarantine_ddl())


def load_delivery(con, extracts_root: Path, catalog: Catalog, *, validate: bool = True) -> list[TableLoad]:
    loads: list[TableLoad] = []
    for connector in catalog.connectors.values():
        loads.extend(load_source(con, extracts_root, connector, validate=validate))
    return loads


def load_source(con, extracts_root: Path, connector: ConnectorSpec, *, validate: bool = True,
                known_hashes: dict[str, str] | None = None) -> list[TableLoad]:
    """Load one source system's tables (see `load_table`)."""
    return [load_table(con, extracts_root, connector, table, validate=validate, known_hashes=known_hashes)
            for table in connector.tables]


def load_table(con, extracts_root: Path, connector: ConnectorSpec, table: str, *, validate: bool = True,
               known_hashes: dict[str, str] | None = None, parts: PartStore | None = None,
               states: TableStates | None = None, checks: "Checks | None" = None) -> TableLoad:
    """Load one canonical table from its files. `known_hashes`: SHA-256 of files already
    hashed (by resolved path), so they are not hashed again; `parts` and `states`: the files
    parsed before and the tables' states kept (crosscheck.cache.parts, crosscheck.cache.tables):
    those are read, not parsed (both or neither); `checks`
    (crosscheck.connectors.validation.Checks): where its expectations are computed, by default here and
    at once (else the load's expectations, and its kept state, wait for `checks.settle()`). Raises OSError when the
    source folder exists but cannot be listed (worth retrying); faults (disk full, out of
    memory: crosscheck.errors) are raised, never recorded as a failed file."""
    extracts_root = Path(extracts_root)
    folder = extracts_root / connector.folder
    spec = connector.tables[table]
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder}: source folder is not a readable directory")
        next(folder.iterdir(), None)  # raises OSError if the folder cannot be listed
    paths = discover(folder, spec.files) if folder.is_dir() else []
    known_hashes = known_hashes or {}
    contents = _contents(extracts_root, paths, known_hashes) if states is not None and validate else None
    if validate and checks is None:
        from crosscheck.connectors.validation import Checks

        checks = Checks()
    install_macros(con)
    ensure_quarantine(con)
    if not folder.is_dir():
        return _missing(con, connector, table, f"source folder {connector.folder}/ is not in the delivery")
    if not paths:
        return _missing(con, connector, table, f"no file matching {', '.join(spec.files)} in {connector.folder}/")
    if contents is not None:
        return _load_layered(con, extracts_root, connector, table, spec, paths, contents, known_hashes, parts, states, checks)
    load = _load_table(con, extracts_root, connector, table, spec, paths, known_hashes, None)
    if not load.usable:
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
    elif validate:
        from crosscheck.connectors.validation import validate_table

        with _phase(table, "validate"):
            results = validate_table(checks, con, table, spec)
        checks.later(lambda: setattr(load, "expectations", results()))
    return load


def _missing(con, connector: ConnectorSpec, table: str, why: str) -> TableLoad:
    """A table not delivered: missing, or the rows its `fallback` declares stand in for it."""
    if connector.tables[table].fallback is None:
        return TableLoad(connector.source, table, "missing", why)
    from crosscheck.connectors.fallbacks import stand_in

    return stand_in(con, connector, table, why)


def _load_layered(con, root: Path, connector: ConnectorSpec, table: str, spec: TableSpec, paths: list[Path],
                  contents: list[tuple[str, str]], known_hashes: dict[str, str], parts: PartStore, states: TableStates,
                  checks) -> TableLoad:
    """The table as the state kept of exactly its files, or as the state of its first files
    plus one segment of the files after them, or as one new segment
    (crosscheck.cache.tables)."""
    version = declaration(connector, table)
    state = states.find(table, version, contents)
    if state is not None:  # the same files as a run before: nothing to parse, check or validate
        for account in state.load.files:
            account.reused = True
        _show(con, table, spec, state.segments)
        state.load.segments = [str(s) for s in state.segments]
        return state.load
    # a keyed table's conflicts span all its files: it is one segment of all of them (parts reused)
    base = states.base(table, version, contents) if not spec.key else None
    grow = (con, root, connector, table, spec, paths, known_hashes, parts, checks, states, version, contents)
    try:
        return _grow(*grow, base)
    except EarlierCopies:  # a new file sorts before a file it shares rows with: which copy stays changes
        return _grow(*grow, None)


def _grow(con, root, connector, table, spec, paths, known_hashes, parts, checks, states, version, contents,
          base) -> TableLoad:
    """The table as `base` (a kept state of some of its files, or None) plus one new segment
    of its other files."""
    from crosscheck.connectors.validation import add_counts, row_counts, table_results

    fresh = [p for p, c in zip(paths, contents) if base is None or c not in base.contents]
    after = base is None or comes_after(base.contents, contents)
    earlier = {rel: part for rel, sha in states.delivered_before(table, version).items()
               if (rel, sha) not in contents and (part := parts.find(table, version, sha)) is not None}
    parsed: list = []
    with states.new_segment(con, table, version, contents) as segment:
        ensure_quarantine(con)
        load = _load_table(con, root, connector, table, spec, fresh, known_hashes, parts, base=base, base_first=after,
                           earlier=earlier, parsed=parsed)
        new_counts = None
        if load.usable:
            with _phase(table, "validate"):
                new_counts = row_counts(checks, con, f'"{table}"', table, spec,
                                        {f.file: f.rows_loaded for f in load.files if f.status != "failed"})
        segment.keep = load.usable
    failed = {f.file for f in load.files if f.status == "failed"}
    for sha, rel, meta in parsed if load.usable else []:
        if rel not in failed:
            parts.keep(table, version, sha, {**meta, "segment": segment.path.name, "file": rel})
    if base is None and not load.usable:
        return load
    for account in base.load.files if base is not None else []:
        account.reused = True
    segments = (base.segments if base is not None else []) + ([segment.path] if load.usable else [])
    order = {c[0]: i for i, c in enumerate(contents)}  # the files in load order, as a cold load lists them
    whole = TableLoad(connector.source, table, "loaded",
                      "; ".join(r for r in (base.load.reason if base is not None else "", load.reason) if r),
                      rows=(base.load.rows if base is not None else 0) + (load.rows if load.usable else 0),
                      files=sorted((base.load.files if base is not None else []) + load.files, key=lambda f: order[f.file]),
                      segments=[str(s) for s in segments])
    whole.settle()
    _show(con, table, spec, segments)

    @lru_cache(maxsize=1)
    def counts() -> list:
        if new_counts is None:
            return base.counts
        return add_counts(base.counts, new_counts()) if base is not None else new_counts()

    with _phase(table, "validate"):
        results = table_results(checks, con, f'"{table}"', table, spec, counts)

    def settle() -> None:
        whole.expectations = results()
        if not any(f.status == "failed" for f in whole.files):
            states.keep(table, version, contents, segments, whole, counts())
    checks.later(settle)
    return whole


def _show(con, table: str, spec: TableSpec, segments: list[Path]) -> None:
    """`table` (a view in the current database) and its quarantine rows, from its segments."""
    define_view(con, table, list(spec.canonical_columns()), segments)
    con.execute(f'DELETE FROM quarantine WHERE "table" = {lit(table)}')
    con.execute(f"INSERT INTO quarantine {quarantine_sql(con, segments)}")


def _contents(root: Path, paths: list[Path], hashes: dict[str, str]) -> list[tuple[str, str]] | None:
    """The table's content: (path relative to `root`, SHA-256) of its files in load order; None
    when there is none or a file's hash is not known (`hashes` by resolved path)."""
    shas = [hashes.get(str(p.resolve())) for p in paths]
    return [(p.relative_to(root).as_posix(), sha) for p, sha in zip(paths, shas)] if shas and all(shas) else None


def _stage(con, path: Path, account: FileAccount, workdir: Path, known_sha256: str | None = None) -> Staged:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise FileProblem("empty file (0 bytes)")
    if suffix in (".parquet", ".xlsx"):
        account.sha256 = known_sha256 or scan(path, text=False).sha256
        account.encoding = suffix[1:]
        return (read_parquet if suffix == ".parquet" else read_xlsx)(con, path, STAGING)
    with _phase("*", "scan (hash, encoding, lines)"):
        info = scan(path, text=True, sha256=known_sha256, quick=True)
    try:
        return _stage_text(con, path, info, account, workdir)
    except NotUTF8:  # the file's start was UTF-8, a later part is not: decode it all to say how
        if info.checked:
            raise
        with _phase("*", "scan (hash, encoding, lines)"):
            info = scan(path, text=True, sha256=info.sha256)
        return _stage_text(con, path, info, account, workdir)


def _stage_text(con, path: Path, info, account: FileAccount, workdir: Path) -> Staged:
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
        staged = read_csv(con, source, lines, STAGING, csv_header(source))
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return staged


def _load_table(con, root: Path, connector: ConnectorSpec, table: str, spec: TableSpec, paths: list[Path],
                known_hashes: dict[str, str], parts: PartStore | None, base=None, base_first: bool = True,
                earlier: dict | None = None, parsed: list | None = None) -> TableLoad:
    """Parse every file straight into the table (in the connection's current database), or read
    it from its part, then move quarantined rows out, drop extra copies and the working
    columns. With `parts` the table is a segment (crosscheck.cache.tables): each row
    keeps its hash `__h` and the hash of its delivered values `__rh`, the copies dropped are
    kept in `copies`, and `parsed` gets (SHA-256, path, account) of each file parsed, whose
    part is written once the segment is kept. `base`: the kept state these files come after
    (`base_first`; else a copy of one of its rows raises EarlierCopies): copies of its rows
    are extra copies too. `earlier`: the part of the version delivered before, by path, of
    files delivered again changed (a snapshot): the lines delivered again unchanged are taken
    from it, only the others are parsed."""
    version = declaration(connector, table) if parts is not None else ""
    columns = spec.canonical_columns()
    con.execute(f'CREATE OR REPLACE TABLE "{table}" ('
                + ", ".join(f'"{c}" {t}' for c, t in {**columns, **WORK_COLUMNS, HASH: "UBIGINT"}.items()) + ")")
    load = TableLoad(connector.source, table, "loaded")
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crosscheck-") as tmp:
        for index, path in enumerate(paths):
            rel = path.relative_to(root).as_posix()
            account = FileAccount(connector.source, table, rel, sha256="")
            load.files.append(account)
            known = known_hashes.get(str(path.resolve()))
            try:
                part = parts.find(table, version, known) if parts is not None else None
                if part is not None:
                    absent = _reuse(con, connector, table, index, rel, account, part)
                else:
                    absent, headers = _load_file(con, connector, table, spec, index, path, rel, account, Path(tmp),
                                                 known, (earlier or {}).get(rel))
                    if parsed is not None and account.sha256:
                        parsed.append((account.sha256, rel, {
                            "sha256": account.sha256, "encoding": account.encoding, "rows_read": account.rows_read,
                            "absent": absent, "headers": headers}))
                if absent:
                    warnings.append(f"{rel}: optional column{'s' if len(absent) > 1 else ''} {', '.join(absent)} absent, loaded as empty")
            except FileProblem as exc:
                account.status, account.error = "failed", f"{rel}: {exc}"
            except duckdb.Error as exc:
                if is_fault(exc):
                    raise
                account.status, account.error = "failed", f"{rel}: cannot load: {exc}"
            except OSError as exc:  # e.g. the file vanished or became unreadable after it was listed
                if is_fault(exc):
                    raise
                account.status, account.error = "failed", f"{rel}: cannot read: {exc.strerror or exc}"
            finally:
                drop_staged(con, STAGING)
            if account.status == "failed":
                account.rows_read = account.rows_loaded = account.rows_quarantined = account.duplicates_dropped = 0
                con.execute(f'DELETE FROM "{table}" WHERE __file_idx = {index}')
                from crosscheck.privacy.masking import mask_ids_in_text  # logs never carry a full identity number

                log.warning(mask_ids_in_text(account.error))
    if all(f.status == "failed" for f in load.files):
        load.status = "failed"
        load.reason = "; ".join(f.error for f in load.files)
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        return load
    with _phase(table, "quarantine+dedupe"):
        _quarantine_and_dedupe(con, connector, table, spec, load, base, base_first, in_segment=parts is not None)
    failed = [f.error for f in load.files if f.status == "failed"]
    load.reason = "; ".join(failed + warnings)
    load.settle()  # a table that lost a file is partial
    return load


def _reuse(con, connector, table, index, rel, account, part) -> list[str]:
    """A file parsed before: its rows and quarantined lines from its segment, its account;
    the optional columns it lacks."""
    meta = part.meta
    with _phase(table, "reuse"):
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT *, {index} AS __file_idx, {lit(rel)} AS source_file '
                    f"FROM ({part.rows_sql(con, table)})")
        account.rows_quarantined = con.execute(f"INSERT INTO quarantine {part.quarantine_sql(con, table, rel)}"
                                               ).fetchall()[0][0]
    account.sha256, account.encoding, account.reused = meta["sha256"], meta["encoding"], True
    account.rows_read = meta["rows_read"]
    return list(meta["absent"])


def _load_file(con, connector, table, spec, index, path, rel, account, workdir, known_sha256,
               earlier=None) -> tuple[list[str], list[str]]:
    """Parse one file into the table (its lines that cannot be split into quarantine); the
    optional columns absent and the delivered headers. `earlier`: the part of the version of this file delivered
    before: its rows stand for the lines delivered again unchanged."""
    with _phase(table, "stage"):
        staged = _stage(con, path, account, workdir, known_sha256)
    positions, missing, absent = match_headers(spec, staged.headers)
    if missing:
        raise FileProblem(f"line 1: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    rows, rejects = staged.rows, staged.rejects
    if earlier is not None and earlier.meta.get("headers") == staged.headers and staged.read_error is None:
        with _phase(table, "unchanged lines"):
            staged = take_unchanged(con, table, staged, earlier, index, rel, f"{STAGING}_changed")
        account.lines_unchanged = rows - staged.rows
    with _phase(table, "stage"):
        lookups = lookup_positions(con, spec, positions, staged)
        build_distinct(con, staged, sorted(set(lookups.values())))
    maps: dict[str, str] = {}
    try:
        with _phase(table, "names"):
            maps = value_maps(con, spec, positions, staged, connector.null_markers)
        select = parse_select(spec.columns, positions, staged.headers, connector.null_markers, staged.name, rel, index,
                              types=staged.types, value_maps=maps, distinct=lambda pos: distinct_sql(staged, pos),
                              lookups=[c for c in lookups if c not in maps], raw_always=bool(spec.key))
        with _phase(table, "parse"):
            inserted = con.execute(f'INSERT INTO "{table}" BY NAME SELECT *, hash({_keys(spec)}) AS {HASH} FROM ({select})'
                                   ).fetchall()[0][0]
        if inserted != staged.rows:  # a view on a file reads it again: it changed in between
            raise FileProblem(f"the file changed while it was read ({staged.rows:,} records, then {inserted:,})")
    except duckdb.Error as exc:
        if staged.read_error is None:
            raise
        raise FileProblem(f"{staged.read_error}: {_first_line(exc)}") from exc
    finally:
        for view in maps.values():
            con.unregister(view)
        if staged.name != STAGING:
            drop_staged(con, staged.name)
    if rejects:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
            [(connector.source, table, rel, r.line, r.reason, r.raw_values) for r in rejects],
        )
    account.rows_read = rows + len(rejects)
    account.rows_quarantined = len(rejects)
    return absent, staged.headers


def _keys(spec: TableSpec) -> str:
    """The columns two rows must share to be exact duplicates (not `_raw`, not provenance)."""
    return ", ".join(f'"{c.name}"' for c in spec.columns)


def _quarantine_and_dedupe(con, connector, table, spec, load: TableLoad, base=None, base_first=True,
                           in_segment=False) -> None:
    con.execute(
        f"INSERT INTO quarantine SELECT {lit(connector.source)}, {lit(table)}, source_file, source_line, __reason, __raw "
        f'FROM "{table}" WHERE __reason IS NOT NULL ORDER BY __file_idx, source_line'
    )
    counts = {
        idx: (valid, bad)
        for idx, valid, bad in con.execute(
            f"SELECT __file_idx, count(*) FILTER (WHERE __reason IS NULL), count(*) FILTER (WHERE __reason IS NOT NULL) "
            f'FROM "{table}" GROUP BY 1'
        ).fetchall()
    }
    if any(bad for _, bad in counts.values()):
        con.execute(f'DELETE FROM "{table}" WHERE __reason IS NOT NULL')
    keys = _keys(spec)
    dups = f"__cc_dups_{table}"
    # Only rows whose hash of all canonical columns collides can be duplicates: group the
    # hashes (one UBIGINT per row), rank just the colliding rows on the real values.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dups} AS "
        f'WITH c AS (SELECT {HASH} FROM "{table}" GROUP BY {HASH} HAVING count(*) > 1), '
        f"r AS (SELECT rowid AS __rid, __file_idx, row_number() OVER (PARTITION BY {keys} ORDER BY __file_idx, source_line) AS __rn "
        f'      FROM "{table}" WHERE {HASH} IN (SELECT {HASH} FROM c)) '
        f"SELECT __rid, __file_idx FROM r WHERE __rn > 1"
    )
    if base is not None:
        drop_copies_of(con, table, [c.name for c in spec.columns], base, dups, base_first)
    dropped = dict(con.execute(f"SELECT __file_idx, count(*) FROM {dups} GROUP BY 1").fetchall())
    # a keyed table's segment keeps each row's delivered values: a file read from its part may conflict later
    kept_apart = [c for c in WORK_COLUMNS if c != RAW_HASH and not (spec.key and c == "__raw")]
    if in_segment:  # a file's part is its rows in the segment: the kept ones and the copies
        con.execute(f'CREATE TABLE copies AS SELECT * EXCLUDE ({", ".join(kept_apart)}) FROM "{table}" '
                    f"WHERE rowid IN (SELECT __rid FROM {dups})")
    if dropped:
        con.execute(f'DELETE FROM "{table}" WHERE rowid IN (SELECT __rid FROM {dups})')
    con.execute(f"DROP TABLE IF EXISTS {dups}")
    conflicted = quarantine_conflicts(con, connector, table, spec, kept_apart, in_segment) if spec.key else {}
    for column in kept_apart if in_segment else [*WORK_COLUMNS, HASH]:
        con.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    quarantined = {idx: bad + conflicted.get(idx, 0) for idx, (_, bad) in counts.items()}
    counts = {idx: (valid - dropped.get(idx, 0) - conflicted.get(idx, 0), dropped.get(idx, 0))
              for idx, (valid, _) in counts.items()}
    for index, account in enumerate(load.files):
        if account.status == "failed":
            continue
        account.rows_loaded, account.duplicates_dropped = counts.get(index, (0, 0))
        account.rows_quarantined += quarantined.get(index, 0)
        if not account.balanced:  # an invariant, checked even under python -O
            raise AssertionError(f"{account.file}: rows read != loaded + quarantined + duplicates: {account}")
    load.rows = sum(loaded for loaded, _ in counts.values())
