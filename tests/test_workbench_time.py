"""The workbench and time, against real servers on 127.0.0.1: a session expires after its
configured lifetime; five wrong passwords lock an account for 15 minutes and it says so;
deadlines turn green, yellow and red in the project's timezone and feed the reminders."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crosscheck.casework import Casework, Settings, casework_path
from workbench_helpers import PASSWORD, FileClock, PENSION, Client, Server, build_store, key_of, logged_in, write_project

DAY = 86400


def test_session_expires_after_its_lifetime(tmp_path):
    store = build_store(tmp_path)
    server = Server(store, write_project(tmp_path / "project", session_seconds=2), clock_file=tmp_path / "clock").start()
    try:
        c = logged_in(server, "boss")
        assert c.get("/api/clues").status_code == 200
        server.move_clock(3)                                           # three seconds pass
        assert c.get("/api/clues").status_code == 401
        assert c.post(f"/api/clues/{key_of(0)}/assign", {"assignee": "li", "deadline": "2099-01-01"}).status_code == 401
        assert c.get("/clues").status_code == 303                     # a page sends you to log in
        assert logged_in(server, "boss").get("/api/clues").status_code == 200
    finally:
        server.stop()


@pytest.fixture(scope="module")
def clocked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clocked")
    store = build_store(folder)
    server = Server(store, write_project(folder / "project", warn_days=3), clock_file=folder / "clock").start()
    yield server
    server.stop()


def test_five_wrong_passwords_lock_the_account_for_15_minutes_and_say_so(clocked):
    for i in range(4):
        r = Client(clocked).login("locked1", f"wrong password {i}")
        assert r.status_code == 401 and "locked" not in r.json()["error"]
    r = Client(clocked).login("locked1", "wrong password 5")
    assert r.status_code == 401 and "locked" in r.json()["error"] and "锁定" in r.json()["error"]
    r = Client(clocked).login("locked1", PASSWORD)                     # the right password, refused
    assert r.status_code == 401
    assert "15 minutes" in r.json()["error"] and "locked_until" in r.json()
    assert Client(clocked).login("locked2", PASSWORD).status_code == 200   # other accounts are untouched
    clocked.move_clock(14 * 60)
    assert Client(clocked).login("locked1", PASSWORD).status_code == 401
    clocked.move_clock(16 * 60)
    assert Client(clocked).login("locked1", PASSWORD).status_code == 200
    with Casework.open(casework_path(clocked.store)) as cw:
        actions = [r["action"] for r in cw.rows("SELECT action FROM audit WHERE user = 'locked1' ORDER BY audit_id")]
    assert actions == ["login_failed"] * 5 + ["login_locked", "login_locked", "login"]
    clocked.move_clock(0)


def test_deadline_colours_in_the_timezone_and_the_reminders(clocked):
    today = Settings(timezone="Asia/Shanghai").today()
    boss = logged_in(clocked, "boss")
    green, yellow, soon = key_of(6), key_of(12), key_of(18)   # pension, 大冶市
    for key, days in ((green, 10), (yellow, 3), (soon, 0)):
        r = boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": (today + timedelta(days=days)).isoformat()})
        assert r.status_code == 200, r.text
    colours = {k: boss.get(f"/api/clues/{k}").json()["color"] for k in (green, yellow, soon)}
    assert colours == {green: "green", yellow: "yellow", soon: "yellow"}
    assert {c["finding_key"] for c in boss.get("/api/clues", color="yellow").json()["clues"]} == {yellow, soon}
    assert boss.get("/api/dashboard").json()["totals"]["due_soon"] == 2
    clocked.move_clock(5 * DAY)
    boss = logged_in(clocked, "boss")
    after = {k: boss.get(f"/api/clues/{k}").json() for k in (green, yellow, soon)}
    assert {k: c["color"] for k, c in after.items()} == {green: "green", yellow: "red", soon: "red"}
    assert after[soon]["days_left"] == -5
    assert {c["finding_key"] for c in boss.get("/api/clues", color="red").json()["clues"]} == {yellow, soon}
    d = boss.get("/api/dashboard").json()
    assert d["totals"]["overdue"] == 2 and next(r for r in d["by_rule"] if r["rule_id"] == PENSION)["overdue"] == 2
    page = boss.get("/clues", color="red").text
    assert "dot-red" in page and "逾期 5 天" in page
    # the reminders read the same clues (crosscheck.reports.alerts: run.history["deadlines"])
    with Casework.open(casework_path(clocked.store), settings=Settings(warn_days=3),
                       clock=FileClock(clocked.clock_file)) as cw:
        due = cw.due_clues()
    assert {(d["finding_key"], d["color"]) for d in due} == {(yellow, "red"), (soon, "red")}
    assert all("*" in d["subject"] for d in due)
    li = logged_in(clocked, "li")
    assert li.post(f"/api/clues/{soon}/disposition", {"disposition": "confirmed", "note": "属实"}).status_code == 200
    assert boss.get(f"/api/clues/{soon}").json()["color"] is None      # answered: no deadline runs
    clocked.move_clock(0)
