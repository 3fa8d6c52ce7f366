"""findings.xlsx: a summary sheet (汇总) and one sheet per rule with findings."""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from crosscheck.reports.common import (
    FINDING_STATUS_ZH,
    SEVERITY_ZH,
    SOURCES_SHOWN,
    STATUS_ZH,
    RuleView,
    UNKNOWN_DISTRICT,
    atomic_path,
    evidence_values,
    fmt_dt,
    review_columns,
    review_values,
    shown_sources,
)
from crosscheck.reports.review_headers import header_field
from crosscheck.privacy.masking import neutralise_formula
from crosscheck.reports.report_model import ReportModel

MONEY = "#,##0.00"
HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
THIN = Side(style="thin", color="C8CED6")
SEV_FILL = {"high": PatternFill("solid", fgColor="FBE3E1"), "medium": PatternFill("solid", fgColor="FDF0D8"),
            "low": PatternFill("solid", fgColor="E6EEF7")}
STATUS_FILL = {"partial": PatternFill("solid", fgColor="FDF0D8"), "skipped": PatternFill("solid", fgColor="FDF0D8"),
               "failed": PatternFill("solid", fgColor="FBE3E1")}

FINDING_HEADERS = ["规则", "身份证号", "姓名", "区县", "风险等级", "涉及金额（元）", "证据", "来源记录"]
FINDING_WIDTHS = [30, 22, 12, 12, 10, 16, 80, 40]
EXTRA_HEADERS = {"finding_key": ("发现编号 / finding_key", 22), "status": ("状态", 8), "first_seen": ("首次发现日期", 14)}
#: Widths of the review columns (headers: common.REVIEW_COLUMNS).
REVIEW_WIDTHS = [18, 40, 14]
#: What the disposition column's drop-down offers (the importer also takes the English values).
DISPOSITION_CHOICES = "属实,误报,已解释"
REVIEW_FILL = PatternFill("solid", fgColor="FFF8E1")
REVIEW_HEADER_FILL = PatternFill("solid", fgColor="8A5A00")
TEXT = "@"
#: Excel's row limit less the header row; beyond it findings.csv has them all.
MAX_ROWS = 1_048_575
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _text(value) -> str | None:
    """A text cell: control characters removed, formula prefixes neutralised."""
    if value is None:
        return None
    return neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _sheet_name(view: RuleView, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", view.outcome.title_zh or view.rule_id).strip("'") or view.rule_id
    base = base[:31]
    name, i = base, 2
    while name.lower() in used or name == "汇总":
        suffix = f"({i})"
        name = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(name.lower())
    return name


def _header(ws, row: int, headers: list[str], widths: list[int] | None = None) -> None:
    for col, h in enumerate(headers, 1):
        c = ws.cell(row=row, column=col, value=h)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(vertical="center", wrap_text=True)
        if widths:
            ws.column_dimensions[get_column_letter(col)].width = widths[col - 1]


def _summary_sheet(ws, model: ReportModel) -> None:
    run, views, mask, figures = model.run, model.views, model.mask, model.figures
    ws.title = "汇总"
    ws["A1"] = "数据比对疑点核查报告"
    ws["A1"].font = TITLE_FONT
    info = [
        ("运行编号", run.run_id),
        ("数据截止日期", run.as_of.isoformat()),
        ("数据目录", run.extracts_root),
        ("开始时间", fmt_dt(run.started_at, run.timezone)),
        ("结束时间", fmt_dt(run.finished_at, run.timezone)),
        ("身份信息脱敏", "是" if mask else "否（完整显示）"),
        ("疑点总数", figures.totals.findings),
        ("已抑制（未列出）", figures.totals.suppressed if run.history else "未记录历史"),
        ("涉及金额合计（元）", float(figures.totals.amount)),
    ]
    if figures.totals.outside_districts:
        info.append(("所选区县以外（未列出）", figures.totals.outside_districts))
    r = 3
    for label, value in info:
        ws.cell(row=r, column=1, value=label).font = Font(bold=True)
        c = ws.cell(row=r, column=2, value=_text(value) if isinstance(value, str) else value)
        if label.startswith("涉及金额"):
            c.number_format = MONEY
        c.alignment = Alignment(horizontal="left")
        r += 1

    r += 1
    ws.cell(row=r, column=1, value="规则执行情况").font = Font(bold=True, size=12)
    r += 1
    headers = ["规则编号", "规则名称", "风险等级", "状态", "疑点数", "涉及金额（元）", "说明（部分数据、跳过或失败原因）", "工作表"]
    _header(ws, r, headers)
    for v in views:
        r += 1
        o = v.outcome
        vals = [o.rule_id, o.title_zh, SEVERITY_ZH.get(o.severity, o.severity), STATUS_ZH.get(o.status, o.status),
                figures.of(o.rule_id).findings if v.ran else None, float(figures.of(o.rule_id).amount) if v.ran else None,
                "；".join(filter(None, [o.reason if o.status != "ok" else "",
                                       f"工作表仅含前 {MAX_ROWS:,} 条，完整明细见 findings.csv" if len(v.findings) > MAX_ROWS else ""])),
                v.sheet]
        for col, val in enumerate(vals, 1):
            c = ws.cell(row=r, column=col, value=_text(val) if isinstance(val, str) else val)
            c.border = Border(bottom=THIN)
            if col == 6:
                c.number_format = MONEY
            if col == 7:
                c.alignment = Alignment(wrap_text=True, vertical="top")
        if o.status != "ok":
            for col in (4, 7):
                ws.cell(row=r, column=col).fill = STATUS_FILL.get(o.status, PatternFill())
            if not v.ran:
                ws.cell(row=r, column=5, value="未运行")

    r = _history_section(ws, r, model)

    r += 2
    ws.cell(row=r, column=1, value="分区县统计").font = Font(bold=True, size=12)
    r += 1
    _header(ws, r, ["区县", "疑点数", "涉及金额（元）", "高", "中", "低"])
    for d in model.districts:
        r += 1
        for col, val in enumerate([_text(d["district"] or UNKNOWN_DISTRICT), d["findings"], float(d["amount"]),
                                   d["high"], d["medium"], d["low"]], 1):
            c = ws.cell(row=r, column=col, value=val)
            if col == 3:
                c.number_format = MONEY
    for col, w in enumerate([34, 36, 10, 12, 10, 18, 60, 30], 1):
        ws.column_dimensions[get_column_letter(col)].width = w
    # printed / exported to PDF: landscape, every column on one page width
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0


def _history_section(ws, r: int, model: ReportModel) -> int:
    """与上次运行相比 (counts per rule) and 规则准确率 (precision per rule); returns the last row used."""
    changes = model.changes
    r += 2
    ws.cell(row=r, column=1, value="与上次运行相比").font = Font(bold=True, size=12)
    if not changes:
        r += 1
        ws.cell(row=r, column=1, value="本次运行未记录到疑点历史库，无对比。")
        return r
    r += 1
    _header(ws, r, ["规则编号", "规则名称", "本次列出", "新增", "持续", "已消除", "已抑制（未列出）"])
    for h in changes:
        r += 1
        for col, val in enumerate([h["rule_id"], h["title_zh"], h["listed"], h["new"], h["recurring"],
                                   h["resolved"], h["suppressed"]], 1):
            ws.cell(row=r, column=col, value=_text(val) if isinstance(val, str) else val).border = Border(bottom=THIN)
    r += 1
    ws.cell(row=r, column=1, value="合计").font = Font(bold=True)
    for col, key in ((4, "new"), (5, "recurring"), (6, "resolved"), (7, "suppressed")):
        ws.cell(row=r, column=col, value=sum(h[key] for h in changes)).font = Font(bold=True)
    ws.cell(row=r, column=3, value=sum(h["listed"] for h in changes)).font = Font(bold=True)

    r += 2
    ws.cell(row=r, column=1, value="规则准确率（复核结果：属实 ÷ 已复核）").font = Font(bold=True, size=12)
    prec = model.precision
    if not prec:
        r += 1
        ws.cell(row=r, column=1, value="尚无复核结果。")
        return r
    r += 1
    _header(ws, r, ["规则编号", "规则名称", "已复核", "属实", "误报", "已解释", "准确率", "已追回金额（元）"])
    for p in prec:
        r += 1
        vals = [p["rule_id"], p["title_zh"], p["reviewed"], p["confirmed"], p["false_positive"], p["explained"],
                p["precision"], float(p["recovered"])]
        for col, val in enumerate(vals, 1):
            c = ws.cell(row=r, column=col, value=_text(val) if isinstance(val, str) else val)
            c.border = Border(bottom=THIN)
            if col == 7:
                c.number_format = "0.0%"
            elif col == 8:
                c.number_format = MONEY
    return r


NO_FILL = PatternFill()
CENTERED = Alignment(horizontal="center")
WRAPPED = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(wrap_text=False, vertical="top")


def _evidence_column(field: dict) -> str:
    """An evidence field's column: 证据·<its Chinese label>, a header `crosscheck review import`
    never reads as one of its own columns (else 证据·<its name>)."""
    header = f"证据·{field['zh']}"
    return header if header_field(header) is None else f"证据·{field['name']}"


def _findings_sheet(ws, findings: list[dict], extra: list[str], titles: dict[str, str] | None = None,
                    fields: list[dict] | None = None) -> None:
    """One row per finding, with the review columns (filled with the current review, a
    drop-down for the disposition). With `titles` (rule id -> Chinese title) it is the
    priority sheet: the rank first and the rule's title instead of its id. With `fields` (a
    rule's sheet: RuleOutcome.evidence_fields) each evidence field has a column after the sources."""
    review = review_columns(extra)
    fields = fields or []
    lead = ["优先序"] if titles is not None else []
    names = FINDING_HEADERS if titles is None else ["规则名称", *FINDING_HEADERS[1:]]  # a title, not an id the importer checks
    headers = (lead + names + [_evidence_column(f) for f in fields] + [EXTRA_HEADERS[c][0] for c in extra] + review)
    widths = ([8] * len(lead) + FINDING_WIDTHS + [max(12, min(30, 2 * len(f["zh"]) + 4)) for f in fields]
              + [EXTRA_HEADERS[c][1] for c in extra] + REVIEW_WIDTHS[: len(review)])
    k = len(lead)
    shown = len(FINDING_HEADERS) + len(fields)  # columns before the extra ones
    _header(ws, 1, headers, widths)
    first_review = len(headers) - len(review) + 1
    for col in range(first_review, len(headers) + 1):
        ws.cell(row=1, column=col).fill = REVIEW_HEADER_FILL
    ws.row_dimensions[1].height = 22
    for i, f in enumerate(findings[:MAX_ROWS], 2):
        amount = f.get("amount_at_risk")
        vals = [f.get("priority")] * len(lead) + [
            _text(titles.get(f.get("rule_id") or "", f.get("rule_id")) if titles is not None else f.get("rule_id")),
            _text(f.get("person_id") or f.get("subject")),
            _text(f.get("name")),
            _text(f.get("district")),
            SEVERITY_ZH.get(f.get("severity") or "", _text(f.get("severity"))),
            float(amount) if amount is not None else None,
            _text(f.get("evidence")),
            _text("\n".join(shown_sources(f.get("sources"), SOURCES_SHOWN, f.get("rule_id") or ""))),
        ] + [_evidence_cell(v, fd) for v, fd in zip(evidence_values(f, fields), fields)] + [
            _text(FINDING_STATUS_ZH.get(f.get(c), f.get(c)) if c == "status" else f.get(c)) for c in extra]
        for col, val in enumerate(vals, 1):
            c = ws.cell(row=i, column=col, value=val)
            at = col - k  # the column among FINDING_HEADERS, the evidence fields and the extra columns
            if len(FINDING_HEADERS) < at <= shown:
                c.number_format = {"amount": "0.00", "integer": "0"}.get(fields[at - len(FINDING_HEADERS) - 1]["format"], TEXT)
            elif at > shown and extra[at - shown - 1] == "finding_key":
                c.number_format = TEXT  # a text cell: a key of digits never becomes a number
            elif at == 6:
                c.number_format = "0.00"
            elif at == 5:
                c.fill = SEV_FILL.get(f.get("severity") or "", NO_FILL)
                c.alignment = CENTERED
            elif at == 7:
                c.alignment = WRAPPED  # the evidence wraps
            elif at == 8:
                c.alignment = TOP
        for col, value in zip(range(first_review, len(headers) + 1), review_values(f) if review else []):
            c = ws.cell(row=i, column=col, value=_text(value) or None)
            c.number_format, c.fill = TEXT, REVIEW_FILL
    last = max(1, min(len(findings), MAX_ROWS) + 1)
    if review and last > 1:
        letter = get_column_letter(first_review)
        dv = DataValidation(type="list", formula1=f'"{DISPOSITION_CHOICES}"', allow_blank=True, showErrorMessage=False,
                            promptTitle="处置", prompt="属实 / 误报 / 已解释（留空：未复核）")
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = "1:1"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"


def _evidence_cell(value: str, field: dict):
    """An evidence field's cell: amounts and whole numbers as numbers, everything else as text."""
    if value and field["format"] in ("amount", "integer"):
        try:
            return float(value) if field["format"] == "amount" else int(value)
        except ValueError:
            pass
    return _text(value) if value else None


#: The first sheet: every finding in the run's priority order (crosscheck.reports.priority).
PRIORITY_SHEET = "优先核查"


def write_xlsx(path: Path, model: ReportModel) -> Path:
    wb = Workbook()
    used: set[str] = {"汇总", PRIORITY_SHEET}
    sheets = []
    for v in model.views:
        if v.findings:
            v.sheet = _sheet_name(v, used)
            sheets.append(v)
    titles = {v.rule_id: v.outcome.title_zh or v.rule_id for v in model.views}
    if model.rows:
        first = wb.active
        first.title = PRIORITY_SHEET
        _findings_sheet(first, sorted(model.rows, key=lambda r: r["priority"]), model.extra, titles)
        _summary_sheet(wb.create_sheet("汇总"), model)
    else:
        _summary_sheet(wb.active, model)
    for v in sheets:
        _findings_sheet(wb.create_sheet(v.sheet), v.findings, model.extra, fields=v.outcome.evidence_fields)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)
