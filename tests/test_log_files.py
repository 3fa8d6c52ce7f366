"""Log files an operator keeps: one line per event, rotated, plain or JSON, identity numbers masked.

A real `crosscheck run --log-file` on a delivery whose path holds an identity number (a case
folder named after the person), a project whose crosscheck.toml asks for JSON lines, a real
workbench with --log-file, and several processes writing one rotating file at once.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap

from conftest import REPO, SAMPLE_AS_OF
from test_workbench_service import Workbench

PERSON = "420202195001011234"


def test_a_run_s_events_go_to_its_log_file_one_line_each_masked(crosscheck_cmd, sample_city, tmp_path):
    delivery = tmp_path / f"个案_{PERSON}" / "2026-11-01"
    shutil.copytree(sample_city, delivery)
    log = tmp_path / "logs" / "crosscheck.log"
    done = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(delivery), "--as-of", SAMPLE_AS_OF.isoformat(),
                           "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.duckdb"), "--no-mask",
                           "--rules", "pension_paid_after_death", "--log-file", str(log)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line.split()[1:3] for line in lines] == [["INFO", "crosscheck.pipeline.run"]] * 2
    assert "started" in lines[0] and "finished" in lines[1]
    assert PERSON not in log.read_text(encoding="utf-8") and "420202********1234" in lines[0]
    assert log.stat().st_mode & 0o777 == 0o600
    assert "started" not in done.stderr  # the console says what it always said


def test_json_lines_as_crosscheck_toml_asks(crosscheck_cmd, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "crosscheck.toml").write_text(textwrap.dedent(f"""
        [crosscheck]
        connectors_dir = "{REPO / 'connectors'}"
        rules_dir = "{REPO / 'rules'}"
        store = "store.duckdb"
        log_file = "logs/events.jsonl"
        log_json = true
    """), encoding="utf-8")
    delivery = tmp_path / f"个案_{PERSON}"
    (delivery / "household_registry").mkdir(parents=True)
    (delivery / "household_registry" / "residents.csv").write_bytes(b"\xff\xfe not a csv")
    done = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(delivery), "--as-of", "2026-11-01",
                           "--out", str(tmp_path / "out"), "--project", str(project)],
                          capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in (project / "logs" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert events and all(set(e) >= {"time", "level", "logger", "pid", "message"} for e in events), events
    assert events[0]["message"].startswith("run ") and "started" in events[0]["message"]
    assert "420202********1234" in events[0]["message"]
    assert "finished" in events[-1]["message"] and done.returncode == 0, (events, done.stderr)
    assert PERSON not in (project / "logs" / "events.jsonl").read_text(encoding="utf-8"), done.stderr


WRITER = textwrap.dedent("""
    import logging, sys
    from crosscheck.service.logfile import EventLine, SharedRotatingFile
    handler = SharedRotatingFile(sys.argv[1], max_bytes=20_000, keep=1000)
    handler.setFormatter(EventLine(json_lines=True))
    log = logging.getLogger("writer")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for i in range(1500):
        log.info("writer %s line %d " + "x" * 40, sys.argv[2], i)
""")


def test_processes_sharing_one_log_file_rotate_it_once_and_cut_no_line(tmp_path):
    log = tmp_path / "shared.log"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    writers = [subprocess.Popen([sys.executable, str(script), str(log), name], cwd=str(REPO)) for name in "ab"]
    assert all(w.wait(timeout=300) == 0 for w in writers)
    files = [log, *sorted(tmp_path.glob("shared.log.*[0-9]"))]
    assert len(files) > 5                                            # it was rotated, many times
    events = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    seen = sorted((e["message"].split()[1], int(e["message"].split()[3])) for e in events)
    assert seen == sorted((name, i) for name in "ab" for i in range(1500))  # each line once, whole
    assert all(f.stat().st_size <= 20_000 + 200 for f in files)


def test_the_workbench_logs_its_start_and_stop(tmp_path):
    log = tmp_path / "logs" / "workbench.log"
    wb = Workbench(tmp_path, extra=("--log-file", str(log)))
    try:
        wb.stopped_by(signal.SIGTERM)
    finally:
        wb.close()
    said = log.read_text(encoding="utf-8")
    assert "INFO crosscheck.workbench" in said and "workbench on http://127.0.0.1:" in said
    assert said.strip().splitlines()[-1].endswith("Finished server process [%d]" % wb.proc.pid)
