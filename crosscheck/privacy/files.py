"""Files and folders that hold personal data are created owner-only."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents owner-only (0700); existing folders are left alone."""
    missing: list[Path] = []
    p = Path(folder)
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)


@contextmanager
def private_files() -> Iterator[None]:
    """Files created meanwhile (a DuckDB database and its WAL, say) are owner-only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_private_text(path: Path, text: str, before_rename: Callable[[], None] | None = None) -> None:
    """Replace `path` with `text`, owner-only, never half-written (a temporary name, then a
    rename; `before_rename` is called in between). An OSError names the file (a full disk
    says where)."""
    import secrets

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
