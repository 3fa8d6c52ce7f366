"""Backups taken while crosscheck works, and restoring one (`crosscheck backup` / `crosscheck restore`).

What crosscheck keeps lives beside the findings store (`crosscheck.duckdb`):

- the findings store (DuckDB). It is copied under the store's own lock, taken as a writer takes
  it: the backup waits while a run records (a run holds the store for its transaction and its
  reports), and the next run waits the seconds the copy takes; runs that are loading or running
  rules go on, they take the store only to record. The store is checkpointed first, so the one
  file holds everything.
- the casework database (`crosscheck.clues.sqlite`, SQLite in WAL: clues, dispositions, feedback,
  accounts, the audit log): SQLite's online backup API, one snapshot read while reviewers go on
  writing. Copied while the store's lock is held, so it holds every run the copied store holds.
- the attachments folder beside them, when there is one (`<store name>.attachments/`, see
  `attachments_path`): every file under it, copied after the casework database, so every
  attachment a copied record names is there.

A backup is a folder `crosscheck-backup-<UTC time>` (owner-only) under the folder given, written
under a temporary name and renamed once whole, with `manifest.json`: when, the versions
(crosscheck, DuckDB, SQLite, Python, the schemas), and each file's path, size and SHA-256.

A restore checks every file against the manifest before it writes anything, refuses to replace a
store, casework database or attachments that exist unless forced, and writes under the store's
lock: the store to a temporary name then renamed into place (a stale WAL of the replaced store is
removed), the casework database through SQLite's backup API (a workbench that has it open sees the
restored content at once), the attachments folder renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from crosscheck import __version__
from crosscheck.casework import casework_path
from crosscheck.casework.attachments import folder_of
from crosscheck.cache.canonical import file_sha256
from crosscheck.privacy.files import private_dirs, private_files
from crosscheck.store.journal import process_alive
from crosscheck.store.lock import StoreLock

MANIFEST = "manifest.json"
FORMAT = 1
PREFIX = "crosscheck-backup-"
_CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or the restore cannot be done; the message says why and where."""


def attachments_path(store: Path) -> Path:
    """The folder of files kept beside the casework database (the workbench's attachments):
    ``crosscheck.duckdb`` -> ``crosscheck.attachments/``."""
    return folder_of(casework_path(Path(store)))


@dataclass
class Backup:
    folder: Path
    manifest: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.manifest.get("files", []))


# -- taking a backup -------------------------------------------------------------------------

def take_backup(store: Path, into: Path, *, lock_timeout: float = 600, keep: int | None = None) -> Backup:
    """A backup of the store at `store` (and its casework database and attachments) in a new
    folder under `into`; then, with `keep`, only the newest `keep` backups there are kept."""
    store = Path(store).absolute()
    casework, attachments = casework_path(store), attachments_path(store)
    if not store.exists() and not casework.exists():
        raise BackupError(f"nothing to back up: no findings store {store} and no casework database {casework}")
    private_dirs(into)
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    name = _free_name(into, f"{PREFIX}{now:%Y%m%dT%H%M%SZ}")
    partial = into / f".{name}.{os.getpid()}.partial"
    private_dirs(partial)
    files: list[dict] = []
    versions: dict = {}
    lock = StoreLock(store)
    try:
        with private_files():
            lock.acquire(lock_timeout, what="backup")
            try:
                if store.exists():
                    versions["store_schema"] = _copy_store(store, partial / store.name, files)
                if casework.exists():
                    versions["casework_schema"] = _copy_casework(casework, partial / casework.name, files)
                if attachments.is_dir():
                    _copy_attachments(attachments, partial / attachments.name, files)
            finally:
                lock.release()
            manifest = _manifest(now, store, files, versions, round(time.monotonic() - started, 3))
            (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, into / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    backup = Backup(into / name, manifest)
    if keep is not None:
        prune(into, keep)
    return backup


def _free_name(into: Path, name: str) -> str:
    found, n = name, 1
    while (into / found).exists():
        n += 1
        found = f"{name}-{n}"
    return found


def _copy_store(store: Path, target: Path, files: list[dict]) -> int | None:
    """Checkpoint the store (under its lock: nothing else writes it) and copy its one file."""
    import duckdb

    from crosscheck.store.db import connect

    con = connect(store, read_only=False)
    try:
        con.execute("CHECKPOINT")
        try:
            schema = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
        except (duckdb.Error, IndexError, ValueError):
            schema = None
        files.append(_copy_file(store, target, "store"))
    finally:
        con.close()
    return schema


def _copy_casework(casework: Path, target: Path, files: list[dict]) -> int | None:
    """One snapshot of the casework database through SQLite's online backup API."""
    source = sqlite3.connect(str(casework), timeout=30)
    try:
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)  # one step: one consistent snapshot, writers go on meanwhile
            copy.execute("PRAGMA journal_mode = DELETE")  # the copy stands alone, no -wal beside it
            found = copy.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        finally:
            copy.close()
    finally:
        source.close()
    files.append(_entry(target, target.name, "casework"))
    return int(found[0][0]) if found else None


def _copy_attachments(folder: Path, target: Path, files: list[dict]) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files.append(_copy_file(path, target / path.relative_to(folder), "attachment",
                                    name=f"{folder.name}/{path.relative_to(folder).as_posix()}"))


def _copy_file(source: Path, target: Path, role: str, name: str | None = None) -> dict:
    """Copy `source` to `target` (owner-only), hashing on the way."""
    private_dirs(target.parent)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    os.chmod(target, 0o600)
    return {"path": name or target.name, "role": role, "size": size, "sha256": digest.hexdigest()}


def _entry(path: Path, name: str, role: str) -> dict:
    os.chmod(path, 0o600)
    return {"path": name, "role": role, "size": path.stat().st_size, "sha256": file_sha256(path)}


def _manifest(now: datetime, store: Path, files: list[dict], schemas: dict, seconds: float) -> dict:
    import duckdb

    return {
        "format": FORMAT,
        "created_at": now.isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "store": store.name,
        "versions": {"crosscheck": __version__, "duckdb": duckdb.__version__, "sqlite": sqlite3.sqlite_version,
                     "python": platform.python_version(), **schemas},
        "seconds": seconds,
        "files": files,
    }


# -- keeping N -------------------------------------------------------------------------------

def backups(into: Path) -> list[Backup]:
    """The whole backups under `into`, oldest first."""
    found = []
    for folder in sorted(Path(into).glob(f"{PREFIX}*")) if Path(into).is_dir() else []:
        try:
            found.append(Backup(folder, json.loads((folder / MANIFEST).read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return sorted(found, key=lambda b: (b.manifest.get("created_at", ""), b.folder.name))


def prune(into: Path, keep: int) -> list[Path]:
    """Remove the oldest backups beyond `keep`, and what backups that were stopped left behind."""
    removed = []
    whole = backups(into)
    for backup in whole[:max(len(whole) - max(keep, 1), 0)]:
        shutil.rmtree(backup.folder)
        removed.append(backup.folder)
    for leftover in Path(into).glob(f".{PREFIX}*.partial"):
        pid = leftover.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return removed


# -- restoring -------------------------------------------------------------------------------

def read_backup(folder: Path) -> Backup:
    """The backup in `folder`, every file checked against its manifest (BackupError naming the
    first file that is missing or differs). A folder of backups names the newest."""
    folder = Path(folder)
    manifest_file = folder / MANIFEST
    if not manifest_file.is_file():
        inside = backups(folder)
        hint = f"; it holds {len(inside)} backup(s): restore one, e.g. {inside[-1].folder}" if inside else ""
        raise BackupError(f"{folder}: not a crosscheck backup (no {MANIFEST}){hint}")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{manifest_file}: not readable as JSON ({exc})") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise BackupError(f"{manifest_file}: not a manifest this crosscheck reads (format {manifest.get('format')!r})")
    for entry in manifest["files"]:
        relative = Path(str(entry.get("path", "")))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BackupError(f"{manifest_file}: a file path that leaves the backup: {entry.get('path')!r}")
        path = folder / relative
        if not path.is_file():
            raise BackupError(f"{path}: missing from the backup (the manifest lists it)")
        if path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
            raise BackupError(f"{path}: differs from the manifest (size or SHA-256): the backup is damaged")
    return Backup(folder, manifest)


def live_parts(store: Path) -> list[Path]:
    """What of a system exists at `store`: the store, its casework database, a non-empty attachments folder."""
    store = Path(store)
    attachments = attachments_path(store)
    found = [p for p in (store, casework_path(store)) if p.exists()]
    if attachments.is_dir() and any(attachments.iterdir()):
        found.append(attachments)
    return found


def restore_backup(folder: Path, store: Path, *, force: bool = False, lock_timeout: float = 600) -> Backup:
    """Restore the backup in `folder` as the system whose findings store is `store`."""
    backup = read_backup(folder)
    store = Path(store).absolute()
    live = live_parts(store)
    if live and not force:
        raise BackupError("refusing to overwrite a live system (" + ", ".join(str(p) for p in live)
                          + "): stop the services, then restore with --force, or restore into an empty folder")
    roles = {e["role"]: e for e in backup.manifest["files"]}
    private_dirs(store.parent)
    lock = StoreLock(store)
    with private_files():
        lock.acquire(lock_timeout, what="restore")
        try:
            if "store" in roles:
                _restore_store(backup.folder / roles["store"]["path"], store)
            if "casework" in roles:
                _restore_casework(backup.folder / roles["casework"]["path"], casework_path(store))
            _restore_attachments(backup, attachments_path(store))
        finally:
            lock.release()
    return backup


def _restore_store(source: Path, store: Path) -> None:
    temporary = store.with_name(f".{store.name}.restoring")
    _copy_file(source, temporary, "store")
    Path(f"{store}.wal").unlink(missing_ok=True)  # a WAL of the replaced store must not be replayed on this one
    os.replace(temporary, store)


def _restore_casework(source: Path, target: Path) -> None:
    copy = sqlite3.connect(f"file:{source}?mode=ro&immutable=1", uri=True)
    try:
        if not target.exists():
            os.close(os.open(target, os.O_RDWR | os.O_CREAT, 0o600))
        live = sqlite3.connect(str(target), timeout=30)
        try:
            copy.backup(live)
            live.execute("PRAGMA journal_mode = WAL")
        finally:
            live.close()
    finally:
        copy.close()


def _restore_attachments(backup: Backup, target: Path) -> None:
    entries = [e for e in backup.manifest["files"] if e["role"] == "attachment"]
    if not entries:
        return
    temporary = target.with_name(f".{target.name}.restoring")
    shutil.rmtree(temporary, ignore_errors=True)
    for entry in entries:
        relative = Path(entry["path"]).relative_to(Path(entry["path"]).parts[0])
        _copy_file(backup.folder / entry["path"], temporary / relative, "attachment")
    replaced = target.with_name(f".{target.name}.replaced")
    if target.exists():
        os.replace(target, replaced)
    os.replace(temporary, target)
    shutil.rmtree(replaced, ignore_errors=True)
