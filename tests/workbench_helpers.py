"""A findings store with clues, accounts, and a real `crosscheck workbench` server on 127.0.0.1
for the workbench tests (no mocks of the server: HTTP over a socket to a subprocess)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crosscheck.casework import Casework, Clock, casework_path
from crosscheck.store import Store, finding_key
from devtools.run_builders import finding, make_run

REPO = Path(__file__).resolve().parents[1]
D1, D2 = date(2026, 10, 1), date(2026, 11, 1)
PENSION, DIBAO, SHADOW = "pension_paid_after_death", "dibao_paid_after_head_death", "pension_shadow_model"
DOMAINS = {PENSION: "pension", DIBAO: "civil_affairs", SHADOW: "pension"}
HOSTILE_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://evil.example/x","点我")'
PASSWORD = "correct horse 9"
DISTRICTS = ("大冶市", "阳新县")

#: user -> (role, districts, domains, unmask)
ACCOUNTS = {
    "admin1": ("admin", (), (), False),
    "boss": ("supervisor", (), (), False),
    "boss_dy": ("supervisor", ("大冶市",), (), True),
    "li": ("reviewer", ("大冶市",), (), False),
    "li2": ("reviewer", ("大冶市",), (), False),
    "wang": ("reviewer", ("阳新县",), (), False),
    "mz": ("department", (), ("civil_affairs",), False),
    "rs": ("department", (), ("pension",), False),
    "locked1": ("reviewer", (), (), False),
    "locked2": ("reviewer", (), (), False),
}


def person(i: int) -> str:
    return f"4202021950{i:08d}"


def rows(n: int = 40, *, amount_shift: int = 0) -> list[dict]:
    out = []
    for i in range(n):
        rule = (PENSION, DIBAO, SHADOW)[i % 3]
        name = HOSTILE_NAME if i == 0 else FORMULA_NAME if i == 1 else f"张{i:02d}明"
        out.append(finding(rule, person(i), amount=100 + 7 * i + amount_shift, district=DISTRICTS[i % 2],
                           name=name, severity=("high", "medium", "low")[i % 3],
                           evidence={"months": 3 + i % 5, "death_date": "2025-01-01", "payer": f"社保局{i % 4}"}))
    return out


def the_run(run_id: str, as_of: date, found: list[dict]):
    run = make_run(run_id, as_of, found, rules={PENSION: "ok", DIBAO: "ok", SHADOW: "ok"})
    for o in run.rules:
        o.domain = DOMAINS.get(o.rule_id, "")
        o.rule_status = "draft" if o.rule_id == SHADOW else "stable"
        o.personal = {"subject": "identity"}
        o.title_zh = {PENSION: "死亡后仍发放养老金", DIBAO: "低保户主死亡后仍发放", SHADOW: "试运行模型"}.get(o.rule_id, o.rule_id)
        o.title_en = {PENSION: "Pension paid after death", DIBAO: "Allowance paid after the head's death",
                      SHADOW: "Shadow model"}.get(o.rule_id, o.rule_id)
    return run


def key_of(i: int) -> str:
    return finding_key((PENSION, DIBAO, SHADOW)[i % 3], person(i), "")


def build_store(folder: Path, n: int = 40) -> Path:
    """A store with one complete run of ``n`` findings (a third of them a draft rule's) and every account."""
    store = folder / "crosscheck.duckdb"
    with Store.open(store) as st:
        st.record_run(the_run("r1", D1, rows(n)))
    with Casework.open(casework_path(store)) as cw:
        for name, (role, districts, domains, unmask) in ACCOUNTS.items():
            cw.add_user(name, role, PASSWORD, districts=districts, domains=domains, unmask=unmask)
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_project(folder: Path, *, rules_dir: str | None = None, **workbench) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[crosscheck]", 'timezone = "Asia/Shanghai"'] + ([f"rules_dir = {rules_dir!r}"] if rules_dir else [])
    lines += ["", "[workbench]"]
    lines += [f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
              for k, v in workbench.items()]
    (folder / "crosscheck.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


class FileClock(Clock):
    """The system's clock moved forward by the seconds written in a file: a test lets 15
    minutes or 10 days pass by writing there (`Server.move_clock`)."""

    def __init__(self, path: Path):
        self.path = path

    def now(self) -> datetime:
        try:
            offset = float(self.path.read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return super().now() + timedelta(seconds=offset)


class Server:
    """`crosscheck workbench` in a subprocess on a free port of 127.0.0.1; with ``clock_file``,
    the same application built with a `FileClock` (tests/workbench_server.py)."""

    def __init__(self, store: Path, project: Path, clock_file: Path | None = None):
        self.store, self.project, self.clock_file = store, project, clock_file
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"),
                                                           os.environ.get("PYTHONPATH", "")]))
        if self.clock_file is None:
            command = [sys.executable, "-m", "crosscheck.cli", "workbench", "--store", str(self.store), "--project",
                       str(self.project), "--port", str(self.port)]
        else:
            self.clock_file.write_text("0", encoding="utf-8")
            command = [sys.executable, str(REPO / "tests" / "workbench_server.py"), str(self.store), str(self.project),
                       str(self.port), str(self.clock_file)]
        self.log = open(self.project / "server.log", "w", encoding="utf-8")
        self.proc = subprocess.Popen(command, cwd=str(REPO), env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the workbench did not start: " + (self.project / "server.log").read_text())
            time.sleep(0.2)

    def move_clock(self, seconds: float) -> None:
        self.clock_file.write_text(str(seconds), encoding="utf-8")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class Client:
    """One browser's worth of state: the session cookie and the CSRF token login returned."""

    def __init__(self, server: Server):
        self.http = httpx.Client(base_url=server.url, timeout=20)
        self.csrf = ""

    def login(self, user: str, password: str = PASSWORD) -> httpx.Response:
        r = self.http.post("/api/login", json={"username": user, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post(self, path: str, body: dict | None = None, csrf: str | None = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf} if (csrf is None or csrf) else {}
        return self.http.post(path, json=body if body is not None else {}, headers=headers)

    def close(self) -> None:
        self.http.close()


def logged_in(server: Server, user: str) -> Client:
    c = Client(server)
    r = c.login(user)
    assert r.status_code == 200, r.text
    return c


@pytest.fixture(scope="module")
def boss(server):
    """The supervisor of every district, logged in to the module's ``server``."""
    c = logged_in(server, "boss")
    yield c
    c.close()
