"""The canonical cache: a delivery once loaded and validated is kept in columnar form.

Layout under the project's `cache_dir` (crosscheck.toml, default `.crosscheck-cache/`,
ignored by git; env CROSSCHECK_CACHE_DIR overrides):

    hashes.json                  file SHA-256 by (absolute path, size, mtime_ns): re-hashing
                                 a 10 GB delivery is skipped when nothing changed
    <key>/canonical.duckdb       every loaded canonical table + `quarantine` (DuckDB storage:
                                 columnar, compressed; attached read-only, nothing is copied)
    <key>/loads.json             the load accounting (TableLoad, FileAccount, expectations)

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

from crosscheck.catalog import Catalog
from crosscheck.results import ExpectationResult, FileAccount, TableLoad

FORMAT = "crosscheck-canonical-cache-1"
ALIAS = "__cc_cache"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_files(root: Path, catalog: Catalog) -> list[Path]:
    from crosscheck.connectors.files import discover

    files: set[Path] = set()
    for connector in catalog.connectors.values():
        folder = root / connector.folder
        for spec in connector.tables.values():
            files.update(discover(folder, spec.files))
    return sorted(files)


def file_hashes(files: list[Path], cache_dir: Path) -> dict[Path, str]:
    """SHA-256 of each file, reusing hashes.json where (path, size, mtime_ns) is unchanged."""
    index_path = cache_dir / "hashes.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    out: dict[Path, str] = {}
    changed = False
    for path in files:
        st = path.stat()
        ident = f"{st.st_size}:{st.st_mtime_ns}"
        entry = index.get(str(path.resolve()))
        if entry and entry.get("id") == ident:
            out[path] = entry["sha256"]
            continue
        out[path] = _sha256(path)
        index[str(path.resolve())] = {"id": ident, "sha256": out[path]}
        changed = True
    if changed:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=0), encoding="utf-8")
        os.replace(tmp, index_path)
    return out


def delivery_key(root: Path, catalog: Catalog, cache_dir: Path) -> str:
    root = Path(root)
    hashes = file_hashes(delivery_files(root, catalog), cache_dir)
    digest = hashlib.sha256(FORMAT.encode())
    for source in sorted(catalog.files):
        digest.update(Path(catalog.files[source]).read_bytes())
    for path, sha in sorted((p.relative_to(root).as_posix(), h) for p, h in hashes.items()):
        digest.update(f"\n{path}\t{sha}".encode())
    return digest.hexdigest()


def _load_from_json(item: dict) -> TableLoad:
    files = [FileAccount(**f) for f in item.pop("files")]
    expectations = [ExpectationResult(**e) for e in item.pop("expectations")]
    return TableLoad(**item, files=files, expectations=expectations)


class CanonicalCache:
    def __init__(self, cache_dir: Path, key: str):
        self.dir = Path(cache_dir) / key
        self.key = key

    @property
    def complete(self) -> bool:
        return (self.dir / "loads.json").is_file() and (self.dir / "canonical.duckdb").is_file()

    def loads(self) -> list[TableLoad]:
        data = json.loads((self.dir / "loads.json").read_text(encoding="utf-8"))
        return [_load_from_json(item) for item in data["loads"]]

    def attach(self, con, sources: list[str] | None = None) -> list[TableLoad]:
        """Attach the cached tables read-only and define every loaded canonical table (of
        `sources`, default all) as a view on them; `quarantine` is copied (small)."""
        attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        if ALIAS not in attached:
            con.execute(f"ATTACH '{self.dir / 'canonical.duckdb'}' AS {ALIAS} (READ_ONLY)")
        loads = [t for t in self.loads() if sources is None or t.source in sources]
        for load in loads:
            if load.status == "loaded":
                con.execute(f'CREATE OR REPLACE VIEW "{load.table}" AS SELECT * FROM {ALIAS}."{load.table}"')
        from crosscheck.connectors.load import ensure_quarantine

        ensure_quarantine(con)
        names = ", ".join(f"'{s}'" for s in sorted({t.source for t in loads})) or "NULL"
        con.execute(f"DELETE FROM quarantine WHERE source IN ({names})")
        con.execute(f"INSERT INTO quarantine SELECT * FROM {ALIAS}.quarantine WHERE source IN ({names})")
        return loads

    def save(self, con, loads: list[TableLoad]) -> None:
        """Write the connection's loaded canonical tables, quarantine and accounting."""
        tmp = self.dir.with_name(self.dir.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        os.chmod(tmp, 0o700)
        alias = "__cc_cache_w"
        con.execute(f"ATTACH '{tmp / 'canonical.duckdb'}' AS {alias}")
        try:
            for load in loads:
                if load.status == "loaded":
                    con.execute(f'CREATE TABLE {alias}."{load.table}" AS SELECT * FROM main."{load.table}"')
            con.execute(f"CREATE TABLE {alias}.quarantine AS SELECT * FROM main.quarantine")
        finally:
            con.execute(f"DETACH {alias}")
        data = {"format": FORMAT, "key": self.key, "loads": [dataclasses.asdict(t) for t in loads]}
        (tmp / "loads.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.replace(tmp, self.dir)
