"""The workbench as a team meets it in its first week, against a real server on 127.0.0.1:
the figures (one current answer, amounts, deadlines, districts, one timezone), Chinese
throughout, the smaller defects, and the day-one tools (search, my work, hand-over to a
department with its answer, comments, attachments, the 线索处置单 and the 整改台账)."""
from __future__ import annotations

import io
import json
import re
import os
import stat
from datetime import timedelta

import pytest

from crosscheck.casework import Casework, Settings, casework_path
from crosscheck.store import Store, finding_key
from devtools.run_builders import finding
from workbench_helpers import (  # noqa: F401 - boss: the supervisor's fixture
    boss,
    D1, DIBAO, DOMAINS, PENSION, REPO, Client, Server, build_store, key_of, logged_in, person, rows, the_run,
    write_project,
)

FUND = "fund_retained"
FUND_SUBJECT = "鄂财农〔2024〕3号|富池镇"
CITY_SUBJECT = "市政道路维修项目"


def extra_findings() -> list[dict]:
    """A fund clue (a document and a township, no person, no district), a city-level clue (no
    place at all), and a clue of a person in 阳新县 whose evidence names the township 富池镇."""
    fund = finding(FUND, None, amount=50000, subject=FUND_SUBJECT, name=None, district=None, severity="medium",
                   evidence={"doc_no": "鄂财农〔2024〕3号", "township": "富池镇", "gap": 50000})
    city = finding(FUND, None, amount=900, subject=CITY_SUBJECT, name=None, district=None, severity="low",
                   evidence={"doc_no": "黄财建〔2024〕9号", "gap": 900}, discriminator="city")
    resident = finding(DIBAO, person(91), amount=300, district="阳新县", name="柯91明",
                       evidence={"township": "富池镇", "months": 2})
    return [fund, city, resident]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("day-one")
    store = build_store(folder)
    DOMAINS[FUND] = "funds"
    with Store.open(store) as st:   # a second complete run: the fund and city-level clues join
        run = the_run("r2", D1 + timedelta(days=1), rows(40) + extra_findings())
        st.record_run(run)
    with Casework.open(casework_path(store)) as cw:
        cw.add_user("fund_yx", "reviewer", "correct horse 9", districts=("阳新县",))
        cw.add_user("city", "reviewer", "correct horse 9", districts=("市本级",))
    srv = Server(store, write_project(folder / "project", rules_dir=str(REPO / "rules"))).start()
    yield srv
    srv.stop()


def future(days: int) -> str:
    return (Settings().today() + timedelta(days=days)).isoformat()


def assigned(boss, key: str, who: str = "li", days: int = 10) -> None:
    r = boss.post(f"/api/clues/{key}/assign", {"assignee": who, "deadline": future(days)})
    assert r.status_code == 200, r.text


# -- figures that must be right -----------------------------------------------------------

def test_a_clue_has_one_current_answer_and_its_amount_is_that_answers(server, boss):
    key = key_of(6)                 # pension, 大冶市, 142.00 at risk
    li = logged_in(server, "li")
    assigned(boss, key)
    start = boss.get("/api/dashboard").json()["totals"]["amount_recovered"] or 0
    assert li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "属实",
                                                     "amount_recovered": "100"}).status_code == 200
    r = li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "更正金额",
                                                  "amount_recovered": "120.50"})
    assert r.status_code == 200 and r.json()["amount_recovered"] == 120.5            # replaced, not 220.50
    assert boss.get("/api/dashboard").json()["totals"]["amount_recovered"] == pytest.approx(start + 120.5)
    edit = [h for h in r.json()["history"] if h["action"] == "disposition"][-1]
    assert edit["before"]["amount_recovered"] == 100 and edit["after"]["amount_recovered"] == 120.5
    r = li.post(f"/api/clues/{key}/disposition", {"disposition": "false_positive", "note": "本人健在"})
    assert r.json()["amount_recovered"] is None
    assert boss.get("/api/dashboard").json()["totals"]["amount_recovered"] == pytest.approx(start)
    li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "属实", "amount_recovered": 50})
    r = boss.post(f"/api/clues/{key}/reopen", {"note": "复查"})
    assert r.json()["amount_recovered"] is None and r.json()["disposition"] is None
    assert boss.get("/api/dashboard").json()["totals"]["amount_recovered"] == pytest.approx(start)
    assert [h["action"] for h in r.json()["history"]].count("disposition") == 4      # the history keeps each
    assert "尚未处置" in boss.get(f"/clues/{key}").text and "追回 50" not in boss.get(f"/clues/{key}").text


def test_amounts_are_plain_decimals_and_above_the_amount_at_risk_needs_saying_so(server, boss):
    key = key_of(12)                # pension, 大冶市, 184.00 at risk
    li = logged_in(server, "li")
    assigned(boss, key)
    for bad in ("1e13", "１２３", "12.345", "-1", "abc", "1,000", " ", "NaN", "Infinity", 1e13, True):
        r = li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "x",
                                                      "amount_recovered": bad})
        assert r.status_code == 400, (bad, r.text)
    r = li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "x", "amount_recovered": "200"})
    assert r.status_code == 400 and "184.00" in r.json()["error"]
    r = li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "x", "amount_recovered": "200",
                                                  "above_amount_at_risk": True})
    assert r.status_code == 200 and r.json()["amount_recovered"] == 200


def test_deadlines_are_iso_days_from_today_to_max_deadline_days(server, boss):
    key = key_of(18)
    for bad in ("9999-12-31", "20261210", future(181), future(-1), "2026-13-01"):
        r = boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "期限" in r.json()["error_zh"]
    assert boss.post(f"/api/clues/{key}/assign", {"assignee": "li", "deadline": future(180)}).status_code == 200


def test_every_clue_has_a_district_from_its_subjects_place(server, boss):
    fund_key, city_key = finding_key(FUND, FUND_SUBJECT, ""), finding_key(FUND, CITY_SUBJECT, "city")
    fund = boss.get(f"/api/clues/{fund_key}").json()
    assert fund["district"] == "阳新县"
    assert boss.get(f"/api/clues/{city_key}").json()["district"] == "市本级"
    assigned(boss, fund_key, "fund_yx")
    assigned(boss, city_key, "city")
    assert logged_in(server, "boss_dy").get(f"/api/clues/{fund_key}").status_code == 404   # 大冶市 only
    assert logged_in(server, "fund_yx").get(f"/api/clues/{fund_key}").status_code == 200
    page = boss.get(f"/clues/{fund_key}").text
    assert ">None<" not in page and "—" in page


def test_one_timezone_in_everything_a_person_reads(server):
    c = Client(server)
    r = c.login("boss")
    assert r.json()["expires_at"].endswith("+08:00")
    assert c.get("/api/me").json()["expires_at"].endswith("+08:00")
    admin = logged_in(server, "admin1")
    login = next(e for e in admin.get("/api/audit", user="boss").json()["entries"] if e["action"] == "login")
    assert login["after"]["expires_at"].endswith("+08:00") and login["at"].endswith("+08:00")


# -- Chinese throughout -------------------------------------------------------------------

def test_the_clue_page_speaks_chinese(server, boss):
    key = key_of(24)                # pension, 大冶市
    assigned(boss, key)
    page = boss.get(f"/clues/{key}").text
    chinese_view = re.sub(r'<span class="en">.*?</span>', "", page)          # what the Chinese view shows
    assert "死亡日期" in page and "死亡后发放月数" in page                  # the rule file's labels
    assert "死亡后仍发放养老金" in page and f'<small class="rule-id">{PENSION}</small>' in page
    assert ">分派<" in page and "核查中" in page                             # history in Chinese
    for english in (">assign<", ">assignee<", ">deadline<", ">status<", ">new<", ">assigned<", "via web",
                    ">death_date<", ">months<"):
        assert english not in chinese_view, english
    assert 'data-en="date of death"' not in page and '<span class="en">date of death</span>' in page
    r = boss.post(f"/api/clues/{key}/assign", {"assignee": "wang", "deadline": future(3)})
    assert r.status_code == 400 and "无权" in r.json()["error_zh"] and r.json()["error_en"]
    refused = boss.post(f"/api/clues/{key}/reopen", {}).json()
    assert refused["error_zh"].startswith("不能") and not re.search("[A-Za-z]{3,}", refused["error_zh"])
    missing = boss.get("/clues/0123456789abcdef")
    assert missing.status_code == 404 and 'class="nav"' in missing.text and "线索池" in missing.text
    listing = boss.get("/clues").text
    assert "全部 / All" not in listing and "待分派 / New" not in listing


def test_the_csv_export_has_chinese_headers_notes_feedback_and_the_amount_recovered(server, boss):
    key = key_of(30)
    li = logged_in(server, "li")
    assigned(boss, key)
    li.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "核实属实", "amount_recovered": "10"})
    logged_in(server, "rs").post(f"/api/clues/{key}/feedback", {"note": "已停发"})   # not handed over: 404
    boss.post(f"/api/clues/{key}/feedback", {"note": "督办意见：已停发"})
    text = boss.get("/export/clues.csv", limit="5000").text.lstrip("\ufeff")
    header = text.splitlines()[0]
    assert header.startswith("线索编号,规则,") and "处置说明" in header and "追回金额（元）" in header
    assert "整改反馈" in header and "finding_key" not in header
    line = next(x for x in text.splitlines() if x.startswith(key))
    assert "核实属实" in line and "10.00" in line and "督办意见：已停发" in line and "属实" in line


def test_one_word_for_one_thing_in_the_reminder():
    from crosscheck.config import AlertsConfig
    from crosscheck.reports.alerts import Channel, overdue_digest

    run = the_run("r1", D1, rows(3))
    rows_due = [{"finding_key": "k", "rule_id": PENSION, "subject": "420202********0001", "district": "大冶市",
                 "severity": "high", "amount_at_risk": 1.0, "first_seen": "2026-01-01", "days_open": 30}]
    body = overdue_digest(run, Channel("json://x"), rows_due, AlertsConfig(), "report.html").body
    assert "findings.xlsx" not in body and "确认" not in body and "属实" in body


# -- smaller defects ------------------------------------------------------------------------

def test_assignees_are_only_those_whose_scope_covers_the_clue(server, boss):
    dy = logged_in(server, "boss_dy")
    names = {a["username"] for a in dy.get("/api/assignees").json()["assignees"]}
    assert "wang" not in names and {"li", "li2"} <= names                       # wang: 阳新县 only
    key = key_of(9)                                                             # 阳新县
    names = {a["username"] for a in boss.get("/api/assignees", key=key).json()["assignees"]}
    assert "wang" in names and "li" not in names
    page = boss.get(f"/clues/{key}").text
    assert '<option value="li"' not in page and '<option value="wang"' in page


def test_a_department_sees_only_what_was_handed_to_it_and_never_the_reviewers_notes(server, boss):
    key = key_of(4)                 # dibao (civil_affairs), 大冶市
    mz = logged_in(server, "mz")
    assert mz.get("/api/clues").json()["total"] == 0
    assert mz.get(f"/api/clues/{key}").status_code == 404
    assigned(boss, key)
    logged_in(server, "li").post(f"/api/clues/{key}/disposition", {"disposition": "confirmed",
                                                                     "note": "内部核查意见：举报人张某"})
    r = boss.post(f"/api/clues/{key}/handover", {"department": "mz", "deadline": future(15),
                                                 "request": "请核实并停发，追回资金"})
    assert r.status_code == 200, r.text
    seen = mz.get(f"/api/clues/{key}")
    assert seen.status_code == 200 and "内部核查意见" not in seen.text and "举报人" not in seen.text
    assert seen.json()["handover"]["request"] == "请核实并停发，追回资金"
    assert [c["finding_key"] for c in mz.get("/api/clues").json()["clues"]] == [key]
    assert "举报人" not in mz.get(f"/clues/{key}").text
    assert boss.post(f"/api/clues/{key}/handover", {"department": "rs", "deadline": future(5),
                                                    "request": "x"}).status_code == 400       # pension's, not this domain
    r = mz.post(f"/api/clues/{key}/feedback", {"note": "已停发", "rectified": "已停发低保金并收回", "amount_returned": "300"})
    assert r.status_code == 200, r.text
    back = boss.get(f"/api/clues/{key}").json()
    assert back["handover"]["answer"]["rectified"] == "已停发低保金并收回" and back["handover"]["answer"]["amount_returned"] == 300


def test_logins_tell_nothing_and_store_no_typed_secret(server):
    with Casework.open(casework_path(server.store)) as cw:
        cw.add_user("gone", "reviewer", "correct horse 9")
        cw.disable_user("gone")
    disabled = Client(server).login("gone")
    wrong = Client(server).login("li", "not the password")
    assert disabled.status_code == wrong.status_code == 401 and disabled.json()["error"] == wrong.json()["error"]
    Client(server).login("MyS3cret!Password", "x")                # a password typed as the user name
    admin = logged_in(server, "admin1")
    log = json.dumps(admin.get("/api/audit", limit=5000).json(), ensure_ascii=False)
    assert "MyS3cret!Password" not in log
    with Casework.open(casework_path(server.store)) as cw:
        assert not cw.rows("SELECT 1 FROM audit WHERE user = 'MyS3cret!Password'")
        assert not cw.rows("SELECT 1 FROM login_failures WHERE username = 'MyS3cret!Password'")


def test_control_and_bidi_characters_and_huge_bodies_are_refused(server, boss):
    key = key_of(36)
    for text in ("abc\x00def", "abcdef\u202egnp.exe", "a\u2066b", "x\x1by"):
        r = boss.post(f"/api/clues/{key}/comments", {"text": text})
        assert r.status_code == 400, (repr(text), r.text)
    big = b'{"text": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = boss.http.post(f"/api/clues/{key}/comments", content=big,
                       headers={"X-CSRF-Token": boss.csrf, "Content-Type": "application/json"})
    assert r.status_code == 413 and "error" in r.json()


def test_users_add_refuses_unknown_districts_and_domains(server):
    from typer.testing import CliRunner

    from crosscheck.cli.workbench import users_app

    def add(*args):
        return CliRunner().invoke(users_app, ["add", *args, "--store", str(server.store), "--password-stdin"],
                                  input="correct horse 9\n")

    out = add("n1", "--role", "reviewer", "--districts", "不存在县")
    assert out.exit_code != 0 and "不存在县" in out.output and "大冶市" in out.output
    out = add("n2", "--role", "department", "--domains", "nosuch")
    assert out.exit_code != 0 and "nosuch" in out.output and "pension" in out.output
    assert add("n3", "--role", "reviewer", "--districts", "新区", "--force").exit_code == 0
    assert add("n4", "--role", "reviewer", "--districts", "阳新县").exit_code == 0


# -- the day-one tools ---------------------------------------------------------------------

def test_search_by_number_identity_name_and_township(server, boss):
    key = key_of(3)
    assert [c["finding_key"] for c in boss.get("/api/clues", q=key[:8]).json()["clues"]] == [key]
    found = boss.get("/api/clues", q=person(3)).json()
    assert [c["finding_key"] for c in found["clues"]] == [key] and person(3) not in json.dumps(found)
    assert key in {c["finding_key"] for c in boss.get("/api/clues", q="张03明").json()["clues"]}
    assert finding_key(FUND, FUND_SUBJECT, "") in {c["finding_key"] for c in boss.get("/api/clues", q="富池镇").json()["clues"]}
    assert logged_in(server, "boss_dy").get("/api/clues", q=person(3)).json()["total"] == 0    # 阳新县: not in scope
    assert boss.get("/api/clues", q="4202").status_code == 400                                 # too short to mean anything


def test_my_work_and_the_workload(server, boss):
    li = logged_in(server, "li2")
    soon, late = key_of(42 % 40 + 0), key_of(33)
    assigned(boss, key_of(0), "li2", days=2)
    work = li.get("/api/me/work").json()
    assert key_of(0) in {c["finding_key"] for c in work["mine"]}
    assert key_of(0) in {c["finding_key"] for c in work["due_soon"]} and work["overdue"] == []
    load = {w["assignee"]: w for w in boss.get("/api/me/work").json()["workload"]}
    assert load["li2"]["open"] >= 1 and load["li2"]["yellow"] >= 1
    assert "workload" not in work or not work["workload"]
    del soon, late


def test_comments_attachments_sheet_and_ledger(server, boss):
    key = key_of(39)               # pension, 阳新县
    assigned(boss, key, "wang")
    wang = logged_in(server, "wang")
    r = wang.post(f"/api/clues/{key}/comments", {"text": "已调取银行流水"})
    assert r.status_code == 200 and r.json()["user"] == "wang" and r.json()["at"].endswith("+08:00")
    assert [c["text"] for c in boss.get(f"/api/clues/{key}/comments").json()["comments"]] == ["已调取银行流水"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    up = wang.http.post(f"/api/clues/{key}/attachments", files={"file": ("银行流水.pdf", pdf, "text/html")},
                        headers={"X-CSRF-Token": wang.csrf})
    assert up.status_code == 200, up.text
    meta = up.json()
    assert meta["type"] == "application/pdf" and meta["size"] == len(pdf) and len(meta["sha256"]) == 64
    down = boss.get(f"/api/clues/{key}/attachments/{meta['id']}")
    assert down.status_code == 200 and down.content == pdf
    assert down.headers["content-disposition"].startswith("attachment") and down.headers["content-type"] == "application/pdf"
    r = wang.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "属实", "amount_recovered": "5",
                                                    "voucher": meta["id"]})
    assert r.status_code == 200 and f"#{meta['id']}" in r.json()["outcomes"][0]["note"]   # the amount cites its voucher
    assert wang.post(f"/api/clues/{key}/disposition", {"disposition": "confirmed", "note": "属实", "amount_recovered": "5",
                                                       "voucher": meta["id"] + 999}).status_code == 400
    stored = next(p for p in server.store.parent.rglob(meta["sha256"]))
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600 and "static" not in str(stored)
    actions = [e["action"] for e in boss.get("/api/audit", finding_key=key).json()["entries"]]
    assert {"comment", "attachment_upload", "attachment_download"} <= set(actions)
    sheet = boss.get(f"/api/clues/{key}/sheet.pdf")
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF") and sheet.headers["content-type"] == "application/pdf"
    assert boss.get(f"/clues/{key}/sheet").status_code == 200 and "线索处置单" in boss.get(f"/clues/{key}/sheet").text
    ledger = boss.get("/export/ledger.xlsx", district="阳新县")
    assert ledger.status_code == 200
    from openpyxl import load_workbook

    sheet_rows = list(load_workbook(io.BytesIO(ledger.content)).active.iter_rows(values_only=True))
    header = [h for h in sheet_rows[0] if h]
    assert "线索编号" in header and "整改反馈" in header and "追回金额（元）" in header
    assert key in {r[0] for r in sheet_rows[1:]} and not any(person(39) in str(r) for r in sheet_rows)
    assert logged_in(server, "li").get("/export/ledger.xlsx").status_code == 403


def test_attachments_under_attack(server, boss):
    key, other = key_of(27), key_of(21)      # pension 阳新县; 21 assigned to wang, not li
    assigned(boss, key, "wang")
    wang, li = logged_in(server, "wang"), logged_in(server, "li")

    def upload(client, k, name, data, kind="application/octet-stream"):
        return client.http.post(f"/api/clues/{k}/attachments", files={"file": (name, data, kind)},
                                headers={"X-CSRF-Token": client.csrf})

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert upload(li, key, "a.png", png).status_code == 404                     # not his clue
    html = upload(wang, key, "evil.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")
    assert html.status_code == 400                                              # sniffed: not a PDF
    too_big = upload(wang, key, "big.pdf", b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024 + 1))
    assert too_big.status_code == 413
    r = upload(wang, key, "../../etc/passwd.png", png)
    assert r.status_code == 200 and "/" not in r.json()["name"] and ".." not in r.json()["name"]
    meta = r.json()
    assert li.get(f"/api/clues/{key}/attachments/{meta['id']}").status_code == 404
    assert li.get(f"/api/clues/{other}/attachments/{meta['id']}").status_code == 404
    assert boss.get(f"/api/clues/{key_of(3)}/attachments/{meta['id']}").status_code == 404     # another clue's id
    assert not (server.store.parent.parent / "etc").exists()
    from openpyxl import Workbook

    book, sheet = Workbook(), io.BytesIO()
    book.active.append(["凭证", 1])
    book.save(sheet)
    r = upload(wang, key, "台账", sheet.getvalue())                            # no extension: the content says xlsx
    assert r.status_code == 200 and r.json()["type"].endswith("spreadsheetml.sheet") and r.json()["name"] == "台账.xlsx"
    import zipfile

    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    assert upload(wang, key, "a.docx", other.getvalue()).status_code == 400     # a zip that is no Office file


def test_reminders_tell_each_person_once_per_event_and_the_supervisor_the_daily_red_list(tmp_path):
    from receivers import HttpReceiver
    from workbench_helpers import FileClock

    receiver = HttpReceiver()
    clock_file = tmp_path / "clock"
    clock_file.write_text("0", encoding="utf-8")
    store = build_store(tmp_path)
    try:
        with Casework.open(casework_path(store), clock=FileClock(clock_file)) as cw:
            for name in ("li", "boss", "rs"):
                cw.accounts.set_channel(name, receiver.url(name))
            boss, li, rs = cw.user("boss"), cw.user("li"), cw.user("rs")
            key = key_of(6)                                        # pension, 大冶市
            today = cw.db.today()
            cw.workflow.assign(boss, key, "li", (today + timedelta(days=5)).isoformat())

            def told() -> list[tuple[str, str]]:
                cw.notices.run()
                got = [(p["_path"].strip("/"), p["title"]) for p in receiver.posts]
                receiver.posts.clear()
                return got

            assert [(who, "新分派线索" in title) for who, title in told()] == [("li", True)]
            assert told() == []                                    # once per event
            clock_file.write_text(str(3 * 86400), encoding="utf-8")
            assert [(who, "临期" in title) for who, title in told()] == [("li", True)]
            assert told() == []
            clock_file.write_text(str(6 * 86400), encoding="utf-8")
            got = told()
            assert ("li", True) in [(w, "逾期" in t) for w, t in got] and any(w == "boss" and "挂牌督办" in t for w, t in got)
            assert told() == []
            clock_file.write_text(str(7 * 86400), encoding="utf-8")
            assert [w for w, t in told()] == ["boss"]              # the red list is daily; li's red was told
            cw.workflow.handover(boss, key, "rs", cw.db.today().isoformat(), "请停发")
            assert [w for w, t in told()] == ["rs"]
            cw.workflow.add_feedback(rs, key, "已停发", "停发并追回", "100")
            assert [(w, "整改反馈" in t) for w, t in told()] == [("boss", True)]
            cw.workflow.answer(li, key, "confirmed", "属实")
            cw.workflow.reopen_clue(boss, key, "证据不足")
            assert [(w, "退回" in t) for w, t in told()] == [("li", True)]
            bodies = cw.rows("SELECT body FROM notices")
            assert bodies and not any(person(6) in b["body"] for b in bodies)
            assert cw.rows("SELECT count(*) AS n FROM audit WHERE action = 'notice'")[0]["n"] >= 7
    finally:
        receiver.close()
