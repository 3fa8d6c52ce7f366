"""The synthetic city generator: determinism, contract headers, encodings and ground truth."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from devtools.sample import generate_city
from devtools.sample.domains import DOMAIN_RULES, DOMAIN_SOURCES
from devtools.sample.ids import is_valid, normalise

AS_OF = date(2026, 11, 1)
from conftest import CORE_RULES
HEADERS = {
    ("social_security", "pensioners"): ["个人编号", "公民身份号码", "姓名", "性别", "出生日期", "险种类型", "待遇享受开始年月", "待遇状态", "所属区县", "街道乡镇"],
    ("social_security", "pension_payments"): ["个人编号", "公民身份号码", "姓名", "险种类型", "发放年月", "发放金额", "发放日期"],
    ("household_registry", "residents"): ["公民身份号码", "姓名", "性别", "出生日期", "民族", "户号", "与户主关系", "户籍地址", "所属区县", "人口状态", "注销日期", "注销原因", "死亡日期", "所属乡镇", "所属村"],
    ("hospital", "inpatient"): ["病案号", "医疗机构代码", "医疗机构名称", "公民身份号码", "姓名", "性别", "出生日期", "入院日期", "出院日期", "离院方式", "主要诊断编码", "医保结算金额"],
    ("hospital", "outpatient"): ["就诊流水号", "医疗机构名称", "公民身份号码", "姓名", "就诊日期", "科室", "结算金额", "结算类型"],
    ("transit_card", "cards"): ["卡号", "卡类型", "持卡人身份证号", "持卡人姓名", "办卡日期", "卡状态"],
    ("transit_card", "annual_reviews"): ["卡号", "持卡人身份证号", "年审日期", "年审方式", "年审结果"],
    ("transit_card", "taps"): ["卡号", "交易时间", "线路编号", "车辆编号", "交易金额"],
}
CORE_HEADERS = dict(HEADERS)
HEADERS.update({  # the domain sources (connectors/)
    ("civil_affairs", "dibao_members"): ["保障户编号", "户主身份证号", "公民身份号码", "姓名", "与户主关系", "保障类别", "所属区县", "街道乡镇", "村社区", "村干部近亲属备案"],
    ("civil_affairs", "dibao_payments"): ["保障户编号", "户主身份证号", "户主姓名", "发放年月", "发放金额"],
    ("finance", "public_payroll"): ["公民身份号码", "姓名", "单位名称", "人员类别", "发放年月", "应发工资"],
    ("finance", "fund_allocations"): ["资金文号", "项目名称", "下达日期", "接收乡镇", "下达金额"],
    ("finance", "fund_disbursements"): ["资金文号", "支出乡镇", "支出日期", "收款方", "支出金额"],
    ("vehicle_registry", "vehicles"): ["号牌号码", "车辆类型", "所有人身份证号", "所有人姓名", "初次登记日期", "机动车状态", "注销日期"],
    ("market_regulation", "enterprises"): ["统一社会信用代码", "企业名称", "法定代表人身份证号", "法定代表人姓名", "注册资本", "成立日期", "登记状态", "注销日期"],
    ("village_cadres", "cadres"): ["公民身份号码", "姓名", "职务", "所属乡镇", "所属村", "任职开始日期", "任职结束日期"],
    ("agriculture", "land_contracts"): ["承包合同编号", "承包方身份证号", "承包方姓名", "承包面积", "所属乡镇", "所属村"],
    ("agriculture", "subsidy_payments"): ["资金文号", "公民身份号码", "姓名", "补贴年度", "补贴面积", "补贴金额", "发放日期", "所属乡镇", "所属村"],
    ("hospital", "exams"): ["检查流水号", "医疗机构名称", "公民身份号码", "姓名", "检查日期", "检查项目编码", "检查项目名称", "费用"],
})
BUSINESS_HEADERS = {  # 营商环境 and 公车管理 (business-vehicles contract)
    ("gov_services", "service_items"): ["事项编码", "事项名称", "事项类型", "实施部门", "法定办结时限", "承诺办结时限"],
    ("gov_services", "applications"): ["办件编号", "事项编码", "事项名称", "实施部门", "申请人名称", "申请人证件类型", "申请人证件号码",
                                       "受理日期", "办结日期", "办理结果", "退回次数", "办理渠道"],
    ("gov_services", "licences"): ["证照编号", "证照类型", "事项编码", "持证主体名称", "持证主体代码类型", "持证主体代码", "发证日期",
                                   "发证部门", "有效期截止日期", "关联办件编号"],
    ("calendar", "workdays"): ["日期", "是否工作日", "备注"],
    ("law_enforcement", "inspections"): ["检查编号", "执法部门", "统一社会信用代码", "企业名称", "检查日期", "检查方式", "检查结果"],
    ("finance", "enterprise_subsidies"): ["兑付编号", "政策名称", "主管部门", "统一社会信用代码", "企业名称", "兑付日期", "兑付金额"],
    ("official_vehicles", "trips"): ["车牌号", "使用单位", "出车时间", "回车时间", "目的地", "用车事由", "审批单号", "行驶里程"],
    ("official_vehicles", "fuel"): ["油卡号", "车牌号", "加油时间", "油品", "加油量", "金额", "加油站"],
}
HEADERS.update(BUSINESS_HEADERS)
SANZI_HEADERS = {  # 三资 and procurement (sanzi-procurement contract)
    ("collective_assets", "asset_contracts"): ["合同编号", "资产名称", "资产类型", "所属乡镇", "所属村", "承租方姓名", "承租方身份证号", "面积",
                                               "计量单位", "年租金", "签订日期", "起始日期", "终止日期", "是否公开交易"],
    ("collective_assets", "rent_receipts"): ["合同编号", "收据编号", "收款日期", "金额"],
    ("procurement", "bids"): ["项目编号", "项目名称", "采购单位", "开标日期", "投标人名称", "统一社会信用代码", "法定代表人姓名", "法定代表人身份证号",
                              "联系电话", "投标报价", "是否中标"],
    ("procurement", "procurement_contracts"): ["合同编号", "项目编号", "采购单位", "供应商名称", "统一社会信用代码", "合同金额", "签订日期"],
}
HEADERS.update(SANZI_HEADERS)
SANZI_REASONS = {"conflict", "date", "amount", "invalid_id_check", "missing", "enumeration", "credit_code"}
#: what the business sources' junk rows are quarantined for (tests/test_connectors.py checks their lines exactly)
BUSINESS_REASONS = {"conflict", "date", "credit_code", "id_type", "enumeration", "amount", "no_time_of_day", "plate", "missing"}
ALLOWED_EXTRA = {"备注"}
ID_COLUMN = {"cards": "持卡人身份证号", "annual_reviews": "持卡人身份证号", "dibao_payments": "户主身份证号",
             "vehicles": "所有人身份证号", "enterprises": "法定代表人身份证号", "land_contracts": "承包方身份证号",
             "fund_allocations": None, "fund_disbursements": None}
FUND_RULES = {"fund_retained", "fund_not_delivered"}
SANZI_RULES = {"sanzi_lease_to_cadre_relative", "sanzi_rent_not_collected", "sanzi_below_market_rent", "sanzi_no_public_trade",
               "bid_shared_contact", "procurement_split", "supplier_related_to_buyer_staff"}
BUSINESS_RULES = {"approval_overdue", "approval_repeated_return", "licence_without_application", "enterprise_over_inspected",
                  "subsidy_to_closed_enterprise", "vehicle_off_duty_unapproved", "fuel_without_trip"}
AMOUNT_RULES = {"pension_paid_after_death", "pension_paid_after_hospital_death", "pension_duplicate_schemes",
                *(set(DOMAIN_RULES) - {"dibao_cadre_household_unfiled", "medical_overlapping_stays", "approval_overdue",
                                       "approval_repeated_return", "licence_without_application", "enterprise_over_inspected",
                                       "vehicle_off_duty_unapproved"})}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city") / "extracts"
    generate_city(out, people=3000, seed=5, as_of=AS_OF)
    return out


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _truth(city: Path, name: str) -> list[dict[str, str]]:
    with open(city / "_truth" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("undecodable file")


def _rows(path: Path) -> tuple[list[str], list[list]]:
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(_decode(path.read_bytes()), newline="")))
        return rows[0], rows[1:]
    if path.suffix == ".xlsx":
        ws = load_workbook(path, read_only=True).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        return rows[0], rows[1:]
    table = pq.read_table(path)
    return table.column_names, table.to_pylist()


def test_same_seed_is_byte_identical_and_other_seed_differs(city, tmp_path):
    again = tmp_path / "again"
    generate_city(again, people=3000, seed=5, as_of=AS_OF)
    assert _digest(city) == _digest(again)
    other = tmp_path / "other"
    generate_city(other, people=3000, seed=6, as_of=AS_OF)
    assert _digest(other) != _digest(city)


def test_layout_and_exact_headers(city):
    assert {p.name for p in city.iterdir()} == {"social_security", "household_registry", "hospital", "transit_card", "_truth", *DOMAIN_SOURCES}
    files = _truth(city, "files.csv")
    tables = {(f["source"], f["table"]) for f in files}
    assert tables == set(HEADERS)
    for f in files:
        header, _ = _rows(city / f["file"])
        expected = HEADERS[(f["source"], f["table"])]
        assert header[: len(expected)] == expected, f["file"]
        assert set(header[len(expected):]) <= ALLOWED_EXTRA, f["file"]
    assert any(f["file"].endswith(".xlsx") for f in files)
    assert any(f["file"].endswith(".parquet") for f in files)
    assert sum(f["table"] == "pension_payments" for f in files) >= 2


def test_row_counts_match_files(city):
    for f in _truth(city, "files.csv"):
        _, rows = _rows(city / f["file"])
        assert len(rows) == int(f["rows"]), f["file"]
        if f["file"].endswith(".csv"):
            tuples = [tuple(r) for r in rows]
            assert len(tuples) - len(set(tuples)) == int(f["duplicate_rows"]), f["file"]
    assert any(int(f["duplicate_rows"]) > 0 for f in _truth(city, "files.csv") if f["table"] == "pension_payments")


def test_encodings_vary(city):
    raws = {p: p.read_bytes() for p in city.rglob("*.csv") if "_truth" not in p.parts}
    assert any(r.startswith(b"\xef\xbb\xbf") for r in raws.values()), "no UTF-8 file with BOM"
    gbk = []
    for p, r in raws.items():
        try:
            r.decode("utf-8")
        except UnicodeDecodeError:
            r.decode("gb18030")
            gbk.append(p)
    assert gbk, "no GBK file"
    assert any(not r.startswith(b"\xef\xbb\xbf") and p not in gbk for p, r in raws.items()), "no plain UTF-8 file"


def test_messy_values_are_present(city):
    texts = [_decode(p.read_bytes()) for p in city.rglob("*.csv") if "_truth" not in p.parts]
    joined = "\n".join(texts)
    for token in (",NULL,", ",\\N,", ",-,", '"'):
        assert token in joined, token
    assert "\uff14\uff12\uff10\uff12" in joined                    # full-width digits in an identity number
    assert re.search(r',"\d{1,3}(,\d{3})+\.\d{2}"', joined)             # quoted amounts like "3,215.40"
    assert re.search(r",\d{15},", joined)                              # a legacy 15-digit identity number
    assert re.search(r",\d{4}/\d{2}/\d{2},", joined) and re.search(r",\d{8},", joined)
    assert re.search(r",\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?,", joined)
    assert "陳" in joined or "張" in joined or "劉" in joined          # traditional characters in some name


def test_quarantine_lines_hold_invalid_numbers(city):
    quarantined = _truth(city, "quarantine.csv")
    business, sanzi = {t for _, t in BUSINESS_HEADERS}, {t for _, t in SANZI_HEADERS}
    assert {q["reason"] for q in quarantined if q["table"] not in business | sanzi} == {"invalid_id_length", "invalid_id_check", "invalid_id_birthdate"}
    assert {q["reason"] for q in quarantined if q["table"] in business} == BUSINESS_REASONS
    assert {q["reason"] for q in quarantined if q["table"] in sanzi} == SANZI_REASONS
    business |= sanzi
    by_file: dict[str, set[int]] = {}
    for q in quarantined:
        by_file.setdefault(q["file"], set()).add(int(q["line"]))
    for f in _truth(city, "files.csv"):
        if f["table"] in business:  # junk of every kind the contract names, not identity numbers
            continue
        if not f["file"].endswith(".csv") or f["table"] == "taps" or ID_COLUMN.get(f["table"], "") is None:
            assert int(f["invalid_rows"]) == 0
            continue
        header, rows = _rows(city / f["file"])
        col = header.index(ID_COLUMN.get(f["table"], "公民身份号码"))
        invalid = {i + 2 for i, r in enumerate(rows) if normalise(r[col]) is None}
        assert invalid == by_file.get(f["file"], set()), f["file"]
        assert len(invalid) == int(f["invalid_rows"])


def test_truth_has_every_rule_and_canonical_ids(city):
    findings = _truth(city, "findings.csv")
    assert {f["rule_id"] for f in findings} == set(CORE_RULES) | set(DOMAIN_RULES)
    for f in findings:
        if f["rule_id"] in FUND_RULES:  # subject <资金文号>|<乡镇>, no person
            assert f["person_id"] == "" and re.fullmatch(r"[^|]+\|[^|]+", f["subject"]), f
        elif f["rule_id"] in BUSINESS_RULES | SANZI_RULES:  # an application, licence, enterprise, plate, card or contract: no person
            assert f["person_id"] == "" and f["subject"] and not is_valid(f["subject"]), f
        else:
            assert is_valid(f["person_id"]) and f["subject"] == f["person_id"], f
        assert f["severity"] in {"high", "medium", "low"}
        if f["rule_id"] == "bid_shared_contact":  # empty when none of the sharing bidders won
            assert f["amount_at_risk"] == "" or float(f["amount_at_risk"]) > 0
        elif f["rule_id"] in AMOUNT_RULES:
            assert float(f["amount_at_risk"]) > 0 and f["amount_at_risk"].count(".") == 1
        else:
            assert f["amount_at_risk"] == ""
    mismatch = {f["severity"] for f in findings if f["rule_id"] == "pension_identity_mismatch"}
    assert mismatch == {"high", "low"}
    meta = json.loads((city / "_truth" / "sample.json").read_text(encoding="utf-8"))
    assert meta["people"] == 3000 and meta["seed"] == 5 and meta["as_of"] == "2026-11-01"
    assert all(sum(meta["decoys"][r].values()) > 0 for r in CORE_RULES + DOMAIN_RULES)


def test_planted_people_are_in_the_registry(city):
    registry = set()
    for p in (city / "household_registry").glob("residents*.csv"):
        header, rows = _rows(p)
        registry |= {normalise(r[0]) for r in rows}
    assert {f["person_id"] for f in _truth(city, "findings.csv") if f["person_id"]} <= registry


def test_names_are_traditional_to_simplified_safe():
    import opencc

    from devtools.sample import vocab as V
    t2s = opencc.OpenCC("t2s")
    for simplified, traditional in V.TRADITIONAL.items():
        assert t2s.convert(traditional) == simplified
    for ch in V.SURNAMES + V.GIVEN_MALE + V.GIVEN_FEMALE:
        assert t2s.convert(ch) == ch
        ch.encode("gbk")


def test_no_name_is_a_word_of_the_citys_own_text():
    """The masking tests look for every resident's full name in what a run lets out: no name the
    generator can make may be a word that a run writes anyway (a village, a street, a table title,
    a template), or those tests would take the word for a leaked name."""
    from crosscheck.catalog import load_catalog
    from crosscheck.rules import load_ruleset
    from devtools.sample import vocab as V

    root = Path(__file__).resolve().parents[1]
    cjk = re.compile(r"[\u4e00-\u9fff]{2,}")
    sources = [*root.glob("devtools/sample/*.py"), *root.glob("crosscheck/reports/templates/*"), *root.glob("connectors/*.yaml"),
               *(p for p in root.glob("crosscheck/reports/*.py") if p.name != "masking.py"), root / "crosscheck/reports/alerts.py"]
    words = {w for p in sources for w in cjk.findall(p.read_text(encoding="utf-8"))}
    ruleset = load_ruleset(root / "rules", load_catalog(root / "connectors"))
    for r in [*ruleset, *ruleset.views.values()]:
        fixed = [r.spec.description.zh, r.spec.description.en,
                 *(st.to_sql() for st in r.spec.steps if st.fuzzy_join is None and st.link_names is None)]
        if r.id in ruleset:
            template = r.spec.evidence.template
            fixed += [r.spec.title.zh, *([template] if isinstance(template, str) else
                                          [part if isinstance(part, str) else part.text for part in template])]
        words |= {w for text in fixed for w in cjk.findall(text)}
    name_lists = ["".join(V.SURNAMES), "".join(V.GIVEN_MALE), "".join(V.GIVEN_FEMALE), "".join(V.TRADITIONAL)]
    words = {w for w in words if not any(w in lst for lst in name_lists)}
    given = sorted(set(V.GIVEN_MALE + V.GIVEN_FEMALE))
    names = {s + g + h for s in V.SURNAMES for g in given for h in ["", *given]}
    clashes = sorted({(w[i:i + n], w) for w in words for n in (2, 3) for i in range(len(w) - n + 1) if w[i:i + n] in names})
    assert not clashes, clashes[:20]


def test_core_only_city_has_only_the_core_sources(tmp_path):
    core = tmp_path / "core"
    generate_city(core, people=1500, seed=2, as_of=AS_OF, domains=False)
    assert {p.name for p in core.iterdir()} == {"social_security", "household_registry", "hospital", "transit_card", "_truth"}
    assert {(f["source"], f["table"]) for f in _truth(core, "files.csv")} == set(CORE_HEADERS)
    assert {f["rule_id"] for f in _truth(core, "findings.csv")} == set(CORE_RULES)
