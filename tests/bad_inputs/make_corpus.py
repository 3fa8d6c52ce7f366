"""Re-create the bad-input corpus files (run from anywhere; files are committed).

Each case is its own extracts root: tests/bad_inputs/<case>/<source folder>/<file>.
Expected outcomes live in cases.yaml next to this script.
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ID1 = "11010519491231002X"
ID2 = "420202195512171239"   # valid
P_HEAD = "个人编号,公民身份号码,姓名,性别,出生日期,险种类型,待遇享受开始年月,待遇状态,所属区县,街道乡镇"
PAY_HEAD = "个人编号,公民身份号码,姓名,险种类型,发放年月,发放金额,发放日期"
S = "企业职工基本养老保险"
BACKSLASH_N = "\\N"
MULTILINE = '"东街\n二号"'
QUOTED = '"3,215.40"'


def pensioner(pid: str, no: str = "P1", name: str = "陈大文", born: str = "1949-12-31", start: str = "200912") -> str:
    return f"{no},{pid},{name},男,{born},{S},{start},正常发放,东区,东街"


def payment(month: str, amount: str, pid: str = ID1, paid: str = "2023-01-10") -> str:
    return f"P1,{pid},陈大文,{S},{month},{amount},{paid}"


TEXT_CASES: dict[str, tuple[str, str, str]] = {
    # case: (relative file, encoding, content)
    "utf8": ("social_security/pensioners.csv", "utf-8", f"{P_HEAD}\n{pensioner(ID1)}\n{pensioner(ID2, 'P2', '李四')}\n"),
    "utf8_bom": ("social_security/pensioners.csv", "utf-8-sig", f"{P_HEAD}\n{pensioner(ID1)}\n{pensioner(ID2, 'P2', '李四')}\n"),
    "gbk": ("social_security/pensioners.csv", "gbk", f"{P_HEAD}\n{pensioner(ID1, name='陈大文')}\n{pensioner(ID2, 'P2', '阿依古丽·买买提')}\n"),
    "crlf": ("social_security/pensioners.csv", "utf-8", f"{P_HEAD}\r\n{pensioner(ID1)}\r\n"),
    "empty_markers": ("social_security/pensioners.csv", "utf-8",
                      f"{P_HEAD}\nP1,{ID1},陈大文,,NULL,{S},{BACKSLASH_N},-,,\n"),
    "date_forms": ("social_security/pensioners.csv", "utf-8",
                   f"{P_HEAD}\n{pensioner(ID1, 'P1', born='19491231')}\n{pensioner(ID1, 'P2', born='1949-12-31')}\n"
                   f"{pensioner(ID1, 'P3', born='1949/12/31')}\n{pensioner(ID1, 'P4', born='1949-12-31 00:00')}\n"
                   f"{pensioner(ID1, 'P5', born='1949-12-31 00:00:00')}\n"),
    "month_forms": ("social_security/pension_payments.csv", "utf-8",
                    f"{PAY_HEAD}\n{payment('202301', '100')}\n{payment('2023-02', '100')}\n{payment('2023/03', '100')}\n"),
    "amount_forms": ("social_security/pension_payments.csv", "utf-8",
                     f"{PAY_HEAD}\n{payment('202301', '3215.4')}\n{payment('202302', '3215.40')}\n{payment('202303', QUOTED)}\n"),
    "negative_amount": ("social_security/pension_payments.csv", "utf-8", f"{PAY_HEAD}\n{payment('202301', '-3215.40')}\n"),
    "bad_date": ("social_security/pensioners.csv", "utf-8", f"{P_HEAD}\n{pensioner(ID1, born='2023-13-45')}\n"),
    "future_birth": ("social_security/pensioners.csv", "utf-8", f"{P_HEAD}\n{pensioner(ID1, born='2099-01-01')}\n"),
    "bad_month": ("social_security/pension_payments.csv", "utf-8", f"{PAY_HEAD}\n{payment('2023-13', '1')}\n"),
    "identity_variants": ("social_security/pensioners.csv", "utf-8",
                          f"{P_HEAD}\n{pensioner(ID1.lower(), 'P1')}\n{pensioner(' ' + ID1 + ' ', 'P2')}\n"
                          f"{pensioner('１１０１０５１９４９１２３１００２Ｘ', 'P3')}\n{pensioner('110105491231002', 'P4')}\n"
                          f"{pensioner(chr(0x3000) + ID1, 'P5')}\n"),
    "identity_invalid": ("social_security/pensioners.csv", "utf-8",
                         f"{P_HEAD}\n{pensioner('11010519491231002', 'P1')}\n{pensioner('110105194912310021', 'P2')}\n"
                         f"{pensioner('11010519491331002X', 'P3')}\n{pensioner('1101051949123100A2', 'P4')}\n"
                         f"{pensioner('', 'P5')}\n"),
    "name_variants": ("social_security/pensioners.csv", "utf-8",
                      f"{P_HEAD}\n{pensioner(ID1, 'P1', '陳大文')}\n{pensioner(ID1, 'P2', '陈　大文')}\n"
                      f"{pensioner(ID2, 'P3', '阿依古丽•买买提')}\n{pensioner(ID2, 'P4', '阿依古丽.买买提')}\n"),
    "duplicates_in_file": ("social_security/pension_payments.csv", "utf-8",
                           f"{PAY_HEAD}\n{payment('202301', '100')}\n{payment('202301', '100')}\n{payment('202301', '100.00')}\n"),
    "extra_columns": ("social_security/pensioners.csv", "utf-8",
                      f"备注,{P_HEAD},导出时间\nx,{pensioner(ID1)},2024-01-01\n"),
    "missing_required_column": ("social_security/pensioners.csv", "utf-8",
                                "个人编号,姓名,险种类型\nP1,陈大文,企业职工基本养老保险\n"),
    "missing_optional_column": ("social_security/pension_payments.csv", "utf-8",
                                f"公民身份号码,险种类型,发放年月,发放金额\n{ID1},{S},202301,100\n"),
    "zero_byte": ("social_security/pensioners.csv", "utf-8", ""),
    "header_only": ("social_security/pensioners.csv", "utf-8", f"{P_HEAD}\n"),
    "malformed_rows": ("social_security/pensioners.csv", "utf-8",
                       f"{P_HEAD}\n{pensioner(ID1, 'P1')}\nP2,{ID1},短行\n{pensioner(ID1, 'P3')},多余\n{pensioner(ID1, 'P4')}\n"),
    "blank_lines_quoted_newline": ("social_security/pensioners.csv", "utf-8",
                                   f"{P_HEAD}\n{pensioner(ID1, 'P1')}\n\nP2,{ID1},陈大文,男,1949-12-31,{S},200912,正常发放,东区,{MULTILINE}\n"
                                   f"{pensioner(ID1, 'P3', born='bad')}\n"),
    "missing_required_value": ("social_security/pension_payments.csv", "utf-8", f"{PAY_HEAD}\nP1,{ID1},陈大文,{S},202301,-,\n"),
    "no_matching_file": ("social_security/other.csv", "utf-8", "a\n1\n"),
}


def main() -> None:
    for case, (rel, encoding, text) in TEXT_CASES.items():
        root = HERE / case
        shutil.rmtree(root, ignore_errors=True)
        path = root / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(text.encode(encoding))

    # split over files, exact duplicate across files (a month exported twice), GBK second file
    root = HERE / "duplicates_across_files"
    shutil.rmtree(root, ignore_errors=True)
    (root / "social_security").mkdir(parents=True)
    (root / "social_security/pension_payments_202301.csv").write_text(f"{PAY_HEAD}\n{payment('202301', '100')}\n", "utf-8")
    (root / "social_security/pension_payments_202302.csv").write_bytes(
        f"{PAY_HEAD}\n{payment('202301', '100.00')}\n{payment('202302', '100')}\n".encode("gbk"))

    # undecodable: valid GBK then bytes that are neither UTF-8 nor GB18030
    root = HERE / "undecodable"
    shutil.rmtree(root, ignore_errors=True)
    (root / "social_security").mkdir(parents=True)
    (root / "social_security/pensioners.csv").write_bytes(
        f"{P_HEAD}\n{pensioner(ID1)}\n".encode("gbk") + b"P2,\x81\x20\xff\n")

    # xlsx: identity number typed as a number in Excel (digits lost), dates as dates
    from openpyxl import Workbook

    root = HERE / "xlsx"
    shutil.rmtree(root, ignore_errors=True)
    (root / "household_registry").mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    ws.append(["公民身份号码", "姓名", "性别", "出生日期", "人口状态", "死亡日期"])
    ws.append([ID1, "陈大文", "男", datetime(1949, 12, 31), "正常", None])
    ws.append([int(ID2), "李四", "男", "19551217", "正常", None])
    ws.append([110105491231002, "张三", "男", None, "死亡", datetime(2023, 5, 1)])
    wb.save(root / "household_registry/residents.xlsx")

    # parquet taps with an extra column and typed columns
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = HERE / "parquet"
    shutil.rmtree(root, ignore_errors=True)
    (root / "transit_card").mkdir(parents=True)
    pq.write_table(pa.table({
        "卡号": ["C1", "C1", "C2"],
        "交易时间": pa.array([datetime(2023, 1, 5, 10, 30), datetime(2023, 1, 5, 10, 30), None], pa.timestamp("s")),
        "线路编号": ["1", "1", "2"],
        "交易金额": [0.0, 0.0, 2.0],
        "多余": [1, 1, 1],
    }), root / "transit_card/taps_202301.parquet")

    # missing source folder: an empty extracts root
    root = HERE / "missing_source_folder"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    (root / ".keep").write_text("")


def hardening_cases() -> None:
    """Step 10 (hardening): truncated and mixed-encoding text, corrupt binaries, a binary file named .csv."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def put(case: str, rel: str, data: bytes) -> None:
        root = HERE / case
        shutil.rmtree(root, ignore_errors=True)
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_bytes(data)

    good = f"{P_HEAD}\n{pensioner(ID1, 'P1')}\n{pensioner(ID2, 'P2', '李四')}\n"
    # cut mid-row (the export stopped): the last, short record is quarantined, the rest loads
    put("truncated_csv", "social_security/pensioners.csv", (good + pensioner(ID1, "P3"))[:-30].encode("utf-8"))
    # cut inside a quoted field: the unterminated record is quarantined
    put("truncated_in_quotes", "social_security/pensioners.csv",
        (good + f'P3,{ID1},陈大文,男,1949-12-31,{S},200912,正常发放,东区,"东街').encode("utf-8"))
    # GBK cut in the middle of a two-byte character
    put("truncated_gbk", "social_security/pensioners.csv", (good + "P3,").encode("gbk") + "陈".encode("gbk")[:1])
    # UTF-8 for the first rows, then rows appended by a system writing GBK
    put("encoding_switch", "social_security/pensioners.csv",
        good.encode("utf-8") + f"{pensioner(ID1, 'P3', '王五')}\n".encode("gbk"))
    # GBK first, then UTF-8 rows appended
    put("encoding_switch_gbk_first", "social_security/pensioners.csv",
        good.encode("gbk") + f"{pensioner(ID1, 'P3', '阿依古丽·买买提')}\n".encode("utf-8"))
    # a zip archive (or any binary) delivered under a .csv name
    put("binary_as_csv", "social_security/pensioners.csv", b"PK\x03\x04" + bytes(range(256)) * 4)
    # NUL bytes inside a row
    put("nul_bytes", "social_security/pensioners.csv", (good + f"P3,{ID1},陈\x00大文,男,1949-12-31,{S},200912,正常发放,东区,东街\n").encode("utf-8"))

    # Parquet cut short (no footer), and one whose footer length points past the file
    import io

    buf = io.BytesIO()
    pq.write_table(pa.table({"卡号": ["C1", "C2"], "交易时间": ["2023-01-05 10:30:00", "2023-01-06 10:30:00"],
                             "线路编号": ["1", "2"], "交易金额": ["0", "2"]}), buf)
    data = buf.getvalue()
    put("corrupt_parquet", "transit_card/taps_202301.parquet", data[: len(data) // 2])
    put("corrupt_parquet_footer", "transit_card/taps_202301.parquet", data[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1")

    # xlsx: password-protected (Office encrypts into an OLE2 compound file), and one cut short
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["公民身份号码", "姓名", "性别", "出生日期", "人口状态", "死亡日期"])
    wb.active.append([ID1, "陈大文", "男", "1949-12-31", "正常", None])
    xbuf = io.BytesIO()
    wb.save(xbuf)
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + bytes.fromhex("3E000300FEFF0900") + bytes(488)
    ole += "EncryptionInfo".encode("utf-16-le") + bytes(512) + "EncryptedPackage".encode("utf-16-le") + bytes(1024)
    put("xlsx_encrypted", "household_registry/residents.xlsx", ole)
    put("xlsx_corrupt", "household_registry/residents.xlsx", xbuf.getvalue()[:1500])


if __name__ == "__main__":
    main()
    hardening_cases()
