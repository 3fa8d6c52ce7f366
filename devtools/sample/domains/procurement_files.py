"""The procurement files as the platform exports them: bids of past years in GBK and of this year in
.xlsx, contracts in GB18030 and UTF-8 with BOM; credit codes in lower case or full-width, phones
and identity numbers in their allowed forms, amounts in three forms; exact copies and junk rows.
The suppliers' enterprises go to market_regulation/enterprises_procurement.csv."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import ids as idmod
from .. import vocab as V
from ..model import Truth
from .business_files import code_form
from .files import Rows
from .procurement import Market, build, record_truth
from .sanzi_files import amount, date_text
from .sanzi_people import Registry

BID_HEADER = ["项目编号", "项目名称", "采购单位", "开标日期", "投标人名称", "统一社会信用代码", "法定代表人姓名", "法定代表人身份证号",
              "联系电话", "投标报价", "是否中标"]
CONTRACT_HEADER = ["合同编号", "项目编号", "采购单位", "供应商名称", "统一社会信用代码", "合同金额", "签订日期"]
ITEMS = ["办公设备采购", "物业管理服务", "信息系统运维", "教学设备采购", "绿化养护", "安防监控改造"]


def _bids(ctx: D.Ctx, m: Market) -> None:
    year = m.as_of.year
    old, new = Rows(BID_HEADER), Rows(BID_HEADER)
    for i, b in enumerate(sorted(m.bids, key=lambda b: (b.opening, b.project))):
        xlsx = b.opening.year >= year
        rep = idmod.render(b.rep_pid, b.rep_form) if b.rep_pid else V.NULL_TOKENS[i % 4]
        row = [b.project, f"{b.buyer}{ITEMS[int(b.project[-2:]) % len(ITEMS)]}项目" if i % 6 else "", b.buyer,
               b.opening if xlsx else date_text(b.opening, i), b.firm.name, code_form(b.firm.code, b.code_shown), b.firm.rep_name,
               rep, b.phone, amount(b.price, i) if i % 17 or b.won == "是" else "", b.won]
        part = new if xlsx else old
        part.add(row)
        for _ in range(b.copies):
            part.copy_last()
    old.add(["HSCG-BAD-1", "x", "市财政局", f"{year - 1}-03-03", "某公司", "91420200MA000001I0", "", "", "", "", "否"],
            quarantined="credit_code")
    old.add(["HSCG-BAD-2", "x", "市财政局", f"{year - 1}-03-03", "某公司", "91420281MA0000010X", "", "", "", "", "待定"],
            quarantined="enumeration")
    old.write(ctx, "procurement", "bids", f"bids_{year - 1}.csv", encoding="gbk", crlf=True)
    new.write(ctx, "procurement", "bids", f"bids_{year}.xlsx")


def _contracts(ctx: D.Ctx, m: Market) -> None:
    year = m.as_of.year
    old, new = Rows(CONTRACT_HEADER), Rows(CONTRACT_HEADER)
    for i, c in enumerate(sorted(m.contracts, key=lambda c: (c.signed, c.no))):
        part = old if c.signed.year < year else new
        part.add([c.no, c.project or V.NULL_TOKENS[i % 4], c.buyer_shown, c.firm.name if i % 9 else "", code_form(c.firm.code, i),
                  amount(c.cents, i), date_text(c.signed, i)])
        if i == 6:
            part.copy_last()
    old.add(["CG-BAD-1", "", "黄石市财政局", "某公司", "91420281MA0000010X", "拾万元", f"{year - 1}-05-05"], quarantined="amount")
    old.add(["CG-BAD-2", "", "黄石市财政局", "某公司", "91420281MA0000010X", "1000.00", f"{year - 1}-02-30"], quarantined="date")
    old.add(["CG-BAD-3", "", "黄石市财政局", "某公司", "", "1000.00", f"{year - 1}-05-05"], quarantined="missing")
    old.write(ctx, "procurement", "procurement_contracts", f"contracts_{year - 1}.csv", encoding="gb18030", crlf=True)
    new.write(ctx, "procurement", "procurement_contracts", f"contracts_{year}.csv", encoding="utf-8-sig")


def _enterprises(ctx: D.Ctx, m: Market) -> None:
    rows = Rows(["统一社会信用代码", "企业名称", "法定代表人身份证号", "法定代表人姓名", "注册资本", "成立日期", "登记状态", "注销日期"])
    for i, f in enumerate(m.firms):
        rows.add([code_form(f.code, i + 1), f.name, idmod.render(f.rep_pid, [0, 0, idmod.LOWER_X, idmod.SPACES][i % 4]), f.rep_name,
                  str(100 + i % 900), (m.as_of - dt.timedelta(days=1500 + 7 * i)).isoformat(), ["存续", "在业"][i % 2], ""])
    rows.write(ctx, "market_regulation", "enterprises", "enterprises_procurement.csv", encoding="utf-8")


def deliver(ctx: D.Ctx, truth: Truth, reg: Registry, dom: dict[str, pd.DataFrame], scale: float) -> None:
    payroll = dom["payroll"]
    m = build(np.random.default_rng(ctx.rng.integers(0, 2**32)), ctx.fr.as_of, reg, payroll, scale)
    _bids(ctx, m)
    _contracts(ctx, m)
    _enterprises(ctx, m)
    record_truth(m, payroll, truth)
