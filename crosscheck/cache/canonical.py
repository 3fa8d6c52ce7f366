"""Where a run's canonical tables live, and the canonical cache that keeps them.

A run loads a delivery into a DuckDB database file of its own (`LoadDatabase`):
columnar and compressed as it is written, so a city of ten million residents
is not held uncompressed in memory. Before the first rule the file is closed
and attached read-only, each canonical table a view on it. When the delivery
loaded completely, that same file becomes the delivery's canonical cache entry
(a directory rename, nothing is copied).

Where it lives under `cache_dir`: crosscheck.cache.layout.

`<key>` is the SHA-256 of the sorted (relative path, file SHA-256) of every file the
connectors would read, the connector YAMLs' text and FORMAT. A later run on a delivery
with the same key attaches `canonical.duckdb` and defines each canonical table as a view
on it instead of reading, parsing, deduplicating and validating the raw files again.
The cache holds full identity numbers: keep the folder as private as the store.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

from crosscheck.cache.layout import CANONICAL, LOADS, CacheLayout, sql_literal, temporary
from crosscheck.cache.tables import define_view, segment_columns
from crosscheck.catalog import Catalog
from crosscheck.results import ExpectationResult, FileAccount, TableLoad, quarantine_ddl

#: Bytes read at a time when hashing a file.
CHUNK = 1 << 20

FORMAT = "crosscheck-canonical-cache-1"
ALIAS = "__cc_cache"


def _ident(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _read_index(layout: CacheLayout) -> dict:
    try:
        return json.loads(layout.hashes.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_index(layout: CacheLayout, entries: dict[str, dict]) -> None:
    index = _read_index(layout)
    index.update(entries)
    layout.root.mkdir(parents=True, exist_ok=True)
    tmp = temporary(layout.hashes)
    tmp.write_text(json.dumps(index, indent=0), encoding="utf-8")
    os.replace(tmp, layout.hashes)


def indexed_hashes(files: list[Path], layout: CacheLayout) -> tuple[dict[Path, str], dict[Path, str]]:
    """(SHA-256 of the files whose (path, size, mtime_ns) is in hashes.json unchanged,
    the (size, mtime_ns) identity of every file now)."""
    index = _read_index(layout)
    known: dict[Path, str] = {}
    idents = {path: _ident(path) for path in files}
    for path, ident in idents.items():
        entry = index.get(str(path.resolve()))
        if entry and entry.get("id") == ident:
            known[path] = entry["sha256"]
    return known, idents


def hash_files(paths: list[Path]) -> dict[Path, str]:
    """SHA-256 of each file, several at a time (hashing releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        return dict(zip(paths, pool.map(file_sha256, paths)))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_key(root: Path, catalog: Catalog, hashes: dict[Path, str], stand_ins: str = "") -> str:
    """The key of a delivery's entry: the connector YAMLs, what the rows standing in for tables
    not delivered depend on (`stand_ins`, crosscheck.connectors.fallbacks.signature_of), and
    every file's hash."""
    root = Path(root)
    digest = hashlib.sha256(FORMAT.encode())
    for source in sorted(catalog.files):
        digest.update(Path(catalog.files[source]).read_bytes())
    if stand_ins:
        digest.update(stand_ins.encode())
    for path, sha in sorted((p.relative_to(root).as_posix(), h) for p, h in hashes.items()):
        digest.update(f"\n{path}\t{sha}".encode())
    return digest.hexdigest()


def _load_from_json(item: dict) -> TableLoad:
    files = [FileAccount(**f) for f in item.pop("files")]
    expectations = [ExpectationResult(**e) for e in item.pop("expectations")]
    item.pop("unread", None)  # unread files are taken from the delivery as it is now, never cached
    return TableLoad(**item, files=files, expectations=expectations)


def attach_tables(con, database: Path, loads: list[TableLoad]) -> None:
    """Attach `database` read-only and define every loaded table of `loads` as a view on it;
    `quarantine` rows of those sources are copied (small)."""
    attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    if ALIAS not in attached:
        con.execute(f"ATTACH {sql_literal(str(database))} AS {ALIAS} (READ_ONLY)")
    for load in loads:
        if load.usable and load.segments:
            segments = [Path(s) for s in load.segments]
            define_view(con, load.table, segment_columns(con, load.table, segments[0]), segments)
        elif load.usable:
            con.execute(f'CREATE OR REPLACE VIEW "{load.table}" AS SELECT * FROM {ALIAS}."{load.table}"')
    con.execute(quarantine_ddl())
    names = ", ".join(sql_literal(t.table) for t in loads) or "NULL"
    con.execute(f'DELETE FROM quarantine WHERE "table" IN ({names})')
    con.execute(f'INSERT INTO quarantine SELECT * FROM {ALIAS}.quarantine WHERE "table" IN ({names})')


class CanonicalCache:
    """The cache entry of one delivery, keyed by the SHA-256 of every file: known from
    hashes.json for files seen before (same path, size and mtime); the others are hashed
    when the run starts, in parallel, each once (the loader then reads them only to parse
    them, and files parsed before are not parsed again: crosscheck.cache.parts)."""

    def __init__(self, layout: CacheLayout, key: str | None, hashes: dict[Path, str] | None = None,
                 idents: dict[Path, str] | None = None):
        self.layout = layout
        self.key = key
        #: SHA-256 of the delivery's files by resolved path (the loader need not hash them again)
        self.hashes = {str(p.resolve()): h for p, h in (hashes or {}).items()}
        self._idents = idents or {}   # (size, mtime) of each file when it was hashed

    @property
    def dir(self) -> Path:
        return self.layout.entry(self.key)

    @classmethod
    def of_delivery(cls, root: Path, catalog: Catalog, layout: CacheLayout, files: list[Path], *,
                    verify: bool = False, stand_ins: str = "") -> "CanonicalCache":
        """The entry of the delivery at `root` whose connectors read `files`
        (crosscheck.connectors.inventory). Only files whose size or modification time changed
        since they were hashed are read; `verify`: every file is."""
        root = Path(root)
        known, idents = indexed_hashes(files, layout)
        if verify:
            known = {}
        missing = [p for p in files if p not in known]
        if missing:
            known.update(hash_files(missing))
            _write_index(layout, {str(p.resolve()): {"id": idents[p], "sha256": known[p]} for p in missing})
        return cls(layout, delivery_key(root, catalog, known, stand_ins), known, idents)

    def settle(self, loads: list[TableLoad]) -> bool:
        """The delivery's files are still as they were hashed (False: one changed during the run)."""
        try:
            return all(_ident(path) == ident for path, ident in self._idents.items())
        except OSError:
            return False

    @property
    def complete(self) -> bool:
        """Every table of the entry is there (a table kept as segments loses them to eviction)."""
        if self.key is None or not (self.dir / LOADS).is_file() or not (self.dir / CANONICAL).is_file():
            return False
        try:
            return all(Path(s).is_file() for t in self.loads() for s in t.segments)
        except (OSError, ValueError, TypeError):
            return False

    def loads(self) -> list[TableLoad]:
        data = json.loads((self.dir / LOADS).read_text(encoding="utf-8"))
        return [_load_from_json(item) for item in data["loads"]]

    def attach(self, con, tables: list[str] | None = None) -> list[TableLoad]:
        """Define every loaded canonical table (of `tables`, default all) as a view on the entry."""
        loads = [t for t in self.loads() if tables is None or t.table in tables]
        attach_tables(con, self.dir / CANONICAL, loads)
        os.utime(self.dir / LOADS)  # last used: the cache evicts the least recently used first (housekeeping)
        return loads

    def new_load(self) -> "LoadDatabase":
        """A load database that becomes this entry if the run keeps it (LoadDatabase.publish)."""
        remove_abandoned(self.layout)
        return LoadDatabase(self.layout.partial_entry(self.key), self)


def remove_abandoned(layout: CacheLayout) -> None:
    """Partial entries of processes that are gone (a killed run)."""
    for path, pid in layout.partial_entries():
        if pid is None:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


class LoadDatabase:
    """The DuckDB file a run loads its canonical tables into (see the module docstring).

    `begin(con)` attaches it and makes it the connection's default database, so the
    loader's tables and `quarantine` land in it; `publish(con, loads)` closes it and
    attaches it read-only with each loaded table as a view; `keep(loads)`, once the
    tables' expectations are settled, makes it the cache entry (when an entry is given).
    `discard()` removes an unpublished or unkept file once the connection is closed."""

    ALIAS = "__cc_load"

    def __init__(self, folder: Path, entry: CanonicalCache | None = None):
        self.folder = Path(folder)
        self.entry = entry
        self.path = self.folder / CANONICAL
        self.active = False
        self.kept = False

    def begin(self, con) -> None:
        if self.active:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.home = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {sql_literal(str(self.path))} AS {self.ALIAS}")
        con.execute(f"USE {self.ALIAS}")
        self.active = True

    def publish(self, con, loads: list[TableLoad]) -> None:
        if not self.active:
            return
        con.execute(f"CHECKPOINT {self.ALIAS}")
        con.execute(f"USE {self.home}")
        con.execute(f"DETACH {self.ALIAS}")
        self.active = False
        attach_tables(con, self.path, loads)

    def keep(self, loads: list[TableLoad]) -> None:
        """Make the published file the delivery's cache entry, with `loads` (their expectations
        settled) as its accounting. The file stays attached: its folder is renamed, not copied."""
        if self.active or self.kept or self.entry is None or not self.entry.settle(loads):
            return
        data = {"format": FORMAT, "key": self.entry.key, "loads": [dataclasses.asdict(t) for t in loads]}
        (self.folder / LOADS).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            os.rename(self.folder, self.entry.dir)  # atomic; fails if another run kept it first
            self.kept = True
        except OSError:
            pass

    def discard(self) -> None:
        if not self.kept:
            shutil.rmtree(self.folder, ignore_errors=True)


class ViewStore:
    """Shared views (rules/_views) computed on one cache entry, kept for later runs.

    A view's rows depend only on the delivery's canonical tables and its SQL: a run on
    a cached delivery attaches the views an earlier run kept (`attach`, before the
    connection is locked) instead of computing them again, and keeps the ones it
    computed itself (`keep`, after its rules). Each view is one DuckDB file, written
    under a temporary name and renamed, so runs sharing the entry never see half a view."""

    PREFIX = "__cc_v_"

    def __init__(self, entry_dir: Path):
        self.entry = Path(entry_dir)

    def attach(self, con) -> dict[tuple[str, str], str]:
        """Attach every kept view read-only: {(view, signature): table to read}."""
        found: dict[tuple[str, str], str] = {}
        for path in CacheLayout.views(self.entry):
            view, _, signature = path.stem.rpartition("-")
            alias = f"{self.PREFIX}{signature}"
            try:
                con.execute(f"ATTACH {sql_literal(str(path))} AS {alias} (READ_ONLY)")
            except Exception:  # noqa: BLE001 - an unreadable file is computed again, never trusted
                continue
            found[(view, signature)] = f"{alias}.v"
        return found

    def keep(self, con, shared: dict[tuple[str, str], str]) -> list[str]:
        """Write the views this run computed (temp tables of `con`) that are not kept yet;
        returns the views written. `con` may be locked: rows go through Arrow to a
        connection of its own."""
        import duckdb

        written = []
        for (view, signature), table in shared.items():
            target = CacheLayout.view(self.entry, view, signature)
            if table.startswith(self.PREFIX) or target.exists():
                continue
            target.parent.mkdir(mode=0o700, exist_ok=True)
            partial = temporary(target)
            try:
                rows = con.sql(f"SELECT * FROM {table}").to_arrow_reader()
                with duckdb.connect(str(partial)) as out:
                    out.register("rows", rows)
                    out.execute("CREATE TABLE v AS SELECT * FROM rows")
                os.chmod(partial, 0o600)  # full identity numbers, like the entry itself
                os.replace(partial, target)
                written.append(view)
            finally:
                for leftover in (partial, partial.with_name(partial.name + ".wal")):
                    leftover.unlink(missing_ok=True)
        return written
