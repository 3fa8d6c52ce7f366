"""A run on Spark stopped by SIGTERM leaves no Spark driver: a real `crosscheck run --engine spark`
(local mode) held after its first rule, while Spark's JVM runs, then SIGTERM. Slow: Spark's
start-up on a busy machine takes most of its two minutes."""
from __future__ import annotations

import signal

import pytest

from processes import assert_recorded_stopped, held_run, kill_tagged, new_tag, stopped_by, tagged

from crosscheck.config import ProjectConfig
from crosscheck.engines.spark import unavailable_reason

SPARK_MISSING = unavailable_reason(ProjectConfig.load())


@pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark tests skipped: {SPARK_MISSING}")
def test_sigterm_to_a_run_on_spark_leaves_no_driver(crosscheck_cmd, sample_city, tmp_path):
    tag = new_tag()
    try:
        proc = held_run(sample_city, tmp_path, "rules", tag, "--rules", "pension_paid_after_death",
                        "--engine", "spark")
        assert any("java" in command for command in tagged(tag).values()), tagged(tag)  # the driver runs
        stopped_by(proc, tag, signal.SIGTERM)
    finally:
        kill_tagged(tag)
    assert_recorded_stopped(proc, tmp_path / "store.duckdb", signal.SIGTERM)
