"""A nightly run records while reviewers work: a run held inside its findings-store transaction
(a checkpoint that stops it there, tests/pausing.py) and five reviewers posting dispositions to a
real workbench server. Every action is answered while the run is still held (none waits for it),
none is lost, and the run then publishes its clues without touching what the reviewers did."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta

from crosscheck.casework import Casework, Settings, casework_path
from workbench_helpers import PASSWORD, REPO, Server, build_store, key_of, logged_in, write_project

REVIEWERS = [f"rev{i}" for i in range(5)]
PER_REVIEWER = 3

RECORD = textwrap.dedent("""
    import sys
    from crosscheck.store import Store
    from pausing import PauseAt
    from workbench_helpers import D2, rows, the_run
    with Store.open(sys.argv[1], lock_timeout=60) as st:
        st.record_run(the_run("r2", D2, rows(60, amount_shift=0)), checkpoint=PauseAt("record", sys.argv[2]))
    print("recorded r2")
""")


def test_reviewers_never_wait_for_a_recording_run_and_nothing_is_lost(tmp_path):
    store = build_store(tmp_path)
    with Casework.open(casework_path(store)) as cw:
        for name in REVIEWERS:
            cw.add_user(name, "reviewer", PASSWORD)
    server = Server(store, write_project(tmp_path / "project")).start()
    try:
        boss = logged_in(server, "boss")
        deadline = (Settings().today() + timedelta(days=7)).isoformat()
        live = [i for i in range(40) if i % 3 != 2]                    # not the draft rule's
        work = {name: [key_of(i) for i in live[n * PER_REVIEWER:(n + 1) * PER_REVIEWER]] for n, name in enumerate(REVIEWERS)}
        for name, keys in work.items():
            assert boss.post("/api/assign", {"keys": keys, "assignee": name, "deadline": deadline}).status_code == 200
        clients = {name: logged_in(server, name) for name in REVIEWERS}

        signal = tmp_path / "run-in-transaction"
        script = tmp_path / "record.py"
        script.write_text(RECORD, encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
        run = subprocess.Popen([sys.executable, str(script), str(store), str(signal)], cwd=str(REPO), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline_t = time.monotonic() + 60
        while not signal.exists():
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline_t, "the run never reached its transaction"
            time.sleep(0.05)

        answered: list[str] = []
        failures: list[str] = []

        def reviewer(name: str) -> None:
            for n, key in enumerate(work[name]):
                r = clients[name].post(f"/api/clues/{key}/disposition",
                                       {"disposition": ("confirmed", "false_positive", "explained")[n % 3],
                                        "note": f"{name} 核查 {n}", "amount_recovered": 10 + n if n % 3 == 0 else None})
                answered.append(key)
                if r.status_code != 200:
                    failures.append(f"{name} {key}: {r.status_code} {r.text}")

        threads = [threading.Thread(target=reviewer, args=(name,)) for name in REVIEWERS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        cli = subprocess.run([sys.executable, "-m", "crosscheck.cli", "review", "mark", key_of(39), "--as", "误报",
                              "--note", "控制台处置", "--reviewer", "周审", "--store", str(store)],
                             cwd=str(REPO), capture_output=True, text=True, timeout=60,
                             env=env)
        assert run.poll() is None and signal.exists(), "the run must still be inside its transaction"
        assert not failures, failures
        assert len(answered) == len(REVIEWERS) * PER_REVIEWER      # every action answered while the run is held
        assert cli.returncode == 0 and "is busy" not in cli.stderr, cli.stderr

        signal.unlink()                                              # let the run go on and commit
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0 and "recorded r2" in out, err

        with Casework.open(casework_path(store)) as cw:
            for name, keys in work.items():
                for key in keys:
                    clue = cw.clue_facts(key)
                    assert clue["status"] == "answered" and clue["disposition"], (name, key, clue)
                    assert cw.current_review(key)["reviewer"] == name
            reviews = cw.one("SELECT count(*) AS n FROM reviews")["n"]
            dispositions = cw.one("SELECT count(*) AS n FROM audit WHERE action = 'disposition'")["n"]
            published = [r["run_id"] for r in cw.rows("SELECT run_id FROM runs ORDER BY seq")]
            new_clues = cw.one("SELECT count(*) AS n FROM clues")["n"]
        assert reviews == dispositions == len(REVIEWERS) * PER_REVIEWER + 1
        assert published == ["r1", "r2"] and new_clues == 60           # its 20 new findings published too
        assert boss.get(f"/api/clues/{key_of(39)}").json()["disposition"]["reviewer"] == "周审"
    finally:
        server.stop()


