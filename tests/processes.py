"""Finding the processes a test started, and waiting for conditions (Linux /proc).

A test puts `TAG_ENV=<tag>` in the environment of what it starts; every process started
from it (servers, workers, flow runs, a Spark driver) inherits it, so `tagged(tag)` finds
them all, even those whose parent has gone (re-parented processes leave the tree). Zombies
(ended, not yet reaped) are not counted: they run nothing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable

import duckdb

from pausing import paused_run

TAG_ENV = "CROSSCHECK_TEST_TAG"
PROC = Path("/proc")
#: Seconds after which a process asked to stop counts as hung: six times the 10 s the services
#: promise (docs/operations.md), so a loaded machine (the 2-core CI, the Spark tests beside it;
#: `make serve` once needed more than 30 s there to end its Prefect server) does not fail a test;
#: the stop times themselves are measured in bench/, not asserted here.
STOPPED_WITHIN = 60


def new_tag() -> str:
    return uuid.uuid4().hex


def tagged_env(tag: str, base: dict | None = None, **extra: str) -> dict:
    env = dict(os.environ if base is None else base)
    env.update(extra)
    env[TAG_ENV] = tag
    return env


def _state(pid: int) -> str:
    """The process's state letter (R, S, Z, ...), '' when it is gone."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _parent(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    return _state(pid) not in ("", "Z")


def tagged(tag: str) -> dict[int, str]:
    """Living processes whose environment holds the tag: pid -> command line."""
    marker = f"{TAG_ENV}={tag}".encode()
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and alive(int(entry.name)):
            found[int(entry.name)] = command_line(int(entry.name))
    return found


def descendants(pid: int) -> dict[int, str]:
    """Living processes below `pid` in the process tree: pid -> command line."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            children.setdefault(_parent(int(entry.name)), []).append(int(entry.name))
    out, todo = {}, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if alive(p):
            out[p] = command_line(p)
        todo += children.get(p, [])
    return out


def wait_for(condition: Callable[[], object], timeout: float, what: str | Callable[[], str]):
    """Poll `condition` until it is true (returned) or `timeout` seconds pass (AssertionError
    saying `what`). The timeout is generous: it only stops a test that would hang."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(what() if callable(what) else what)
        time.sleep(0.1)


def stopped_by(proc: subprocess.Popen, tag: str, signum: int) -> int:
    """Send `signum` to `proc`; wait for it and for every process of `tag` to be gone (an
    AssertionError names what is left). Its exit status."""
    proc.send_signal(signum)
    code = proc.wait(timeout=STOPPED_WITHIN)
    wait_for(lambda: not tagged(tag), STOPPED_WITHIN,
             lambda: f"still running after {signal.Signals(signum).name}: {tagged(tag)}")
    return code


def assert_recorded_stopped(proc: subprocess.Popen, store: Path, signum: int) -> None:
    """`crosscheck run` ended by `signum`: its exit status says so, and its store has it as failed, the signal named."""
    assert proc.returncode == 128 + signum, proc.communicate()
    runs = recorded_runs(store)
    assert [r["status"] for r in runs] == ["failed"] and f"{signal.Signals(signum).name} received" in runs[0]["error"], runs


def kill_tagged(tag: str) -> None:
    """Clean-up after a failed test: SIGKILL whatever of the tag still runs."""
    for pid in tagged(tag):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def held_run(delivery: Path, tmp_path: Path, moment: str, tag: str,
             *args: str, store: Path | None = None) -> subprocess.Popen:
    """A tagged `crosscheck run` on `delivery` (loading from its files, so with its validation
    worker), recording in `store` (default tmp_path/store.duckdb), held at checkpoint `moment`
    (crosscheck.checkpoints, tests/pausing.py) until tmp_path/held-<moment> is deleted."""
    from conftest import SAMPLE_AS_OF

    held = tmp_path / f"held-{moment}"
    env = tagged_env(tag, CROSSCHECK_CACHE_DIR=str(tmp_path / "cache"))
    args = ["run", "--extracts", str(delivery), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(tmp_path / "out"),
            "--store", str(store or tmp_path / "store.duckdb"), *args]
    proc = subprocess.Popen(paused_run(moment, held, args, seconds=600),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: held.exists() or proc.poll() is not None, 300, f"the run never reached {moment}")
    assert proc.poll() is None, proc.communicate()
    return proc


def recorded_runs(store: Path) -> list[dict]:
    """The runs a findings store recorded, oldest first: status and error."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        return [{"status": s, "error": e} for s, e in con.execute("SELECT status, error FROM runs ORDER BY seq").fetchall()]
    finally:
        con.close()
