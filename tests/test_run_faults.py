"""Faults are said plainly, recorded, and someone hears of them.

Real faults, no mocks: the canonical cache on a tmpfs too small for the load (disk full),
a run SIGKILLed mid-load, and nights the schedule expected a run for but got none. Each
run alerts a real json:// receiver on loopback.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, SAMPLE_AS_OF
from receivers import HttpReceiver

from pausing import paused_run

RULES = "pension_paid_after_death,pension_no_sign_of_life"


@pytest.fixture(scope="module")
def receiver():
    r = HttpReceiver()
    yield r
    r.close()


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSCHECK_TEST_")}
    env.update(extra)
    return env


def _run(crosscheck_cmd, delivery: Path, out: Path, store: Path, *args: str, env: dict | None = None,
         popen: bool = False, pause: tuple[str, Path] | None = None):
    """`crosscheck run ...`; `pause`: (moment, signal file) where it stops (tests/pausing.py)."""
    run = ["run", "--extracts", str(delivery), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), "--store", str(store), *args]
    cmd = paused_run(*pause, run) if pause else [*crosscheck_cmd, *run]
    if popen:
        return subprocess.Popen(cmd, env=env or _env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env or _env(), capture_output=True, text=True, timeout=600)


def _runs(store: Path) -> list[dict]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute("SELECT run_id, status, scope, error FROM runs ORDER BY seq")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs: far too small for the sample city's canonical tables."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): the disk-full test needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_disk_full_is_one_line_recorded_as_failed_and_alerted(crosscheck_cmd, sample_city, tmp_path, small_disk, receiver):
    store = tmp_path / "store.duckdb"
    before = len(receiver.posts)
    proc = _run(crosscheck_cmd, sample_city, tmp_path / "out", store, "--rules", RULES, "--alert", receiver.url("disk"),
                env=_env(CROSSCHECK_CACHE_DIR=str(small_disk / "cache")))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    err = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert len(err) == 1 and "disk full" in err[0] and str(small_disk) in err[0], err
    runs = _runs(store)
    assert [r["status"] for r in runs] == ["failed"] and "disk full" in runs[0]["error"]
    notices = [p for p in receiver.posts[before:] if p["_path"] == "/disk"]
    assert len(notices) == 1 and "运行失败" in notices[0]["title"] and "disk full" in notices[0]["message"]
    assert runs[0]["run_id"] in notices[0]["message"]
    # --debug adds the traceback
    proc = _run(crosscheck_cmd, sample_city, tmp_path / "out2", store, "--rules", RULES, "--debug",
                env=_env(CROSSCHECK_CACHE_DIR=str(small_disk / "cache")))
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_a_killed_run_is_recorded_failed_by_the_next_run_which_says_so(crosscheck_cmd, sample_city, tmp_path, receiver):
    store = tmp_path / "store.duckdb"
    done = _run(crosscheck_cmd, sample_city, tmp_path / "first", store)
    assert done.returncode == 0, done.stderr
    signal_file = tmp_path / "paused"
    proc = _run(crosscheck_cmd, sample_city, tmp_path / "killed", store, "--rules", RULES, popen=True,
                pause=("load", signal_file))
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    killed_id = json.loads(next((store.parent / f".{store.name}.runs").glob("*.json")).read_text())["run_id"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    listing = subprocess.run([*crosscheck_cmd, "runs", "list", "--store", str(store)], capture_output=True, text=True)
    assert killed_id in listing.stdout and "recorded by the next run" in listing.stdout
    before = len(receiver.posts)
    nxt = _run(crosscheck_cmd, sample_city, tmp_path / "next", store, "--rules", RULES, "--alert", receiver.url("kill"))
    assert nxt.returncode == 0, nxt.stderr
    runs = {r["run_id"]: r for r in _runs(store)}
    assert runs[killed_id]["status"] == "failed" and "ended without finishing" in runs[killed_id]["error"]
    notices = [p for p in receiver.posts[before:] if p["_path"] == "/kill" and "运行失败" in p["title"]]
    assert len(notices) == 1 and killed_id in notices[0]["title"]
    listing = subprocess.run([*crosscheck_cmd, "runs", "list", "--store", str(store)], capture_output=True, text=True).stdout
    first_id = next(r for r in runs.values() if r["scope"] == "complete")["run_id"]
    assert f"last complete run: {first_id}" in listing and "finished" in listing
    assert "ended without finishing" in listing


def test_missed_scheduled_nights_are_said_by_the_next_run(crosscheck_cmd, sample_city, tmp_path, receiver):
    store = tmp_path / "store.duckdb"
    done = _run(crosscheck_cmd, sample_city, tmp_path / "first", store)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(store))
    con.execute("UPDATE runs SET finished_at = finished_at - INTERVAL 3 DAY, started_at = started_at - INTERVAL 3 DAY")
    con.close()
    before = len(receiver.posts)
    nxt = _run(crosscheck_cmd, sample_city, tmp_path / "next", store, "--rules", RULES, "--alert", receiver.url("missed"))
    assert nxt.returncode == 0, nxt.stderr
    summary = json.loads((tmp_path / "next" / "summary.json").read_text(encoding="utf-8"))
    assert len(summary["missed_schedules"]) >= 2
    assert "scheduled night(s) missed" in nxt.stdout
    digests = [p for p in receiver.posts[before:] if p["_path"] == "/missed"]
    assert digests and "计划运行未完成" in digests[0]["message"]
    assert "计划的夜间运行未完成" in (tmp_path / "next" / "report.html").read_text(encoding="utf-8")
