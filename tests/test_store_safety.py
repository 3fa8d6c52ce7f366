"""Store safety with real processes: a killed run leaves history intact; two runs at once wait, not corrupt."""
from __future__ import annotations

import getpass
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from crosscheck.results import TableLoad
from crosscheck.store import Store, StoreBusy, finding_key
from devtools.run_builders import finding, make_run

REPO = Path(__file__).resolve().parents[1]
D1, D2, D3 = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)

SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import date
    from crosscheck.store import Store, StoreBusy
    from devtools.run_builders import finding, make_run

    from crosscheck.checkpoints import carry_on
    from pausing import PauseAt

    store, run_id, as_of, people, timeout = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    hold = PauseAt("record", sys.argv[6], seconds=300) if len(sys.argv) > 6 else carry_on
    rows = [finding("a", f"4202021950{i:08d}", amount=i) for i in range(people)]
    try:
        with Store.open(store, lock_timeout=timeout) as st:
            st.record_run(make_run(run_id, as_of, rows), checkpoint=hold)
    except StoreBusy as exc:
        print(exc, file=sys.stderr)
        sys.exit(3)
    print("recorded", run_id)
    """
)


def pid_key(i: int) -> str:
    return finding_key("a", f"4202021950{i:08d}", "")


def start(tmp_path: Path, store: Path, run_id: str, as_of: date, people: int, *, timeout: float = 60,
          signal_file: Path | None = None) -> subprocess.Popen:
    """A process recording a run; with `signal_file`, it stops inside its transaction, creating the
    file, until the test deletes it (tests/pausing.py)."""
    script = tmp_path / "record.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    held = [str(signal_file)] if signal_file is not None else []
    return subprocess.Popen(
        [sys.executable, str(script), str(store), run_id, as_of.isoformat(), str(people), str(timeout), *held],
        cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def said(proc: subprocess.Popen, words: str) -> str:
    """What the process wrote on stderr up to the line holding `words` (it said it, an event)."""
    seen = ""
    for line in proc.stderr:
        seen += line
        if words in line:
            return seen
    raise AssertionError(f"the process ended without saying {words!r}: {seen}")


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("process never reached its transaction")
        time.sleep(0.05)


def test_sigkill_mid_transaction_leaves_history_intact(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", f"4202021950{i:08d}", amount=i) for i in range(50)]))
    signal_file = tmp_path / "in-transaction"
    proc = start(tmp_path, store, "r2-killed", D2, 80, signal_file=signal_file)
    wait_for(signal_file, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with Store.open(store, lock_timeout=5, read_only=True) as st:   # the kernel released the dead process's lock
        assert [r["run_id"] for r in st.runs()] == ["r1"]
    with Store.open(store, lock_timeout=5) as st:
        assert [r["run_id"] for r in st.runs()] == ["r1"]
        counts = st.con.execute(
            "SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM finding_keys), "
            "(SELECT count(*) FROM run_rules), (SELECT count(*) FROM resolved)").fetchall()[0]
        assert counts == (50, 50, 1, 0)
        r3 = st.record_run(make_run("r3", D3, [finding("a", f"4202021950{i:08d}", amount=i) for i in range(40, 80)]))
    status = dict(zip(r3.findings.column("finding_key").to_pylist(), r3.findings.column("status").to_pylist()))
    assert status[pid_key(45)] == "recurring" and status[pid_key(60)] == "new"
    assert r3.counts["a"] == {"findings": 40, "new": 30, "recurring": 10, "resolved": 40, "suppressed": 0}
    first_seen = dict(zip(r3.findings.column("finding_key").to_pylist(), r3.findings.column("first_seen").to_pylist()))
    assert first_seen[pid_key(45)] == D1 and first_seen[pid_key(60)] == D3


def test_two_processes_at_once_second_waits_then_records(tmp_path):
    store = tmp_path / "h.duckdb"
    signal_file = tmp_path / "a-in-transaction"
    a = start(tmp_path, store, "nightly", D1, 30, signal_file=signal_file)
    wait_for(signal_file, a)
    b = start(tmp_path, store, "adhoc", D2, 40)
    waiting = said(b, "is busy")                     # b found the store busy and waits
    signal_file.unlink()                             # a goes on and commits; then b records
    out_a, err_a = a.communicate(timeout=60)
    out_b, err_b = b.communicate(timeout=60)
    err_b = waiting + err_b
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert "recorded nightly" in out_a and "recorded adhoc" in out_b
    busy = [line for line in err_b.splitlines() if "is busy" in line]
    assert len(busy) == 1, err_b
    assert busy[0].startswith(f"store {store} is busy (run nightly by {getpass.getuser()} since ")
    assert busy[0].endswith("); waiting…")
    with Store.open(store, read_only=True) as st:
        runs = st.runs()
        assert [r["run_id"] for r in runs] == ["adhoc", "nightly"]
        assert (runs[0]["new"], runs[0]["recurring"]) == (10, 30)
        assert st.con.execute("SELECT count(*) FROM findings").fetchall()[0][0] == 70


def test_second_process_gives_up_after_timeout(tmp_path):
    store = tmp_path / "h.duckdb"
    signal_file = tmp_path / "a-in-transaction"
    a = start(tmp_path, store, "nightly", D1, 10, signal_file=signal_file)
    wait_for(signal_file, a)
    b = start(tmp_path, store, "adhoc", D2, 10, timeout=0.5)
    out_b, err_b = b.communicate(timeout=60)         # a holds the store until b has given up
    assert b.returncode == 3, (out_b, err_b)
    assert "is busy (run nightly" in err_b and "still busy after 0.5 s (run nightly by" in err_b
    signal_file.unlink()
    a.communicate(timeout=60)
    assert a.returncode == 0
    with Store.open(store, read_only=True) as st:
        assert [r["run_id"] for r in st.runs()] == ["nightly"]


def test_in_process_lock_timeout_raises_store_busy(tmp_path):
    store = tmp_path / "h.duckdb"
    signal_file = tmp_path / "a-in-transaction"
    a = start(tmp_path, store, "nightly", D1, 10, signal_file=signal_file)
    wait_for(signal_file, a)
    messages: list[str] = []
    with pytest.raises(StoreBusy, match="still busy"):
        Store.open(store, lock_timeout=0.3, notify=messages.append)
    assert len(messages) == 1 and "run nightly" in messages[0]
    signal_file.unlink()
    a.communicate(timeout=60)
    assert a.returncode == 0


def test_failure_inside_transaction_rolls_back(tmp_path):
    store = tmp_path / "h.duckdb"
    rows = [finding("a", f"4202021950{i:08d}") for i in range(5)]
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, rows))
        bad = make_run("r2", D2, rows[:3])
        bad.loads.append(TableLoad(source="x", table="y", status="loaded", rows="not a number"))  # type: ignore[arg-type]
        with pytest.raises(Exception):
            st.record_run(bad)
        assert [r["run_id"] for r in st.runs()] == ["r1"]
        assert st.con.execute("SELECT count(*) FROM findings").fetchall()[0][0] == 5
        assert st.con.execute("SELECT count(*) FROM resolved").fetchall()[0][0] == 0
        good = st.record_run(make_run("r2", D2, rows[:3]))
    assert good.counts["a"]["resolved"] == 2 and good.counts["a"]["recurring"] == 3


def test_store_file_and_created_folders_are_owner_only(tmp_path):
    folder = tmp_path / "private" / "store"
    store = folder / "crosscheck.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", "420202195001011234")]))
        for p in folder.iterdir():     # database, WAL, lock file
            assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(str(store) + ".lock").stat().st_mode) == 0o600
    before = stat.S_IMODE(tmp_path.stat().st_mode)
    with Store.open(tmp_path / "other.duckdb"):
        pass
    assert stat.S_IMODE(tmp_path.stat().st_mode) == before   # an existing folder is left alone
