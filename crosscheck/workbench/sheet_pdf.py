"""The 线索处置单 of one clue as an A4 PDF: the clue, its evidence (with the rule file's labels),
the assignment, the disposition, the hand-over and the department's feedback, the amounts, an
approval line and signature boxes. Drawn by reportlab with its built-in Adobe CJK font
(STSong-Light: no font file shipped or fetched; any PDF reader supplies the glyphs, the text
stays searchable). Masked as the clue page is."""
from __future__ import annotations

import io
from html import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9.5, leading=13, wordWrap="CJK")
TITLE = ParagraphStyle("title", parent=TEXT, fontSize=18, leading=24, alignment=1, spaceAfter=4)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=8, leading=10, textColor=colors.HexColor("#555555"))


def _p(value: object, style: ParagraphStyle = TEXT) -> Paragraph:
    text = "—" if value is None or value == "" else str(value)
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _grid(rows: list[list[object]], widths: list[float]) -> Table:
    table = Table([[_p(c) if not isinstance(c, Paragraph) else c for c in row] for row in rows], colWidths=widths)
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#777777")), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    style += [("BACKGROUND", (col, 0), (col, -1), colors.HexColor("#eef2f7")) for col in range(0, len(widths), 2)]
    table.setStyle(TableStyle(style))
    return table


def sheet_pdf(sheet: dict) -> bytes:
    """``sheet``: what `crosscheck.workbench.tools.sheet_of` gathers for the clue."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=f"线索处置单 {sheet['key']}", author="crosscheck")
    w = A4[0] - 32 * mm
    quarter = [w * 0.16, w * 0.34, w * 0.16, w * 0.34]
    story = [_p("线索处置单", TITLE), _p(f"编号 {sheet['key']}　　打印于 {sheet['printed']}（{sheet['timezone']}）", SMALL),
             Spacer(1, 4 * mm)]
    story.append(_grid(sheet["facts"], quarter))
    story += [Spacer(1, 3 * mm), _p("证据", TEXT)]
    story.append(_grid(sheet["evidence"] or [["—", ""]], [w * 0.3, w * 0.7]))
    story += [Spacer(1, 3 * mm)]
    story.append(_grid(sheet["work"], [w * 0.18, w * 0.82]))
    story += [Spacer(1, 6 * mm)]
    boxes = Table([[_p("核查人签字："), _p("督办人审核意见及签字："), _p("分管领导审批及签字：")],
                   [_p("\n\n\n日期："), _p("\n\n\n日期："), _p("\n\n\n日期：")]],
                  colWidths=[w / 3] * 3, rowHeights=[8 * mm, 30 * mm])
    boxes.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#777777")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [boxes, Spacer(1, 2 * mm), _p(sheet["note"], SMALL)]
    doc.build(story)
    return out.getvalue()
