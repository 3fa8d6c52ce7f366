"""The findings history store: runs and findings in one DuckDB file, and beside it the
casework database (`crosscheck.casework`, SQLite) where every clue's status, disposition and
outcome lives.

    from crosscheck.store import Store
    with Store.open(path, lock_timeout=600) as store:
        recorded = store.record_run(run, suppression_days={"rule_id": 90})

Each run is written in one transaction, under an exclusive lock on
``<store>.lock`` (see `crosscheck.store.lock`); the dispositions it needs it reads from the
casework database in one snapshot, which never blocks the workbench, and once committed it
publishes its clues there. The store keeps full identity numbers; where it creates the files
and folders they are owner-only (0600/0700).

`Store` opens, locks and closes the file and runs transactions; what it does
with them comes from its parts: `crosscheck.store.recording` (record_run,
record_failed), `crosscheck.store.feedback` (mark, import_reviews,
record_outcome) and `crosscheck.store.queries` (precision, runs, run_detail, ...).
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from crosscheck.casework import Casework, CaseworkError, casework_path
from crosscheck.privacy.files import private_dirs, private_files
from crosscheck.store.db import StoreError, connect
from crosscheck.store.feedback import ReviewerFeedback
from crosscheck.store.lock import StoreLock, _stderr, current_user
from crosscheck.store.queries import HistoryQueries
from crosscheck.store.recording import RecordedRun, RunRecording
from crosscheck.store.schema import SchemaError, ensure_schema, has_schema, needs_upgrade

DEFAULT_STORE_NAME = "crosscheck.duckdb"
log = logging.getLogger("crosscheck.store")

__all__ = ["DEFAULT_STORE_NAME", "RecordedRun", "Store", "StoreError"]


class Store(RunRecording, ReviewerFeedback, HistoryQueries):
    """An open store. Use `Store.open` as a context manager."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, lock: StoreLock, read_only: bool,
                 casework: Casework):
        self.path = path
        self.con = con
        self.lock = lock
        self.read_only = read_only
        self.casework = casework

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        lock_timeout: float = 600,
        *,
        read_only: bool = False,
        purpose: str | None = None,
        notify: Callable[[str], None] | None = _stderr,
    ) -> "Store":
        """Open (creating if new, unless read_only) the store at ``path``.

        Waits up to ``lock_timeout`` seconds for another process holding the
        store, printing one message through ``notify``; raises `StoreBusy` if
        it is still busy. ``purpose`` is what waiting processes are told this
        one is doing (record_run sets it to 'run <id>').
        """
        path = Path(path).expanduser().absolute()
        if read_only and not path.exists():
            raise StoreError(f"no store at {path} (a run creates it)")
        if not read_only:
            private_dirs(path.parent)
        lock = StoreLock(path, shared=read_only)
        lock.acquire(lock_timeout, what=purpose or ("reading" if read_only else f"{current_user()}'s session"),
                     notify=notify)
        try:
            con = _open_database(path, read_only)
        except BaseException:
            lock.release()
            raise
        try:
            with private_files():
                casework = Casework.open(casework_path(path))
        except (CaseworkError, OSError) as exc:
            con.close()
            lock.release()
            raise StoreError(f"store {path}: casework database: {exc}") from exc
        store = cls(path, con, lock, read_only, casework)
        if not read_only:
            try:
                store.link_casework()
            except BaseException:
                store.close()
                raise
        return store

    def link_casework(self) -> None:
        """Move a schema-2 store's reviews and outcomes to the casework database, and publish
        every complete run it has not seen (a run cut short between its commit and its publish)."""
        moving = self.con.execute("SELECT count(*) FROM meta WHERE key = 'reviews_to_move'").fetchall()[0][0]
        if moving:
            self.casework.publish(self.con)  # the clues first: the moved reviews point at them
        else:
            try:
                self.casework.publish(self.con)
            except Exception as exc:  # noqa: BLE001 - the store is usable; a later open publishes
                log.warning("store %s: publishing runs to the workbench failed (%s); the next open tries again",
                            self.path, exc)
        if moving:
            self.casework.move_from_store(self.con)
            with self._transaction() as con:
                con.execute("DELETE FROM reviews")
                con.execute("DELETE FROM outcomes")
                con.execute("DELETE FROM meta WHERE key = 'reviews_to_move'")
        elif self.casework.meta("moved_from_store") is None:
            with self.casework.write() as con:
                self.casework.set_meta(con, "moved_from_store", "yes")

    def close(self) -> None:
        if self.con is not None:
            try:
                with private_files():
                    self.con.close()
                    self.casework.close()
            finally:
                self.con = None
                self.lock.release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _writable(self) -> None:
        if self.con is None:
            raise StoreError("store is closed")
        if self.read_only:
            raise StoreError("store was opened read-only")

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self._writable()
        con = self.con
        with private_files():
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise


def _open_database(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect (a new file owner-only) and check, or for a writer create or upgrade, the schema."""
    with private_files():
        created = not path.exists()
        con = connect(path, read_only)
        try:
            if created:
                os.chmod(path, 0o600)
            if not read_only:
                ensure_schema(con)
            elif not has_schema(con):
                raise StoreError(f"{path} is not a crosscheck store")
            elif needs_upgrade(con):
                raise StoreError(f"{path} was written by an earlier crosscheck: open it once for writing "
                                 "(the next run, `crosscheck review mark` or `crosscheck workbench` upgrades it)")
        except SchemaError as exc:
            con.close()
            raise StoreError(f"store {path}: {exc}") from exc
        except BaseException:
            con.close()
            raise
    return con
