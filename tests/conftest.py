"""Shared fixtures: one small synthetic city per test session."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Runs made by tests record their history in a private store, never the project's.
os.environ.setdefault("CROSSCHECK_CACHE_DIR", tempfile.mkdtemp(prefix="crosscheck-test-cache-"))
os.environ["CROSSCHECK_STORE"] = os.path.join(tempfile.mkdtemp(prefix="crosscheck-test-store-"), "store.duckdb")

REPO = Path(__file__).resolve().parents[1]
SAMPLE_AS_OF = date(2026, 11, 1)
#: The seven core rules (pension, transit, medical; docs/rules.md).
CORE_RULES = [
    "pension_paid_after_death",
    "pension_paid_after_hospital_death",
    "transit_card_used_after_death",
    "medical_visit_after_death",
    "pension_no_sign_of_life",
    "pension_duplicate_schemes",
    "pension_identity_mismatch",
]


#: End-to-end test files: a real run over a generated city, a real server, a browser, Spark or
#: Prefect. `make test` (and CI) runs everything; `make check`, the quick loop, leaves these out.
END_TO_END = {
    "test_alerts.py", "test_business_run.py", "test_business_spark.py", "test_delivery_inventory.py",
    "test_domains.py", "test_end_to_end.py", "test_flows.py", "test_history_e2e.py", "test_identity.py",
    "test_incremental.py", "test_incremental_edges.py", "test_masking_attack.py", "test_report_browser.py",
    "test_report_libreoffice.py", "test_run_faults.py", "test_run_history_scope.py", "test_run_input_errors.py",
    "test_sample.py", "test_scale.py", "test_spark.py", "test_spark_cluster.py", "test_sql.py",
    "test_store_safety.py", "test_workbench_api.py", "test_workbench_browser.py", "test_workbench_concurrency.py",
    "test_workbench_day_one.py", "test_workbench_time.py", "test_hardening_delivery.py", "test_hardening_faults.py",
    "test_hardening_lockdown.py", "test_hardening_properties.py",
    "test_backup.py", "test_log_files.py", "test_run_stops.py", "test_serve_stops.py", "test_spark_stops.py",
    "test_status.py", "test_workbench_service.py",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.name in END_TO_END:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sample_city(tmp_path_factory) -> Path:
    """A 4,000-person city written by `crosscheck sample`'s generator."""
    from devtools.sample import generate_city

    out = tmp_path_factory.mktemp("city") / "2026-11-01"
    generate_city(out, people=4000, seed=11, as_of=SAMPLE_AS_OF)
    return out


@pytest.fixture(scope="session")
def crosscheck_cmd() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "crosscheck"
    return [str(script)] if script.exists() else [sys.executable, "-m", "crosscheck.cli"]


@pytest.fixture
def cli(crosscheck_cmd, tmp_path):
    store = tmp_path / "store.duckdb"

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([*crosscheck_cmd, *args, "--store", str(store)], capture_output=True, text=True, timeout=600)
        if ok:
            assert proc.returncode == 0, f"crosscheck {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    run.store = store
    return run


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def con():
    """An in-memory DuckDB connection that installs and loads no extension (nothing downloads)."""
    c = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    yield c
    c.close()


def write(root: Path, rel: str, text: str, encoding: str = "utf-8") -> Path:
    """`text` written as `root/rel` in `encoding` (its folders made): a delivered file."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
