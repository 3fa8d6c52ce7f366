"""`crosscheck status`, as a monitoring tool calls it: what it says and its exit status.

0 when all is well; 1 when a scheduled night was missed, the last run failed, or a run ended
without finishing; 3 when the store stays busy (a run recording) past --lock-timeout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from workbench_helpers import D1, REPO, FileClock, key_of, rows, the_run

from crosscheck.casework import Casework, casework_path
from crosscheck.store import Store
from crosscheck.store.journal import RunJournal
from crosscheck.store.lock import StoreLock


def status(store, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crosscheck.cli", "status", "--store", str(store), *args],
                          cwd=str(REPO), capture_output=True, text=True, timeout=300, env=env)


def record(store, run_id: str, finished: datetime, *, error: str | None = None) -> None:
    run = the_run(run_id, D1, rows(12))
    run.started_at = run.finished_at = finished
    with Store.open(store) as st:
        if error:
            run.error = error
            st.record_failed(run)
        else:
            st.record_run(run)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "crosscheck.duckdb"
    record(path, "r1", datetime.now(timezone.utc) - timedelta(minutes=5))
    return path


def test_all_well_is_exit_0_with_the_facts_an_operator_needs(store):
    done = status(store)
    assert done.returncode == 0, done.stdout + done.stderr
    said = done.stdout
    assert "last complete run: r1" in said and "missed nights:     none" in said
    assert "next night:" in said and "cron 0 2 * * *" in said
    with Casework.open(casework_path(store), read_only=True) as cw:
        clues = cw.one("SELECT count(*) AS n FROM clues")["n"]
    assert f"clues:             {clues} open, 0 overdue" in said
    assert "cache:" in said and "free disk:" in said and "attention:         nothing" in said
    found = json.loads(status(store, "--json").stdout)
    assert found["problems"] == [] and found["last_complete_run"]["run_id"] == "r1"
    assert found["disk"]["free_bytes"] > 0 and found["clues"] == {"open": clues, "overdue": 0}


def test_a_missed_night_is_exit_1(tmp_path):
    store = tmp_path / "crosscheck.duckdb"
    record(store, "r1", datetime.now(timezone.utc) - timedelta(days=3))
    done = status(store)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "scheduled night(s) missed" in done.stdout
    assert len(json.loads(status(store, "--json").stdout)["missed_nights"]) >= 2


def test_a_failed_last_run_is_exit_1(store):
    record(store, "r2", datetime.now(timezone.utc), error="disk full writing /data/x: free space there")
    done = status(store)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the last run (r2) failed: disk full" in done.stdout
    assert "last complete run: r1" in done.stdout


def test_a_run_that_ended_without_a_word_is_exit_1(store):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    RunJournal(store).start({"run_id": "r9", "as_of": "2026-11-01", "started_at": datetime.now(timezone.utc).isoformat()})
    entry = RunJournal(store).folder / "r9.json"
    entry.write_text(entry.read_text(encoding="utf-8").replace(f'"pid": {os.getpid()}', f'"pid": {gone.pid}'),
                     encoding="utf-8")
    done = status(store)
    assert done.returncode == 1 and "ended without finishing" in done.stdout, done.stdout


def test_overdue_clues_are_counted(store, tmp_path):
    ten_days_ago = tmp_path / "clock"
    ten_days_ago.write_text(str(-10 * 86400), encoding="utf-8")
    with Casework.open(casework_path(store), clock=FileClock(ten_days_ago)) as cw:  # assigned ten days ago
        boss = cw.add_user("boss", "supervisor", "correct horse 9")
        cw.add_user("li", "reviewer", "correct horse 9")
        cw.workflow.bulk_assign(boss, [key_of(0), key_of(1)], "li", (cw.db.today() + timedelta(days=2)).isoformat())
    done = status(store, "--json")  # today: both deadlines have passed
    assert json.loads(done.stdout)["clues"]["overdue"] == 2


def test_a_store_busy_past_the_lock_timeout_is_exit_3(store):
    lock = StoreLock(store)
    lock.acquire(5, what="run r2")
    try:
        done = status(store, "--lock-timeout", "0")
    finally:
        lock.release()
    assert done.returncode == 3 and "run r2" in done.stderr, done.stderr
