"""Faults that stop a run (disk full, memory), said in one line that names the cause and the path.

A fault is not a problem of one file or one rule: the run cannot go on. The loader and
the rule runner let faults through (`is_fault`) instead of recording them as a failed
file or rule; the run pipeline records the run as failed and says `describe(exc)`.
"""
from __future__ import annotations

import errno
import re
import signal

from crosscheck.service.lifetime import stop_signal_of

#: What the operating system or DuckDB says when a disk or a quota is full.
_DISK_FULL = re.compile(r"no space left on device|disk quota exceeded|not enough space on the disk", re.I)
_OUT_OF_MEMORY = re.compile(r"out of memory|could not allocate|failed to allocate|memory limit", re.I)
#: A quoted absolute path in an error message (DuckDB quotes the file it could not write).
_PATH = re.compile(r"""["'](/[^"'\n]+)["']""")


def _kind(exc: BaseException) -> str:
    """'disk full', 'out of memory' or '' for an exception that is not a fault."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return "out of memory"
    name = type(exc).__name__
    text = str(exc)
    if _DISK_FULL.search(text):
        return "disk full"
    if name == "OutOfMemoryException" or (name.endswith("Exception") and _OUT_OF_MEMORY.search(text)
                                          and type(exc).__module__.startswith(("duckdb", "_duckdb"))):
        return "out of memory"
    return ""


def is_fault(exc: BaseException) -> bool:
    return bool(_kind(exc))


def fault_path(exc: BaseException) -> str:
    """The file the fault happened on, where the error says it ('' if it does not)."""
    if isinstance(exc, OSError) and exc.filename:
        return str(exc.filename)
    match = _PATH.search(str(exc))
    return match.group(1) if match else ""


def describe(exc: BaseException, *, memory_limit: str = "") -> str:
    """One line: the cause, the path where known, and what to do."""
    kind = _kind(exc)
    path = fault_path(exc)
    where = f" writing {path}" if path else ""
    if kind == "disk full":
        return f"disk full{where}: free space there (or point cache_dir / reports_dir elsewhere) and run again"
    if kind == "out of memory":
        limit = f" (duckdb_memory_limit {memory_limit})" if memory_limit else ""
        return f"out of memory{limit}{where}: lower duckdb_memory_limit in crosscheck.toml or free memory, and run again"
    first = (str(exc).strip().splitlines() or [""])[0]
    signum = stop_signal_of(exc)
    if not first and signum:  # a flow's termination says only its number
        first = f"{signal.Signals(signum).name} received"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
