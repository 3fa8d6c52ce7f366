"""The next delivery at its edges: a new file put before the kept files it copies rows of,
and a run killed while it writes a part or a table segment (the next run never uses it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLE_AS_OF
from test_incremental import _rows, _write


def test_a_file_that_sorts_before_the_files_it_copies_gives_the_cold_result(sample_city, crosscheck_cmd, tmp_path):
    """A new file put before a kept one, holding copies of its rows: the copies now dropped
    are the kept file's, as in a cold load (the table is loaded again from its files)."""
    second = tmp_path / "second"
    shutil.copytree(sample_city, second, ignore=shutil.ignore_patterns("_truth"))
    header, rows = _rows(second / "transit_card" / "taps_recent.csv")
    _write(second / "transit_card" / "taps_0_resent.csv", header, rows[:5])

    def run(delivery: Path, as_of: str, out: str, cache: str) -> dict:
        env = {**os.environ, "CROSSCHECK_CACHE_DIR": str(tmp_path / cache)}
        proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(delivery), "--as-of", as_of, "--out",
                               str(tmp_path / out), "--no-record", "--rules", "transit_card_used_after_death"],
                              capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / out / "summary.json").read_text(encoding="utf-8"))

    run(sample_city, SAMPLE_AS_OF.isoformat(), "first", "warm")
    incremental = run(second, SAMPLE_AS_OF.isoformat(), "incremental", "warm")
    cold = run(second, SAMPLE_AS_OF.isoformat(), "cold", "cold")
    taps = lambda s: [(f["file"], f["rows_loaded"], f["duplicates_dropped"]) for f in s["files"] if f["table"] == "taps"]  # noqa: E731
    assert taps(incremental) == taps(cold)
    assert dict((f, d) for f, _, d in taps(cold))["transit_card/taps_recent.csv"] >= 5
    for name in ("findings.csv", "quarantine.csv"):
        assert (tmp_path / "incremental" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes(), name


@pytest.mark.parametrize("phase", ["part", "segment"])
def test_a_part_killed_half_written_is_never_used(sample_city, crosscheck_cmd, tmp_path, phase):
    import signal
    import time

    from pausing import paused_run

    cache = tmp_path / "cache"
    signal_file = tmp_path / "paused"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CROSSCHECK_TEST_")}, "CROSSCHECK_CACHE_DIR": str(cache)}
    run = ["run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--no-record",
           "--rules", "pension_paid_after_death"]
    args = [*crosscheck_cmd, *run]
    proc = subprocess.Popen(paused_run(phase, signal_file, [*run, "--out", str(tmp_path / "killed")]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    temps = list((cache / "parts").rglob("*.tmp"))
    assert temps, f"the killed run was writing a {phase}"
    accounts = [p for p in (cache / "parts").rglob("*.json") if not p.name.startswith("state-")]
    # no part without its rows: each names a segment that is there
    assert all((p.parent / json.loads(p.read_text(encoding="utf-8"))["segment"]).is_file() for p in accounts)
    states = list((cache / "parts").rglob("state-*.json"))
    assert all(p.with_name(p.name.replace("state-", "seg-").replace(".json", ".duckdb")).is_file() for p in states)
    done = subprocess.run([*args, "--out", str(tmp_path / "next")], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "next" / "summary.json").read_text(encoding="utf-8"))
    assert all(f["balanced"] for f in summary["files"])
    cold = subprocess.run([*args, "--out", str(tmp_path / "cold")], capture_output=True, text=True, timeout=600,
                          env={**env, "CROSSCHECK_CACHE_DIR": str(tmp_path / "cold-cache")})
    assert cold.returncode == 0, cold.stderr
    assert (tmp_path / "next" / "findings.csv").read_bytes() == (tmp_path / "cold" / "findings.csv").read_bytes()
