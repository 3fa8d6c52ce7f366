"""Nothing in a delivery goes unseen, and a table that lost a file never looks complete.

One messy copy of the sample city, run once through the CLI (as an analyst would):
- a 0-byte payments file (read, fails as a file: the table loses it);
- a month of payments in a sub-folder (not read: connectors read a source folder's own files);
- a payments file under a name no connector pattern matches, whose header is the payments header;
- an Excel lock file (`~$...xlsx`), a `.DS_Store`, a note (`说明.txt`), a folder no connector knows.

Every file is either read or named as not read, with why, in summary.json, the report's
data-quality section and the console; the alert digest names the partial rules; the payment rules come out `partial`, naming each file
their tables lost; rules reading none of those tables stay `ok`.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows
from receivers import HttpReceiver

PAYMENT_RULES = {"pension_paid_after_death", "pension_paid_after_hospital_death", "pension_duplicate_schemes",
                 "pension_no_sign_of_life", "pension_while_on_payroll"}


@pytest.fixture(scope="module")
def receiver():
    r = HttpReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def messy(sample_city, crosscheck_cmd, tmp_path_factory, receiver):
    root = tmp_path_factory.mktemp("messy") / "2026-11-01"
    shutil.copytree(sample_city, root)
    ss = root / "social_security"
    (ss / "pension_payments_2027.csv").write_bytes(b"")
    (ss / "2026年").mkdir()
    july = ss / "2026年" / "pension_payments_202607.csv"
    header = (ss / "pension_payments_2026.csv").read_text(encoding="utf-8").splitlines()[0]
    july.write_text(header + "\n4220000007,42028119651015526X,周翠,企业职工基本养老保险,2026-07,4198.70,2026-07-10,\n",
                    encoding="utf-8")
    shutil.copy(july, ss / "养老金7月补发.csv")
    (ss / "~$pensioners_part2.xlsx").write_bytes(b"\x00lock")
    (ss / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "household_registry" / "说明.txt").write_text("户籍数据说明", encoding="utf-8")
    (root / "tax_bureau").mkdir()
    (root / "tax_bureau" / "tax_2026.csv").write_text("纳税人识别号,税额\n1,2\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("messy-out") / "run"
    store = tmp_path_factory.mktemp("messy-store") / "store.duckdb"
    proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(root), "--as-of", SAMPLE_AS_OF.isoformat(),
                           "--out", str(out), "--store", str(store), "--alert", receiver.url("messy")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return root, out, proc


def _summary(out):
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_every_file_is_read_or_named_as_unread(messy):
    root, out, _ = messy
    summary = _summary(out)
    read = {f["file"] for f in summary["files"]}
    unread = {u["file"]: u for u in summary["unread_files"]}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert read | set(unread) == on_disk
    assert not read & set(unread)
    assert "social_security/pension_payments_2027.csv" in read  # read, and failed as a file
    reasons = {f: u["reason"] for f, u in unread.items()}
    assert "sub-folder" in reasons["social_security/2026年/pension_payments_202607.csv"]
    assert "no connector" in reasons["social_security/养老金7月补发.csv"]
    assert "temporary" in reasons["social_security/~$pensioners_part2.xlsx"]
    assert "hidden" in reasons["social_security/.DS_Store"]
    assert "not a data file" in reasons["household_registry/说明.txt"] or "type" in reasons["household_registry/说明.txt"]
    assert "tax_bureau/" in reasons["tax_bureau/tax_2026.csv"] and "source folder" in reasons["tax_bureau/tax_2026.csv"]
    # what looks like a table's data says so; lock files and notes do not
    assert unread["social_security/2026年/pension_payments_202607.csv"]["looks_like"] == "pension_payments"
    assert unread["social_security/养老金7月补发.csv"]["looks_like"] == "pension_payments"
    assert not unread["social_security/~$pensioners_part2.xlsx"]["looks_like"]
    assert not unread["household_registry/说明.txt"]["looks_like"]


def test_rules_reading_a_table_that_lost_files_are_partial(messy):
    _, out, _ = messy
    summary = _summary(out)
    loads = {t["table"]: t for t in summary["loads"]}
    assert loads["pension_payments"]["status"] == "partial"
    assert loads["residents"]["status"] == "loaded"
    rules = {r["rule_id"]: r for r in summary["rules"]}
    for rule_id in PAYMENT_RULES:
        r = rules[rule_id]
        assert r["status"] == "partial", (rule_id, r["status"], r["reason"])
        assert r["findings"] is not None  # its findings stand
        for lost in ("social_security/pension_payments_2027.csv", "social_security/2026年/pension_payments_202607.csv",
                     "social_security/养老金7月补发.csv"):
            assert lost in r["reason"], (rule_id, r["reason"])
    assert rules["transit_card_used_after_death"]["status"] == "ok"
    assert rules["medical_visit_after_death"]["status"] == "ok"
    assert summary["totals"]["rules_partial"] == len(PAYMENT_RULES)
    # the findings of a partial rule are listed, as the rule found them
    listed = {r["rule_id"] for r in read_csv_rows(out / "findings.csv")}
    assert "pension_paid_after_death" in listed


def test_console_and_report_say_partial_and_name_the_unread_files(messy):
    _, out, proc = messy
    console = proc.stdout
    assert "PARTIAL" in console and "pension_paid_after_death" in console
    assert "not read" in console and "2026年/pension_payments_202607.csv" in console
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "未读取的文件" in html and "2026年/pension_payments_202607.csv" in html and "养老金7月补发.csv" in html
    assert "部分" in html  # the partial outcome, in Chinese


def test_the_alert_digest_says_which_rules_are_partial(messy, receiver):
    digests = [p for p in receiver.posts if p["_path"] == "/messy" and "新增" in p["title"]]
    assert digests, receiver.posts
    message = digests[0]["message"]
    assert "部分数据" in message and "pension_paid_after_death" in message and "pension_payments_2027.csv" in message


def test_the_chinese_view_reads_chinese(messy):
    """Every reason this run wrote (quarantined rows, files not read, partial rules, failed
    files) reads Chinese in the report's Chinese view: nothing English left but file names,
    headers and the values quoted."""
    import re

    from crosscheck.reports.zh import zh

    _, out, _ = messy
    summary = _summary(out)
    reasons = [r["reason"] for r in read_csv_rows(out / "quarantine.csv")]
    reasons += [u["reason"] for u in summary["unread_files"]]
    reasons += [r["reason"] for r in summary["rules"] if r["status"] != "ok"]
    reasons += [f["error"] for f in summary["files"] if f["error"]]
    assert len(reasons) > 20
    for reason in reasons:
        text = zh(reason)
        text = re.sub(r"'[^']*'|\S+\.(csv|xlsx|parquet|txt|json)|\.[a-z]+\b|\S+/|\b[a-z_]+\b(?=[：:])|pension_payments", "", text)
        assert not re.search(r"[A-Za-z]{4,}", text), (reason, zh(reason))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "空文件（0 字节）" in html and "位于 social_security/ 的子目录（2026年/）中" in html
    assert "领域" in html and "养老保险" in html
