"""Inline SVG bar charts, drawn here so the report needs no script or network to show them."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass
class Bar:
    label_zh: str
    label_en: str
    value: float | None            # None: not run (the note is shown instead of a bar)
    text: str = ""                 # the value as displayed
    note_zh: str = ""
    note_en: str = ""
    tone: str = ""                 # css modifier: high / medium / low / ""


def _text_width(s: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E7F else size * 0.56 for ch in s)


def _fit(s: str, size: float, width: float) -> str:
    if _text_width(s, size) <= width:
        return s
    out = ""
    for ch in s:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def bar_chart(bars: list[Bar], *, label_width: int = 190, width: int = 560, value_width: int = 104) -> Markup:
    """A horizontal bar chart as an inline ``<svg>`` (every text escaped)."""
    row_h, bar_h, top = 26, 15, 6
    height = top * 2 + max(1, len(bars)) * row_h
    x0 = label_width + 8
    span = width - x0 - value_width
    peak = max([b.value for b in bars if b.value is not None] + [0])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" role="img">']
    if not bars:
        parts.append(f'<text class="c-note" x="{x0}" y="{top + 17}"><tspan class="zh">无数据</tspan><tspan class="en">No data</tspan></text>')
    for i, b in enumerate(bars):
        y = top + i * row_h
        cy = y + row_h / 2 + 4
        full = f"{b.label_zh} / {b.label_en}" if b.label_en and b.label_en != b.label_zh else b.label_zh
        parts.append(f"<g><title>{escape(full)}</title>")
        parts.append(f'<text class="c-label zh" x="{label_width}" y="{cy}" text-anchor="end">{escape(_fit(b.label_zh, 12, label_width))}</text>')
        parts.append(f'<text class="c-label en" x="{label_width}" y="{cy}" text-anchor="end">{escape(_fit(b.label_en or b.label_zh, 12, label_width))}</text>')
        if b.value is None:
            parts.append(f'<text class="c-note" x="{x0}" y="{cy}"><tspan class="zh">{escape(b.note_zh)}</tspan><tspan class="en">{escape(b.note_en)}</tspan></text>')
        else:
            w = 0.0 if peak <= 0 else max(0.0, span * b.value / peak)
            if b.value > 0:
                w = max(w, 2.0)
            tone = f" c-bar-{b.tone}" if b.tone else ""
            parts.append(f'<rect class="c-bar{tone}" x="{x0}" y="{y + (row_h - bar_h) / 2:.1f}" width="{w:.1f}" height="{bar_h}" rx="2"/>')
            parts.append(f'<text class="c-value" x="{x0 + w + 6:.1f}" y="{cy}">{escape(b.text)}</text>')
        parts.append("</g>")
    parts.append(f'<line class="c-axis" x1="{x0}" y1="{top - 2}" x2="{x0}" y2="{height - top + 2}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
