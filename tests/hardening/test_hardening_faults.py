"""Faults: `crosscheck run` SIGKILLed during load, during rules and during report writing;
two runs at once on one store.

Each killed run leaves the findings store exactly as before the run (logical content,
table by table), no report.html (the file reviewers open, written last, temp name then
rename), only complete files under final names, and the next run succeeds. A second
run waits for the store or, past its lock timeout, fails with a clear "busy" message.
Pauses use checkpoints handed to the command (tests/pausing.py, crosscheck.checkpoints: load, rules, reports).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from crosscheck.config import ProjectConfig
from crosscheck.pipeline.run import RunRequest, RunSession
from crosscheck.store import StoreBusy
from pausing import paused_run

from hardening_figures import record

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 1)
RULES = "pension_paid_after_death,pension_no_sign_of_life"


def fingerprint(store: Path) -> dict[str, tuple[int, str]]:
    """Table -> (rows, md5 of its sorted rows): the store's logical content, WAL or not."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {
            t: tuple(con.execute(
                f'SELECT count(*), coalesce(md5(string_agg(CAST(x AS VARCHAR), chr(10) ORDER BY CAST(x AS VARCHAR))), \'\') FROM "{t}" x'
            ).fetchall()[0])
            for t in tables
        }
    finally:
        con.close()


def complete(path: Path) -> bool:
    """A final-named report file is whole (parses to the end)."""
    if path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".csv":
        list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    elif path.suffix == ".xlsx":
        import openpyxl

        openpyxl.load_workbook(path, read_only=True).close()
    elif path.suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    return True


#: The moments (crosscheck.checkpoints) these tests kill `crosscheck run` at.
PHASES = ("load", "rules", "reports")


def cli(delivery: Path, out: Path, store: Path, *, pause: str | None = None, seconds: float = 120,
        signal_file: Path | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSCHECK_TEST_")}
    run = ["run", "--extracts", str(delivery), "--as-of", AS_OF.isoformat(), "--out", str(out), "--store", str(store),
           "--rules", RULES]
    cmd = paused_run(pause, signal_file, run, seconds) if pause else [sys.executable, "-m", "crosscheck.cli", *run]
    return subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 150) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before its pause: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("run never reached its pause")
        time.sleep(0.1)


def run_in_process(delivery: Path, out: Path, store: Path, config: ProjectConfig | None = None):
    return RunSession(RunRequest(extracts=delivery, as_of=AS_OF, out=out, store=store, rules=RULES.split(",")), config).execute()


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    """A small delivery: pensions and the household registry (enough for the rules run here)."""
    from devtools.sample import generate_city

    city = tmp_path_factory.mktemp("fcity") / "city"
    generate_city(city, people=200, seed=9, as_of=AS_OF)
    root = tmp_path_factory.mktemp("fdelivery") / "2026-11-01"
    for folder in ("social_security", "household_registry"):
        shutil.copytree(city / folder, root / folder)
    return root


@pytest.fixture(scope="module")
def baseline(delivery, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("fbase") / "store.duckdb"
    run_in_process(delivery, tmp_path_factory.mktemp("fbase-out") / "r", store)
    return store


@pytest.fixture(scope="module")
def killed(delivery, baseline, tmp_path_factory):
    """One run per phase, started together, each SIGKILLed at its pause."""
    before = fingerprint(baseline)
    work = tmp_path_factory.mktemp("killed")
    runs = {}
    for phase in PHASES:
        store = work / phase / "store.duckdb"
        store.parent.mkdir()
        for p in baseline.parent.glob(baseline.name + "*"):
            if not p.name.endswith(".lock"):
                shutil.copy(p, store.parent / p.name.replace(baseline.name, store.name))
        signal_file = work / f"{phase}.paused"
        runs[phase] = (cli(delivery, work / phase / "out", store, pause=phase, signal_file=signal_file), store, signal_file)
    busy_message = None
    for phase, (proc, store, signal_file) in runs.items():
        wait_for(signal_file, proc)
        if phase == "reports":  # the killed run holds the store: an ad-hoc run now must wait, then give up clearly
            config = dataclasses.replace(ProjectConfig.load(), store_lock_timeout=1)
            with pytest.raises(StoreBusy) as info:
                run_in_process(delivery, work / "adhoc-out", store, config)
            busy_message = str(info.value)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    return before, runs, busy_message, work


@pytest.mark.parametrize("phase", PHASES)
def test_killed_run_leaves_store_unchanged_and_no_complete_looking_report(killed, delivery, phase):
    before, runs, _, work = killed
    _, store, _ = runs[phase]
    assert fingerprint(store) == before
    out = work / phase / "out"
    finals = [p for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
    assert "report.html" not in {p.name for p in finals}
    assert all(complete(p) for p in finals)
    temps = [p.name for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []
    # the next run succeeds, on the same store and into the same folder, and records the killed one as failed
    result = run_in_process(delivery, out, store)
    after = fingerprint(store)
    assert after["runs"][0] == before["runs"][0] + 2
    con = duckdb.connect(str(store), read_only=True)
    statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY seq").fetchall()]
    con.close()
    assert statuses[-2] == "failed" and statuses[-1] != "failed", statuses
    assert (out / "report.html").is_file() and complete(out / "report.html")
    record("fault", f"SIGKILL during {phase}", store_unchanged=True, report_html_left=False,
           final_files_left=len(finals), temp_files_left=len(temps), next_run="ok", rows_lost=0,
           run_id=result.run_id)


def test_second_run_gives_up_with_a_clear_busy_message(killed):
    _, _, message, _ = killed
    assert message and "is still busy" in message and "run " in message, message
    record("fault", "ad-hoc run while another run holds the store (lock timeout 1 s)",
           outcome=message.split(";")[0][:120], store_unchanged=True, rows_lost=0)


def test_nightly_and_adhoc_together_both_recorded(delivery, baseline, tmp_path, capfd):
    import threading

    store = tmp_path / "store.duckdb"
    shutil.copy(baseline, store)
    before = fingerprint(store)["runs"][0]
    signal_file = tmp_path / "paused"
    nightly = cli(delivery, tmp_path / "nightly", store, pause="reports", seconds=120, signal_file=signal_file)
    wait_for(signal_file, nightly)          # the nightly run now holds the store, mid-transaction
    adhoc: dict = {}
    thread = threading.Thread(target=lambda: adhoc.update(result=run_in_process(delivery, tmp_path / "adhoc", store)))
    thread.start()
    err, deadline = "", time.monotonic() + 120
    while "is busy" not in err and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.2)
        err += capfd.readouterr().err
    assert "is busy" in err and "waiting" in err, err   # the ad-hoc run says it waits, and for whom
    signal_file.unlink()                     # let the nightly run finish
    _, nightly_err = nightly.communicate(timeout=120)
    thread.join(timeout=120)
    assert nightly.returncode == 0, nightly_err
    assert "result" in adhoc
    assert fingerprint(store)["runs"][0] == before + 2
    assert (tmp_path / "nightly" / "report.html").is_file() and (tmp_path / "adhoc" / "report.html").is_file()
    record("fault", "nightly and ad-hoc runs at once on one store", outcome="second waited ('store ... is busy'), both recorded",
           rows_lost=0, adhoc=adhoc["result"].run_id)
