"""How long a findings workbook takes to write, openpyxl (crosscheck.reports.xlsx today) against
xlsxwriter in constant_memory mode, on the same rows: a priority sheet and a sheet per rule,
one row per finding, 14 columns, a fill on the severity cell, number formats, wrapped evidence.

    python bench/xlsx_bench.py [FINDINGS]      # default 5,447 (the 10M city's findings)
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

HEADERS = ["优先序", "规则", "身份证号", "姓名", "区县", "风险等级", "涉及金额（元）", "证据", "来源记录", "证据·月数",
           "证据·合计", "发现编号 / finding_key", "处置", "说明"]


def rows(n: int) -> list[list]:
    rng = random.Random(7)
    return [[i + 1, f"rule_{i % 7}", f"4202021950{i:08d}", "张*明", "黄石港区", ["高", "中", "低"][i % 3],
             round(rng.uniform(100, 90000), 2), "持卡人死亡日期 2024-02-10（户籍死亡日期），卡号 C001，死亡后刷卡 2 次" * 2,
             "household_registry/residents_a.csv:550\nsocial_security/pensioners_part1.csv:128", rng.randint(1, 20),
             round(rng.uniform(100, 90000), 2), f"{rng.getrandbits(64):020d}", None, None] for i in range(n)]


def with_openpyxl(path: Path, data: list[list], sheets: int) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    fill, header, wrap = PatternFill("solid", fgColor="FBE3E1"), Font(bold=True, color="FFFFFF"), Alignment(wrap_text=True, vertical="top")
    wb = Workbook()
    for s in range(sheets):
        ws = wb.active if s == 0 else wb.create_sheet(f"s{s}")
        for col, h in enumerate(HEADERS, 1):
            ws.cell(row=1, column=col, value=h).font = header
        for i, row in enumerate(data, 2):
            for col, v in enumerate(row, 1):
                c = ws.cell(row=i, column=col, value=v)
                if col == 6:
                    c.fill = fill
                elif col in (7, 11):
                    c.number_format = "0.00"
                elif col == 8:
                    c.alignment = wrap
        ws.freeze_panes = "A2"
    wb.save(path)


def with_xlsxwriter(path: Path, data: list[list], sheets: int) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F3A5F"})
    sev, money = wb.add_format({"bg_color": "#FBE3E1"}), wb.add_format({"num_format": "0.00"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    formats = {5: sev, 6: money, 10: money, 7: wrap}
    for s in range(sheets):
        ws = wb.add_worksheet(f"s{s}")
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, HEADERS, header)
        for i, row in enumerate(data, 1):
            for col, v in enumerate(row):
                if v is not None:
                    ws.write(i, col, v, formats.get(col))
    wb.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5447
    data = rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("openpyxl", with_openpyxl), ("xlsxwriter constant_memory", with_xlsxwriter)):
            best = min(_timed(fn, Path(tmp) / f"{name[:4]}.xlsx", data) for _ in range(2))
            print(f"{name}: {n:,} findings x 2 sheets: {best:.2f} s")


def _timed(fn, path: Path, data: list[list]) -> float:
    t = time.perf_counter()
    fn(path, data, 2)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
