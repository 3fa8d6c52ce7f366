"""crosscheck.toml is checked before anything runs: a wrong key or type names the key, the value and its line."""
from __future__ import annotations

import subprocess

import pytest

from conftest import REPO
from crosscheck.config import ProjectConfig, SettingsError


def project(tmp_path, text: str):
    (tmp_path / "crosscheck.toml").write_text(
        f'[crosscheck]\nconnectors_dir = "{REPO / "connectors"}"\nrules_dir = "{REPO / "rules"}"\n' + text, encoding="utf-8")
    return tmp_path


def test_a_value_of_the_wrong_type_names_key_value_and_line(tmp_path):
    with pytest.raises(SettingsError) as raised:
        ProjectConfig.load(project(tmp_path, 'timezone = "Asia/Shanghai"\nload_retries = "two"\n'))
    message = str(raised.value)
    assert "crosscheck.toml: load_retries 'two': " in message and message.endswith("(line 5)"), message


def test_an_unknown_key_is_refused_with_its_line_and_the_nearest_name(tmp_path):
    with pytest.raises(SettingsError, match=r"crosscheck.toml: unknown setting 'load_retrys' \(line 4\); did you mean load_retries\?"):
        ProjectConfig.load(project(tmp_path, "load_retrys = 3\n"))


def test_tables_name_their_table(tmp_path):
    with pytest.raises(SettingsError, match=r"\[workbench\] port '80': .* \(line 6\)"):
        ProjectConfig.load(project(tmp_path, '\n[workbench]\nport = "80"\n'))
    text = '\n[alerts]\n[[alerts.channels]]\nurl = "json://a"\n[[alerts.channels]]\nurl = "json://b"\nmin_severity = "urgent"\n'
    with pytest.raises(SettingsError, match=r"\[\[alerts.channels\]\] #2 min_severity 'urgent': .* \(line 10\)"):
        ProjectConfig.load(project(tmp_path, text))
    with pytest.raises(SettingsError, match=r"unknown table \[workbnech\] \(line 5\); did you mean workbench\?"):
        ProjectConfig.load(project(tmp_path, "\n[workbnech]\nport = 1\n"))


def test_good_values_load_and_defaults_hold(tmp_path):
    config = ProjectConfig.load(project(tmp_path, 'load_retries = 0\nload_retry_wait = 1\n\n[workbench]\nwarn_days = 5\n'))
    assert (config.load_retries, config.load_retry_wait, config.workbench.warn_days) == (0, 1.0, 5)
    assert config.workbench.port == 8765 and config.alerts.min_severity == "high"


def test_the_run_refuses_a_bad_setting_before_anything_runs(tmp_path, crosscheck_cmd):
    folder = project(tmp_path, "store_lock_timeout = -1\n")
    out = tmp_path / "out"
    done = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(tmp_path), "--project", str(folder), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "store_lock_timeout -1: " in done.stderr and "(line 4)" in done.stderr
    assert not out.exists()
