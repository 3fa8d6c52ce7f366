"""A run ends with everything it started, however it ends.

Real `crosscheck run` processes on the sample city, held at a known point by the test hook
(at a checkpoint, tests/pausing.py), then: SIGKILL (the validation worker must not outlive the run: the
kernel's parent-death signal and the pipe it watches end it), SIGTERM and SIGINT (the run
stops, is recorded as failed with the signal named, and leaves nothing running).
"""
from __future__ import annotations

import signal
import subprocess

import pytest

from processes import (assert_recorded_stopped, descendants, held_run, kill_tagged, new_tag, stopped_by,
                       tagged_env, wait_for)

RULES = "pension_paid_after_death,pension_no_sign_of_life"


def _workers(pid: int) -> dict[int, str]:
    return {p: c for p, c in descendants(pid).items() if "multiprocessing" in c}


def test_a_killed_run_leaves_no_validation_worker(crosscheck_cmd, sample_city, tmp_path):
    tag = new_tag()
    try:
        proc = held_run(sample_city, tmp_path, "load", tag, "--rules", RULES)
        workers = wait_for(lambda: _workers(proc.pid), 60, "the run started no validation worker")
        stopped_by(proc, tag, signal.SIGKILL)
        assert workers  # they were there, and are gone with the run
    finally:
        kill_tagged(tag)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_a_stopped_run_is_recorded_failed_naming_the_signal_and_leaves_nothing(crosscheck_cmd, sample_city, tmp_path,
                                                                               signum):
    tag = new_tag()
    name = signal.Signals(signum).name
    try:
        proc = held_run(sample_city, tmp_path, "load", tag, "--rules", RULES)
        wait_for(lambda: _workers(proc.pid), 60, "the run started no validation worker")
        stopped_by(proc, tag, signum)
        out, err = proc.communicate(timeout=30)
    finally:
        kill_tagged(tag)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "failed" in lines[0], err
    assert_recorded_stopped(proc, tmp_path / "store.duckdb", signum)
    assert not list((tmp_path / ".store.duckdb.runs").glob("*.json"))  # recorded now, not left to the next run


def test_sigterm_in_the_middle_of_real_work_names_the_signal(crosscheck_cmd, sample_city, tmp_path):
    """No hook: the signal lands wherever the run is, inside a DuckDB query as likely as not
    (DuckDB then answers "Query interrupted" instead of the signal's exception)."""
    tag = new_tag()
    log = tmp_path / "run.log"
    proc = subprocess.Popen([*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", "2026-11-01",
                             "--out", str(tmp_path / "out"), "--store", str(tmp_path / "store.duckdb"),
                             "--log-file", str(log)],
                            env=tagged_env(tag, CROSSCHECK_CACHE_DIR=str(tmp_path / "cache")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: log.exists() and "started" in log.read_text(encoding="utf-8"), 300, "the run never started")
        stopped_by(proc, tag, signal.SIGTERM)
    finally:
        kill_tagged(tag)
    assert_recorded_stopped(proc, tmp_path / "store.duckdb", signal.SIGTERM)
    assert "failed" in log.read_text(encoding="utf-8").splitlines()[-1]
