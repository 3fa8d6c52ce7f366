"""The 营商环境 files as departments deliver them: GBK and GB18030, a table split over CSV and
.xlsx (Excel date cells), date-times in three forms, codes in full-width or lower case, junk
rows, exact copies and a conflict under one key (crosscheck's extracts contract)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .. import deliver as D
from ..ids import check_char
from .files import Rows

if TYPE_CHECKING:
    from .business import Builder

FULL = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "".join(chr(0xFF10 + i) for i in range(10))
                     + "".join(chr(0xFF21 + i) for i in range(26)))
APP_HEADER = ["办件编号", "事项编码", "事项名称", "实施部门", "申请人名称", "申请人证件类型", "申请人证件号码", "受理日期",
              "办结日期", "办理结果", "退回次数", "办理渠道"]


def code_form(code: str, i: int) -> str:
    """A credit code as some systems type it: lower case, full-width, spaces around."""
    return [code, code, code, code.lower(), code.translate(FULL), f" {code} "][i % 6]


def date_time(d: dt.date, i: int) -> str:
    """A date as a date-time in one of the three forms (a time of day: a date field is that date)."""
    t = dt.datetime.combine(d, dt.time(8 + i % 9, (i * 7) % 60, i % 60))
    return [t.strftime("%Y-%m-%d %H:%M:%S"), t.strftime("%Y/%m/%d %H:%M"), t.strftime("%Y%m%d%H%M%S")][i % 3]


def _app_row(b: "Builder", a, items: dict, i: int, xlsx: bool = False) -> list:
    item = items.get(a.item)
    kind, code, name = a.applicant
    shown_code = code_form(code, i) if kind == "统一社会信用代码" else code
    accepted = (dt.datetime.combine(a.accepted, dt.time(9, i % 60)) if i % 2 else a.accepted) if xlsx else (
        date_time(a.accepted, i) if i % 4 else a.accepted.strftime(["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"][i % 3]))
    finished = "" if a.finished is None else (a.finished if xlsx else a.finished.strftime(["%Y-%m-%d", "%Y%m%d"][i % 2]))
    returns = "" if a.returns == 0 and i % 3 == 0 else str(a.returns)
    item_code = a.item.lower() if i % 7 == 0 else a.item
    return [a.no, item_code, item.name if item else "目录外事项", item.department if item else "市政务服务和大数据管理局", name,
            kind, shown_code, accepted, finished, a.result, returns, ["窗口", "网上", "自助终端"][int(a.no[-1]) % 3]]


def deliver_business(ctx: D.Ctx, b: "Builder") -> None:
    items = {i.code: i for i in b.items}
    _items(ctx, b)
    year = b.as_of.year
    first = sorted((a for a in b.apps if a.accepted.year < year), key=lambda a: (a.accepted, a.no))
    rest = sorted((a for a in b.apps if a.accepted.year >= year), key=lambda a: (a.accepted, a.no))
    half = [a for a in rest if a.accepted.month <= 6]
    online = [a for a in rest if a.accepted.month > 6]
    b.conflicted = set()
    gbk = Rows(APP_HEADER)
    for i, a in enumerate(first):
        gbk.add(_app_row(b, a, items, i))
        if i == 5:
            gbk.copy_last()
    junk = [("待定", "date"), ("2025-02-29", "date")]
    for k, (value, why) in enumerate(junk):
        gbk.add([f"9{k}000000000000000000", "XK0001", "x", "x", "某公司", "统一社会信用代码", "91420200MA0000010X",
                 value, "", "办理中", "", "窗口"], quarantined=why)
    gbk.add(["99000000000000000002", "XK0001", "x", "x", "某公司", "统一社会信用代码", "91420200MA000001I0",
             "2025-03-03", "", "办理中", "", "窗口"], quarantined="credit_code")
    gbk.add(["99000000000000000003", "XK0001", "x", "x", "某公司", "营业执照", "91420200MA0000010X",
             "2025-03-03", "", "办理中", "", "窗口"], quarantined="id_type")
    gbk.add(["99000000000000000004", "XK0001", "x", "x", "某公司", "统一社会信用代码", "91420200MA0000010X",
             "2025-03-03", "", "完成", "两次", "窗口"], quarantined="enumeration")
    gbk.write(ctx, "gov_services", "applications", f"applications_{year - 1}.csv", encoding="gbk", crlf=True)
    xlsx = Rows(APP_HEADER)
    for i, a in enumerate(half):
        xlsx.add(_app_row(b, a, items, i, xlsx=True))
    if first:  # the same application as the GBK file has it, in other forms: one row
        xlsx.copy_of(_app_row(b, first[0], items, 1, xlsx=True))
    xlsx.write(ctx, "gov_services", "applications", f"applications_{year}.xlsx")
    web = Rows(APP_HEADER)
    target = next((a for a in online if not a.kind and a.finished and a.result == "准予"), None)
    for i, a in enumerate(online):
        web.add(_app_row(b, a, items, i), quarantined="conflict" if a is target else None)
        if a is target:  # the same 办件编号 exported again with another 办结日期: a conflict
            row = _app_row(b, a, items, i)
            row[8] = (a.finished + dt.timedelta(days=1)).isoformat()
            web.add(row, quarantined="conflict")
            b.conflicted.add(a.no)
    web.write(ctx, "gov_services", "applications", f"applications_{year}_online.csv", encoding="utf-8-sig")
    _licences(ctx, b)
    _inspections(ctx, b)
    _enterprises(ctx, b)
    _subsidies(ctx, b)


def _items(ctx: D.Ctx, b: "Builder") -> None:
    rows = Rows(["事项编码", "事项名称", "事项类型", "实施部门", "法定办结时限", "承诺办结时限"])
    for i, item in enumerate(b.items):
        rows.add([item.code.lower() if i % 5 == 0 else item.code, item.name, "行政许可" if item.licence else "公共服务",
                  item.department, "" if item.statutory is None else str(item.statutory),
                  "" if item.promised is None else str(item.promised)])
    rows.write(ctx, "gov_services", "service_items", "items.xlsx")


def _licences(ctx: D.Ctx, b: "Builder") -> None:
    rows = Rows(["证照编号", "证照类型", "事项编码", "持证主体名称", "持证主体代码类型", "持证主体代码", "发证日期", "发证部门",
                 "有效期截止日期", "关联办件编号"])
    for i, lic in enumerate(sorted(b.licences, key=lambda x: (x["issued"], x["no"]))):
        kind, code, name = lic["holder"]
        rows.add([lic["no"], lic["type"], lic["item"], name, kind, code_form(code, i) if kind == "统一社会信用代码" else code,
                  lic["issued"].strftime("%Y%m%d"), lic["department"], lic["until"].isoformat(), lic["linked"]])
    rows.add(["ZZ-BAD-DATE", "x", "XK0001", "某公司", "统一社会信用代码", "91420200MA0000010X", "2025-06-31", "x", "", ""],
             quarantined="date")
    rows.write(ctx, "gov_services", "licences", "licences.csv", encoding="gb18030")


def _inspections(ctx: D.Ctx, b: "Builder") -> None:
    rows = Rows(["检查编号", "执法部门", "统一社会信用代码", "企业名称", "检查日期", "检查方式", "检查结果"])
    ordered = sorted(b.inspections, key=lambda x: (x["day"], x["no"]))
    target = next((v for v in ordered if not v["kind"]), None)
    for i, v in enumerate(ordered):
        row = [v["no"], v["department"], code_form(v["code"], i), v["name"], v["day"].strftime(["%Y-%m-%d", "%Y/%m/%d"][i % 2]),
               v["method"], v["outcome"]]
        rows.add(row, quarantined="conflict" if v is target else None)
        if v is target:  # exported again under another department: a conflict
            rows.add([row[0], "市自然资源和规划局", *row[2:]], quarantined="conflict")
            b.conflicted.add(v["no"])
        if i == 10:
            rows.copy_last()
    rows.add(["JC-BAD", "市应急管理局", "91420200MA0000010X", "x", "2025-05-05", "抽查", ""], quarantined="enumeration")
    rows.write(ctx, "law_enforcement", "inspections", "inspections.csv", encoding="utf-8")


def _legal_rep(i: int) -> str:
    body = f"110101{1965 + i % 25}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i % 800:03d}"
    return body + check_char(body)


def _enterprises(ctx: D.Ctx, b: "Builder") -> None:
    rows = Rows(["统一社会信用代码", "企业名称", "法定代表人身份证号", "法定代表人姓名", "注册资本", "成立日期", "登记状态", "注销日期"])
    for i, e in enumerate(b.enterprises):
        rows.add([code_form(e.code, i), e.name, _legal_rep(i), ["周立平", "吴海燕", "郑国强", "钱志明"][i % 4], str(50 + i % 400),
                  (b.as_of - dt.timedelta(days=2000 + i)).isoformat(), e.status, e.closed.isoformat() if e.closed else ""])
    rows.write(ctx, "market_regulation", "enterprises", "enterprises_business.csv", encoding="utf-8")


def _subsidies(ctx: D.Ctx, b: "Builder") -> None:
    rows = Rows(["兑付编号", "政策名称", "主管部门", "统一社会信用代码", "企业名称", "兑付日期", "兑付金额"])
    for i, s in enumerate(sorted(b.subsidies, key=lambda x: (x["day"], x["no"]))):
        yuan = s["cents"] / 100
        amount = [f"{yuan:.2f}", f"{yuan:,.2f}", f"{yuan:.1f}" if s["cents"] % 10 == 0 else f"{yuan:.2f}"][i % 3]
        rows.add([s["no"], s["policy"], s["department"], code_form(s["code"], i), s["name"], s["day"].strftime("%Y/%m/%d"), amount])
        if i == 3:
            rows.copy_last()
    rows.add(["DF-BAD", "稳岗返还", "市财政局", "91420200MA0000010X", "x", "2025-05-05", "壹万元整"], quarantined="amount")
    rows.write(ctx, "finance", "enterprise_subsidies", "enterprise_subsidies.csv", encoding="gbk", crlf=True)
