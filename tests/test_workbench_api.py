"""The workbench's HTTP contract against a real server on 127.0.0.1 (docs/workbench.md,
shared/spec/workbench.md): sessions, the status machine, roles, scopes, masking, CSRF, the
audit log, the dashboard, and the attacker's attempts."""
from __future__ import annotations

import csv
import io
import sqlite3
import time
from datetime import timedelta

import pytest

from crosscheck.casework import Casework, casework_path
from crosscheck.reports.priority import priority_key
from workbench_helpers import (  # noqa: F401 - boss: the supervisor's fixture
    boss,
    DIBAO, FORMULA_NAME, HOSTILE_NAME, PENSION, SHADOW, Client, Server, build_store, key_of, logged_in, person,
    write_project,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbench")
    store = build_store(folder)
    srv = Server(store, write_project(folder / "project")).start()
    yield srv
    srv.stop()


def audit_count(server) -> int:
    with Casework.open(casework_path(server.store)) as cw:
        return cw.one("SELECT count(*) AS n FROM audit")["n"]


def future(days: int) -> str:
    from crosscheck.casework import Settings

    return (Settings().today() + timedelta(days=days)).isoformat()


# -- sessions -------------------------------------------------------------------------

def test_login_sets_a_strict_httponly_cookie_and_returns_the_csrf_token(server):
    c = Client(server)
    assert c.get("/api/clues").status_code == 401
    assert c.get("/api/clues").json()["error"]
    r = c.login("boss")
    assert r.status_code == 200 and r.json()["role"] == "supervisor" and len(r.json()["csrf_token"]) > 20
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert c.get("/api/me").json()["username"] == "boss"
    wrong = Client(server).login("boss", "not the password")
    unknown = Client(server).login("nobody-at-all", "whatever1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]  # never says which names exist
    assert Client(server).http.post("/api/login", content=b"{not json").status_code == 400


def test_stolen_cookie_after_logout_is_refused(server):
    c = logged_in(server, "li")
    stolen = dict(c.http.cookies)
    assert c.post("/api/logout").status_code == 200
    thief = Client(server)
    thief.http.cookies.update(stolen)
    assert thief.get("/api/clues").status_code == 401
    assert thief.get("/api/me").status_code == 401
    assert thief.get("/clues", ).status_code in (303, 307) or "login" in thief.get("/clues").text


def test_changing_without_csrf_or_with_another_sessions_token_is_refused(server):
    a, b = logged_in(server, "boss"), logged_in(server, "boss")
    key = key_of(9)   # pension, 阳新县
    before = audit_count(server)
    body = {"assignee": "wang", "deadline": future(7)}
    assert a.post(f"/api/clues/{key}/assign", body, csrf="").status_code == 403
    assert a.post(f"/api/clues/{key}/assign", body, csrf=b.csrf).status_code == 403
    assert a.post(f"/api/clues/{key}/assign", body, csrf="forged-token").status_code == 403
    assert a.post("/api/logout", csrf="").status_code == 403
    assert audit_count(server) == before
    assert a.get(f"/api/clues/{key}").json()["status"] == "new"
    assert a.post(f"/api/clues/{key}/assign", body).status_code == 200


# -- the list ---------------------------------------------------------------------------

def test_list_in_priority_order_with_filters_total_and_paging(boss):
    r = boss.get("/api/clues")
    assert r.status_code == 200
    data = r.json()
    assert data["total"] == len(data["clues"]) > 0
    assert SHADOW not in {c["rule_id"] for c in data["clues"]}            # a draft rule's findings are never clues
    expected = sorted(data["clues"], key=lambda c: priority_key({**c, "subject": None, "status":
                                                                "recurring" if c["recurring"] else "new"}))
    assert [c["finding_key"] for c in data["clues"]] == [c["finding_key"] for c in expected]
    assert {"finding_key", "rule_id", "district", "severity", "amount_at_risk", "status", "assignee", "deadline",
            "color", "person_id", "name"} <= set(data["clues"][0])
    dy = boss.get("/api/clues", district="大冶市", rule_id=PENSION).json()
    assert dy["total"] == sum(1 for c in data["clues"] if c["district"] == "大冶市" and c["rule_id"] == PENSION)
    page = boss.get("/api/clues", limit=3, offset=2).json()
    assert page["total"] == data["total"] and [c["finding_key"] for c in page["clues"]] == \
        [c["finding_key"] for c in data["clues"][2:5]]
    for bad in ({"status": "bogus"}, {"color": "blue"}, {"limit": "0"}, {"limit": "x"}, {"offset": "-1"}):
        assert boss.get("/api/clues", **bad).status_code == 400, bad
    assert all("*" in c["person_id"] for c in data["clues"])             # masked


def test_one_clue_has_evidence_sources_and_history(boss):
    key = key_of(3)
    c = boss.get(f"/api/clues/{key}").json()
    assert c["finding_key"] == key and c["rule_id"] == PENSION and c["district"] == "阳新县"
    assert c["evidence"] and c["evidence_fields"]["months"] == 3 + 3 % 5
    assert c["sources"] == ["pensions/p.csv:2"]
    assert c["person_id"] == "420202********0003" and person(3) not in str(c)
    assert c["history"] == [] and c["disposition"] is None and c["feedback"] == []
    assert boss.get("/api/clues/0123456789abcdef").status_code == 404
    assert boss.get(f"/api/clues/{key_of(2)}").status_code == 404       # a draft rule's finding


# -- the life of a clue -------------------------------------------------------------------

def test_status_machine_assign_answer_feedback_close_reopen(server, boss):
    key = key_of(6)   # pension, 大冶市
    li, rs = logged_in(server, "li"), logged_in(server, "rs")
    assert boss.post(f"/api/clues/{key}/close").status_code == 409       # new: nothing to approve
    assert boss.post(f"/api/clues/{key}/reopen", {"note": "x"}).status_code == 409
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "wang", "deadline": future(5)}).status_code == 400
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": "2020-01-01"}).status_code == 400
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": "31/12"}).status_code == 400
    r = boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(10)})
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["assignee"] == "li"
    assert r.json()["color"] == "green" and r.json()["days_left"] == 10
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "maybe", "note": "x"}).status_code == 400
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "false_positive"}).status_code == 400  # why?
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "explained", "note": "n",
                                                     "amount_recovered": 5}).status_code == 400
    r = li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "已核实死亡后仍领取",
                                                  "amount_recovered": "1234.50", "rectification": "已停发并追回",
                                                  "above_amount_at_risk": True})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["status"] == "answered" and c["disposition"]["disposition"] == "confirmed"
    assert c["amount_recovered"] == 1234.5 and c["disposition"]["rectification"] == "已停发并追回"
    assert rs.post(f"/api/clues/{key}/feedback", {"note": "x"}).status_code == 404   # not handed over to it
    assert boss.post(f"/api/clues/{key}/handover", {"department": "rs", "deadline": future(10),
                                                    "request": "请停发并追回"}).status_code == 200
    assert rs.post(f"/api/clues/{key}/feedback", {"note": ""}).status_code == 400
    assert rs.post(f"/api/clues/{key}/feedback", {"note": "社保局已停发"}).json()["feedback"][0]["note"] == "社保局已停发"
    c = boss.post(f"/api/clues/{key}/close", {}).json()
    assert c["status"] == "closed"
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": ""}).status_code == 409
    assert rs.post(f"/api/clues/{key}/feedback", {"note": "again"}).status_code == 409
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(3)}).status_code == 409
    assert boss.post(f"/api/clues/{key}/close").status_code == 409
    assert boss.post(f"/api/clues/{key}/reopen", {}).status_code == 400  # a reason is required
    c = boss.post(f"/api/clues/{key}/reopen", {"note": "复查"}).json()
    assert c["status"] == "assigned" and c["disposition"] is None and c["assignee"] == "li"
    actions = [h["action"] for h in c["history"] if h["action"] != "handover"]
    assert actions == ["assign", "disposition", "outcome", "feedback", "close", "reopen"]
    history = [h for h in c["history"] if h["action"] != "handover"]
    for h in history:
        assert h["before"] is not None and h["after"] is not None and h["at"].endswith("+08:00"), h
    assert history[0]["before"]["status"] == "new" and history[0]["after"]["status"] == "assigned"
    assert history[4]["after"]["status"] == "closed" and history[5]["before"]["status"] == "closed"


def test_bulk_assignment_with_one_deadline_is_all_or_nothing(server, boss):
    keys = [key_of(12), key_of(18)]   # pension, 大冶市
    r = boss.post("/api/assign", {"keys": keys + [key_of(15)], "assignee": "li", "deadline": future(4)})
    assert r.status_code == 400      # li has no scope over 阳新县 (clue 15): nothing assigned
    assert boss.get(f"/api/clues/{keys[0]}").json()["status"] == "new"
    r = boss.post("/api/assign", {"keys": keys, "assignee": "li", "deadline": future(4)})
    assert r.status_code == 200 and r.json()["assigned"] == 2
    assert {c["deadline"] for c in r.json()["clues"]} == {future(4)}
    assert boss.post("/api/assign", {"keys": keys + ["0123456789abcdef"], "assignee": "li",
                                     "deadline": future(4)}).status_code == 404


# -- roles and scopes: the attacker's tests -------------------------------------------------

def test_reviewer_of_one_district_gets_404_for_another_districts_clue_everywhere(server, boss):
    other = key_of(21)   # pension, 阳新县
    assert boss.post(f"/api/clues/{other}/assign", {"assignee": "wang", "deadline": future(6)}).status_code == 200
    li = logged_in(server, "li")
    before = audit_count(server)
    assert li.get(f"/api/clues/{other}").status_code == 404
    assert "error" in li.get(f"/api/clues/{other}").json() and person(21) not in li.get(f"/api/clues/{other}").text
    forged = li.get("/api/clues", district="阳新县").json()
    assert forged["total"] == 0 and forged["clues"] == []
    assert li.get("/api/clues", assignee="wang").json()["total"] == 0
    assert other not in {c["finding_key"] for c in li.get("/api/clues", limit=5000).json()["clues"]}
    for path, body in ((f"/api/clues/{other}/assign", {"assignee": "li", "deadline": future(2)}),
                       (f"/api/clues/{other}/disposition", {"disposition": "confirmed", "note": "x"}),
                       (f"/api/clues/{other}/feedback", {"note": "x"}),
                       (f"/api/clues/{other}/close", {}),
                       (f"/api/clues/{other}/reopen", {"note": "x"}),
                       (f"/api/clues/{other}/unmask", {}),
                       ("/api/assign", {"keys": [other], "assignee": "li", "deadline": future(2)})):
        r = li.post(path, body)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert li.get(f"/clues/{other}").status_code == 404
    # the same district, but not assigned to him: it does not exist for him either
    assert li.get(f"/api/clues/{key_of(24)}").status_code == 404
    assert audit_count(server) == before
    assert boss.get(f"/api/clues/{other}").json()["status"] == "assigned"


def test_reviewer_cannot_assign_close_or_reopen_own_clue(server, boss):
    key = key_of(30)  # pension, 大冶市
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(8)}).status_code == 200
    li = logged_in(server, "li")
    assert li.get(f"/api/clues/{key}").status_code == 200
    assert li.post(f"/api/clues/{key}/assign", {"assignee": "li2", "deadline": future(9)}).status_code == 403
    assert li.post(f"/api/clues/{key}/feedback", {"note": "x"}).status_code == 403
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "误报", "note": "本人健在"}).status_code == 200
    assert li.post(f"/api/clues/{key}/close").status_code == 403
    assert li.post(f"/api/clues/{key}/reopen", {"note": "x"}).status_code == 403
    assert li.get("/api/audit").status_code == 403
    assert li.get("/api/assignees").status_code == 403
    assert boss.get(f"/api/clues/{key}").json()["status"] == "answered"


def test_department_never_sees_another_domains_clues(server, boss):
    mz = logged_in(server, "mz")      # civil_affairs
    for i in (4, 10, 16):             # dibao clues handed over to it (a department sees only those)
        assert boss.post(f"/api/clues/{key_of(i)}/handover", {"department": "mz", "deadline": future(20),
                                                              "request": "请核实"}).status_code == 200
    seen = mz.get("/api/clues", limit=5000).json()
    assert seen["total"] > 0 and {c["rule_id"] for c in seen["clues"]} == {DIBAO}
    assert mz.get("/api/clues", rule_id=PENSION).json()["total"] == 0
    assert mz.get(f"/api/clues/{key_of(33)}").status_code == 404          # pension
    assert mz.post(f"/api/clues/{key_of(33)}/feedback", {"note": "x"}).status_code == 404
    assert mz.post(f"/api/clues/{key_of(4)}/disposition", {"disposition": "confirmed", "note": "x"}).status_code == 403
    assert mz.post(f"/api/clues/{key_of(4)}/close").status_code == 403
    dash = mz.get("/api/dashboard").json()
    assert {r["rule_id"] for r in dash["by_rule"]} == {DIBAO} and dash["totals"]["clues"] == seen["total"]
    assert "死亡后仍发放养老金" not in mz.get("/clues").text and "死亡后仍发放养老金" not in mz.get("/dashboard").text


def test_admin_reads_the_audit_log_and_supervisor_only_its_scope(server, boss):
    admin = logged_in(server, "admin1")
    everything = admin.get("/api/audit", limit=5000).json()
    assert {"login"} <= {e["action"] for e in everything["entries"]}
    assert all({"at", "user", "action", "finding_key", "before", "after"} <= set(e) for e in everything["entries"])
    dy = logged_in(server, "boss_dy")
    mine = dy.get("/api/audit", limit=5000).json()["entries"]
    assert mine and all(e["finding_key"] for e in mine)
    assert all(boss.get(f"/api/clues/{e['finding_key']}").json()["district"] == "大冶市" for e in mine)
    assert dy.get("/api/audit", finding_key=key_of(21)).json()["entries"] == []   # 阳新县
    assert admin.get("/api/audit", user="li").json()["entries"]
    assert logged_in(server, "mz").get("/api/audit").status_code == 403


def test_no_endpoint_edits_or_deletes_an_audit_entry(server):
    admin = logged_in(server, "admin1")
    entry = admin.get("/api/audit", limit=1).json()["entries"][0]
    for method in ("PUT", "PATCH", "DELETE"):
        for path in ("/api/audit", f"/api/audit/{entry['id']}"):
            r = admin.http.request(method, path, headers={"X-CSRF-Token": admin.csrf}, json={})
            assert r.status_code in (404, 405), (method, path, r.status_code)
    assert admin.post("/api/audit", {}).status_code in (404, 405)
    con = sqlite3.connect(casework_path(server.store))
    try:
        for statement in ("UPDATE audit SET user = 'x'", "DELETE FROM audit", "DELETE FROM reviews",
                          "UPDATE reviews SET disposition = 'confirmed'", "DELETE FROM outcomes", "DELETE FROM feedback"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(statement)
    finally:
        con.close()
    assert admin.get("/api/audit", limit=1).json()["entries"][0]["id"] >= entry["id"]


def test_one_audit_entry_per_action_with_before_and_after(server, boss):
    key = key_of(36)   # pension, 大冶市
    li = logged_in(server, "li")
    count = lambda: len(boss.get("/api/audit", finding_key=key).json()["entries"])  # noqa: E731
    assert count() == 0
    boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(3)})
    assert count() == 1
    boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(6)})
    entries = boss.get("/api/audit", finding_key=key).json()["entries"]
    assert len(entries) == 2 and entries[0]["action"] == "deadline"
    assert entries[0]["before"]["deadline"] == future(3) and entries[0]["after"]["deadline"] == future(6)
    li.post(f"/api/clues/{key}/disposition", {"disposition": "explained", "note": "补发历史欠款"})
    assert count() == 3
    e = boss.get("/api/audit", finding_key=key, limit=1).json()["entries"][0]
    assert e["user"] == "li" and e["before"]["status"] == "assigned" and e["after"]["disposition"] == "explained"


# -- masking ----------------------------------------------------------------------------

def test_unmask_is_one_deliberate_logged_action(server, boss):
    key = key_of(0)   # pension, 大冶市, hostile name
    assert boss.post(f"/api/clues/{key}/unmask").status_code == 403   # no unmask permission
    dy = logged_in(server, "boss_dy")
    masked = dy.get(f"/api/clues/{key}").json()
    assert masked["masked"] is True and masked["person_id"] != person(0)
    before = len(dy.get("/api/audit", finding_key=key).json()["entries"])
    full = dy.post(f"/api/clues/{key}/unmask").json()
    assert full["masked"] is False and full["person_id"] == person(0) and full["name"] == HOSTILE_NAME
    log = dy.get("/api/audit", finding_key=key).json()["entries"]
    assert len(log) == before + 1 and log[0]["action"] == "unmask" and log[0]["user"] == "boss_dy"
    assert dy.get(f"/api/clues/{key}").json()["masked"] is True        # the next view is masked again
    assert dy.post(f"/api/clues/{key}/unmask", csrf="").status_code == 403


def test_hostile_names_are_inert_in_every_page_and_export(server, boss):
    admin = logged_in(server, "admin1")
    boss.post(f"/api/clues/{key_of(3)}/comments", {"text": HOSTILE_NAME})   # a hostile text lands in the audit log
    dy = logged_in(server, "boss_dy")
    dy.post(f"/api/clues/{key_of(0)}/unmask")
    pages = [boss.get("/clues"), boss.get(f"/clues/{key_of(0)}"), boss.get(f"/clues/{key_of(1)}"),
             boss.get("/dashboard"), admin.get("/audit"), boss.get("/login")]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<script>" not in page.text.replace('<script src="/static/wb.js" defer></script>', "")
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "&lt;script&gt;" in admin.get("/audit").text
    export = boss.get("/export/clues.csv", limit="5000")
    assert export.status_code == 200 and export.text.startswith("\ufeff")
    cells = [cell for row in csv.reader(io.StringIO(export.text.lstrip("\ufeff"))) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    assert any(c.startswith("'=HYPERLINK") or c.startswith("'=") for c in cells) or FORMULA_NAME[:2] not in export.text
    assert not any(person(i) in export.text for i in range(40))


# -- the dashboard and the one place where a status lives ----------------------------------

def test_dashboard_figures_per_rule_and_district(server, boss):
    d = boss.get("/api/dashboard").json()
    listed = boss.get("/api/clues", limit=5000).json()["clues"]
    assert d["totals"]["clues"] == len(listed)
    assert sum(r["clues"] for r in d["by_rule"]) == sum(x["clues"] for x in d["by_district"]) == len(listed)
    assert {r["rule_id"] for r in d["by_rule"]} == {PENSION, DIBAO}
    pension = next(r for r in d["by_rule"] if r["rule_id"] == PENSION)
    answered = [c for c in listed if c["rule_id"] == PENSION and c["disposition"]]
    confirmed = [c for c in answered if c["disposition"] == "confirmed"]
    assert pension["answered"] == len(answered) and pension["confirmed"] == len(confirmed)
    assert pension["confirmation_rate"] == (round(len(confirmed) / len(answered), 4) if answered else None)
    assert pension["open"] == sum(1 for c in listed if c["rule_id"] == PENSION and c["status"] != "closed")
    assert d["totals"]["amount_at_risk"] == pytest.approx(sum(c["amount_at_risk"] or 0 for c in listed))
    assert [s["rule_id"] for s in d["shadow"]] == [SHADOW] and d["shadow"][0]["last_run_findings"] > 0
    assert len(d["trend"]) == 1 and d["trend"][0]["findings"] == len(listed)
    page = boss.get("/dashboard").text
    assert "<svg" in page and "试运行模型" in page


def test_cli_review_mark_shows_in_the_workbench_and_the_other_way_round(server, boss, tmp_path):
    from typer.testing import CliRunner

    from crosscheck.store import Store
    from crosscheck.cli.review import review_app
    from workbench_helpers import D2, rows, the_run

    cli_key, web_key = key_of(39), key_of(27)   # pension 阳新县, pension 阳新县
    out = CliRunner().invoke(review_app, ["mark", cli_key, "--as", "误报", "--note", "本人健在", "--reviewer", "周审",
                                          "--store", str(server.store)])
    assert out.exit_code == 0, out.output
    c = boss.get(f"/api/clues/{cli_key}").json()
    assert c["status"] == "answered" and c["disposition"]["disposition"] == "false_positive"
    assert c["disposition"]["reviewer"] == "周审" and c["history"][-1]["action"] == "disposition"
    assert boss.post(f"/api/clues/{web_key}/assign", {"assignee": "wang", "deadline": future(5)}).status_code == 200
    wang = logged_in(server, "wang")
    assert wang.post(f"/api/clues/{web_key}/disposition", {"disposition": "confirmed", "note": "已查实",
                                                           "amount_recovered": 88}).status_code == 200
    sheet = tmp_path / "findings.xlsx"                # a reviewer's edited findings.xlsx, imported
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["线索编号", "处置 / disposition", "备注 / note", "复核人 / reviewer"])
    book.active.append([key_of(33), "已解释", "补发历史欠款", "赵审"])
    book.save(sheet)
    out = CliRunner().invoke(review_app, ["import", str(sheet), "--reviewer", "赵审", "--store", str(server.store)])
    assert out.exit_code == 0 and "1 reviews recorded" in out.output, out.output
    imported = boss.get(f"/api/clues/{key_of(33)}").json()
    assert imported["status"] == "answered" and imported["disposition"]["disposition"] == "explained"
    assert imported["disposition"]["source"].startswith("findings.xlsx[")
    shown = CliRunner().invoke(review_app, ["show", web_key, "--store", str(server.store)])
    assert shown.exit_code == 0 and "confirmed" in shown.output and "wang" in shown.output
    with Store.open(server.store) as st:             # the next run reads the same place
        assert st.precision()[PENSION]["recovered"] >= 88
        recorded = st.record_run(the_run("r2", D2, rows(40)))
    found = {r["finding_key"]: r for r in recorded.findings.to_pylist()}
    assert (found[web_key]["review"], found[web_key]["reviewer"], found[web_key]["review_note"]) == ("confirmed", "wang", "已查实")
    assert found[cli_key]["review"] == "false_positive" and found[cli_key]["suppressed"] is True
    assert found[cli_key]["review_note"] == "本人健在"
    d = boss.get("/api/dashboard").json()
    assert len(d["trend"]) == 2                       # the run published itself
    assert boss.get(f"/api/clues/{web_key}").json()["status"] == "answered"   # the run changed no status


def test_the_contract_is_served_to_a_logged_in_supervisor_only(server, boss):
    assert Client(server).get("/openapi.json").status_code == 401
    assert logged_in(server, "li").get("/openapi.json").status_code == 403
    contract = boss.get("/openapi.json").json()
    assert {"/api/login", "/api/clues", "/api/clues/{key}/disposition", "/api/clues/{key}/assign"} <= set(contract["paths"])
    body = contract["components"]["schemas"]["DispositionBody"]
    assert {"disposition", "note", "amount_recovered"} <= set(body["properties"])
    assert boss.post(f"/api/clues/{key_of(3)}/assign", {"assignee": "wang", "deadline": future(5),
                                                      "unknown_field": 1}).status_code == 400
