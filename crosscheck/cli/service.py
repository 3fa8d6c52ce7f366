"""`crosscheck backup`, `crosscheck restore` and `crosscheck status` (mounted by crosscheck.cli):
what an operator runs to keep crosscheck as a service (docs/operations.md).

    crosscheck backup DIR [--keep N] [--store FILE] [--project DIR]
    crosscheck restore BACKUP [--force] [--store FILE] [--project DIR]
    crosscheck status [--json] [--store FILE] [--project DIR]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from crosscheck.cli.common import fail
from crosscheck.cli.review import PROJECT_HELP, STORE_HELP, TIMEOUT_HELP, store_path

_store_opt = typer.Option(None, "--store", help=STORE_HELP)
_project_opt = typer.Option(None, "--project", help=PROJECT_HELP)
_timeout_opt = typer.Option(600.0, "--lock-timeout", help=TIMEOUT_HELP)


def backup(
    folder: Path = typer.Argument(..., help="Folder the backups go in (one sub-folder each, owner-only)."),
    keep: Optional[int] = typer.Option(None, "--keep", min=1, help="Keep only the newest N backups in the folder."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Back up the store, the casework database and the attachments, while crosscheck works.

    A consistent copy, taken while runs and reviewers work (a run that is recording is waited
    for), with a manifest (time, versions, sizes, SHA-256). Exit status: 0 done; 1 it could
    not be written; 3 the store stayed busy past --lock-timeout."""
    from crosscheck.service.backup import BackupError, take_backup
    from crosscheck.store import StoreBusy, StoreError

    try:
        done = take_backup(store_path(store, project), folder, lock_timeout=lock_timeout, keep=keep)
    except StoreBusy as exc:
        fail(f"{exc}; no backup was taken", code=3)
    except (BackupError, StoreError, OSError) as exc:
        fail(str(exc), code=1)
    files = done.manifest["files"]
    typer.echo(f"backup {done.folder}: {len(files)} files, {done.size / 1e6:.1f} MB, {done.manifest['seconds']:.1f} s")


def restore(
    folder: Path = typer.Argument(..., help="One backup folder (crosscheck-backup-...), as `crosscheck backup` wrote it."),
    force: bool = typer.Option(False, "--force", help="Replace the store, casework database and attachments that exist."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Restore a backup, checked against its manifest, as the project's store (or --store).

    Refuses to overwrite a live system unless --force (stop the serve loop and the workbench
    first). Exit status: 0 restored; 2 refused (a live system, a damaged backup); 3 the store
    stayed busy past --lock-timeout."""
    from crosscheck.service.backup import BackupError, restore_backup
    from crosscheck.store import StoreBusy

    target = store_path(store, project)
    try:
        done = restore_backup(folder, target, force=force, lock_timeout=lock_timeout)
    except StoreBusy as exc:
        fail(f"{exc}; nothing was restored", code=3)
    except BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(str(exc), code=1)
    typer.echo(f"restored {done.folder.name} ({done.manifest['created_at']}, {len(done.manifest['files'])} files) "
               f"as {target.absolute()}")


def status(
    as_json: bool = typer.Option(False, "--json", help="The same as one JSON object."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = typer.Option(60.0, "--lock-timeout", help=TIMEOUT_HELP),
) -> None:
    """The system's health for an operator or a monitoring tool.

    The last complete run and how it ended, the next scheduled night, missed nights, open and
    overdue clues, the cache's size, the free disk where the store lives. Exit status: 0 all is well; 1 a scheduled night was missed or the last run failed (or ended
    without finishing); 3 the store stayed busy past --lock-timeout (a run recording)."""
    from crosscheck.config import ProjectConfig
    from crosscheck.service.status import gather, render
    from crosscheck.store import StoreBusy, StoreError

    try:
        config = ProjectConfig.load(project)
        found = gather(config, store_path(store, project).absolute(), lock_timeout=lock_timeout)
    except StoreBusy as exc:
        fail(str(exc), code=3)
    except (StoreError, ValueError) as exc:
        fail(str(exc))
    typer.echo(json.dumps(found, ensure_ascii=False, indent=2) if as_json else render(found))
    raise typer.Exit(1 if found["problems"] else 0)
