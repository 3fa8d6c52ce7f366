"""The deployment examples in deploy/: every systemd unit passes `systemd-analyze verify` (Debian's
systemd package; `make deploy-tools` installs it), each service restarts on failure as a user of
its own with the system read-only and a private /tmp, and the example project file loads."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

from crosscheck.config import ProjectConfig

DEPLOY = REPO / "deploy"
UNITS = sorted(DEPLOY.glob("*.service")) + sorted(DEPLOY.glob("*.timer"))
INSTALLED = "/opt/crosscheck"  # where docs/operations.md installs the checkout


def _rendered(tmp_path: Path) -> list[Path]:
    """The units as installed from this checkout: its folder and its virtual environment."""
    out = []
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        text = text.replace(f"{INSTALLED}/.venv/bin", str(Path(sys.executable).parent)).replace(INSTALLED, str(REPO))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
        out.append(tmp_path / unit.name)
    return out


def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package; `make deploy-tools` installs it)")
    units = _rendered(tmp_path)
    assert {u.name for u in units} >= {"crosscheck-prefect.service", "crosscheck-serve.service",
                                       "crosscheck-workbench.service"}
    done = subprocess.run(["systemd-analyze", "verify", *map(str, units)], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and not said, said  # a warning (an unknown key, a bad value) fails too


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_each_service_runs_confined_as_its_own_user(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(unit.read_text(encoding="utf-8"))
    service = parser["Service"]
    assert service["User"] == "crosscheck" and service["ProtectSystem"] == "strict" and service["PrivateTmp"] == "true"
    assert service.get("Restart") == "on-failure" or service["Type"] == "oneshot"


def test_the_example_project_file_loads(tmp_path, monkeypatch):
    for name in ("CROSSCHECK_STORE", "CROSSCHECK_CACHE_DIR", "CROSSCHECK_LOG_FILE"):  # the tests' own
        monkeypatch.delenv(name, raising=False)
    shutil.copy(DEPLOY / "crosscheck.toml", tmp_path / "crosscheck.toml")
    config = ProjectConfig.load(tmp_path)
    assert config.store == Path("/var/lib/crosscheck/crosscheck.duckdb")
    assert config.cache_dir == Path("/var/lib/crosscheck/cache")
    assert config.log_file == Path("/var/log/crosscheck/crosscheck.log") and config.workbench.secure_cookies
