"""`make serve` stops the way a service manager stops it, and leaves nothing running.

A real `make serve` (a Prefect server on a free port, the nightly and ad-hoc deployments
served) in a session of its own. An ad-hoc flow run through the served deployment runs to its
end; a second one begins while the test holds the findings store locked, and waits; then SIGTERM goes to the whole
process group, as systemd, Docker or a shutdown sends it. Every process started from it (make,
the supervisor, the server, the serve loop, the flow run, its validation worker) must be gone,
and the interrupted run recorded as failed with the signal named.
"""
from __future__ import annotations

import os
import signal
import subprocess

import duckdb
import httpx
import pytest

from conftest import REPO, SAMPLE_AS_OF
from processes import STOPPED_WITHIN, kill_tagged, new_tag, tagged, tagged_env, wait_for
from workbench_helpers import free_port

from crosscheck.store.journal import RunJournal
from crosscheck.store.lock import StoreLock

pytest.importorskip("prefect")

RULES = ["pension_paid_after_death"]


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory):
    return tmp_path_factory.mktemp("prefect-home")


class Serving:
    """`make serve` in a session of its own, every process of it tagged."""

    def __init__(self, tmp_path, prefect_home, *make_args: str, **env):
        self.tag = new_tag()
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api"
        env = tagged_env(self.tag, PREFECT_HOME=str(prefect_home), CROSSCHECK_PREFECT_PORT=str(port),
                         PREFECT_RUNNER_POLL_FREQUENCY="1", CROSSCHECK_CACHE_DIR=str(tmp_path / "cache"), **env)
        env.pop("PREFECT_API_URL", None)
        self.log = open(tmp_path / "serve.log", "w", encoding="utf-8")
        self.proc = subprocess.Popen(["make", "--no-print-directory", "serve", *make_args], cwd=str(REPO), env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.logfile = tmp_path / "serve.log"

    def said(self) -> str:
        return self.logfile.read_text(encoding="utf-8", errors="replace")[-4000:]

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.api + path, timeout=5)
        except httpx.HTTPError:
            return None

    def deployment(self, name: str) -> dict:
        def found():
            assert self.proc.poll() is None, self.said()
            r = self.get(f"/deployments/name/{name}")
            return r.json() if r is not None and r.status_code == 200 else None
        return wait_for(found, 240, lambda: f"deployment {name} never served:\n{self.said()}")

    def start_adhoc(self, delivery, out) -> str:
        """An ad-hoc flow run through the served deployment: its id."""
        deployment = self.deployment("crosscheck-adhoc/adhoc")
        params = {"extracts": str(delivery), "as_of": SAMPLE_AS_OF.isoformat(), "rules": RULES, "out": str(out)}

        def created():  # a busy server answers 503 (its database locked) and creates nothing: asked again
            r = httpx.post(f"{self.api}/deployments/{deployment['id']}/create_flow_run", json={"parameters": params},
                           timeout=30)
            assert r.status_code in (200, 201, 503), r.text
            return r.json()["id"] if r.status_code != 503 else None
        return wait_for(created, 120, lambda: f"the server stayed unavailable:\n{self.said()}")

    def ended(self, flow_run: str) -> dict:
        def state():
            found = httpx.get(f"{self.api}/flow_runs/{flow_run}", timeout=10).json().get("state") or {}
            return found if found.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None
        return wait_for(state, 300, lambda: f"the flow run never ended:\n{self.said()}")

    def close(self) -> None:
        kill_tagged(self.tag)
        self.log.close()


def test_sigterm_to_the_process_group_after_a_flow_ran_leaves_nothing_running(tmp_path, prefect_home, sample_city):
    store = tmp_path / "store.duckdb"
    log = tmp_path / "logs" / "serve.log"
    serving = Serving(tmp_path, prefect_home, f"LOG_FILE={log}", CROSSCHECK_STORE=str(store))
    lock = StoreLock(store)
    try:
        first = serving.start_adhoc(sample_city, tmp_path / "first")
        state = serving.ended(first)
        assert state["type"] == "COMPLETED", (state, serving.said())
        assert (tmp_path / "first" / "report.html").exists()

        lock.acquire(60, what="a test holding the store")  # the second run begins, then waits for it
        serving.start_adhoc(sample_city, tmp_path / "second")
        wait_for(lambda: any(RunJournal(store).folder.glob("*.json")), 300,
                 lambda: f"the second flow run never began:\n{serving.said()}")
        os.killpg(serving.proc.pid, signal.SIGTERM)
        lock.release()  # the stopped run records itself as failed
        serving.proc.wait(timeout=STOPPED_WITHIN)
        wait_for(lambda: not tagged(serving.tag), STOPPED_WITHIN,
                 lambda: f"still running after SIGTERM: {tagged(serving.tag)}\n{serving.said()}")
        assert serving.get("/health") is None  # the server is gone
    finally:
        lock.release()
        serving.close()
    con = duckdb.connect(str(store), read_only=True)
    runs = con.execute("SELECT status, error FROM runs ORDER BY seq").fetchall()
    con.close()
    assert len(runs) == 2 and runs[0][0] != "failed", runs       # the first ran to its end
    assert runs[1][0] == "failed" and "SIGTERM" in runs[1][1], (runs, serving.said())
    events = log.read_text(encoding="utf-8")                       # the service's own log, every process in it
    for said in ("Prefect server started", "serve loop started", "finished: 1 rule(s)",
                 "failed: SIGTERM received: stopped before it finished", "serve loop stopped in",
                 "Prefect server stopped in", "serve stopped by SIGTERM"):
        assert said in events, (said, events)


def test_ctrl_c_stops_the_server_and_the_serve_loop(tmp_path, prefect_home):
    """SIGINT to the foreground process group, as a terminal's Ctrl-C sends it."""
    serving = Serving(tmp_path, prefect_home)
    try:
        serving.deployment("crosscheck-nightly/nightly")
        os.killpg(serving.proc.pid, signal.SIGINT)
        serving.proc.wait(timeout=STOPPED_WITHIN)
        wait_for(lambda: not tagged(serving.tag), STOPPED_WITHIN,
                 lambda: f"still running after SIGINT: {tagged(serving.tag)}\n{serving.said()}")
    finally:
        serving.close()
    assert "Traceback" not in serving.said(), serving.said()
