"""Processes that stop when told and leave nothing running behind them.

- `stop_on_signals()`: while it is active, SIGTERM or SIGINT raises `Stopped` (naming the
  signal) in the main thread, so the code in progress unwinds through its own failure path
  (`crosscheck run` records the run as failed, with the signal named). A further signal
  meanwhile is ignored: the first one is being handled. The process remembers it was asked
  (`stop_requested`): a DuckDB query turns the exception raised inside it into "Query
  interrupted", which a caller may take for an ordinary error, so `stoppable` steps end the
  run at the next step, and `stop_signal_of` names the signal whatever unwound the code.
- `quick_teardown()`: a process that ends skips the interpreter's last collection of its
  heap (seconds, for a flow process's pandas, Prefect and GX objects on a busy machine).
- `die_with_parent(watch)`: called first in a child process (the validation worker), it makes
  the child end when the process that started it ends, however that ends (SIGKILL included):
  on Linux the kernel's parent-death signal (PR_SET_PDEATHSIG), everywhere a pipe from the
  parent whose end the child watches (`parent_watch()` makes it; the parent keeps the other
  end open while it lives).
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

#: The signals that ask a process to stop: a service manager's (SIGTERM) and a terminal's (SIGINT).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1


class Stopped(BaseException):
    """The process was asked to stop (SIGTERM or SIGINT). A BaseException, like
    KeyboardInterrupt: no `except Exception` on the way mistakes it for a failed step."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"{self.name} received: stopped before it finished")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


_requested: list[int] = []  # the stop signal this process received, once asked


def stop_requested() -> int | None:
    """The signal that asked this process to stop (under `stop_on_signals`), if one did."""
    return _requested[0] if _requested else None


def stoppable(name: str, fn, *args):
    """A pipeline step (crosscheck.pipeline.run.Step) that first ends the run if it was asked to
    stop and the exception got lost on the way."""
    signum = stop_requested()
    if signum is not None:
        raise Stopped(signum)
    return fn(*args)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise `Stopped` in the main thread meanwhile (once; later ones are
    ignored while the first unwinds); the previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame) -> None:
        if _requested:
            return
        _requested.append(signum)
        raise Stopped(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stop_signal_of(exc: BaseException) -> int | None:
    """The signal that asked the process to stop, if one did: `Stopped`, Ctrl-C's
    KeyboardInterrupt or an exception carrying its signal number (a Prefect flow's
    termination), in `exc` or what it was raised from; else the one this process received."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Stopped):
            return exc.signum
        if isinstance(exc, KeyboardInterrupt):
            return signal.SIGINT
        found = getattr(exc, "signal", None)
        if isinstance(found, int) and not isinstance(found, bool):
            return found
        exc = exc.__cause__ or exc.__context__
    return stop_requested()


def quick_teardown() -> None:
    """At exit, after the exit handlers registered before this call (they flush and close what
    they own), move every object into the collector's permanent generation: the interpreter's
    final collection then skips them, and the memory goes back with the process."""
    atexit.register(gc.freeze)


def parent_watch():
    """A pipe for `die_with_parent`: (the end the child watches, the end this process keeps).
    The child sees the end of the pipe when this process closes its end or ends."""
    import multiprocessing

    return multiprocessing.Pipe(duplex=False)


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Linux: the kernel sends `signum` to this process when its parent ends. False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, watch=None) -> None:
    """End this (child) process when `parent_pid` ends: the parent-death signal, and a thread
    that waits on `watch` (the child's end of `parent_watch()`) and ends the process when the
    parent's end closes. A parent already gone ends it at once."""
    set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent ended before the signal was set
        os._exit(1)
    if watch is None:
        return

    def wait_for_parent() -> None:
        try:
            while True:
                watch.recv()
        except (EOFError, OSError):
            os._exit(1)

    threading.Thread(target=wait_for_parent, name="crosscheck-parent-watch", daemon=True).start()
