"""The 营商环境 and 公车 sources (business-vehicles contract): credit codes, 证件类型 + 证件号码,
plates, text keys, date-times, enumerations and counts, and keys with conflicting rows, through
the real loader and the project's connector YAMLs."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from conftest import write

from crosscheck.catalog import load_catalog
from crosscheck.connectors.load import load_table
from crosscheck.normalize import check_char
from crosscheck.cache.parts import PartStore
from crosscheck.reports.zh import zh

REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog(REPO / "connectors")
ID = "11010119500101123" + check_char("11010119500101123")
ID15 = "110101500101123"            # the legacy form of ID
CODE = "91420200MA4K000010"
APPS = "办件编号,事项编码,事项名称,实施部门,申请人名称,申请人证件类型,申请人证件号码,受理日期,办结日期,办理结果,退回次数,办理渠道\n"


def write_xlsx(root: Path, rel: str, rows: list[list]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def load(con, root, table: str, **kw):
    source = CATALOG.source_of(table)
    out = load_table(con, root, CATALOG.connectors[source], table, validate=False, **kw)
    for f in out.files:
        assert f.balanced, f
    return out


def quarantine(con, table: str) -> dict[tuple[str, int], str]:
    """(file, line) -> reason of the table's quarantined rows."""
    return {(f, line): reason for f, line, reason in con.execute(
        f"SELECT file, line, reason FROM quarantine WHERE \"table\" = '{table}' ORDER BY file, line").fetchall()}


def reasons(con, table: str) -> list[str]:
    return [reason for _, reason in sorted(quarantine(con, table).items())]


def test_credit_codes_in_every_allowed_form_are_one_code_and_letters_i_o_s_v_z_are_refused(con, tmp_path):
    text = "兑付编号,政策名称,主管部门,统一社会信用代码,企业名称,兑付日期,兑付金额\n"
    forms = [CODE, CODE.lower(), f" {CODE}\u3000", CODE.translate(str.maketrans("0123456789MAK", "０１２３４５６７８９ＭＡＫ"))]
    for i, form in enumerate(forms):
        text += f"D{i},稳岗返还,市财政局,{form},某公司,2025-03-0{i + 1},100\n"
    for i, bad in enumerate(["91420200MA4K00001I", "91420200MA4K00001O", "91420200MA4K00001S", "91420200MA4K00001V",
                             "91420200MA4K00001Z", "91420200MA4K00001", ""]):
        text += f"B{i},稳岗返还,市财政局,{bad},某公司,2025-03-01,100\n"
    write(tmp_path, "finance/enterprise_subsidies.csv", text, "gbk")
    assert load(con, tmp_path, "enterprise_subsidies").rows == 4
    assert con.execute("SELECT DISTINCT credit_code FROM enterprise_subsidies").fetchall() == [(CODE,)]
    got = reasons(con, "enterprise_subsidies")
    assert got[:6] == [f"invalid credit code in 统一社会信用代码: '{b}'" for b in
                       ["91420200MA4K00001I", "91420200MA4K00001O", "91420200MA4K00001S", "91420200MA4K00001V",
                        "91420200MA4K00001Z", "91420200MA4K00001"]]
    assert got[6] == "missing value in 统一社会信用代码"
    assert zh(got[0]) == "统一社会信用代码：统一社会信用代码无效：'91420200MA4K00001I'"


def test_the_enterprise_registry_validates_its_credit_codes_too(con, tmp_path):
    write(tmp_path, "market_regulation/enterprises.csv",
          "统一社会信用代码,企业名称,法定代表人身份证号,法定代表人姓名,注册资本,成立日期,登记状态,注销日期\n"
          f"{CODE.lower()},甲公司,{ID},王建国,100,2018-01-01,注销,2025-06-30\n"
          f"9142020,乙公司,{ID},王建国,100,2018-01-01,存续,\n")
    load(con, tmp_path, "enterprises")
    assert con.execute("SELECT credit_code, registration_status FROM enterprises").fetchall() == [(CODE, "注销")]
    assert reasons(con, "enterprises") == ["invalid credit code in 统一社会信用代码: '9142020'"]


def test_id_type_decides_how_the_code_is_read_and_who_is_a_person(con, tmp_path):
    write(tmp_path, "gov_services/applications.csv", APPS
          + f"A1,sp001,食品经营许可,市市场监管局,黄石某某有限公司,统一社会信用代码,{CODE.lower()},2025-03-04,,办理中,,窗口\n"
          + f"A2,SP001,食品经营许可,市市场监管局,王建国,居民身份证,{ID15},2025-03-04,,办理中,,窗口\n"
          + f"A3,SP001,食品经营许可,市市场监管局,JOHN SMITH,其他, e１２３４５６７８ ,2025-03-04,,办理中,,窗口\n"
          + f"A4,SP001,食品经营许可,市市场监管局,王建国,居民身份证,{ID[:17]}0,2025-03-04,,办理中,,窗口\n"
          + f"A5,SP001,食品经营许可,市市场监管局,某公司,营业执照,{CODE},2025-03-04,,办理中,,窗口\n"
          + "A6,SP001,食品经营许可,市市场监管局,某公司,其他,,2025-03-04,,办理中,,窗口\n")
    load(con, tmp_path, "applications")
    got = con.execute("SELECT application_no, item_code, applicant_id_type, applicant_code, applicant_person_id, applicant_other_id, "
                      "applicant_org, applicant_person FROM applications ORDER BY 1").fetchall()
    assert got == [("A1", "SP001", "统一社会信用代码", CODE, None, None, "黄石某某有限公司", None),
                   ("A2", "SP001", "居民身份证", None, ID, None, None, "王建国"),
                   ("A3", "SP001", "其他", None, None, "E12345678", None, "JOHN SMITH")]
    got = reasons(con, "applications")
    assert got[0] == f"invalid identity number in 申请人证件号码: bad check character: '{ID[:17]}0'"
    assert got[1] == "value not allowed in 申请人证件类型: '营业执照' (allowed: 统一社会信用代码, 居民身份证, 其他)"
    assert got[2] == "missing value in 申请人证件号码"
    personal = CATALOG.tables["applications"].personal_columns()
    assert personal["applicant_person_id"] == "identity" and personal["applicant_person"] == "name"
    assert personal["applicant_other_id"] == "document" and "applicant_code" not in personal and "applicant_org" not in personal


def test_plates_in_every_allowed_form_are_one_plate_and_shown_in_full(con, tmp_path):
    head = "车牌号,使用单位,出车时间,回车时间,目的地,用车事由,审批单号,行驶里程\n"
    forms = ["鄂BG2836", "鄂B·G2836", "鄂b g2836", "鄂Ｂ－Ｇ２８３６", "鄂B.G2836", "鄂B•G2836", "鄂B・G2836"]
    text = head + "".join(f"{p},市农业农村局,2025-06-09 0{i}:00,,,,,\n" for i, p in enumerate(forms))
    text += "京A123,x,2025-06-09 10:00,,,,,\nAB12345,x,2025-06-09 10:00,,,,,\n鄂1G2836,x,2025-06-09 10:00,,,,,\n,x,2025-06-09 10:00,,,,,\n"
    write(tmp_path, "official_vehicles/trips.csv", text)
    load(con, tmp_path, "trips")
    assert con.execute("SELECT DISTINCT plate FROM trips").fetchall() == [("鄂BG2836",)]
    assert reasons(con, "trips") == ["invalid plate in 车牌号: '京A123'", "invalid plate in 车牌号: 'AB12345'",
                                     "invalid plate in 车牌号: '鄂1G2836'", "missing value in 车牌号"]
    assert CATALOG.tables["trips"].personal_columns() == {} and CATALOG.tables["fuel"].personal_columns() == {}


def test_text_keys_never_become_numbers(con, tmp_path):
    write(tmp_path, "gov_services/applications_1.csv", APPS
          + f"12345678901234567890,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,,窗口\n"
          + f"00012345678901234567,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,,窗口\n")
    write_xlsx(tmp_path, "gov_services/applications_2.xlsx", [APPS.strip().split(","),
               ["98765432109876543210", "SP001", "x", "x", "某公司", "统一社会信用代码", CODE, dt.date(2025, 3, 4), None, "办理中", None, "窗口"],
               [98765432109876543211, "SP001", "x", "x", "某公司", "统一社会信用代码", CODE, dt.date(2025, 3, 4), None, "办理中", None, "窗口"]])
    write(tmp_path, "official_vehicles/fuel.csv", "油卡号,车牌号,加油时间,油品,加油量,金额,加油站\n"
          "9030001000000000001,鄂BG2836,2025-06-09,92#汽油,,300,x\n")
    load(con, tmp_path, "applications")
    load(con, tmp_path, "fuel")
    assert sorted(r[0] for r in con.execute("SELECT application_no FROM applications").fetchall()) == [
        "00012345678901234567", "12345678901234567890", "98765432109876543210"]
    assert reasons(con, "applications") == ["code stored as an Excel number (digits lost) in 办件编号: '9.87654321098765E+19'"]
    assert con.execute("SELECT card_no, litres FROM fuel").fetchall() == [("9030001000000000001", None)]


def test_date_times_in_three_forms_and_excel_cells(con, tmp_path):
    head = "车牌号,使用单位,出车时间,回车时间,目的地,用车事由,审批单号,行驶里程\n"
    write(tmp_path, "official_vehicles/trips_1.csv", head
          + "鄂BG2836,x,2025-06-09 09:05,2025-06-10,,,,\n"
          + "鄂BG2837,x,2025/06/09 09:05:30,2025/06/10 17:00,,,,\n"
          + "鄂BG2838,x,20250609090500,20250610170000,,,,\n"
          + "鄂BG2839,x,2025-06-09,,,,,\n"
          + "鄂BG2840,x,2025-02-29 10:00,,,,,\n"
          + "鄂BG2841,x,2025-06-31 10:00,,,,,\n"
          + "鄂BG2842,x,待定,,,,,\n", "gbk")
    write_xlsx(tmp_path, "official_vehicles/trips_2.xlsx", [head.strip().split(","),
               ["鄂BG2843", "x", dt.datetime(2025, 6, 9, 0, 0), dt.date(2025, 6, 10), None, None, None, None],
               ["鄂BG2844", "x", dt.datetime(2025, 6, 9, 22, 15), None, None, None, None, None]])
    load(con, tmp_path, "trips")
    got = con.execute("SELECT plate, departed_at, returned_at FROM trips ORDER BY plate").fetchall()
    assert got == [("鄂BG2836", dt.datetime(2025, 6, 9, 9, 5), dt.datetime(2025, 6, 10)),
                   ("鄂BG2837", dt.datetime(2025, 6, 9, 9, 5, 30), dt.datetime(2025, 6, 10, 17, 0)),
                   ("鄂BG2838", dt.datetime(2025, 6, 9, 9, 5), dt.datetime(2025, 6, 10, 17, 0)),
                   ("鄂BG2843", dt.datetime(2025, 6, 9, 0, 0), dt.datetime(2025, 6, 10)),     # an Excel cell carries its time
                   ("鄂BG2844", dt.datetime(2025, 6, 9, 22, 15), None)]
    assert reasons(con, "trips") == ["no time of day in 出车时间: '2025-06-09'", "unparseable datetime in 出车时间: '2025-02-29 10:00'",
                                     "unparseable datetime in 出车时间: '2025-06-31 10:00'", "unparseable datetime in 出车时间: '待定'"]
    assert zh("no time of day in 出车时间: '2025-06-09'") == "出车时间：缺少时刻：'2025-06-09'"


def test_a_date_field_with_a_time_is_that_date_enumerations_counts_and_required_fields(con, tmp_path):
    write(tmp_path, "gov_services/applications.csv", APPS
          + f"A1,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04 10:22:31,20250310235959,准予,,窗口\n"
          + f"A2,SP001,x,x,某公司,统一社会信用代码,{CODE},2025/03/04 10:22,,办理中,3,窗口\n"
          + f"A3,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,完成,两次,窗口\n"
          + f"A4,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,退回,-1,窗口\n"
          + f",SP001,x,x,某公司,统一社会信用代码,{CODE},,,准予,,窗口\n")
    load(con, tmp_path, "applications")
    assert con.execute("SELECT application_no, accepted_date, finished_date, result, returns FROM applications ORDER BY 1").fetchall() == [
        ("A1", dt.date(2025, 3, 4), dt.date(2025, 3, 10), "准予", 0), ("A2", dt.date(2025, 3, 4), None, "办理中", 3)]
    assert reasons(con, "applications") == [
        "value not allowed in 办理结果: '完成' (allowed: 准予, 不予, 退回, 办理中); unparseable integer in 退回次数: '两次'",
        "below the minimum 0 in 退回次数: '-1'",
        "missing value in 办件编号; missing value in 受理日期"]


def test_equal_rows_are_one_row_conflicting_rows_leave_the_key_out(con, tmp_path):
    """Equal once parsed (any form of a date, a code, an amount, an empty value), across CSV and
    xlsx: one row. Sharing a key but differing: every one to quarantine, the key absent. A row
    quarantined for its own fault takes no part in a conflict."""
    write(tmp_path, "gov_services/applications_1.csv", APPS
          + f"A1,sp001,x,x,某公司,统一社会信用代码,{CODE.lower()},20250304,,办理中,,窗口\n"
          + f"A2,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,1,窗口\n"
          + f"A3,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,0,窗口\n"
          + f"A3,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-02-29,,办理中,2,窗口\n", "gb18030")
    write_xlsx(tmp_path, "gov_services/applications_2.xlsx", [APPS.strip().split(","),
               ["A1", "SP001", "x", "x", "某公司", "统一社会信用代码", CODE, dt.datetime(2025, 3, 4, 9, 30), None, "办理中", "0", "窗口"],
               ["A2", "SP001", "x", "x", "某公司", "统一社会信用代码", CODE, dt.date(2025, 3, 4), None, "办理中", "2", "窗口"]])
    out = load(con, tmp_path, "applications")
    assert sorted(r[0] for r in con.execute("SELECT application_no FROM applications").fetchall()) == ["A1", "A3"]
    files = {f.file: (f.rows_loaded, f.rows_quarantined, f.duplicates_dropped) for f in out.files}
    assert files == {"gov_services/applications_1.csv": (2, 2, 0), "gov_services/applications_2.xlsx": (0, 1, 1)}
    q = quarantine(con, "applications")
    assert q[("gov_services/applications_1.csv", 3)] == "conflicting rows for 办件编号 'A2': 2 rows differ"
    assert q[("gov_services/applications_2.xlsx", 3)] == "conflicting rows for 办件编号 'A2': 2 rows differ"
    assert q[("gov_services/applications_1.csv", 5)] == "unparseable date in 受理日期: '2025-02-29'"
    raw = json.loads(con.execute("SELECT raw_values FROM quarantine WHERE line = 3 AND file LIKE '%.csv'").fetchall()[0][0])
    assert raw["办件编号"] == "A2" and raw["退回次数"] == "1"          # the delivered values
    assert zh(q[("gov_services/applications_1.csv", 3)]) == "办件编号 'A2' 有 2 行内容不一致（键冲突），均已隔离"


def test_a_conflict_depends_on_the_files_delivered_with_it(con, tmp_path):
    """Files read from their parts (an earlier delivery parsed them) conflict as a cold load does,
    and a row that conflicted with a file no longer delivered is back."""
    cache = tmp_path / "cache"

    def run(root: Path):
        hashes = {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "gov_services").glob("*")}
        c = duckdb.connect()
        try:
            load_table(c, root, CATALOG.connectors["gov_services"], "applications", parts=PartStore(cache / "parts"),
                       known_hashes=hashes)
            assert [r[0] for r in c.execute("DESCRIBE applications").fetchall()] == list(CATALOG.columns("applications"))
            return (sorted(c.execute("SELECT application_no, returns FROM applications").fetchall()),
                    sorted(c.execute("SELECT file, line FROM quarantine").fetchall()))
        finally:
            c.close()

    first = APPS + f"A1,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,1,窗口\n"
    other = APPS + f"A1,SP001,x,x,某公司,统一社会信用代码,{CODE},2025-03-04,,办理中,2,窗口\n"
    both = tmp_path / "both"
    write(both, "gov_services/applications_1.csv", first)
    write(both, "gov_services/applications_2.csv", other)
    assert run(both) == ([], [("gov_services/applications_1.csv", 2), ("gov_services/applications_2.csv", 2)])
    assert run(both) == ([], [("gov_services/applications_1.csv", 2), ("gov_services/applications_2.csv", 2)])
    alone = tmp_path / "alone"
    write(alone, "gov_services/applications_1.csv", first)
    assert run(alone) == ([("A1", 1)], [])


def test_the_declarations_imply_the_expectations():
    implied = CATALOG.tables["applications"].all_expectations()
    assert {"expect_column_values_to_be_unique": {"column": "application_no"}} in implied
    assert {"expect_column_values_to_be_in_set": {"column": "result", "value_set": ["准予", "不予", "退回", "办理中"]}} in implied
    assert {"expect_column_values_to_be_between": {"column": "returns", "min_value": 0}} in implied
    assert CATALOG.tables["trips"].key == [] and CATALOG.tables["workdays"].key == ["calendar_date"]


def test_without_a_calendar_folder_the_official_holidays_stand_in(con, tmp_path):
    (tmp_path / "gov_services").mkdir()
    out = load(con, tmp_path, "workdays")
    assert out.status == "loaded" and out.stand_in_years[0] <= 2025 <= out.stand_in_years[1]
    assert "chinese-calendar" in out.reason and "source folder calendar/ is not in the delivery" in out.reason
    got = dict(con.execute("SELECT calendar_date, is_workday FROM workdays WHERE calendar_date BETWEEN "
                           "DATE '2025-09-28' AND DATE '2025-10-11'").fetchall())
    assert got[dt.date(2025, 9, 28)] == "是" and got[dt.date(2025, 10, 8)] == "否" and got[dt.date(2025, 10, 11)] == "是"
    write(tmp_path, "calendar/workdays.csv", "日期,是否工作日,备注\n2025-10-08,是,\n")
    c = duckdb.connect()
    try:
        delivered = load(c, tmp_path, "workdays")
        assert not delivered.stand_in_years and c.execute("SELECT count(*) FROM workdays").fetchall() == [(1,)]
    finally:
        c.close()
