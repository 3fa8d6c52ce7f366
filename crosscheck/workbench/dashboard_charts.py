"""The dashboard's charts, drawn here as inline SVG (no script, nothing fetched): bars by model
and district with the report's `bar_chart`, and columns for the trend across runs."""
from __future__ import annotations

from html import escape

from markupsafe import Markup

from crosscheck.reports.charts import Bar, bar_chart

TOP = 12


def _money(value: float | None) -> str:
    return f"{value or 0:,.2f}"


def trend_chart(points: list[dict], *, width: int = 560, height: int = 190) -> Markup:
    """Columns of findings per run (oldest left), the new ones darker; every text escaped."""
    left, bottom, top = 44, 34, 12
    span_w, span_h = width - left - 10, height - bottom - top
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" role="img">']
    if not points:
        parts.append(f'<text class="c-note" x="{left}" y="{top + 20}"><tspan class="zh">尚无运行</tspan>'
                     '<tspan class="en">No runs yet</tspan></text></svg>')
        return Markup("".join(parts))
    peak = max(max(p["findings"] for p in points), 1)
    step = span_w / len(points)
    bar = max(2.0, min(34.0, step * 0.6))
    for frac in (0, 0.5, 1):
        y = top + span_h * (1 - frac)
        parts.append(f'<line class="c-grid" x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}"/>')
        parts.append(f'<text class="c-value" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{int(peak * frac):,}</text>')
    label_every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        x = left + step * i + (step - bar) / 2
        h = span_h * p["findings"] / peak
        hn = span_h * min(p["new"], p["findings"]) / peak
        tip = f"{p['as_of']} · {p['findings']:,} / 新增 new {p['new']:,} · {_money(p['amount_at_risk'])}"
        parts.append(f"<g><title>{escape(tip)}</title>")
        parts.append(f'<rect class="c-bar" x="{x:.1f}" y="{top + span_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        parts.append(f'<rect class="c-bar-high" x="{x:.1f}" y="{top + span_h - hn:.1f}" width="{bar:.1f}" height="{hn:.1f}"/>')
        if i % label_every == 0:
            parts.append(f'<text class="c-label" x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f'{escape(str(p["as_of"])[5:])}</text>')
        parts.append("</g>")
    parts.append(f'<line class="c-axis" x1="{left}" y1="{top + span_h}" x2="{width - 10}" y2="{top + span_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def dashboard_charts(d: dict) -> dict[str, Markup]:
    rules = d["by_rule"][:TOP]
    districts = d["by_district"][:TOP]
    return {
        "clues_by_rule": bar_chart([Bar(r["title_zh"] or r["rule_id"], r["title_en"] or r["rule_id"], r["clues"],
                                        f"{r['clues']:,}（未结 {r['open']:,}）", tone=r.get("severity") or "")
                                    for r in rules]),
        "rate_by_rule": bar_chart([Bar(r["title_zh"] or r["rule_id"], r["title_en"] or r["rule_id"],
                                       None if r["confirmation_rate"] is None else r["confirmation_rate"] * 100,
                                       "" if r["confirmation_rate"] is None else f"{r['confirmation_rate']:.0%}",
                                       note_zh="尚无答复", note_en="no answers yet",
                                       tone="high" if r["needs_tuning"] else "")
                                   for r in rules]),
        "clues_by_district": bar_chart([Bar(x["district"] or "（未知）", x["district"] or "(unknown)", x["clues"],
                                            f"{x['clues']:,}（逾期 {x['overdue']:,}）") for x in districts]),
        "recovered_by_district": bar_chart([Bar(x["district"] or "（未知）", x["district"] or "(unknown)",
                                                x["amount_recovered"] or 0, _money(x["amount_recovered"]))
                                            for x in districts]),
        "trend": trend_chart(d["trend"]),
    }
