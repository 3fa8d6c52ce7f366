"""The report writers: files, encodings, masking, escaping, formula neutralising, xlsx layout."""
from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_reports import (  # noqa: E402
    ALL_IDS,
    FORMULA_NAME,
    ID_AIERKEN,
    ID_FORMULA,
    ID_OUYANG,
    ID_QUARANTINE,
    ID_REGISTRY,
    ID_SCRIPT,
    ID_ZHANG,
    OUYANG_SOURCES,
    SCRIPT_NAME,
    make_run,
    record_two_runs,
)

from crosscheck.reports import write_reports  # noqa: E402
from crosscheck.reports.common import FINDINGS_COLUMNS, QUARANTINE_COLUMNS  # noqa: E402
from crosscheck.privacy.masking import mask_finding, mask_id, mask_ids_in_text, mask_name, neutralise_formula  # noqa: E402

#: One findings_<rule>.csv per rule that ran (skipped and failed rules have none).
EVIDENCE_FILES = tuple(f"findings_{r}.csv" for r in ("pension_paid_after_death", "pension_identity_mismatch",
                                                      "pension_duplicate_schemes", "pension_no_sign_of_life"))
FILES = ("findings.csv", "quarantine.csv", "summary.json", "findings.xlsx", "report.html") + EVIDENCE_FILES


@pytest.fixture(scope="module")
def masked(tmp_path_factory):
    out = tmp_path_factory.mktemp("masked")
    return out, write_reports(make_run(), out)


@pytest.fixture(scope="module")
def unmasked(tmp_path_factory):
    out = tmp_path_factory.mktemp("unmasked")
    return out, write_reports(make_run(), out, mask=False)


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _xlsx_text(path: Path) -> str:
    """Every cell value of every sheet, plus the raw xml of the package."""
    wb = load_workbook(path)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return "\n".join(cells) + xml


# --- masking functions --------------------------------------------------------------------------

@pytest.mark.parametrize("name, want", [
    ("张三", "张*"), ("张小明", "张*明"), ("欧阳小华", "欧**华"), ("司马相如之", "司***之"),
    ("艾尔肯·买买提", "艾*肯·买*提"), ("阿依古丽•吐尔逊", "阿**丽•吐*逊"), ("John Smith", "J*** S****"),
    ("张", "*"), ("张 三", "张*"), ("Mary-Jane O'Neil", "M***-J*** O*****"), ("", ""), (None, None),
])
def test_mask_name(name, want):
    assert mask_name(name) == want


def test_mask_id_and_evidence():
    assert mask_id("42020219500101123X") == "420202********123X"
    ev = mask_finding({"name": "张小明", "evidence": f"身份证 {ID_ZHANG}，户籍姓名 王大锤，养老姓名 张小明",
                       "evidence_json": json.dumps({"registry_name": "王大锤"})}, {"evidence.registry_name": "name"})["evidence"]
    assert ID_ZHANG not in ev and "420202********1234" in ev
    assert "张*明" in ev and "王*锤" in ev and "张小明" not in ev and "王大锤" not in ev
    assert neutralise_formula("=1+1") == "'=1+1" and neutralise_formula("-x") == "'-x" and neutralise_formula(-5) == -5
    assert neutralise_formula("\tx") == "'\tx" and neutralise_formula("@SUM(A1)") == "'@SUM(A1)" and neutralise_formula("ok") == "ok"


@pytest.mark.parametrize("text, want", [
    ("身份证420202195001011234号", "身份证420202********1234号"),
    ("id=42020219500101123x", "id=420202********123x"),
    ("旧证号420202500101123，", "旧证号420202*****1123，"),            # legacy 15-digit number
    ("证号 110105491231002 与 420202195001011234", "证号 110105*****1002 与 420202********1234"),
    ("sha256 3e420202195001011234af", "sha256 3e420202195001011234af"),  # a hash keeps its digits
    ("sha256 c5420202500101123d", "sha256 c5420202500101123d"),
    ("卡号 420202501301123", "卡号 420202501301123"),                  # month 13: not a birth date
    ("4202025001011234", "4202025001011234"),                          # 16 digits: neither form
    ("全角４２０２０２１９５００１０１１２３ｘ号", "全角４２０２０２********１２３ｘ号"),  # full-width, as some deliveries have them
    ("两个 420202195001011234,110105491231002", "两个 420202********1234,110105*****1002"),
])
def test_mask_ids_in_text(text, want):
    assert mask_ids_in_text(text) == want


# --- files -------------------------------------------------------------------------------------

def test_every_file_written_and_no_temp_left(masked):
    out, paths = masked
    assert set(paths) == set(FILES)
    for name in FILES:
        assert paths[name] == out / name and (out / name).is_file() and (out / name).stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no .tmp left behind


def test_csvs_have_bom_and_columns(masked):
    out, _ = masked
    for name, cols in (("findings.csv", FINDINGS_COLUMNS), ("quarantine.csv", QUARANTINE_COLUMNS)):
        raw = (out / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert next(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == cols
    rows = _csv(out / "findings.csv")
    assert len(rows) == 6
    assert [r["rule_id"] for r in rows] == sorted(r["rule_id"] for r in rows)
    after_death = [r for r in rows if r["rule_id"] == "pension_paid_after_death"]
    amounts = [Decimal(r["amount_at_risk"]) for r in after_death]
    assert amounts == sorted(amounts, reverse=True) and after_death[0]["amount_at_risk"] == "12000.50"
    mismatch = [r for r in rows if r["rule_id"] == "pension_identity_mismatch"]
    assert [r["severity"] for r in mismatch] == ["high", "low"] and all(r["amount_at_risk"] == "" for r in mismatch)
    q = _csv(out / "quarantine.csv")
    assert len(q) == 2 and q[0]["line"] == "12" and q[0]["reason"] == "公民身份号码校验位错误"


def test_masked_by_default_everywhere(masked):
    out, _ = masked
    blobs = {name: (out / name).read_bytes().decode("utf-8-sig") for name in FILES if name != "findings.xlsx"}
    blobs["findings.xlsx"] = _xlsx_text(out / "findings.xlsx")
    for name, text in blobs.items():
        for full in ALL_IDS:
            assert full not in text, f"{full} in {name}"
        assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text), name
        assert "张小明" not in text and "欧阳小华" not in text and "买买提明" not in text, name
    rows = _csv(out / "findings.csv")
    zhang = next(r for r in rows if r["name"] == "张*明")
    assert zhang["person_id"] == "420202********1234" == zhang["subject"]
    assert "420202********1234" in zhang["evidence"]
    assert {r["name"] for r in rows} >= {"张*明", "欧**华", "艾*肯·买*提", "张*"}
    assert "420202********0033" in next(r["evidence"] for r in rows if r["person_id"].startswith("650102"))
    q = json.loads(_csv(out / "quarantine.csv")[0]["raw_values"])
    assert q["公民身份号码"] == "420202********004X" and q["姓名"] == "李*"
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["masked"] is True


def test_no_mask_shows_identities(unmasked):
    out, _ = unmasked
    rows = _csv(out / "findings.csv")
    assert {r["person_id"] for r in rows} >= {ID_ZHANG, ID_AIERKEN}
    assert "张小明" in {r["name"] for r in rows}
    assert ID_REGISTRY in (out / "findings.csv").read_text(encoding="utf-8-sig")
    assert ID_QUARANTINE in (out / "quarantine.csv").read_text(encoding="utf-8-sig")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ID_ZHANG in html and "张小明" in html
    assert ID_ZHANG in _xlsx_text(out / "findings.xlsx")
    summary = (out / "summary.json").read_text(encoding="utf-8")
    assert json.loads(summary)["masked"] is False
    for full in ALL_IDS:  # summary.json never carries identity numbers, even unmasked
        assert full not in summary


# --- escaping and formulas ---------------------------------------------------------------------

def _strip_own_scripts(html: str) -> tuple[str, list[str]]:
    scripts = re.findall(r"<script\b[^>]*>.*?</script>", html, flags=re.S)
    return re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S), scripts


def test_html_escapes_extract_values(unmasked):
    out, _ = unmasked
    html = (out / "report.html").read_text(encoding="utf-8")
    rest, scripts = _strip_own_scripts(html)
    assert "<script>alert" not in rest and "alert(1)" not in rest.replace("alert(1)</", "")
    # exactly our scripts: one program plus one JSON blob per rule with findings
    kinds = [re.match(r"<script\b([^>]*)>", s).group(1).strip() for s in scripts]
    assert kinds.count("") == 1 and all(k == "" or k.startswith('type="application/json"') for k in kinds)
    for s in scripts:
        body = s[s.index(">") + 1: -len("</script>")]
        assert "</" not in body and "<script" not in body.lower() and "<!--" not in body
    blobs = [json.loads(s[s.index(">") + 1: -len("</script>")]) for s, k in zip(scripts, kinds) if k]
    names = [row[1] for b in blobs for row in b["rows"]]
    assert SCRIPT_NAME in names and FORMULA_NAME in names  # decoded back to the text itself
    assert "&lt;b&gt;bold" not in rest  # evidence is in the JSON blob, not double-escaped HTML
    assert "<b>bold" not in rest
    assert "SELECT 1 -- &lt;not a tag&gt;" in rest  # SQL autoescaped


def test_masked_script_name_is_still_harmless(masked):
    out, _ = masked
    rest, _ = _strip_own_scripts((out / "report.html").read_text(encoding="utf-8"))
    assert "<script>" not in rest and "<b>bold" not in rest and "alert(" not in rest


def test_formula_prefix_neutralised_in_csv_and_xlsx(unmasked, masked):
    for out, _ in (unmasked, masked):
        rows = _csv(out / "findings.csv")
        names = [r["name"] for r in rows]
        assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
        assert any(n.startswith("'=") for n in names)
        assert any(r["evidence"].startswith("'-") for r in rows)
        neg = next(r for r in rows if r["rule_id"] == "pension_duplicate_schemes")
        assert neg["amount_at_risk"] == "-150.25"  # a negative amount stays a number
        q = json.loads(_csv(out / "quarantine.csv")[0]["raw_values"])
        assert q["险种类型"].startswith("=")  # inside the JSON text: the cell itself starts with "{"
        wb = load_workbook(out / "findings.xlsx")
        cells = [c for ws in wb.worksheets[1:] for row in ws.iter_rows(min_row=2) for c in row]
        assert not any(c.data_type == "f" for c in cells)
        assert any(isinstance(c.value, str) and c.value.startswith("'=") for c in cells)
    ws = load_workbook(unmasked[0] / "findings.xlsx")["重复领取养老金"]
    assert ws["F2"].value == -150.25 and ws["F2"].data_type == "n"


# --- xlsx ----------------------------------------------------------------------------------------

def test_xlsx_layout(masked):
    out, _ = masked
    wb = load_workbook(out / "findings.xlsx")
    run = make_run()
    with_findings = [r for r in run.rules if r.rule_id in set(run.findings.column("rule_id").to_pylist())]
    assert wb.sheetnames[:2] == ["优先核查", "汇总"]   # every finding in priority order first, then the summary
    assert len(wb.sheetnames) == 2 + len(with_findings)
    assert wb.sheetnames[2:] == [r.title_zh[:31] for r in with_findings]
    first = wb["优先核查"]
    assert [c.value for c in first[1]][:3] == ["优先序", "规则名称", "身份证号"]
    ranks = [first.cell(row=r, column=1).value for r in range(2, first.max_row + 1)]
    assert ranks == list(range(1, len(run.findings) + 1))
    severities = [first.cell(row=r, column=6).value for r in range(2, first.max_row + 1)]
    assert severities == sorted(severities, key=["高", "中", "低"].index)   # highest severity first
    assert first["H2"].alignment.wrap_text   # the evidence wraps
    summary_text = "\n".join(str(c.value) for row in wb["汇总"].iter_rows() for c in row if c.value is not None)
    assert "已跳过" in summary_text and "运行失败" in summary_text and "Binder Error" in summary_text
    for ws in wb.worksheets[2:]:
        assert len(ws.title) <= 31
        assert ws.freeze_panes == "A2"
        assert [c.value for c in ws[1]][:8] == ["规则", "身份证号", "姓名", "区县", "风险等级", "涉及金额（元）", "证据", "来源记录"]
        assert ws.column_dimensions["G"].width >= 40
    ws = wb["死亡后仍发放养老金"]
    amounts = [ws.cell(row=r, column=6) for r in range(2, ws.max_row + 1)]
    assert [c.value for c in amounts] == [12000.5, 3360.0, 880.0]
    assert all(c.data_type == "n" and c.number_format == "0.00" for c in amounts)
    assert ws["E2"].value == "高" and ws["B2"].value == "420204********5678"


# --- summary.json and html content ----------------------------------------------------------------

def test_summary_json(masked):
    out, _ = masked
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert "死亡后仍发放养老金" in text  # ensure_ascii=False
    s = json.loads(text)
    assert s["run_id"] == "20261101-083000-ab12" and s["as_of"] == "2026-11-01"
    assert s["started_at"].startswith("2026-11-01T08:30") and s["extracts_root"] == "/data/extracts/2026-11-01"
    rules = {r["rule_id"]: r for r in s["rules"]}
    assert rules["pension_paid_after_death"]["findings"] == 3
    assert rules["pension_paid_after_death"]["amount_at_risk"] == pytest.approx(16240.50)
    assert len(rules["pension_paid_after_death"]["version"]) == 64
    assert rules["pension_identity_mismatch"]["parameters"] == {"unlike_below": 0.5}
    assert rules["pension_no_sign_of_life"]["findings"] == 0 and rules["pension_no_sign_of_life"]["status"] == "ok"
    skipped = rules["medical_visit_after_death"]
    assert skipped["status"] == "skipped" and skipped["findings"] is None and "hospital" in skipped["reason"]
    errored = rules["transit_card_used_after_death"]
    assert errored["status"] == "failed" and errored["findings"] is None and "Binder Error" in errored["reason"]
    assert "420202********1234" in errored["reason"]
    assert {r["rule_id"] for r in s["skipped_rules"]} == {"medical_visit_after_death", "transit_card_used_after_death"}
    files = {f["file"]: f for f in s["files"]}
    assert len(files) == 3 and all(len(f["sha256"]) == 64 for f in files.values())
    assert files["social_security/pensioners.csv"] | {} == files["social_security/pensioners.csv"]
    f = files["social_security/pensioners.csv"]
    assert (f["rows_read"], f["rows_loaded"], f["rows_quarantined"], f["duplicates_dropped"], f["balanced"]) == (120, 118, 1, 1, True)
    assert {f["file"] for load in s["loads"] for f in load["files"]} == set(files)
    loads = {(t["source"], t["table"]): t for t in s["loads"]}
    assert loads[("hospital", "outpatient_visits")]["status"] == "missing"
    assert [e["success"] for e in loads[("social_security", "pensioners")]["expectations"]] == [True, False]
    t = s["totals"]
    assert (t["rules_ok"], t["rules_skipped"], t["rules_failed"], t["findings"]) == (4, 1, 1, 6)
    assert t["amount_at_risk"] == pytest.approx(16090.25)
    assert t["rows_quarantined"] == 2 and t["quarantine_rows"] == 2 and t["expectations_failed"] == 1


def test_html_sections_and_not_run_rules(masked):
    out, _ = masked
    html = (out / "report.html").read_text(encoding="utf-8")
    for text in ("运行概览", "数据质量", "2026-11-01", "20261101-083000-ab12", "/data/extracts/2026-11-01",
                 "死亡后仍发放养老金", "Pension paid after death", "西塞山区", "12,000.50", "16,090.25",
                 "e4ab4e3b1493", "gb18030", "隔离记录", "公民身份号码校验位错误", "未通过"):
        assert text in html, text
    # skipped and errored rules say so, with the reason, and never read as zero findings
    for rid, reason in (("medical_visit_after_death", "缺少数据源 hospital"), ("transit_card_used_after_death", "Binder Error")):
        section = re.search(rf'<section id="rule-\d+" class="card rule rule-(\w+)" data-rule-id="{rid}">(.*?)</section>', html, re.S)
        assert section and section.group(1) in ("skipped", "failed")
        body = section.group(2)
        assert reason in body and ("本规则已跳过" in body or "本规则运行失败" in body)
        assert "未发现疑点" not in body and 'class="findings"' not in body
    assert "本规则已运行，未发现疑点" in html  # the rule that ran and found nothing
    assert html.count("<svg") >= 3


def test_html_is_self_contained(masked):
    out, _ = masked
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<link" not in html and "<iframe" not in html and "<img" not in html
    assert "Microsoft YaHei" in html and "default-src 'none'" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("#") for h in hrefs)


def test_overwrite_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    write_reports(make_run(), tmp_path)
    before = (tmp_path / "report.html").read_bytes()
    import crosscheck.reports.html as html_mod

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(html_mod, "render_html", boom)
    with pytest.raises(RuntimeError):
        write_reports(make_run(), tmp_path)
    assert (tmp_path / "report.html").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_empty_run(tmp_path):
    from crosscheck.results import RunResult
    from datetime import date, datetime

    run = RunResult(run_id="r0", as_of=date(2026, 1, 1), extracts_root="/x", out_dir=str(tmp_path),
                    started_at=datetime(2026, 1, 1))
    paths = write_reports(run, tmp_path)
    assert _csv(paths["findings.csv"]) == []
    assert load_workbook(paths["findings.xlsx"]).sheetnames == ["汇总"]
    assert json.loads(paths["summary.json"].read_text(encoding="utf-8"))["totals"]["findings"] == 0


def test_ten_thousand_findings_stay_small():
    """report.html embeds findings as JSON (no pre-rendered rows): 10,000 findings stay well under 5 MB.
    (Only the html is rendered here, to keep the test fast; write_reports does the same.)"""
    from crosscheck.reports.html import render_html
    from crosscheck.reports.report_model import build_model

    run = make_run(extra_findings=10_000)
    model = build_model(run, True)
    rows = model.rows
    html = render_html(model)
    size = len(html.encode("utf-8"))
    print(f"\nreport.html with {len(rows):,} findings: {size / 1e6:.2f} MB")
    assert size < 5_000_000, size
    assert html.count("<tr") < 100  # findings are not pre-rendered rows


# --- history from the findings store: status, review columns, change since last run, precision ----

@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_two_runs(tmp_path_factory.mktemp("recorded"))


def test_findings_csv_has_status_and_empty_review_columns(recorded):
    from crosscheck.reports.common import EXTRA_COLUMNS, REVIEW_COLUMNS
    from crosscheck.store.reviews import header_field

    out, keys = recorded
    header = next(csv.reader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8-sig"))))
    assert header == FINDINGS_COLUMNS + EXTRA_COLUMNS + REVIEW_COLUMNS
    assert [header_field(h) for h in REVIEW_COLUMNS] == ["disposition", "note", "reviewer"]
    rows = {r["finding_key"]: r for r in _csv(out / "findings.csv")}
    assert keys["fp"] not in rows and keys["gone"] not in rows          # suppressed, resolved
    assert len(rows) == 5
    assert rows[keys["new"]]["status"] == "new" and rows[keys["new"]]["first_seen"] == "2026-12-01"
    assert rows[keys["ok2"]]["status"] == "recurring" and rows[keys["ok2"]]["first_seen"] == "2026-11-01"
    # findings already reviewed carry their current review; the others are blank for the reviewer
    assert [rows[keys["ok2"]][c] for c in REVIEW_COLUMNS] == ["属实", "", "王强"]
    assert all(r[c] == "" for k, r in rows.items() if k not in (keys["ok1"], keys["ok2"]) for c in REVIEW_COLUMNS)


def test_findings_xlsx_review_round_trip_and_history(recorded):
    from crosscheck.reports.common import REVIEW_COLUMNS
    from crosscheck.store.reviews import SheetProblem, SheetRow, read_review_file

    out, keys = recorded
    wb = load_workbook(out / "findings.xlsx")
    reviewed = {keys["ok1"]: ["属实", None, "李娜"], keys["ok2"]: ["属实", None, "王强"]}
    for ws in [wb["优先核查"], *wb.worksheets[2:]]:
        header = [c.value for c in ws[1]]
        assert header[-3:] == REVIEW_COLUMNS and "发现编号 / finding_key" in header
        kcol = header.index("发现编号 / finding_key") + 1
        for r in range(2, ws.max_row + 1):
            cell = ws.cell(row=r, column=kcol)
            assert cell.data_type == "s" and cell.number_format == "@" and re.fullmatch(r"[0-9a-f]{16}", cell.value)
            shown = [ws.cell(row=r, column=c).value for c in range(len(header) - 2, len(header) + 1)]
            assert shown == reviewed.get(cell.value, [None, None, None])
        assert ws.data_validations.dataValidation, ws.title  # the 处置 drop-down
    ws = wb["重复领取养老金"]
    header = [c.value for c in ws[1]]
    scol, fcol = header.index("状态") + 1, header.index("首次发现日期") + 1
    assert sorted((ws.cell(row=r, column=scol).value, ws.cell(row=r, column=fcol).value) for r in (2, 3)) == [
        ("持续", "2026-11-01"), ("新增", "2026-12-01")]
    items = list(read_review_file(out / "findings.xlsx"))
    assert not [i for i in items if isinstance(i, SheetProblem)]   # the summary sheet is not mistaken for findings
    assert {str(i.values["finding_key"]) for i in items if isinstance(i, SheetRow)} == {
        r["finding_key"] for r in _csv(out / "findings.csv")}
    summary = "\n".join(str(c.value) for row in wb["汇总"].iter_rows() for c in row if c.value is not None)
    assert "与上次运行相比" in summary and "规则准确率" in summary and "已抑制（未列出）" in summary
    ws = wb["汇总"]
    start = next(r for r in range(1, ws.max_row + 1) if str(ws.cell(row=r, column=1).value or "").startswith("规则准确率"))
    assert [c.value for c in ws[start + 1]][:8] == ["规则编号", "规则名称", "已复核", "属实", "误报", "已解释", "准确率", "已追回金额（元）"]
    prec = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=7) for r in range(start + 2, start + 4)}
    assert prec["pension_identity_mismatch"].value == 0.5 and prec["pension_identity_mismatch"].number_format == "0.0%"


def test_summary_json_carries_history(recorded):
    out, keys = recorded
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    h = s["history"]
    assert h["counts"]["pension_identity_mismatch"] == {"findings": 1, "new": 0, "recurring": 1, "resolved": 0, "suppressed": 1,
                                                        "outside_districts": 0}
    assert h["counts"]["pension_paid_after_death"]["resolved"] == 1
    assert h["counts"]["pension_duplicate_schemes"]["new"] == 1
    assert h["totals"] == {"findings": 5, "new": 1, "recurring": 4, "resolved": 1, "suppressed": 1, "outside_districts": 0}
    assert s["totals"]["suppressed"] == 1 and s["totals"]["findings"] == 5
    p = h["precision"]["pension_identity_mismatch"]
    assert (p["reviewed"], p["confirmed"], p["false_positive"], p["precision"]) == (2, 1, 1, 0.5)
    assert h["precision"]["pension_paid_after_death"]["precision"] == 1.0
    assert [r["finding_key"] for r in h["resolved"]] == [keys["gone"]]


def test_html_shows_change_precision_suppressed_and_resolved(recorded):
    out, keys = recorded
    html = (out / "report.html").read_text(encoding="utf-8")
    for text in ("与上次运行相比", "Change since the previous run", "规则准确率", "已消除的疑点", "已抑制"):
        assert text in html, text
    assert re.search(r'id="kpi-suppressed">1<', html)
    assert re.search(r'id="suppressed-note">.*?<b>1</b>', html, re.S)
    row = re.search(r'<tr data-rule-id="pension_identity_mismatch">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="num c-suppressed">1<', row)
    prow = re.search(r'<tr data-rule-id="pension_identity_mismatch"[^>]*>((?:(?!</tr>).)*50\.0%.*?)</tr>', html, re.S)
    assert prow, "precision 50.0% for pension_identity_mismatch"
    resolved = re.search(r'<table class="grid compact" id="resolved-table">(.*?)</table>', html, re.S).group(1)
    assert keys["gone"] in resolved and "420204********5678" in resolved and ID_OUYANG not in html
    blobs = [json.loads(b) for b in re.findall(r'<script type="application/json" id="blob-findings">(.*?)</script>', html, re.S)]
    assert all(b["cols"][0] == "status" and "first_seen" in b["cols"] and "finding_key" in b["cols"] for b in blobs)
    statuses = {row[0] for b in blobs for row in b["rows"]}
    assert statuses == {"new", "recurring"}
    for full in ALL_IDS:
        assert full not in html


def test_recorded_reports_stay_masked(recorded):
    out, _ = recorded
    for name in FILES:
        text = _xlsx_text(out / name) if name.endswith(".xlsx") else (out / name).read_bytes().decode("utf-8-sig")
        assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text), name


def test_times_are_shown_in_the_project_timezone(tmp_path):
    """Reviewers read times in crosscheck.toml's `timezone` (Asia/Shanghai by default), not UTC."""
    import dataclasses
    from datetime import datetime, timezone

    from crosscheck.config import ProjectConfig

    assert ProjectConfig.load().timezone == "Asia/Shanghai"
    run = dataclasses.replace(make_run(), timezone="Asia/Shanghai",
                              started_at=datetime(2026, 11, 1, 18, 30, tzinfo=timezone.utc),
                              finished_at=datetime(2026, 11, 1, 18, 31, 12, tzinfo=timezone.utc))
    write_reports(run, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "2026-11-02 02:30:00 (UTC+08:00)" in html and "2026-11-02 02:31:12 (UTC+08:00)" in html
    assert "18:30:00" not in html
    sheet = {r[0]: r[1] for r in load_workbook(tmp_path / "findings.xlsx")["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert sheet["开始时间"] == "2026-11-02 02:30:00 (UTC+08:00)"


def test_dispositions_are_visible_and_suppressed_findings_listed_with_why(recorded):
    """A reviewed finding shows its disposition, note, reviewer and date; a suppressed one is
    not in the tables but listed, collapsed, with its review and until when."""
    out, keys = recorded
    html = (out / "report.html").read_text(encoding="utf-8")
    blob = json.loads(re.search(r'<script type="application/json" id="blob-findings">(.*?)</script>', html, re.S).group(1))
    cols = blob["cols"]
    by_key = {r[cols.index("finding_key")]: (r, d) for r, d in zip(blob["rows"], blob["details"])}
    row, detail = by_key[keys["ok2"]]
    assert row[cols.index("review")] == "confirmed"
    assert detail["review"] == {"d": "confirmed", "note": "", "by": "王强", "on": "2026-11-05", "until": "", "change": ""}
    assert keys["fp"] not in by_key
    listed = re.search(r'<details class="suppressed-list" data-rule-id="pension_identity_mismatch">(.*?)</details>', html, re.S)
    assert listed, "the suppressed finding is listed under its rule"
    text = re.sub(r"<[^>]+>", " ", listed.group(1))
    assert "误报" in text and "同名不同人" in text and "李娜" in text and "2026-11-05" in text and "2027-05-04" in text  # 180 days


# --- evidence fields, field by field ------------------------------------------------------------

def test_evidence_fields_have_a_file_per_rule_with_every_source_record(masked, unmasked):
    """findings_<rule>.csv: each evidence field a column headed by its Chinese label and name, every
    source record (findings.xlsx shows the first SOURCES_SHOWN and says where the rest are); masked
    like findings.csv."""
    from crosscheck.reports.common import SOURCES_SHOWN

    out, _ = unmasked
    mismatch = _csv(out / "findings_pension_identity_mismatch.csv")
    assert list(mismatch[0]) == ["subject", "person_id", "name", "district", "severity", "amount_at_risk",
                                 "养老保险姓名 / pension_name", "户籍姓名 / registry_name", "相似度 / similarity", "sources"]
    aierken = next(r for r in mismatch if r["person_id"] == ID_AIERKEN)
    assert (aierken["养老保险姓名 / pension_name"], aierken["户籍姓名 / registry_name"], aierken["相似度 / similarity"]) == (
        "艾尔肯·买买提", "买买提明", "0.31")
    formula = next(r for r in mismatch if r["person_id"] == ID_FORMULA)
    assert formula["name"] == "'" + FORMULA_NAME and formula["户籍姓名 / registry_name"] == ""
    after_death = _csv(out / "findings_pension_paid_after_death.csv")
    ouyang = next(r for r in after_death if r["person_id"] == ID_OUYANG)
    assert ouyang["sources"].split("; ") == [f"social_security/pension_payments_2025.csv:{40 + i}" for i in range(OUYANG_SOURCES)]
    assert ouyang["amount_at_risk"] == "12000.50"
    assert list(after_death[0])[-1] == "sources"  # no evidence fields known for this rule: none shown
    assert _csv(out / "findings_pension_no_sign_of_life.csv") == []  # ran, no finding: the header alone
    assert (out / "findings_pension_no_sign_of_life.csv").read_text(encoding="utf-8-sig").startswith("subject,person_id")

    wb = load_workbook(out / "findings.xlsx")
    sheet = wb["身份信息不一致"]
    header = [c.value for c in sheet[1]]
    assert header[8:11] == ["证据·养老保险姓名", "证据·户籍姓名", "证据·相似度"]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1] == ID_AIERKEN)
    assert row[8:11] == ("艾尔肯·买买提", "买买提明", "0.31")
    shown = next(r for r in wb["死亡后仍发放养老金"].iter_rows(min_row=2, values_only=True) if r[1] == ID_OUYANG)[7].split("\n")
    assert len(shown) == SOURCES_SHOWN + 1
    assert shown[-1] == f"…（另 {OUYANG_SOURCES - SOURCES_SHOWN} 条，全部见 findings_pension_paid_after_death.csv）"

    html = (out / "report.html").read_text(encoding="utf-8")
    blob = json.loads(re.search(r'<script type="application/json" id="[^"]*findings[^"]*">(.*?)</script>', html, re.S).group(1))
    details = [d for d in blob["details"] if d and d.get("fields")]
    assert ["养老保险姓名", "name in the pension roll", "艾尔肯·买买提"] in [f for d in details for f in d["fields"]]
    assert "fieldsTitle: '证据字段'" in html

    masked_out, _ = masked
    m = _csv(masked_out / "findings_pension_identity_mismatch.csv")
    aierken = next(r for r in m if r["person_id"].startswith("650102"))
    assert (aierken["养老保险姓名 / pension_name"], aierken["户籍姓名 / registry_name"]) == ("艾*肯·买*提", "买**明")
    assert aierken["person_id"] == "650102********901X"


def test_xlsx_evidence_columns_are_never_read_back_as_review_columns():
    from crosscheck.reports.xlsx import _evidence_column
    from crosscheck.store.reviews import header_field

    for zh in ("复核日期", "说明（备注）", "日期 / date", "死亡日期"):
        assert header_field(_evidence_column({"name": "review_date", "zh": zh})) is None


def test_console_says_not_recorded():
    import dataclasses

    from crosscheck.reports.text import console_summary

    run = make_run()
    assert "not recorded" not in console_summary(run)
    lines = console_summary(dataclasses.replace(run, request={"record": False})).splitlines()
    assert lines[1] == "  not recorded (--no-record): not compared with the findings history, nothing added to it"
