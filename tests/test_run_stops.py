"""A run ends with everything it started, however it ends.

Real `crosscheck run` processes on the sample city, held at a known point by the test hook
(crosscheck.testhooks), then: SIGKILL (the validation worker must not outlive the run: the
kernel's parent-death signal and the pipe it watches end it), SIGTERM and SIGINT (the run
stops, is recorded as failed with the signal named, and leaves nothing running).
"""
from __future__ import annotations

import signal

import pytest

from processes import STOPPED_WITHIN, descendants, held_run, kill_tagged, new_tag, recorded_runs, tagged, wait_for

RULES = "pension_paid_after_death,pension_no_sign_of_life"


def _workers(pid: int) -> dict[int, str]:
    return {p: c for p, c in descendants(pid).items() if "multiprocessing" in c}


def test_a_killed_run_leaves_no_validation_worker(crosscheck_cmd, sample_city, tmp_path):
    tag = new_tag()
    try:
        proc = held_run(crosscheck_cmd, sample_city, tmp_path, "load", tag, "--rules", RULES)
        workers = wait_for(lambda: _workers(proc.pid), 60, "the run started no validation worker")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=STOPPED_WITHIN)
        wait_for(lambda: not tagged(tag), STOPPED_WITHIN, lambda: f"still running after the run was killed: {tagged(tag)}")
        assert workers  # they were there, and are gone with the run
    finally:
        kill_tagged(tag)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_a_stopped_run_is_recorded_failed_naming_the_signal_and_leaves_nothing(crosscheck_cmd, sample_city, tmp_path,
                                                                               signum):
    tag = new_tag()
    name = signal.Signals(signum).name
    try:
        proc = held_run(crosscheck_cmd, sample_city, tmp_path, "load", tag, "--rules", RULES)
        wait_for(lambda: _workers(proc.pid), 60, "the run started no validation worker")
        proc.send_signal(signum)
        proc.wait(timeout=STOPPED_WITHIN)
        wait_for(lambda: not tagged(tag), STOPPED_WITHIN, lambda: f"still running after {name}: {tagged(tag)}")
        out, err = proc.communicate(timeout=30)
    finally:
        kill_tagged(tag)
    assert proc.returncode == 128 + signum, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "failed" in lines[0], err
    runs = recorded_runs(tmp_path / "store.duckdb")
    assert [r["status"] for r in runs] == ["failed"] and name in runs[0]["error"], runs
    assert not list((tmp_path / ".store.duckdb.runs").glob("*.json"))  # recorded now, not left to the next run
