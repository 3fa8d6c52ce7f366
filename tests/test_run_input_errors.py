"""Bad input to `crosscheck run` gets a clear answer, and loses nothing else.

Through the installed command, as an analyst types it: the folder of deliveries instead
of one delivery, a district not in the data, a parameter of a rule not selected, an
as-of date in the future, and a rule file (and a view file) that does not load.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_AS_OF


@pytest.fixture
def run_cli(crosscheck_cmd, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*crosscheck_cmd, "run", "--as-of", SAMPLE_AS_OF.isoformat(), *args],
                              capture_output=True, text=True, timeout=600)

    return run


def test_a_folder_of_deliveries_is_refused_naming_the_delivery_inside(run_cli, sample_city, tmp_path):
    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    (deliveries / "2026-10-01").mkdir()
    (deliveries / sample_city.name).symlink_to(sample_city, target_is_directory=True)
    proc = run_cli("--extracts", str(deliveries), "--out", str(tmp_path / "out"), "--no-record")
    assert proc.returncode == 2, proc.stdout
    err = proc.stderr
    assert "not a delivery" in err and "social_security" in err and "household_registry" in err
    assert f"did you mean --extracts {deliveries / sample_city.name}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_district_lists_the_districts_present(run_cli, sample_city, tmp_path):
    proc = run_cli("--extracts", str(sample_city), "--districts", "江岸区", "--out", str(tmp_path / "out"), "--no-record")
    assert proc.returncode == 2
    assert "江岸区" in proc.stderr and "districts present" in proc.stderr and "阳新县" in proc.stderr
    assert not (tmp_path / "out" / "report.html").exists()


def test_a_parameter_of_a_rule_not_selected_is_an_error(run_cli, sample_city, tmp_path):
    proc = run_cli("--extracts", str(sample_city), "--rules", "pension_paid_after_death",
                   "--param", "pension_no_sign_of_life.min_age=85", "--no-record", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "not selected" in proc.stderr and "pension_no_sign_of_life" in proc.stderr


def test_an_as_of_date_after_today_is_a_warning(crosscheck_cmd, sample_city, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", "2099-01-01",
                           "--rules", "pension_paid_after_death", "--no-record", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "warning: as-of 2099-01-01 is after today" in proc.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert any("2099-01-01" in w for w in summary["warnings"])


@pytest.fixture
def project_with_broken_files(tmp_path):
    """A copy of the project whose medical_split_admission.yaml has a YAML error and whose
    household_links view does not validate."""
    project = tmp_path / "project"
    for folder in ("connectors", "rules"):
        shutil.copytree(REPO / folder, project / folder)
    shutil.copy(REPO / "crosscheck.toml", project / "crosscheck.toml")
    rule = project / "rules" / "medical" / "medical_split_admission.yaml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("\nseverity: medium\n", "\nseverity: [medium\n", 1), encoding="utf-8")
    view = project / "rules" / "_views" / "household_links.yaml"
    view.write_text(view.read_text(encoding="utf-8").replace("steps:", "stepz:", 1), encoding="utf-8")
    return project


def test_a_broken_rule_file_refuses_only_the_rules_that_need_it(run_cli, sample_city, tmp_path, project_with_broken_files):
    project = project_with_broken_files
    out = tmp_path / "one"
    proc = run_cli("--project", str(project), "--extracts", str(sample_city), "--rules", "pension_paid_after_death",
                   "--no-record", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "medical_split_admission.yaml:" in proc.stdout and "household_links.yaml:" in proc.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in summary["rules"]] == ["ok"]

    out = tmp_path / "all"
    proc = run_cli("--project", str(project), "--extracts", str(sample_city), "--no-record", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rules = {r["rule_id"]: r for r in json.loads((out / "summary.json").read_text(encoding="utf-8"))["rules"]}
    assert rules["medical_split_admission"]["status"] == "failed"
    assert "medical_split_admission.yaml:" in rules["medical_split_admission"]["reason"]
    assert rules["dibao_cadre_household_unfiled"]["status"] == "failed"
    assert "needs view household_links" in rules["dibao_cadre_household_unfiled"]["reason"]
    assert rules["pension_paid_after_death"]["status"] == "ok"
    assert rules["medical_visit_after_death"]["status"] == "ok"
    assert "FAILED" in proc.stdout

    proc = run_cli("--project", str(project), "--extracts", str(sample_city), "--rules", "medical_split_admission",
                   "--no-record", "--out", str(tmp_path / "none"))
    assert proc.returncode == 2 and "medical_split_admission.yaml:" in proc.stderr
