"""Backups taken while crosscheck works, and restores that give back everything acknowledged.

Real processes: a workbench server with reviewers posting dispositions, a real nightly
`crosscheck run` of the sample city held while it loads (at a checkpoint, tests/pausing.py), and
`crosscheck backup` / `crosscheck restore` as an operator runs them. Restored into an empty
folder, the backup holds every action the workbench acknowledged before the backup started,
and an audit log that is the live one up to the backup, entry for entry.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

from processes import held_run, kill_tagged, new_tag, recorded_runs, wait_for
from workbench_helpers import PASSWORD, REPO, Server, build_store, key_of, logged_in, write_project

from crosscheck.casework import Casework, Settings, casework_path
from crosscheck.service.backup import attachments_path

REVIEWERS = ["rev0", "rev1", "rev2"]


def crosscheck(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crosscheck.cli", *args], cwd=str(REPO), capture_output=True,
                          text=True, timeout=600, env=env)


def _audit(database: Path) -> list[tuple]:
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return con.execute("SELECT audit_id, at, user, action, finding_key, before, after, via FROM audit "
                           "ORDER BY audit_id").fetchall()
    finally:
        con.close()


def _only_backup(folder: Path) -> Path:
    (found,) = [p for p in folder.iterdir() if p.name.startswith("crosscheck-backup-")]
    return found


class Reviewers:
    """Reviewers posting dispositions to the workbench until told to stop; every answer the
    workbench acknowledged is kept with the moment it came back."""

    def __init__(self, server: Server, work: dict[str, list[str]]):
        self.clients = {name: logged_in(server, name) for name in work}
        self.work = work
        self.acknowledged: list[tuple[float, str, str, str]] = []  # (monotonic time, reviewer, key, note)
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._review, args=(name,)) for name in work]

    def _review(self, name: str) -> None:
        n = 0
        while not self.stop.is_set():
            key = self.work[name][n % len(self.work[name])]
            note = f"{name} 核查第 {n} 次"
            r = self.clients[name].post(f"/api/clues/{key}/disposition",
                                        {"disposition": ("confirmed", "false_positive", "explained")[n % 3], "note": note})
            if r.status_code == 200:
                self.acknowledged.append((time.monotonic(), name, key, note))
            else:
                self.failures.append(f"{name} {key}: {r.status_code} {r.text}")
            n += 1

    def __enter__(self) -> "Reviewers":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_a_backup_during_a_nightly_run_with_reviewers_writing_restores_everything_acknowledged(
        tmp_path, sample_city, crosscheck_cmd):
    system = tmp_path / "system"
    store = build_store(system)
    attachments = attachments_path(store)
    (attachments / "clue-1").mkdir(parents=True)
    (attachments / "clue-1" / "整改报告.pdf").write_bytes(b"%PDF-1.4 rectification report\n")
    with Casework.open(casework_path(store)) as cw:
        for name in REVIEWERS:
            cw.add_user(name, "reviewer", PASSWORD)
    server = Server(store, write_project(tmp_path / "project")).start()
    tag = new_tag()
    try:
        boss = logged_in(server, "boss")
        deadline = (Settings().today() + timedelta(days=7)).isoformat()
        live = [i for i in range(40) if i % 3 != 2]                      # not the draft rule's
        work = {name: [key_of(i) for i in live[n * 4:(n + 1) * 4]] for n, name in enumerate(REVIEWERS)}
        for name, keys in work.items():
            assert boss.post("/api/assign", {"keys": keys, "assignee": name, "deadline": deadline}).status_code == 200

        nightly = held_run(sample_city, system, "load", tag, store=store)  # every rule: a nightly run
        with Reviewers(server, work) as reviewers:
            wait_for(lambda: len(reviewers.acknowledged) >= 10, 60, "the reviewers got nothing done")
            backup_started = time.monotonic()
            done = crosscheck("backup", str(tmp_path / "backups"), "--store", str(store))
            assert done.returncode == 0, done.stderr
            assert nightly.poll() is None  # the run was at work (loading) all along: the backup did not wait for it
            (system / "held-load").unlink()                              # the run goes on, records, publishes
            out, err = nightly.communicate(timeout=600)
        assert nightly.returncode == 0, err
        assert not reviewers.failures, reviewers.failures[:5]
    finally:
        server.stop()
        kill_tagged(tag)

    before_backup = [(who, key, note) for t, who, key, note in reviewers.acknowledged if t < backup_started]
    assert len(before_backup) >= 10 and len(reviewers.acknowledged) > len(before_backup)  # writes went on throughout

    backup = _only_backup(tmp_path / "backups")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in backup.rglob("*") if p.is_file())
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert {f["role"] for f in manifest["files"]} == {"store", "casework", "attachment"}

    empty = tmp_path / "restored"
    done = crosscheck("restore", str(backup), "--store", str(empty / "crosscheck.duckdb"))
    assert done.returncode == 0, done.stderr
    restored_casework = casework_path(empty / "crosscheck.duckdb")
    con = sqlite3.connect(f"file:{restored_casework}?mode=ro", uri=True)
    reviews = set(con.execute("SELECT reviewer, finding_key, note FROM reviews").fetchall())
    con.close()
    missing = [a for a in before_backup if a not in reviews]
    assert not missing, f"{len(missing)} acknowledged before the backup are not in it: {missing[:3]}"

    restored_audit, live_audit = _audit(restored_casework), _audit(casework_path(store))
    assert [row[0] for row in restored_audit] == list(range(1, len(restored_audit) + 1))  # no entry lost
    assert restored_audit == live_audit[:len(restored_audit)]                           # each as it was written
    assert len(live_audit) > len(restored_audit)                                        # the live one went on

    assert [r["status"] for r in recorded_runs(empty / "crosscheck.duckdb")] == ["ok"]   # r1; the nightly was loading
    assert len(recorded_runs(store)) == 2
    assert (attachments_path(empty / "crosscheck.duckdb") / "clue-1" / "整改报告.pdf").read_bytes().startswith(b"%PDF")
    listing = crosscheck("runs", "list", "--store", str(empty / "crosscheck.duckdb"))
    assert listing.returncode == 0 and "r1" in listing.stdout, listing.stderr


RECORD = textwrap.dedent("""
    import sys
    from crosscheck.store import Store
    from pausing import PauseAt
    from workbench_helpers import D2, rows, the_run
    with Store.open(sys.argv[1], lock_timeout=60) as st:  # held inside its transaction until the file goes
        st.record_run(the_run("r2", D2, rows(60)), checkpoint=PauseAt("record", sys.argv[2], 300))
    print("recorded r2")
""")


def test_a_backup_waits_for_a_run_that_is_recording_and_holds_it_whole(tmp_path):
    store = build_store(tmp_path / "system")
    script = tmp_path / "record.py"
    script.write_text(RECORD, encoding="utf-8")
    in_transaction = tmp_path / "in-transaction"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    run = subprocess.Popen([sys.executable, str(script), str(store), str(in_transaction)], cwd=str(REPO), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    backup = None
    try:
        wait_for(lambda: in_transaction.exists() or run.poll() is not None, 60, "the run never reached its transaction")
        backup = subprocess.Popen([sys.executable, "-m", "crosscheck.cli", "backup", str(tmp_path / "backups"),
                                   "--store", str(store)], cwd=str(REPO), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        waiting = backup.stderr.readline()                       # said once, when it starts waiting
        assert "is busy" in waiting and "run r2" in waiting, waiting
        assert backup.poll() is None and run.poll() is None
        in_transaction.unlink()                                   # the run commits; the backup goes on
        assert "recorded r2" in run.communicate(timeout=120)[0]
        out, err = backup.communicate(timeout=120)
        assert backup.returncode == 0, err
    finally:
        for proc in (run, backup):
            if proc is not None and proc.poll() is None:
                proc.kill()
    restored = tmp_path / "restored" / "crosscheck.duckdb"
    done = crosscheck("restore", str(_only_backup(tmp_path / "backups")), "--store", str(restored))
    assert done.returncode == 0, done.stderr
    assert len(recorded_runs(restored)) == 2                       # the run, whole
    with Casework.open(casework_path(restored), read_only=True) as cw:
        assert [r["run_id"] for r in cw.rows("SELECT run_id FROM runs ORDER BY seq")] == ["r1", "r2"]  # and published


def test_restore_refuses_a_live_system_and_a_damaged_backup_and_keep_prunes(tmp_path):
    store = build_store(tmp_path / "system")
    for _ in range(3):
        assert crosscheck("backup", str(tmp_path / "backups"), "--store", str(store), "--keep", "2").returncode == 0
    kept = sorted(p for p in (tmp_path / "backups").iterdir())
    assert len(kept) == 2
    newest = kept[-1]

    live_before = (store.stat().st_mtime_ns, casework_path(store).read_bytes())
    refused = crosscheck("restore", str(newest), "--store", str(store))
    assert refused.returncode == 2 and "refusing to overwrite a live system" in refused.stderr
    assert (store.stat().st_mtime_ns, casework_path(store).read_bytes()) == live_before

    forced = crosscheck("restore", str(newest), "--store", str(store), "--force")
    assert forced.returncode == 0, forced.stderr

    not_one = crosscheck("restore", str(tmp_path / "backups"), "--store", str(tmp_path / "other" / "s.duckdb"))
    assert not_one.returncode == 2 and newest.name in not_one.stderr  # a folder of backups: names the newest

    damaged = newest / casework_path(store).name
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")
    refused = crosscheck("restore", str(newest), "--store", str(tmp_path / "other" / "s.duckdb"))
    assert refused.returncode == 2 and damaged.name in refused.stderr and "differs from the manifest" in refused.stderr
    assert not (tmp_path / "other" / "s.duckdb").exists()


def test_a_manifest_cannot_point_outside_its_backup(tmp_path):
    store = build_store(tmp_path / "system")
    assert crosscheck("backup", str(tmp_path / "backups"), "--store", str(store)).returncode == 0
    backup = _only_backup(tmp_path / "backups")
    whole = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    for path in ("../outside.txt", "/etc/passwd"):
        manifest = {**whole, "files": whole["files"] + [{"path": path, "role": "attachment", "size": 1, "sha256": "0" * 64}]}
        (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        refused = crosscheck("restore", str(backup), "--store", str(tmp_path / "other" / "s.duckdb"))
        assert refused.returncode == 2 and "leaves the backup" in refused.stderr, (path, refused.stderr)
