"""Spark on a real cluster, not only local mode: a standalone master and two workers started
from pyspark's own launcher on 127.0.0.1 (nothing downloaded), `spark_master` pointing at it,
and the sample city through `crosscheck run --engine spark`: the same findings as DuckDB on
every rule (the equality test of the two engines: each rule's outcome, count and amount,
each finding with its evidence and sources), with crosscheck and the name-similarity UDFs
shipped to the executors (README, "Pointing the nightly flow at a cluster"), and the
run's work folder removed afterwards.

Skipped, saying why, without Java 17+ or pyspark.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_AS_OF

from crosscheck.config import ProjectConfig
from crosscheck.spark_engine import unavailable_reason

SPARK_MISSING = unavailable_reason(ProjectConfig.load())
pytestmark = pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark cluster test skipped: {SPARK_MISSING}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _wait(log: Path, pattern: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text(errors="replace")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"{log.name}: exited early:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    raise AssertionError(f"{log.name}: no '{pattern}' in {seconds} s:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A master and two workers (one core, 1 GB each); yields the master URL."""
    base = tmp_path_factory.mktemp("spark-cluster")
    port, ui = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOG_DIR": str(base / "logs"), "SPARK_WORKER_DIR": str(base / "work")}
    procs = []
    try:
        master_log = base / "master.log"
        master = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(port), "--webui-port", str(ui)],
                                  stdout=master_log.open("w"), stderr=subprocess.STDOUT, env=env)
        procs.append(master)
        _wait(master_log, r"I have been elected leader|Starting Spark master", master)
        url = f"spark://127.0.0.1:{port}"
        for i in (1, 2):
            log = base / f"worker{i}.log"
            worker = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                                       "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()),
                                       "--work-dir", str(base / f"work{i}")],
                                      stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
            procs.append(worker)
            _wait(log, r"Successfully registered with master", worker)
        yield url, base
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _project(base: Path, master: str, work: Path) -> Path:
    """A project whose crosscheck.toml points the engine at the cluster, as the README says."""
    project = base / "project"
    for folder in ("connectors", "rules"):
        shutil.copytree(REPO / folder, project / folder)
    (project / "docs").symlink_to(REPO / "docs", target_is_directory=True)
    text = (REPO / "crosscheck.toml").read_text(encoding="utf-8")
    text = text.replace("[crosscheck]\n", f'[crosscheck]\nengine = "spark"\nspark_master = "{master}"\n'
                                          f'spark_work_dir = "{work}"\n', 1)
    text += '\n[crosscheck.spark_conf]\n"spark.executor.memory" = "768m"\n"spark.cores.max" = "2"\n'
    (project / "crosscheck.toml").write_text(text, encoding="utf-8")
    return project


def _findings(out: Path) -> list[str]:
    return sorted((out / "findings.csv").read_text(encoding="utf-8-sig").splitlines()[1:])


def _outcomes(out: Path) -> list[tuple]:
    """Each rule's outcome, findings and amount at risk, from the run's summary.json."""
    rules = json.loads((out / "summary.json").read_text(encoding="utf-8"))["rules"]
    return [(r["rule_id"], r["status"], r["findings"], round(r["amount_at_risk"] or 0, 2)) for r in rules]


def test_the_sample_city_on_a_cluster_finds_what_duckdb_finds(cluster, sample_city, crosscheck_cmd, tmp_path):
    url, base = cluster
    work = tmp_path / "shared-work"
    work.mkdir()
    project = _project(tmp_path, url, work)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    common = ["run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--no-record", "--no-mask"]
    on_cluster = subprocess.run([*crosscheck_cmd, *common, "--project", str(project), "--out", str(tmp_path / "spark")],
                                capture_output=True, text=True, timeout=1200, env=env)
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:]
    duck = subprocess.run([*crosscheck_cmd, *common, "--engine", "duckdb", "--out", str(tmp_path / "duckdb")],
                          capture_output=True, text=True, timeout=600)
    assert duck.returncode == 0, duck.stderr
    assert "FAILED" not in on_cluster.stdout and "SKIPPED" not in on_cluster.stdout, on_cluster.stdout
    assert _outcomes(tmp_path / "spark") == _outcomes(tmp_path / "duckdb")
    assert {status for _, status, _, _ in _outcomes(tmp_path / "duckdb")} == {"ok"}
    assert _findings(tmp_path / "spark") == _findings(tmp_path / "duckdb")   # every finding, its evidence, its sources
    assert len(_findings(tmp_path / "duckdb")) > 40
    # both workers ran an executor for the run, and each fetched the crosscheck package the run shipped
    executors = list(base.glob("work*/app-*/*/stderr"))
    assert len({p.parts[-4] for p in executors}) == 2, executors
    assert len(list(base.glob("work*/app-*/*/crosscheck.zip"))) == 2
    assert list(work.iterdir()) == []   # the run's Parquet hand-over folder was removed
