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
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_AS_OF
from sparkcluster import cluster_project, standalone_cluster

from crosscheck.config import ProjectConfig
from crosscheck.engines.spark import unavailable_reason

SPARK_MISSING = unavailable_reason(ProjectConfig.load())
pytestmark = pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark cluster test skipped: {SPARK_MISSING}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A master and two workers (one core, 1 GB each); yields the master URL and their folder."""
    base = tmp_path_factory.mktemp("spark-cluster")
    with standalone_cluster(base, workers=2, cores=1, memory="1g") as url:
        yield url, base


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
    project = cluster_project(tmp_path / "project", REPO, url, work)
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
