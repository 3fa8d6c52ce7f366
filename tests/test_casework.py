"""The casework database beside the findings store: moving a schema-2 store's reviews there,
publishing (and catching up on) complete runs, draft rules in shadow, models that need
tuning, and the reminders of clues whose deadline is near or past."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from crosscheck.casework import Account, Casework, Settings, casework_path
from crosscheck.store import Store, StoreError, finding_key
from devtools.run_builders import finding, make_run
from workbench_helpers import D1, D2, DIBAO, PASSWORD, PENSION, SHADOW, build_store, key_of, rows, the_run

P = [f"4202021950{i:08d}" for i in range(30)]


def _as_schema_2(store, reviews, outcomes) -> None:
    """Turn a store into what crosscheck wrote before schema 3: reviews and outcomes in DuckDB,
    no casework database."""
    con = duckdb.connect(str(store))
    try:
        con.execute("ALTER TABLE run_rules DROP COLUMN personal")
        con.execute("ALTER TABLE run_rules DROP COLUMN rule_status")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, 'cli', 'r1', ?, '{}')", reviews)
        con.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, 'tester', now()::TIMESTAMP)", outcomes)
    finally:
        con.close()
    for suffix in ("", "-wal", "-shm"):
        casework_path(store).with_name(casework_path(store).name + suffix).unlink(missing_ok=True)


def test_a_schema_2_store_moves_its_reviews_and_outcomes_to_the_casework_database(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", p, amount=10 * (i + 1)) for i, p in enumerate(P[:4])]))
    k = [finding_key("a", p, "") for p in P[:4]]
    _as_schema_2(store, [
        [3, k[0], "a", "false_positive", "登记有误", "李娜", date(2026, 10, 2), Decimal("10.00")],
        [7, k[0], "a", "confirmed", "复查属实", "王强", date(2026, 10, 3), Decimal("10.00")],
        [9, k[1], "a", "explained", "补发", "李娜", date(2026, 10, 4), Decimal("20.00")],
    ], [[2, k[0], "a", Decimal("1234.50"), date(2026, 10, 9), "凭证 001"]])
    with pytest.raises(StoreError, match="open it once for writing"):
        Store.open(store, read_only=True)
    for _ in range(2):                                  # a second open moves nothing twice
        with Store.open(store) as st:
            assert [r["review_id"] for r in st.finding(k[0])["reviews"]] == [3, 7]
            assert st.finding(k[0])["outcomes"][0]["recovered"] == Decimal("1234.50")
            prec = st.precision()["a"]
            assert (prec["confirmed"], prec["explained"], prec["reviewed"], prec["recovered"]) == (1, 1, 2, Decimal("1234.50"))
            left = st.con.execute("SELECT (SELECT count(*) FROM reviews), (SELECT count(*) FROM outcomes), "
                                  "(SELECT value FROM meta WHERE key = 'schema_version')").fetchall()[0]
            assert left == (0, 0, "3")
    with Store.open(store) as st:
        assert st.mark(k[2], "confirmed", reviewer="周") == 10    # ids go on after the moved ones
    with Casework.open(casework_path(store)) as cw:
        assert cw.clue_facts(k[0])["status"] == "answered" and cw.clue_facts(k[0])["disposition"] == "confirmed"
        assert cw.clue_facts(k[3])["status"] == "new"
        assert [r["action"] for r in cw.rows("SELECT action FROM audit WHERE action = 'migrate'")] == ["migrate"]
    with Store.open(store) as st:                         # the next run reads the moved dispositions
        r2 = st.record_run(make_run("r2", D2, [finding("a", p, amount=10 * (i + 1)) for i, p in enumerate(P[:4])]))
    by_key = {r["finding_key"]: r for r in r2.findings.to_pylist()}
    assert by_key[k[1]]["suppressed"] is True and by_key[k[1]]["review_note"] == "补发"
    assert (by_key[k[0]]["review"], by_key[k[0]]["reviewer"]) == ("confirmed", "王强")


def test_a_run_cut_short_before_publishing_is_published_by_the_next_open(tmp_path, monkeypatch):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", p) for p in P[:3]]))
    monkeypatch.setattr(Casework, "publish", lambda self, duck: (_ for _ in ()).throw(OSError("disk full")))
    with Store.open(store) as st:
        st.record_run(make_run("r2", D2, [finding("a", p) for p in P[:5]]))   # recorded, not published
    monkeypatch.undo()
    with Casework.open(casework_path(store)) as cw:
        assert cw.one("SELECT count(*) AS n FROM clues")["n"] == 3
    with Store.open(store, read_only=True):
        pass                                                # a reader does not publish
    with Store.open(store):
        pass
    with Casework.open(casework_path(store)) as cw:
        assert cw.one("SELECT count(*) AS n FROM clues")["n"] == 5
        assert [r["run_id"] for r in cw.rows("SELECT run_id FROM runs ORDER BY seq")] == ["r1", "r2"]


def test_publishing_keeps_the_workflow_and_marks_resolved_clues(tmp_path):
    store = tmp_path / "h.duckdb"
    with Store.open(store) as st:
        st.record_run(make_run("r1", D1, [finding("a", p, amount=5) for p in P[:3]]))
        st.mark(finding_key("a", P[0], ""), "confirmed", reviewer="李")
        st.record_run(make_run("r2", D2, [finding("a", p, amount=50) for p in P[:2]]))   # P[2] resolved
        subset = make_run("r3", D2 + timedelta(days=1), [finding("a", P[5])])
        subset.scope = "subset"
        st.record_run(subset)                             # a subset run adds no clue
    with Casework.open(casework_path(store)) as cw:
        c0, c2 = cw.clue_facts(finding_key("a", P[0], "")), cw.clue_facts(finding_key("a", P[2], ""))
        assert c0["status"] == "answered" and c0["amount_cents"] == 5000 and c0["seen_status"] == "recurring"
        assert c2["resolved_run_id"] == "r2" and c2["status"] == "new"
        assert cw.clue_facts(finding_key("a", P[5], "")) is None
        assert [c["priority"] for c in cw.rows("SELECT priority FROM clues ORDER BY priority")] == [1, 2, 3]


def test_draft_rules_run_in_shadow_and_tuning_flags_a_model_from_its_answers(tmp_path):
    store = build_store(tmp_path, n=90)
    live = [i for i in range(90) if i % 3 == 0]            # pension clues: 30
    with Store.open(store) as st:
        for n, i in enumerate(live[:20]):
            st.mark(key_of(i), "confirmed" if n == 0 else "false_positive", note=f"误报原因 {n}", reviewer="李")
        st.mark(key_of(2), "confirmed", reviewer="李")     # the draft rule's findings may be judged at the console
    with Casework.open(casework_path(store), settings=Settings(tuning_window=20, tuning_below=0.10)) as cw:
        boss = cw.user("boss")
        d = cw.dashboard(boss)
        assert [m["rule_id"] for m in d["needs_tuning"]] == [PENSION]
        flagged = d["needs_tuning"][0]
        assert (flagged["answered"], flagged["confirmed"]) == (20, 1) and len(flagged["false_positive_notes"]) == 19
        assert next(r for r in d["by_rule"] if r["rule_id"] == PENSION)["needs_tuning"] is True
        assert [s["rule_id"] for s in d["shadow"]] == [SHADOW] and d["shadow"][0]["answered"] == 1
        assert SHADOW not in {r["rule_id"] for r in d["by_rule"]}
        assert all(c["rule_id"] != SHADOW for c in cw.list_clues(boss, limit=5000)["clues"])
        assert cw.list_clues(Account("x", "reviewer"), limit=5000)["total"] == 0   # nothing assigned to x
        narrow = Casework.open(casework_path(store), settings=Settings(tuning_window=20, tuning_below=0.05))
        try:
            assert narrow.dashboard(boss)["needs_tuning"] == []                    # 1/20 = 5% is not under 5%
        finally:
            narrow.close()
    with Store.open(store) as st:          # promoted: the next complete run publishes it as a live rule
        run = the_run("r2", D2, rows(90))
        for o in run.rules:
            o.rule_status = "stable"
        st.record_run(run)
    with Casework.open(casework_path(store)) as cw:
        assert cw.dashboard(cw.user("boss"))["shadow"] == []
        assert any(c["rule_id"] == SHADOW for c in cw.list_clues(cw.user("boss"), limit=5000)["clues"])


def test_the_run_leaves_draft_findings_out_of_what_reviewers_and_alerts_get():
    import pyarrow as pa

    from crosscheck.reports.figures import without_rules

    table = pa.table({"rule_id": [PENSION, SHADOW, DIBAO], "x": [1, 2, 3]})
    assert without_rules(table, {SHADOW}).column("rule_id").to_pylist() == [PENSION, DIBAO]
    assert without_rules(table, set()) is table


def test_reminders_carry_clues_whose_deadline_is_near_or_past():
    from crosscheck.reports.alerts import Channel, overdue_digest
    from crosscheck.config import AlertsConfig

    run = the_run("r1", D1, rows(3))
    due = [{"finding_key": "abc", "rule_id": PENSION, "district": "大冶市", "severity": "high", "amount_at_risk": 12.5,
            "subject": "420202********0001 张*明", "deadline": "2026-09-28", "days_left": -3, "color": "red",
            "assignee": "li"}]
    d = overdue_digest(run, Channel("json://x"), [], AlertsConfig(), "report.html", due)
    assert d.title.startswith("【线索到期提醒】") and d.findings == 1
    assert "红·已逾期 3 天（期限 2026-09-28，核查人 li）" in d.body and "420202********0001" in d.body
    plain = overdue_digest(run, Channel("json://x"), [], AlertsConfig(), "report.html")
    assert "核查工作台" not in plain.body


def test_accounts_refuse_bad_input(tmp_path):
    with Casework.open(tmp_path / "c.sqlite") as cw:
        for args, match in ((("a<b>", "reviewer", PASSWORD), "user name"), (("ok", "boss", PASSWORD), "role"),
                            (("ok", "reviewer", "short"), "at least"), (("ok", "department", PASSWORD), "domains")):
            with pytest.raises(Exception, match=match):
                cw.add_user(*args)
        cw.add_user("ok", "reviewer", PASSWORD)
        with pytest.raises(Exception, match="exists"):
            cw.add_user("ok", "reviewer", PASSWORD)
        assert cw.one("SELECT password_hash FROM users")["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in (tmp_path / "c.sqlite").read_bytes().decode("latin-1")
        assert cw.disable_user("ok").disabled
        with pytest.raises(Exception, match="wrong username or password"):   # never confirms the password
            cw.login("ok", PASSWORD, 60)
