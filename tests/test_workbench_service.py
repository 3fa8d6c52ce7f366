"""The workbench as a service: a health a monitoring tool can watch, and clean stops.

A real `crosscheck workbench` on 127.0.0.1 (tests/workbench_helpers.py): `GET /healthz` answers
without a login and says nothing of the data; it says 503 when the casework database cannot be
read where it lives. SIGTERM (one server process or several) and SIGINT stop it with reviewers
connected, and nothing it started is left running.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from processes import kill_tagged, new_tag, stopped_by, tagged, tagged_env, wait_for
from workbench_helpers import REPO, build_store, free_port, logged_in, write_project

from crosscheck import __version__
from crosscheck.casework import casework_path


class Workbench:
    """`crosscheck workbench` with every process of it tagged."""

    def __init__(self, tmp_path, workers: int = 1, extra: tuple[str, ...] = ()):
        self.store = build_store(tmp_path)
        self.tag = new_tag()
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "workbench.log"
        with open(self.log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crosscheck.cli", "workbench", "--store", str(self.store), "--project",
                 str(write_project(tmp_path / "project")), "--port", self.url.rsplit(":", 1)[1], "--workers", str(workers), *extra],
                cwd=str(REPO), env=tagged_env(self.tag), stdout=out, stderr=subprocess.STDOUT)

        def answers():
            assert self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(answers, 60, lambda: "the workbench did not start: " + self.log.read_text())

    def stopped_by(self, signum: int) -> int:
        assert self.proc.pid in tagged(self.tag)
        return stopped_by(self.proc, self.tag, signum)

    def close(self) -> None:
        kill_tagged(self.tag)


@pytest.fixture
def workbench(tmp_path):
    wb = Workbench(tmp_path)
    yield wb
    wb.close()


def test_healthz_needs_no_login_and_shows_no_data(workbench):
    r = httpx.get(workbench.url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "version": __version__, "database": "reachable"}
    assert "set-cookie" not in r.headers and r.headers["cache-control"] == "no-store"


def test_healthz_says_503_while_the_casework_database_cannot_be_read(workbench):
    reviewer = logged_in(workbench, "li")
    database = casework_path(workbench.store)
    moved = database.with_name("elsewhere.sqlite")
    os.replace(database, moved)                          # the disk it lived on went away, say
    try:
        r = httpx.get(workbench.url + "/healthz")
        assert r.status_code == 503 and r.json() == {"ok": False, "version": __version__, "database": "unreachable"}
    finally:
        os.replace(moved, database)
    assert httpx.get(workbench.url + "/healthz").json()["ok"] is True
    assert reviewer.get("/api/clues").status_code == 200


@pytest.mark.parametrize("workers, signum", [(1, signal.SIGTERM), (2, signal.SIGTERM), (1, signal.SIGINT)],
                         ids=["SIGTERM", "SIGTERM-two-workers", "SIGINT"])
def test_a_signal_stops_the_workbench_with_reviewers_connected_and_leaves_nothing(tmp_path, workers, signum):
    wb = Workbench(tmp_path, workers=workers)
    try:
        reviewers = [logged_in(wb, name) for name in ("li", "wang", "boss")]  # keep-alive connections open
        assert all(r.get("/api/clues").status_code == 200 for r in reviewers)
        code = wb.stopped_by(signum)
    finally:
        wb.close()
    assert code in (0, -signum), code  # stopped cleanly (uvicorn ends by the signal it was given)
    assert "Traceback" not in wb.log.read_text(), wb.log.read_text()


def test_server_processes_end_with_the_workbench_however_it_ends(tmp_path):
    wb = Workbench(tmp_path, workers=2)
    try:
        assert wb.stopped_by(signal.SIGKILL) == -signal.SIGKILL
    finally:
        wb.close()
