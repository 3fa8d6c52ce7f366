"""The root of every error crosscheck raises, and the nearest names its messages suggest.

Every exception the project defines derives from `CrosscheckError`, so a caller (the CLI,
the flows, the workbench) can tell the project's own refusals from a bug. A fault (disk full,
memory) is not a problem of one file or one rule: the run cannot go on. The loader and the
rule runner let faults through (`is_fault`) instead of recording them as a failed file or
rule; the run pipeline records the run as failed and says `describe(exc)`, one line that
names the cause and the path. Messages that say
"did you mean ...?" (a mistyped key, column, function, setting) take their names from
`closest` / `did_you_mean` here.
"""
from __future__ import annotations

import difflib
import errno
import re
import signal
from typing import Iterable

from crosscheck.lifetime import Stopped, stop_signal_of

#: How alike two names must be (difflib's ratio) for one to be suggested for the other.
CUTOFF = 0.6


class CrosscheckError(Exception):
    """An error of crosscheck's own: bad input, a setting, a rule file, a busy store, a refused action."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates most like `name`, closest first (none alike enough: empty)."""
    pool = list(dict.fromkeys(candidates))
    by_case = {c.lower(): c for c in pool}
    return [by_case[c] for c in difflib.get_close_matches(name.lower(), list(by_case), n=n, cutoff=CUTOFF)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean amount?' for the closest candidate, or '' when none is alike."""
    found = closest(name, candidates, n=1)
    return f"; did you mean {found[0]}?" if found else ""


def closest_first(name: str, candidates: Iterable[str]) -> list[str]:
    """Every candidate once: the ones most like `name` first, then the others in their order."""
    pool = list(dict.fromkeys(candidates))
    near = closest(name, pool)
    return near + [c for c in pool if c not in near]


#: What the operating system or DuckDB says when a disk or a quota is full.
_DISK_FULL = re.compile(r"no space left on device|disk quota exceeded|not enough space on the disk", re.I)
_OUT_OF_MEMORY = re.compile(r"out of memory|could not allocate|failed to allocate|memory limit", re.I)
#: A quoted absolute path in an error message (DuckDB quotes the file it could not write).
_PATH = re.compile(r"""["'](/[^"'\n]+)["']""")


def interrupted(exc: BaseException) -> bool:
    """DuckDB's answer to a signal that came during a query: the signal's own exception is lost,
    this is raised instead. The process was asked to stop: no file or rule is to blame."""
    return type(exc) is RuntimeError and str(exc) == "Query interrupted"


def _kind(exc: BaseException) -> str:
    """'disk full', 'out of memory', 'interrupted' or '' for an exception that is not a fault."""
    if interrupted(exc):
        return "interrupted"
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
    if kind == "interrupted" and not stop_signal_of(exc):
        return "interrupted by a signal during a query: the run was stopped before it finished"
    if kind == "out of memory":
        limit = f" (duckdb_memory_limit {memory_limit})" if memory_limit else ""
        return f"out of memory{limit}{where}: lower duckdb_memory_limit in crosscheck.toml or free memory, and run again"
    first = (str(exc).strip().splitlines() or [""])[0]
    said = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    signum = stop_signal_of(exc)
    if signum and not isinstance(exc, Stopped):  # what unwound a stopped run (a flow's termination, an interrupted query)
        return f"{signal.Signals(signum).name} received: stopped before it finished ({said})"
    return said
