"""The 三资 and procurement sources (sanzi-procurement contract): text keys, names, units of area,
phones, credit codes, money to the cent, enumerations, split files in GBK and xlsx, exact copies
and conflicting contracts, through the real loader and the project's connector YAMLs."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import write
from test_business_sources import CATALOG, load, reasons, write_xlsx

from crosscheck.normalize import check_char, phone_number, text_key
from crosscheck.reports.zh import zh

ID = "11010119500101123" + check_char("11010119500101123")
IDX = "11010119800101103X"                # its check character is X
CODE = "91420200MA4K000010"
LEASES = "合同编号,资产名称,资产类型,所属乡镇,所属村,承租方姓名,承租方身份证号,面积,计量单位,年租金,签订日期,起始日期,终止日期,是否公开交易\n"


def test_text_keys_and_phones_as_the_contract_defines_them():
    assert text_key("市 教育局") == "市教育局" and text_key("市\u3000教育局") == "市教育局" and text_key("ＸＹ村") == "XY村"
    assert text_key("市教育局") != text_key("黄石市教育局") and text_key(" \u3000 ") is None
    for form in ("0714-6251234", "(0714)6251234", "07146251234", "０７１４－６２５１２３４"):
        assert phone_number(form) == "07146251234"
    assert phone_number("6251234") == "6251234"
    for form in ("+86 138-1234-5678", "8613812345678", "0086 13812345678", "138 1234 5678"):
        assert phone_number(form) == "13812345678"
    assert phone_number("86123456789") == "86123456789"          # what remains is no mobile number: kept
    assert phone_number("无") is None and phone_number("") is None


def test_leases_in_gbk_and_xlsx_split_files_with_copies_conflicts_and_junk(con, tmp_path):
    write(tmp_path, "collective_assets/asset_contracts_2023.csv", LEASES
          + f"ZL-001,东湾鱼塘,鱼塘,石花 镇,东湾村,陳 偉,,12.5,亩,\"3,215.40\",2023-01-05,2023-01-10,2028-01-09,是\n"
          + f"ZL-002,门面一间,门面,石花镇,东湾村,王建国,{IDX[:17]}x,35,㎡,50000,20230105,2023/01/10,2026-01-09,\n"
          + f"ZL-003,荒山,四荒地,石花镇,东湾村,李明,,,,1000.00,2023-02-01,2023-02-01,2024-01-31,否\n"
          + f"ZL-004,仓库,厂房,石花镇,东湾村,李明,,100,M²,1000,2023-02-01,2023-02-01,2024-01-31,NULL\n"
          + f"ZL-005,仓库,厂房,石花镇,东湾村,李明,,100,公顷,1000,2023-02-01,2023-02-01,2024-01-31,否\n"
          + f"ZL-006,仓库,厂房,石花镇,东湾村,李明,,十亩,亩,1000,2023-02-01,2023-02-01,2024-01-31,否\n"
          + f"ZL-007,仓库,厂房,石花镇,东湾村,李明,{ID[:17]}0,1,亩,1000,2023-02-01,2023-02-01,2024-01-31,否\n"
          + f"ZL-008,仓库,厂房,石花镇,东湾村,李明,,1,亩,1000.005,2023-02-01,2023-02-01,2024-01-31,否\n"
          + f"ZL-009,仓库,厂房,石花镇,东湾村,李明,,1,亩,1000,2023-02-01,2023-02-01,2024-01-31,Y\n"
          + f"ZL-010,仓库,厂房,石花镇,东湾村,李明,,1,亩,1000,2023-02-01,2023-02-01,2024-01-31,否\n",
          "gb18030")
    write_xlsx(tmp_path, "collective_assets/asset_contracts_2024.xlsx", [
        LEASES.strip().split(","),
        ["ＺＬ－００１", "东湾鱼塘", "鱼塘", "石花镇", "东湾村", "陈伟", None, 12.5, "亩", 3215.4, dt.date(2023, 1, 5),
         dt.datetime(2023, 1, 10), dt.date(2028, 1, 9), "是"],                       # ZL-001 again: one contract
        ["ZL-010", "仓库", "厂房", "石花镇", "东湾村", "李明", None, 1, "亩", 1200, dt.date(2023, 2, 1),
         dt.date(2023, 2, 1), dt.date(2024, 1, 31), "否"],                          # ZL-010 differs: a conflict
        ["ZL-011", None, "土地", "石花镇", "西湾村", "赵金生", None, 0, "m2", Decimal("50.01"), dt.date(2024, 3, 1),
         dt.date(2024, 3, 1), dt.date(2025, 3, 1), None],
    ])
    out = load(con, tmp_path, "asset_contracts")
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT contract_no, township, lessee_name, lessee_name_raw, lessee_id, area, area_unit, annual_rent, start_date, "
        "public_trade FROM asset_contracts").fetchall()}
    assert sorted(got) == ["ZL-001", "ZL-002", "ZL-003", "ZL-004", "ZL-011"]
    assert got["ZL-001"] == ("石花镇", "陈伟", "陳 偉", None, 12.5, "亩", Decimal("3215.40"), dt.date(2023, 1, 10), "是")
    assert got["ZL-002"][3:7] == (IDX, 35.0, "平方米", Decimal("50000.00"))
    assert got["ZL-003"][4:6] == (None, None) and got["ZL-004"][5] == "平方米" and got["ZL-004"][8] is None
    assert got["ZL-011"][5:7] == ("平方米", Decimal("50.01"))
    assert sum(f.duplicates_dropped for f in out.files) == 1 and out.rows == 5
    why = reasons(con, "asset_contracts")
    assert "value not allowed in 计量单位: '公顷' (allowed: 亩, 平方米)" in why
    assert "unparseable number in 面积: '十亩'" in why
    assert f"invalid identity number in 承租方身份证号: bad check character: '{ID[:17]}0'" in why
    assert "unparseable amount in 年租金: '1000.005'" in why
    assert "value not allowed in 是否公开交易: 'Y' (allowed: 是, 否)" in why
    assert sum(r.startswith("conflicting rows for 合同编号 'ZL-010'") for r in why) == 2
    assert zh("value not allowed in 计量单位: '公顷' (allowed: 亩, 平方米)") == "计量单位：取值不在允许范围内：'公顷'（允许：亩, 平方米）"


def test_receipts_of_one_amount_on_one_day_with_two_numbers_are_two_payments(con, tmp_path):
    write(tmp_path, "collective_assets/rent_receipts.csv", "合同编号,收据编号,收款日期,金额\n"
          "ZL-001,R1,2024-01-10 09:30:00,2500.00\nZL-001,R2,2024-01-10,2500\nZL-001,R2,2024/01/10,\"2,500.00\"\n"
          "ZL 001,R3,20240110,0.01\nZL-404,R4,2024-01-10,10\n")
    out = load(con, tmp_path, "rent_receipts")
    assert out.rows == 4 and out.files[0].duplicates_dropped == 1
    assert con.execute("SELECT sum(amount) FROM rent_receipts WHERE contract_no = 'ZL001' OR contract_no = 'ZL-001'"
                       ).fetchall() == [(Decimal("5000.01"),)]


def test_bids_phones_codes_and_representatives(con, tmp_path):
    head = "项目编号,项目名称,采购单位,开标日期,投标人名称,统一社会信用代码,法定代表人姓名,法定代表人身份证号,联系电话,投标报价,是否中标\n"
    write(tmp_path, "procurement/bids.csv", head
          + f"HS-2024-01,道路维修,市 交通运输局,2024-05-06,甲公司,{CODE.lower()},王建国,{ID},+86 138-1234-5678,\"399,999.99\",是\n"
          + f"ＨＳ－２０２４－０１,道路维修,市交通运输局,,乙公司,{CODE[:4]} {CODE[4:]},李明,,8613812345678,400000,否\n"
          + f"HS-2024-01,道路维修,,,丙公司,91420200MA4K00001I,,,,,\n"
          + f"HS-2024-01,道路维修,,,丁公司,{CODE},,,无,,\n", "gbk")
    load(con, tmp_path, "bids")
    got = {r[0]: r[1:] for r in con.execute("SELECT bidder_name, project_no, buyer, credit_code, legal_rep_name, "
                                             "legal_rep_id, phone, bid_price, won FROM bids").fetchall()}
    assert got["甲公司"] == ("HS-2024-01", "市交通运输局", CODE, "王建国", ID, "13812345678", Decimal("399999.99"), "是")
    assert got["乙公司"][:6] == ("HS-2024-01", "市交通运输局", CODE, "李明", None, "13812345678")
    assert got["丁公司"][5] is None and len(got) == 3
    assert reasons(con, "bids") == ["invalid credit code in 统一社会信用代码: '91420200MA4K00001I'"]
    personal = CATALOG.tables["bids"].personal_columns()
    assert personal == {"legal_rep_name": "name", "legal_rep_name_raw": "name", "legal_rep_id": "identity", "phone": "phone"}


def test_procurement_contracts_and_the_personal_columns_of_the_leases(con, tmp_path):
    write(tmp_path, "procurement/contracts.csv", "合同编号,项目编号,采购单位,供应商名称,统一社会信用代码,合同金额,签订日期\n"
          f"CG-1,,市 教育局,甲公司,{CODE},399999.99,2024-03-01\nCG-2,,黄石市教育局,甲公司,{CODE},0.01,2024-03-02\n")
    load(con, tmp_path, "procurement_contracts")
    assert con.execute("SELECT buyer, amount FROM procurement_contracts ORDER BY contract_no").fetchall() == [
        ("市教育局", Decimal("399999.99")), ("黄石市教育局", Decimal("0.01"))]
    assert CATALOG.tables["asset_contracts"].personal_columns() == {
        "lessee_name": "name", "lessee_name_raw": "name", "lessee_id": "identity"}
    assert CATALOG.tables["procurement_contracts"].personal_columns() == {}


def test_the_registry_village_is_optional_and_a_text_key(con, tmp_path):
    head = "公民身份号码,姓名,性别,出生日期,民族,户号,与户主关系,户籍地址,所属区县,人口状态,注销日期,注销原因,死亡日期"
    write(tmp_path, "household_registry/residents.csv", f"{head}\n{ID},王建国,男,1950-01-01,汉,H1,户主,x,阳新县,正常,,,\n")
    out = load(con, tmp_path, "residents")
    assert out.rows == 1 and "所属乡镇" in out.reason
    assert con.execute("SELECT township, village FROM residents").fetchall() == [(None, None)]
    write(tmp_path, "household_registry/residents.csv",
          f"{head},所属乡镇,所属村\n{ID},王建国,男,1950-01-01,汉,H1,户主,x,阳新县,正常,,,,石花　镇, 东湾 村\n"
          f"{IDX},王建华,男,1980-01-01,汉,H1,子,x,阳新县,正常,,,,,\n")
    load(con, tmp_path, "residents")
    assert con.execute("SELECT township, village FROM residents ORDER BY person_id").fetchall() == [
        ("石花镇", "东湾村"), (None, None)]
