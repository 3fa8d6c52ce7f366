"""What leaves the workbench as a file: the list as CSV and the 整改台账 (rectification register)
as xlsx, one row per clue with Chinese headers, the notes, the feedback and the amounts; and
the 线索处置单 of one clue as a PDF. Everything masked as on screen (identity numbers and names;
ids inside notes too); a department's rows leave out the reviewers' notes."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from crosscheck.casework.clues import money
from crosscheck.casework.scope import COLOR_ZH, DISPOSITION_ZH, STATUS_ZH
from crosscheck.privacy.masking import mask_ids_in_text, neutralise_formula
from crosscheck.workbench.auth import Caller
from crosscheck.workbench.words import SEVERITY_ZH

HEADER = ["线索编号", "规则", "规则编号", "区县", "风险等级", "涉及金额（元）", "状态", "核查人", "核查期限", "预警",
          "处置", "处置说明", "追回金额（元）", "整改情况", "处置日期", "转办部门", "转办要求", "转办期限", "整改反馈",
          "部门整改情况", "退回金额（元）", "身份证号", "姓名", "首次发现", "最近发现"]
WIDTHS = [18, 26, 22, 10, 8, 14, 8, 10, 12, 6, 8, 40, 14, 30, 12, 12, 30, 12, 40, 30, 14, 22, 10, 12, 12]


def _yuan(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def ledger_rows(who: Caller, args: dict) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of the clues the list's filters (``args``) give the caller."""
    clues = who.cw.clues.list(who.account, **args)["clues"]
    keys = [c["finding_key"] for c in clues]
    marks = ", ".join("?" * len(keys)) or "''"
    db = who.cw.db
    reviews = {r["finding_key"]: r for r in db.rows(
        f"""SELECT c.finding_key, v.note, v.rectification, v.reviewed_on,
                   (SELECT sum(o.recovered_cents) FROM outcomes o WHERE o.review_id = c.review_id) AS cents
            FROM clues c JOIN reviews v ON v.review_id = c.review_id WHERE c.finding_key IN ({marks})""", keys)}
    feedback: dict[str, list[str]] = {}
    for f in db.rows(f"SELECT finding_key, note, author FROM feedback WHERE finding_key IN ({marks}) "
                     "ORDER BY feedback_id", keys):
        feedback.setdefault(f["finding_key"], []).append(f"{f['author']}：{f['note']}")
    handovers = {h["finding_key"]: h for h in db.rows(
        f"""SELECT * FROM handovers WHERE handover_id IN (SELECT max(handover_id) FROM handovers
                                                          WHERE finding_key IN ({marks}) GROUP BY finding_key)""", keys)}
    department = who.account.role == "department"
    rows = []
    for c in clues:
        r = reviews.get(c["finding_key"], {})
        h = handovers.get(c["finding_key"], {})
        rows.append([
            c["finding_key"], c.get("title_zh") or c["rule_id"], c["rule_id"], c["district"] or "—",
            SEVERITY_ZH.get(c["severity"], c["severity"] or ""), _yuan(c["amount_at_risk"]),
            STATUS_ZH.get(c["status"], c["status"]), c["assignee"] or "", c["deadline"] or "",
            COLOR_ZH.get(c["color"] or "", ""), DISPOSITION_ZH.get(c["disposition"] or "", ""),
            "" if department else mask_ids_in_text(r.get("note") or ""),
            "" if department else _yuan(money(r.get("cents"))),
            "" if department else mask_ids_in_text(r.get("rectification") or ""), r.get("reviewed_on") or "",
            h.get("department") or "", mask_ids_in_text(h.get("request") or ""), h.get("deadline") or "",
            mask_ids_in_text("\n".join(feedback.get(c["finding_key"], []))), mask_ids_in_text(h.get("rectified") or ""),
            _yuan(money(h.get("returned_cents"))), c["person_id"] or "", c["name"] or "",
            c["first_seen"] or "", c["last_seen"] or "",
        ])
    return HEADER, rows


def ledger_xlsx(who: Caller, args: dict, title: str) -> bytes:
    """The 整改台账 workbook: Chinese headers, one row per clue, every text cell safe from formulas."""
    header, rows = ledger_rows(who, args)
    book = Workbook()
    book.properties.title = title
    sheet = book.active
    sheet.title = "整改台账"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE5F0")
    for row in rows:
        sheet.append([neutralise_formula(v) if isinstance(v, str) else v for v in row])
    for i, width in enumerate(WIDTHS, 1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
