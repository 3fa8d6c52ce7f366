"""The 三资 files as the platform exports them: an archive in GBK, the trading platform's contracts
in UTF-8 with BOM, recent contracts in .xlsx (date cells), receipts split by year; messy dates,
amounts, areas, units, identity numbers, names and village names; exact copies, a contract
exported twice differently (both rows quarantined), junk rows. Also the new community officials
and the residents the cases add to the registry."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import ids as idmod
from .. import vocab as V
from ..model import Truth
from ..timeutil import NONE, to_date
from .files import Rows
from .sanzi import Builder, build
from .sanzi_people import Registry, busy_people
from .sanzi_truth import RENT, Lease, Office, record_truth
from .shared import township

LEASE_HEADER = ["合同编号", "资产名称", "资产类型", "所属乡镇", "所属村", "承租方姓名", "承租方身份证号", "面积", "计量单位", "年租金",
                "签订日期", "起始日期", "终止日期", "是否公开交易"]
RECEIPT_HEADER = ["合同编号", "收据编号", "收款日期", "金额"]
SQUARE_METRES = ["平方米", "㎡", "m2", "m²", "M2", "平方米"]
FULL_DIGITS = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))


def amount(cents: int, i: int) -> str:
    yuan = cents / 100
    return [f"{yuan:.2f}", f"{yuan:,.2f}", f"{yuan:.1f}" if cents % 10 == 0 else f"{yuan:.2f}"][i % 3]


def date_text(d: dt.date, i: int) -> str:
    return d.strftime(["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"][i % 3])


def _place(text: str, i: int) -> str:
    """A township or village as some clerks type it: a space inside (text keys drop it)."""
    return text if i % 9 else text[:2] + [" ", "\u3000"][i % 2] + text[2:]


def _lease_row(x: Lease, i: int, xlsx: bool = False) -> list:
    ordinary = not x.kind
    no = x.no.translate(FULL_DIGITS) if ordinary and i % 13 == 5 else x.no
    area = "" if x.tenths is None else (f"{x.tenths / 10:g}" if i % 2 else f"{x.tenths / 10:.2f}")
    unit = "" if x.unit is None else (x.unit if x.unit == "亩" else SQUARE_METRES[i % len(SQUARE_METRES)])
    pid = "" if x.lessee_pid is None else idmod.render(x.lessee_pid, x.id_form if x.id_form >= 0 else 0)
    empty = V.NULL_TOKENS[i % 4]
    dates = [x.signed, x.start, x.end] if xlsx else [date_text(d, i + k) for k, d in enumerate((x.signed, x.start, x.end))]
    return [no, "" if i % 7 == 3 else f"{['东', '西', '南', '北'][i % 4]}片{x.asset_type}{i % 30 + 1}号",
            x.asset_type, _place(x.township, i) if ordinary else x.township, _place(x.village, i + 4) if ordinary else x.village,
            x.lessee, pid or empty, area or empty, unit or empty, amount(x.rent, i), *dates, x.public or empty]


def deliver_leases(ctx: D.Ctx, b: Builder) -> set[str]:
    """Write the contracts and receipts; return the contract numbers exported twice differently."""
    year = b.as_of.year
    ordered = sorted(b.leases, key=lambda x: (x.signed, x.no))
    archive, platform, recent = Rows(LEASE_HEADER), Rows(LEASE_HEADER), Rows(LEASE_HEADER)
    conflicted: set[str] = set()
    for i, x in enumerate(ordered):
        if x.public == "是" and not x.kind:
            row = _lease_row(x, i)
            if not conflicted and i > 3:  # the platform exported this contract again with another rent
                other = list(row)
                other[9] = amount(x.rent + 10_000, i)
                platform.add(row, quarantined="conflict")
                platform.add(other, quarantined="conflict")
                conflicted.add(x.no)
            else:
                platform.add(row)
        elif x.signed.year < year - 1:
            archive.add(_lease_row(x, i))
            if i == 8:
                archive.copy_last()
        else:
            recent.add(_lease_row(x, i, xlsx=True))
    first = next(x for x in ordered if x.signed.year < year - 1 and not (x.public == "是" and not x.kind))
    recent.copy_of(_lease_row(first, ordered.index(first), xlsx=True))   # the archive's contract again: one contract
    someone = ordered[0]
    for k, (field, value, why) in enumerate([(10, f"{year - 2}-02-30", "date"), (9, "伍仟元", "amount"),
                                              (6, idmod.bad_check(b.reg.pid[0]), "invalid_id_check"), (4, "", "missing"),
                                              (13, "Y", "enumeration"), (8, "公顷", "enumeration")]):
        row = _lease_row(someone, 0)
        row[0], row[field] = f"ZL{year - 3}9{k:04d}", value
        if field == 6:
            row[5] = "某某"
        archive.add(row, quarantined=why)
    archive.write(ctx, "collective_assets", "asset_contracts", "asset_contracts_archive.csv", encoding="gb18030", crlf=True)
    platform.write(ctx, "collective_assets", "asset_contracts", "asset_contracts_platform.csv", encoding="utf-8-sig")
    recent.write(ctx, "collective_assets", "asset_contracts", "asset_contracts_recent.xlsx")
    _receipts(ctx, b, ordered)
    return conflicted


def _receipts(ctx: D.Ctx, b: Builder, ordered: list[Lease]) -> None:
    year = b.as_of.year
    old, new = Rows(RECEIPT_HEADER), Rows(RECEIPT_HEADER)
    rows = sorted(((r[1] if isinstance(r[1], dt.datetime) else dt.datetime.combine(r[1], dt.time()), r, x)
                   for x in ordered for r in x.receipts), key=lambda t: (t[0], t[1][0]))
    for i, (when, (no, day, cents), x) in enumerate(rows):
        part = old if when.year < year else new
        shown = day.strftime(["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M"][i % 3]) if isinstance(day, dt.datetime) \
            else date_text(day, i)
        part.add([x.no, no, shown, amount(cents, i)])
        if (no, day, cents) == x.copied or i == 11:
            part.copy_last()
    new.add(["ZL00000000", "SJ99999999", b.as_of.isoformat(), "800.00"])  # a contract nobody signed: ignored
    old.add([ordered[0].no, "SJ-BAD-1", f"{year - 1}-13-01", "100.00"], quarantined="date")
    old.add([ordered[0].no, "SJ-BAD-2", f"{year - 1}-03-01", "伍佰元"], quarantined="amount")
    old.write(ctx, "collective_assets", "rent_receipts", f"rent_receipts_{year - 1}.csv", encoding="gb18030", crlf=True)
    new.write(ctx, "collective_assets", "rent_receipts", f"rent_receipts_{year}.csv", encoding="utf-8")


def deliver_people(ctx: D.Ctx, b: Builder) -> None:
    """The new community officials (village_cadres) and the residents added to the registry."""
    reg = b.reg
    rows = Rows(["公民身份号码", "姓名", "职务", "所属乡镇", "所属村", "任职开始日期", "任职结束日期"])
    for i, o in enumerate(b.offices):
        k = o["person"]
        rows.add([idmod.render(reg.pid[k], [0, idmod.LOWER_X, idmod.SPACES, idmod.FULLWIDTH][i % 4]), reg.name[k], o["post"],
                  _place(o["township"], i + 3), _place(o["village"], i + 7), date_text(o["start"], i),
                  "" if o["end"] is None else date_text(o["end"], i + 1)])
    rows.write(ctx, "village_cadres", "cadres", "cadres_communities.csv", encoding="utf-8")
    res = Rows(["公民身份号码", "姓名", "性别", "出生日期", "民族", "户号", "与户主关系", "户籍地址", "所属区县", "人口状态", "注销日期",
                "注销原因", "死亡日期", "所属乡镇", "所属村"])
    for p in reg.added:
        res.add([p["pid"], p["name"], "男" if p["sex"] else "女", p["birth"].strftime("%Y%m%d"), "汉族", p["hukou"], "户主", p["addr"],
                 V.DISTRICTS[p["area"]][1], "正常", "", "", "", p["township"], p["village"]])
    res.write(ctx, "household_registry", "residents", "residents_c.csv", encoding="utf-8")


def deliver(ctx: D.Ctx, truth: Truth, dom: dict[str, pd.DataFrame], scale: float) -> Registry:
    """Build, write and judge the 三资 sources; the registry (with the residents added) is returned."""
    reg = Registry(ctx.people, ctx.fr.as_of, busy_people(dom))
    b = build(np.random.default_rng(ctx.rng.integers(0, 2**32)), ctx.fr.as_of, reg, scale)
    conflicted = deliver_leases(ctx, b)
    deliver_people(ctx, b)
    truth.decoy(RENT, "receipt_for_a_contract_nobody_signed")
    offices = [Office(reg.pid[o["person"]], o["township"], o["village"], o["start"], o["end"]) for o in b.offices]
    cadres = dom.get("cadres")
    if cadres is not None:
        offices += [Office(reg.pid[int(c.person)], township(int(c.area), int(c.street)), c.village, to_date(c.start_day),
                           None if c.end_day == NONE else to_date(c.end_day)) for c in cadres.itertuples()]
    review, counts = record_truth([x for x in b.leases if x.no not in conflicted], ctx.fr.as_of, reg, offices, truth)
    truth.review += review
    truth.counts["lessees"] = counts
    return reg
