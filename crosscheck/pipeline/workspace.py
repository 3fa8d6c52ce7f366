"""Where a run's canonical tables live: one object owns the run's DuckDB, its spill folder,
the delivery's canonical cache entry, the database the tables load into, the shared views
and the moment the connection is locked down.

    ws = Workspace(config, extracts, catalog, files, cached=True)
    ws.load_into()            # the loader's tables land in the load database
    ws.lock_down(loads)       # before the first rule: publish, attach kept views, lock
    ws.keep_loaded(loads)     # their expectations settled: the load database becomes the cache entry
    ws.close()                # keep computed views, remove what was not kept
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import duckdb

from crosscheck.catalog import Catalog
from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.config import ProjectConfig
from crosscheck.results import TableLoad

log = logging.getLogger("crosscheck.pipeline.workspace")


def connect(config: ProjectConfig, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to disk and never downloads extensions."""
    settings = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": config.duckdb_memory_limit,
        "temp_directory": str(spill_dir),
    }
    if config.duckdb_threads:
        settings["threads"] = config.duckdb_threads
    con = duckdb.connect(":memory:", config=settings)
    con.execute("SET enable_progress_bar = false")
    return con


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No external access (files, databases, extensions) and the configuration locked."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


class Workspace:
    def __init__(self, config: ProjectConfig, extracts: Path, catalog: Catalog, files: list[Path], *, cached: bool,
                 checkpoint: Checkpoint = carry_on, verify: bool = False):
        """`files`: what the connectors read of the delivery; `cached`: the run may read and keep
        the delivery's canonical cache entry (the DuckDB engine does; see crosscheck.engines);
        `verify`: hash every file, not only those whose size or modification time changed."""
        self.catalog = catalog
        self.spill = tempfile.TemporaryDirectory(prefix="crosscheck-spill-")
        self.con = connect(config, Path(self.spill.name))
        self.cache = None               # crosscheck.cache.canonical.CanonicalCache of the delivery
        self.parts = None               # crosscheck.cache.parts.PartStore: files parsed before
        self.states = None              # crosscheck.cache.tables.TableStates: tables loaded before
        if cached and config.canonical_cache and config.cache_dir is not None:
            from crosscheck.cache.canonical import CanonicalCache
            from crosscheck.cache.layout import CacheLayout
            from crosscheck.cache.parts import PartStore
            from crosscheck.cache.tables import TableStates
            from crosscheck.connectors.fallbacks import signature_of

            layout = CacheLayout(Path(config.cache_dir))
            self.cache = CanonicalCache.of_delivery(Path(extracts), catalog, layout, files, verify=verify,
                                                    stand_ins=signature_of(catalog))
            self.parts = PartStore(layout, checkpoint)
            self.states = TableStates(layout, checkpoint)
        self.load_db = None             # crosscheck.cache.canonical.LoadDatabase, once a table is parsed
        self.cache_used = False         # tables attached from the cache entry
        self.locked = False             # no file access from here on: rules may run
        self.shared_views: dict = {}    # views computed once per run (rules.runner.materialize_views)
        self.config = config

    @property
    def cached(self) -> bool:
        """The delivery's tables are in the cache entry: attach, do not parse."""
        return self.cache is not None and self.cache.complete

    def attach(self, table: str) -> TableLoad:
        """A table loaded and validated by an earlier run, read from the cache entry."""
        self.cache_used = True
        return self.cache.attach(self.con, [table])[0]

    def load_into(self) -> None:
        """Make the load database the connection's default, so the loader's tables land there."""
        if self.load_db is None:
            from crosscheck.cache.canonical import LoadDatabase

            self.load_db = (self.cache.new_load() if self.cache is not None
                            else LoadDatabase(Path(self.spill.name) / "load"))
        self.load_db.begin(self.con)

    @property
    def known_hashes(self) -> dict[str, str] | None:
        return self.cache.hashes if self.cache is not None else None

    def tables_changed(self) -> None:
        """A table was (re)loaded: shared views are computed afresh."""
        self.shared_views.clear()

    def publish_loaded(self, loads: list[TableLoad]) -> None:
        """Close the load database and read its tables from then on (before the connection is
        locked)."""
        if self.load_db is not None and self.load_db.active:
            self.load_db.publish(self.con, loads)

    def keep_loaded(self, loads: list[TableLoad]) -> None:
        """Once every table's expectations are settled: the load database becomes the cache
        entry, only for a delivery fully loaded from its files in this run with no file lost."""
        if self.load_db is None or self.load_db.active or self.cache_used:
            return
        if {load.table for load in loads} == set(self.catalog.tables) and not any(
                t.status == "failed" or any(f.status == "failed" for f in t.files) for t in loads):
            self.load_db.keep(loads)

    def lock_down(self, loads: list[TableLoad]) -> None:
        """Lock the run's DuckDB before any rule runs: no file access (read_csv, COPY,
        ATTACH, INSTALL/LOAD, EXPORT all fail) and no setting can be changed back.
        Spilling to the run's temp_directory keeps working. Idempotent; anything that
        needs files (loading, exporting the canonical tables) happens before."""
        if not self.locked:
            self.publish_loaded(loads)
            store = self.view_store()
            if store is not None:  # views an earlier run on this delivery computed: read, not computed
                self.shared_views.update(store.attach(self.con))
            lock_down(self.con)
            self.locked = True

    def view_store(self):
        """Where the shared views of this delivery are kept (crosscheck.cache.canonical.ViewStore):
        only when every canonical table is read from the delivery's cache entry."""
        from_entry = self.cache_used or (self.load_db is not None and self.load_db.kept)
        if self.cache is None or not from_entry or not self.cache.complete:
            return None
        from crosscheck.cache.canonical import ViewStore

        return ViewStore(self.cache.dir)

    def keep_views(self) -> None:
        """Keep the shared views this run computed in the delivery's cache entry, for the
        next run (an ad-hoc run then reads them). Never fails the run."""
        store = self.view_store() if self.locked and self.shared_views else None
        if store is None:
            return
        try:
            store.keep(self.con, self.shared_views)
        except Exception as exc:  # noqa: BLE001 - the next run computes them again
            log.warning("shared views not kept in the canonical cache: %s", exc)

    def close(self) -> None:
        if self.con is None:
            return
        self.keep_views()
        self.con.close()
        self.con = None
        if self.load_db is not None:
            self.load_db.discard()
        self.spill.cleanup()
        if self.cache is not None:
            self.keep_cache_small()

    def keep_cache_small(self) -> None:
        """The cache under `cache_max_size`, least recently used out first. Never fails the run."""
        from crosscheck.cache.housekeeping import prune
        from crosscheck.config import parse_size

        try:
            prune(Path(self.config.cache_dir), parse_size(self.config.cache_max_size, "cache_max_size"))
        except Exception as exc:  # noqa: BLE001 - a full cache is not a failed run
            log.warning("cache not pruned: %s", exc)
