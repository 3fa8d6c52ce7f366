"""Connectors: files in tmp_path -> canonical DuckDB tables, quarantine and accounting."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import write

from crosscheck.catalog import ConnectorSpec, load_catalog
from crosscheck.connectors import load_delivery, load_source
from crosscheck.results import QUARANTINE_SCHEMA

REPO = Path(__file__).resolve().parents[1]
ID1 = "11010519491231002X"
ID15 = "110105491231002"                        # legacy form of ID1

DEMO = ConnectorSpec.model_validate(
    {
        "source": "demo",
        "title": {"zh": "演示", "en": "Demo"},
        "folder": "demo",
        "tables": {
            "people": {
                "title": {"zh": "人员", "en": "People"},
                "files": ["people*.csv", "people*.xlsx", "people*.parquet"],
                "columns": [
                    {"name": "person_id", "header": "公民身份号码", "type": "identity"},
                    {"name": "name", "header": "姓名", "type": "name"},
                    {"name": "birth_date", "header": "出生日期", "type": "date", "nullable": True},
                    {"name": "seen_at", "header": "时间", "type": "datetime", "nullable": True},
                    {"name": "pay_month", "header": "发放年月", "type": "month", "nullable": True},
                    {"name": "amount", "header": "金额", "type": "amount", "nullable": True},
                    {"name": "visits", "header": "次数", "type": "integer", "nullable": True},
                    {"name": "note", "header": "备注", "type": "text", "nullable": True},
                ],
            },
            "cards": {
                "title": {"zh": "卡", "en": "Cards"},
                "files": ["cards*.csv"],
                "columns": [{"name": "card_no", "header": "卡号", "type": "text"}],
            },
        },
    }
)
HEADER = "公民身份号码,姓名,出生日期,时间,发放年月,金额,次数,备注"


def _id(first17: str) -> str:
    from crosscheck.normalize import check_char

    return first17 + check_char(first17)


ID2 = _id("42020219551217123")


def load(con, root, connector=DEMO):
    loads = {t.table: t for t in load_source(con, root, connector, validate=False)}
    for t in loads.values():
        for f in t.files:
            assert f.balanced, f
    return loads


def quarantine(con) -> list[tuple]:
    return con.execute("SELECT file, line, reason FROM quarantine ORDER BY file, line").fetchall()


def rows(con, table="people", cols="*"):
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY source_file, source_line").fetchall()


# ------------------------------------------------------------ encodings

@pytest.mark.parametrize(("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_encodings_detected_and_decoded(con, tmp_path, encoding, detected):
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},陳大文,1949-12-31,,,,,备注一\n{ID2},阿依古丽·买买提,,,,,,\n", encoding)
    people = load(con, tmp_path)["people"]
    assert people.status == "loaded"
    account = people.files[0]
    assert account.encoding == detected
    assert (account.rows_read, account.rows_loaded) == (2, 2)
    assert rows(con, cols="person_id, name, name_raw, note") == [
        (ID1, "陈大文", "陳大文", "备注一"),
        (ID2, "阿依古丽·买买提", "阿依古丽·买买提", None),
    ]


def test_utf8_multibyte_char_across_chunk_boundary(con, tmp_path, monkeypatch):
    import crosscheck.connectors.files as files

    monkeypatch.setattr(files, "CHUNK", 7)
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},陈大文,,,,,,\n")
    people = load(con, tmp_path)["people"]
    assert people.files[0].encoding == "utf-8"
    assert rows(con, cols="name") == [("陈大文",)]


def test_utf8_start_then_other_bytes_fails_naming_line(con, tmp_path, monkeypatch):
    """The quick scan decodes only the file's start; the CSV reader finds the GBK line further on."""
    import crosscheck.connectors.files as files

    monkeypatch.setattr(files, "CHUNK", 64)
    body = "".join(f"{ID1},陈大文,,,,,,第{i}行\n" for i in range(40))
    path = write(tmp_path, "demo/people.csv", f"{HEADER}\n{body}")
    with open(path, "ab") as fh:
        fh.write(f"{ID2},李四,,,,,,".encode() + "备注".encode("gbk") + b"\n")
    people = load(con, tmp_path)["people"]
    assert people.status == "failed"
    assert "line 42: bytes at offset" in people.reason and "not UTF-8 like the lines before them" in people.reason


def test_repeated_values_parsed_once_give_the_same_rows(tmp_path, monkeypatch):
    """Columns that repeat a lot are cleaned and parsed once per distinct value: same result."""
    import crosscheck.connectors.headers as columns

    months = ["202301", "2023-02", " 2023/03 ", "2023-13", "-"]
    body = "".join(f"{ID1 if i % 2 else ID2},陈大文,,,{months[i % 5] if i != 777 else 'soon'},{i % 7}.5,,\n"
                   for i in range(30_000))
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{body}")
    outcomes = []
    for share in (columns.LOOKUP_SHARE, 0.0):  # 0: every column row by row
        monkeypatch.setattr(columns, "LOOKUP_SHARE", share)
        c = duckdb.connect()
        loads = load(c, tmp_path)
        outcomes.append((rows(c, cols="source_line, pay_month, amount"), quarantine(c),
                         [(f.rows_loaded, f.rows_quarantined, f.duplicates_dropped) for f in loads["people"].files]))
        c.close()
    assert outcomes[0] == outcomes[1]
    _, bad, accounts = outcomes[0]
    assert (779, "unparseable month in 发放年月: 'soon'") in [r[1:] for r in bad]
    assert accounts[0][1] == 6_000 + 1 - (777 % 5 == 3)


def test_known_hash_is_not_recomputed(con, tmp_path):
    path = write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},陈大文,,,,,,\n")
    loads = load_source(con, tmp_path, DEMO, validate=False, known_hashes={str(path.resolve()): "f" * 64})
    assert loads[0].files[0].sha256 == "f" * 64


def test_sha256_is_of_file_bytes(con, tmp_path):
    import hashlib

    path = write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},陈大文,,,,,,\n", "gbk")
    account = load(con, tmp_path)["people"].files[0]
    assert account.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert account.file == "demo/people.csv"


# ------------------------------------------------------------ values

def test_empty_markers_become_null(con, tmp_path):
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},陈大文,NULL,\\N,-, NULL ,,\"\"\n")
    load(con, tmp_path)
    assert rows(con, cols="birth_date, seen_at, pay_month, amount, visits, note") == [(None,) * 6]


def test_date_month_amount_forms(con, tmp_path):
    lines = [
        f"{ID1},甲,19491231,2023-01-05 10:30,202301,3215.4,7,",
        f"{ID1},乙,1949-12-31,2023-01-05 10:30:15,2023-01,3215.40,7.0,",
        f"{ID1},丙,1949/12/31,2023/01/05 10:30,2023/01,\"3,215.40\",,",
        f"{ID1},丁,1949-12-31 00:00:00,20230105,2023-01-01,0,,",
        f"{ID1},戊,1949/12/31 08:00,2023-01-05,20230101,\"1,234,567.5\",,",
    ]
    write(tmp_path, "demo/people.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    load(con, tmp_path)
    got = rows(con, cols="birth_date, seen_at, pay_month, amount, visits")
    born, jan = date(1949, 12, 31), date(2023, 1, 1)
    assert got == [
        (born, datetime(2023, 1, 5, 10, 30), jan, Decimal("3215.40"), 7),
        (born, datetime(2023, 1, 5, 10, 30, 15), jan, Decimal("3215.40"), 7),
        (born, datetime(2023, 1, 5, 10, 30), jan, Decimal("3215.40"), None),
        (born, datetime(2023, 1, 5), jan, Decimal("0.00"), None),
        (born, datetime(2023, 1, 5), jan, Decimal("1234567.50"), None),
    ]
    assert quarantine(con) == []


def test_unparseable_values_quarantined_with_reason(con, tmp_path):
    lines = [
        f"{ID1},甲,2023-13-45,,,,,",
        f"{ID1},乙,,yesterday,,,,",
        f"{ID1},丙,,,2023-13,,,",
        f"{ID1},丁,,,,-12.50,,",
        f"{ID1},戊,,,,12.345,,",
        f"{ID1},己,2099-01-01,,,,,",
        f"{ID1},庚,1870-01-01,,,,,",
        f"110105194912310021,辛,,,,,,",
        f",壬,,,,,,",
        f"{ID1},,,,,,x1,",
    ]
    write(tmp_path, "demo/people.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    people = load(con, tmp_path)["people"]
    assert people.files[0].rows_quarantined == 10 and people.rows == 0
    assert [r[1:] for r in quarantine(con)] == [
        (2, "unparseable date in 出生日期: '2023-13-45'"),
        (3, "unparseable datetime in 时间: 'yesterday'"),
        (4, "unparseable month in 发放年月: '2023-13'"),
        (5, "negative amount in 金额: '-12.50'"),
        (6, "unparseable amount in 金额: '12.345'"),
        (7, "impossible birth date in 出生日期: '2099-01-01'"),
        (8, "impossible birth date in 出生日期: '1870-01-01'"),
        (9, "invalid identity number in 公民身份号码: bad check character: '110105194912310021'"),
        (10, "missing value in 公民身份号码"),
        (11, "missing value in 姓名; unparseable integer in 次数: 'x1'"),
    ]
    raw = json.loads(con.execute("SELECT raw_values FROM quarantine WHERE line = 2").fetchall()[0][0])
    assert raw == {"公民身份号码": ID1, "姓名": "甲", "出生日期": "2023-13-45", "时间": None, "发放年月": None,
                   "金额": None, "次数": None, "备注": None}


def test_identity_forms_normalised_in_load(con, tmp_path):
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1.lower()},甲,,,,,,\n {ID15} ,乙,,,,,,\n１１０１０５１９４９１２３１００２Ｘ,丙,,,,,,\n")
    load(con, tmp_path)
    assert rows(con, cols="person_id") == [(ID1,)] * 3


# ------------------------------------------------------------ files and headers

def test_table_split_over_files_duplicates_across_files(con, tmp_path):
    write(tmp_path, "demo/people_2023_01.csv", f"{HEADER}\n{ID1},陈大文,,,202301,100,,\n{ID2},李四,,,202301,200,,\n")
    write(tmp_path, "demo/people_2023_02.csv", f"{HEADER}\n{ID1},陈大文,,,202301,100,,\n{ID1},陈 大文,,,202302,100,,\n{ID1},陈大文,,,202302,100,,\n", "gbk")
    people = load(con, tmp_path)["people"]
    first, second = people.files
    assert (first.rows_read, first.rows_loaded, first.duplicates_dropped) == (2, 2, 0)
    # line 2 repeats file 1; line 4 repeats line 3 once names are normalised
    assert (second.rows_read, second.rows_loaded, second.duplicates_dropped) == (3, 1, 2)
    assert rows(con, cols="source_file, source_line, name_raw") == [
        ("demo/people_2023_01.csv", 2, "陈大文"),
        ("demo/people_2023_01.csv", 3, "李四"),
        ("demo/people_2023_02.csv", 3, "陈 大文"),
    ]


def test_quarantined_rows_are_not_duplicates(con, tmp_path):
    write(tmp_path, "demo/people.csv", f"{HEADER}\n{ID1},甲,,,,-1,,\n{ID1},甲,,,,-1,,\n")
    f = load(con, tmp_path)["people"].files[0]
    assert (f.rows_quarantined, f.duplicates_dropped) == (2, 0)


def test_extra_columns_ignored_headers_normalised(con, tmp_path):
    header = "额外列, 公民身份号码 ,姓名,备注,另一个"
    write(tmp_path, "demo/people.csv", f"{header}\nA,{ID1},陈大文,x,B\n")
    people = load(con, tmp_path)["people"]
    assert rows(con, cols="person_id, note, birth_date") == [(ID1, "x", None)]
    assert "出生日期 (birth_date)" in people.reason and "absent" in people.reason


def test_missing_required_column_fails_file_not_table(con, tmp_path):
    write(tmp_path, "demo/people_a.csv", f"公民身份号码,备注\n{ID1},x\n")
    write(tmp_path, "demo/people_b.csv", f"{HEADER}\n{ID1},陈大文,,,,,,\n")
    people = load(con, tmp_path)["people"]
    bad, good = people.files
    assert bad.status == "failed"
    assert bad.error == "demo/people_a.csv: line 1: missing required column 姓名 (name)"
    assert (bad.rows_read, bad.rows_loaded) == (0, 0)
    assert good.status == "loaded" and people.status == "partial" and people.rows == 1
    assert "demo/people_a.csv" in people.reason


def test_zero_byte_file_fails_and_table_not_created(con, tmp_path):
    write(tmp_path, "demo/people.csv", "")
    write(tmp_path, "demo/cards.csv", "卡号\nC1\n")
    loads = load(con, tmp_path)
    assert loads["people"].status == "failed"
    assert loads["people"].reason == "demo/people.csv: empty file (0 bytes)"
    assert loads["cards"].status == "loaded" and rows(con, "cards", "card_no") == [("C1",)]
    assert "people" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def test_header_only_file_loads_zero_rows(con, tmp_path):
    write(tmp_path, "demo/people.csv", HEADER + "\n")
    people = load(con, tmp_path)["people"]
    assert people.status == "loaded" and people.rows == 0


def test_missing_source_folder_and_missing_table(con, tmp_path):
    loads = load(con, tmp_path)
    assert {t.status for t in loads.values()} == {"missing"}
    assert "demo/" in loads["people"].reason
    (tmp_path / "demo").mkdir()
    write(tmp_path, "demo/cards.csv", "卡号\nC1\n")
    loads = load(con, tmp_path)
    assert loads["people"].status == "missing" and "people*.csv" in loads["people"].reason
    assert loads["cards"].status == "loaded"


def test_undecodable_file_fails_naming_line(con, tmp_path):
    path = tmp_path / "demo" / "people.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(f"{HEADER}\n{ID1},".encode("gbk") + b"\x81\x20\xff" + b",,,,,,\n")
    people = load(con, tmp_path)["people"]
    assert people.status == "failed"
    assert people.files[0].error.startswith("demo/people.csv: line 2: bytes at offset")


def test_malformed_rows_quarantined_with_physical_lines(con, tmp_path):
    text = f"{HEADER}\n{ID1},甲,,,,,,\n{ID1},乙\n{ID1},丙,,,,,,,,\n{ID1},丁,,,,,,\n"
    write(tmp_path, "demo/people.csv", text)
    f = load(con, tmp_path)["people"].files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (4, 2, 2)
    assert [r[1] for r in quarantine(con)] == [3, 4]
    assert rows(con, cols="source_line") == [(2,), (5,)]


def test_blank_lines_and_quoted_newlines_keep_physical_lines(con, tmp_path):
    text = f"{HEADER}\n{ID1},甲,,,,,,\"多\n行\"\n\n{ID1},乙\n{ID1},丙,,,,,,\n\n"
    write(tmp_path, "demo/people.csv", text)
    f = load(con, tmp_path)["people"].files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    assert rows(con, cols="source_line, note") == [(2, "多\n行"), (6, None)]
    assert [r[1] for r in quarantine(con)] == [5]


def test_crlf_line_endings(con, tmp_path):
    write(tmp_path, "demo/people.csv", f"{HEADER}\r\n{ID1},甲,,,,,,x\r\n")
    load(con, tmp_path)
    assert rows(con, cols="note, source_line") == [("x", 2)]


# ------------------------------------------------------------ xlsx and parquet

def test_xlsx_first_sheet_cells_as_seen(con, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append([ID1, "陈大文", datetime(1949, 12, 31), datetime(2023, 1, 5, 10, 30), "202301", 3215.4, 7, "x"])
    ws.append([int(ID2[:17] + "0"), "李四", None, None, None, None, None, None])        # 18 digits as a number
    ws.append([])                                                                     # empty row: skipped
    ws.append([int(ID15), "张三", "1949-12-31", None, datetime(2023, 2, 1), 1234.5, None, None])
    wb.create_sheet("other").append(["ignored"])
    (tmp_path / "demo").mkdir()
    wb.save(tmp_path / "demo" / "people.xlsx")
    f = load(con, tmp_path)["people"].files[0]
    assert (f.encoding, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("xlsx", 3, 2, 1)
    assert rows(con, cols="source_line, person_id, birth_date, seen_at, pay_month, amount, visits") == [
        (2, ID1, date(1949, 12, 31), datetime(2023, 1, 5, 10, 30), date(2023, 1, 1), Decimal("3215.40"), 7),
        (5, ID1, date(1949, 12, 31), None, date(2023, 2, 1), Decimal("1234.50"), None),
    ]
    (line, reason), = [r[1:] for r in quarantine(con)]
    assert line == 3 and "stored as an Excel number, digits lost" in reason


def test_parquet_cast_to_text_and_mapped(con, tmp_path):
    (tmp_path / "demo").mkdir()
    table = pa.table({
        "公民身份号码": [ID1, "bad"],
        "姓名": ["陈大文", "李四"],
        "出生日期": pa.array([date(1949, 12, 31), None], pa.date32()),
        "时间": pa.array([datetime(2023, 1, 5, 10, 30), None], pa.timestamp("us")),
        "金额": [3215.4, None],
        "多余": [1, 2],
    })
    pq.write_table(table, tmp_path / "demo" / "people_1.parquet")
    f = load(con, tmp_path)["people"].files[0]
    assert (f.encoding, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("parquet", 2, 1, 1)
    assert rows(con, cols="source_line, person_id, birth_date, seen_at, amount") == [
        (2, ID1, date(1949, 12, 31), datetime(2023, 1, 5, 10, 30), Decimal("3215.40"))
    ]
    assert quarantine(con)[0][1:] == (3, "invalid identity number in 公民身份号码: wrong length (3 characters): 'bad'")


# ------------------------------------------------------------ the real catalog

def test_parquet_typed_amounts_follow_the_text_rules(con, tmp_path):
    (tmp_path / "demo").mkdir()
    table = pa.table({
        "公民身份号码": [ID1, ID2, ID1],
        "姓名": ["陈大文", "李四", "王五"],
        "金额": pa.array([12.5, 1.005, -3.0], pa.float64()),
        "次数": pa.array([3, 4, 5], pa.int32()),
    })
    pq.write_table(table, tmp_path / "demo" / "people_1.parquet")
    f = load(con, tmp_path)["people"].files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 1, 2)
    assert rows(con, cols="amount, visits") == [(Decimal("12.50"), 3)]
    assert [r[1:] for r in quarantine(con)] == [
        (3, "unparseable amount in 金额: '1.005'"),
        (4, "negative amount in 金额: '-3.0'"),
    ]


def test_real_catalog_tables_have_exact_schema(con, tmp_path):
    catalog = load_catalog(REPO / "connectors")
    write(tmp_path, "social_security/pensioners.csv",
          "个人编号,公民身份号码,姓名,性别,出生日期,险种类型,待遇享受开始年月,待遇状态,所属区县,街道乡镇\n"
          f"P1,{ID1},陈大文,男,1949-12-31,企业职工基本养老保险,200912,正常发放,东区,东街\n", "gbk")
    write(tmp_path, "transit_card/taps_1.csv", f"卡号,交易时间,线路编号,车辆编号,交易金额\nC1,2023-01-05 10:30:00,1,V,0\n")
    loads = {t.table: t for t in load_delivery(con, tmp_path, catalog, validate=False)}
    assert loads["pensioners"].status == "loaded" and loads["taps"].status == "loaded"
    assert loads["residents"].status == "missing"
    for table in ("pensioners", "taps"):
        described = con.execute(f"DESCRIBE {table}").fetchall()
        assert {r[0]: r[1] for r in described} == catalog.columns(table)
        assert [r[0] for r in described] == list(catalog.columns(table))
    described = con.execute("DESCRIBE quarantine").fetchall()
    assert [r[0] for r in described] == QUARANTINE_SCHEMA.names
    assert rows(con, "pensioners", "entitlement_start_month, source_file") == [(date(2009, 12, 1), "social_security/pensioners.csv")]


# ------------------------------------------------------------ generated sample city

def test_sample_city_matches_truth(con, tmp_path):
    """Per file: rows, invalid rows and duplicates as the generator declares; quarantine lines exactly."""
    import csv

    sample = pytest.importorskip("devtools.sample")
    sample.generate_city(tmp_path, people=3000, seed=1)
    loads = load_delivery(con, tmp_path, load_catalog(REPO / "connectors"), validate=False)
    accounts = {f.file: f for t in loads for f in t.files}
    for f in accounts.values():
        assert f.balanced and f.status == "loaded", f
    with open(tmp_path / "_truth" / "files.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    assert sorted(accounts) == sorted(r["file"] for r in truth)
    for r in truth:
        f = accounts[r["file"]]
        assert (f.rows_read, f.rows_quarantined, f.duplicates_dropped) == (
            int(r["rows"]), int(r["invalid_rows"]), int(r["duplicate_rows"])), r["file"]
    with open(tmp_path / "_truth" / "quarantine.csv", encoding="utf-8") as fh:
        expected = sorted((r["file"], int(r["line"])) for r in csv.DictReader(fh))
    assert sorted(con.execute("SELECT file, line FROM quarantine").fetchall()) == expected
