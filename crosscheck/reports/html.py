"""report.html: one self-contained file a reviewer opens offline.

Every script, style and chart is inline; nothing is fetched (a Content-Security-
Policy forbids it). Findings are embedded as one JSON blob per rule and shown by
a small vanilla-JS table (sort, filter, pages) that writes data with
``textContent`` only. Every extract value is escaped by Jinja's autoescape or,
inside the JSON blobs, by escaping ``<``, ``>`` and ``&``.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from crosscheck.reports.charts import Bar, bar_chart
from crosscheck.reports.funds import fund_rows
from crosscheck.reports.common import (
    SEVERITY_EN,
    SEVERITY_RANK,
    SEVERITY_ZH,
    STATUS_EN,
    STATUS_ZH,
    UNKNOWN_DISTRICT,
    FINDING_STATUS_EN,
    FINDING_STATUS_ZH,
    CHANGE_KEYS,
    RuleView,
    as_float,
    fmt_dt,
    fmt_money,
    write_text_atomic,
)
from crosscheck.reports.model import ReportModel

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Quarantined rows shown in the report (all of them are in quarantine.csv).
QUARANTINE_SAMPLE = 200
#: Districts drawn in the chart; the rest are summed as "other".
CHART_DISTRICTS = 15

# Column keys of the JSON blobs; the script labels them.
BLOB_COLUMNS = ["id", "name", "district", "severity", "amount", "evidence", "sources"]
#: Where the findings store's columns go in the table (status first: a reviewer looks for 新增).
_BLOB_ORDER = ["status", "id", "name", "district", "severity", "amount", "evidence", "first_seen", "finding_key", "sources"]
#: Resolved findings listed in the report (the count is always complete).
RESOLVED_SHOWN = 500
#: Below this precision, with at least PRECISION_MIN_REVIEWED reviews, a rule is flagged as wasting reviewers' time.
PRECISION_WARN = 0.5
PRECISION_MIN_REVIEWED = 5


def json_for_script(obj: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``</``, no ``<!--``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    text = (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(text)


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = fmt_money
    env.filters["int"] = lambda n: "" if n is None else f"{int(n):,}"
    env.filters["pct"] = lambda x: "—" if x is None else f"{x * 100:.1f}%"
    return env


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _rule_context(v: RuleView, extra: list[str], index: int, figures) -> dict:
    o = v.outcome
    f = figures.of(o.rule_id)
    has_amount = any(f.get("amount_at_risk") is not None for f in v.findings)
    getters = {
        "id": lambda f: f.get("person_id") or f.get("subject") or "",
        "name": lambda f: f.get("name") or "",
        "district": lambda f: f.get("district") or "",
        "severity": lambda f: f.get("severity") or "",
        "amount": lambda f: as_float(f.get("amount_at_risk")),
        "evidence": lambda f: f.get("evidence") or "",
        "sources": lambda f: "\n".join(s.strip() for s in (f.get("sources") or "").split(";") if s.strip()),
    }
    for c in extra:
        getters[c] = (lambda c: lambda f: "" if f.get(c) is None else str(f.get(c)))(c)
    cols = [c for c in _BLOB_ORDER if c in getters and (c != "amount" or has_amount)]
    cols += [c for c in getters if c not in cols and (c != "amount" or has_amount)]
    rows = [[getters[c](row) for c in cols] for row in v.findings]
    return {
        "index": index,
        "anchor": f"rule-{index}",
        "id": o.rule_id,
        "title_zh": o.title_zh or o.rule_id,
        "title_en": o.title_en or o.rule_id,
        "severity": o.severity,
        "status": o.status,
        "ran": v.ran,
        "reason": o.reason,
        "description": o.description,
        "domain": o.domain,
        "version": o.version,
        "seconds": o.seconds,
        "sql": o.sql,
        "parameters": [(k, _param_text(val)) for k, val in (o.parameters or {}).items()],
        "count": f.findings or 0,
        "amount": f.amount,
        "has_amount": has_amount,
        "sev_counts": [(s, f.by_severity[s]) for s in ("high", "medium", "low") if f.by_severity.get(s)],
        "status_counts": [(s, getattr(f, s)) for s in ("new", "recurring") if getattr(f, s)],
        "suppressed": f.suppressed,
        "outside_districts": f.outside_districts,
        "blob": json_for_script({"cols": cols, "rows": rows}) if rows else None,
    }


def _charts(views: list[RuleView], districts: list[dict]) -> dict[str, Markup]:
    def not_run(v: RuleView) -> tuple[str, str]:
        return ("未运行（" + STATUS_ZH.get(v.outcome.status, v.outcome.status) + "）",
                "not run (" + STATUS_EN.get(v.outcome.status, v.outcome.status).lower() + ")")

    count_bars, amount_bars = [], []
    for v in views:
        zh, en = v.outcome.title_zh or v.rule_id, v.outcome.title_en or v.rule_id
        if v.ran:
            count_bars.append(Bar(zh, en, len(v.findings), f"{len(v.findings):,}"))
            has_amount = any(f.get("amount_at_risk") is not None for f in v.findings)
            amount_bars.append(Bar(zh, en, float(v.amount), fmt_money(v.amount) if has_amount else "—"))
        else:
            nz, ne = not_run(v)
            count_bars.append(Bar(zh, en, None, note_zh=nz, note_en=ne))
            amount_bars.append(Bar(zh, en, None, note_zh=nz, note_en=ne))
    shown = districts[:CHART_DISTRICTS]
    rest = districts[CHART_DISTRICTS:]
    district_bars = [
        Bar(d["district"], "(unknown)" if d["district"] == UNKNOWN_DISTRICT else d["district"], d["findings"], f"{d['findings']:,}")
        for d in shown
    ]
    if rest:
        n = sum(d["findings"] for d in rest)
        district_bars.append(Bar(f"其他 {len(rest)} 个区县", f"{len(rest)} other districts", n, f"{n:,}"))
    return {
        "findings_per_rule": bar_chart(count_bars),
        "amount_per_rule": bar_chart(amount_bars, value_width=120),
        "findings_per_district": bar_chart(district_bars),
    }


def render_html(model: ReportModel) -> str:
    run, rows, quarantine, extra, mask = model.run, model.rows, model.quarantine, model.extra, model.mask
    views, districts, figures = model.views, model.districts, model.figures
    first = {}  # rules grouped by domain, domains in order of first appearance, run order within
    for v in views:
        first.setdefault(v.outcome.domain or "", len(first))
    views = sorted(views, key=lambda v: first[v.outcome.domain or ""])
    rules = [_rule_context(v, extra, i, figures) for i, v in enumerate(views, 1)]
    funds = fund_rows(rows)
    for r in rules:
        r["funds"] = funds.get(r["id"], [])
    loads = sorted(run.loads, key=lambda t: (t.source, t.table))
    expectations = [e for t in loads for e in t.expectations]
    q_reasons = Counter((q.get("source") or "", q.get("table") or "", q.get("reason") or "") for q in quarantine)
    files = run.files
    changes = model.changes
    precision = [dict(p) for p in model.precision]
    for p in precision:
        p["low"] = (p["precision"] is not None and p["precision"] < PRECISION_WARN
                    and p["reviewed"] >= PRECISION_MIN_REVIEWED)
    resolved = [dict(r) for r in model.resolved]
    titles = {v.rule_id: (v.outcome.title_zh or v.rule_id, v.outcome.title_en or v.rule_id) for v in views}
    for r in resolved:
        r["title_zh"], r["title_en"] = titles.get(r.get("rule_id"), (r.get("rule_id"), r.get("rule_id")))
    ctx = {
        "run": run,
        "mask": mask,
        "generated_at": fmt_dt(datetime.now().astimezone(), run.timezone),
        "started": fmt_dt(run.started_at, run.timezone),
        "finished": fmt_dt(run.finished_at, run.timezone),
        "rules": rules,
        "outcomes": figures.outcomes,
        "totals": figures.totals,
        "total_findings": figures.totals.findings,
        "recorded": bool(run.history),
        "changes": changes,
        "change_totals": {k: sum(h[k] for h in changes) for k in CHANGE_KEYS},
        "precision": precision,
        "precision_warn": PRECISION_WARN,
        "precision_min_reviewed": PRECISION_MIN_REVIEWED,
        "resolved_total": len(resolved),
        "resolved": resolved[:RESOLVED_SHOWN],
        "fstatus_zh": FINDING_STATUS_ZH,
        "fstatus_en": FINDING_STATUS_EN,
        "total_amount": figures.totals.amount,
        "sev_total": figures.totals.by_severity,
        "districts": districts,
        "charts": _charts(views, districts),
        "loads": loads,
        "files": files,
        "file_totals": {
            "rows_read": sum(f.rows_read for f in files),
            "rows_loaded": sum(f.rows_loaded for f in files),
            "rows_quarantined": sum(f.rows_quarantined for f in files),
            "duplicates_dropped": sum(f.duplicates_dropped for f in files),
        },
        "expectations": sorted(expectations, key=lambda e: (e.success, e.table, e.column)),
        "expectations_failed": sum(not e.success for e in expectations),
        "not_run": [r for r in rules if not r["ran"]],
        "incomplete": [r for r in rules if r["status"] == "partial"],
        "unread": run.unread,
        "unread_like_data": [u for u in run.unread if u.looks_like],
        "quarantine_total": len(quarantine),
        "quarantine_reasons": sorted(q_reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "quarantine_sample": quarantine[:QUARANTINE_SAMPLE],
        "sev_zh": SEVERITY_ZH,
        "sev_en": SEVERITY_EN,
        "sev_rank": SEVERITY_RANK,
        "status_zh": STATUS_ZH,
        "status_en": STATUS_EN,
        "css": Markup(_asset("report.css")),
        "js": Markup(_asset("report.js")),
    }
    return _env().get_template("report.html.j2").render(**ctx)


def write_html(path: Path, model: ReportModel) -> Path:
    return write_text_atomic(path, render_html(model))
