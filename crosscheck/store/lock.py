"""One writer at a time: an advisory lock on ``<store>.lock``.

DuckDB lets only one process open a database file for writing. Every process
that opens the store takes ``fcntl.flock`` on ``<store>.lock`` first:
exclusive for writers, shared for read-only access. A process that finds the
store busy prints one message naming the holder (read from the lock file,
which the holder fills in), waits up to its timeout, then fails with
`StoreBusy`. The kernel drops the lock when its holder dies, so a killed run
never leaves the store locked.
"""
from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable


class StoreBusy(Exception):
    """Another process held the store for longer than the lock timeout."""


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no passwd entry
        return str(os.getuid())


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe_holder(info: dict | None) -> str:
    if not info:
        return "held by another process"
    what = info.get("what") or "access"
    return f"{what} by {info.get('user') or '?'} since {info.get('since') or '?'}"


class StoreLock:
    """``flock`` on ``<store>.lock``; the holder's details are written into the file."""

    POLL_SECONDS = 0.1

    def __init__(self, store_path: Path, *, shared: bool = False):
        self.store_path = Path(store_path)
        self.path = self.store_path.with_name(self.store_path.name + ".lock")
        self.shared = shared
        self._fd: int | None = None
        self.info: dict = {}

    # -- holder info -------------------------------------------------------
    def read_holder(self) -> dict | None:
        """The holder's details as it wrote them (None when unreadable or empty)."""
        for _ in range(5):
            try:
                text = self.path.read_text(encoding="utf-8").strip()
            except OSError:
                return None
            if text:
                try:
                    return json.loads(text)
                except ValueError:
                    pass
            time.sleep(0.02)  # the holder may be between flock and write
        return None

    def set_holder(self, what: str) -> None:
        """Record what this process is doing (e.g. ``run <id>``) for waiting processes."""
        if self._fd is None or self.shared:
            return
        self.info = {
            "what": what,
            "user": current_user(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": self.info.get("since") or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ"),
        }
        data = (json.dumps(self.info, ensure_ascii=False) + "\n").encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    # -- acquire / release -------------------------------------------------
    def acquire(self, timeout: float, what: str = "access", notify: Callable[[str], None] | None = _stderr) -> None:
        flags = os.O_RDWR | os.O_CREAT
        fd = os.open(self.path, flags, 0o600)
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        deadline = time.monotonic() + max(timeout, 0)
        told = False
        holder: dict | None = None
        try:
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told:
                        holder = self.read_holder()
                        if notify is not None:
                            notify(f"store {self.store_path} is busy ({describe_holder(holder)}); waiting…")
                        told = True
                    if time.monotonic() >= deadline:
                        holder = self.read_holder() or holder
                        raise StoreBusy(
                            f"store {self.store_path} is still busy after {timeout:g} s "
                            f"({describe_holder(holder)}); try again later or raise the lock timeout"
                        ) from None
                    time.sleep(self.POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.set_holder(what)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if not self.shared:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
