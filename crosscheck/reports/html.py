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

from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.reports.priority import PRIORITY_NOTE
from crosscheck.reports.charts import Bar, bar_chart
from crosscheck.reports.zh import expectation_zh, zh
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
    DISPOSITION_EN,
    DISPOSITION_ZH,
    RuleView,
    as_float,
    evidence_values,
    fmt_dt,
    fmt_money,
    shown_sources,
    write_text_atomic,
)
from crosscheck.reports.report_model import ReportModel

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Quarantined rows shown in the report (all of them are in quarantine.csv).
QUARANTINE_SAMPLE = 200
#: Districts drawn in the chart; the rest are summed as "other".
CHART_DISTRICTS = 15

# Column keys of the JSON blobs; the script labels them.
BLOB_COLUMNS = ["id", "name", "district", "severity", "amount", "evidence", "sources"]
#: Columns of the findings blob, in order (status first: a reviewer looks for 新增). `sources` is
#: shown when a finding is opened; `priority` and `rule` by the priority list; `rule_id` selects a
#: rule's findings (report.js).
_BLOB_ORDER = ["status", "id", "name", "district", "severity", "amount", "evidence", "first_seen", "review",
               "finding_key", "sources", "priority", "rule", "rule_id"]
#: Resolved findings listed in the report (the count is always complete).
RESOLVED_SHOWN = 500
#: How a review candidate matched (crosscheck.names.sql), in English.
MATCH_EN = {"一致": "identical", "同音": "same sound", "形近": "look-alike", "缺字": "lost character", "身份证号": "identity number"}
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
    env.filters["zh"] = zh
    env.filters["expectation_zh"] = expectation_zh
    env.filters["int"] = lambda n: "" if n is None else f"{int(n):,}"
    env.filters["pct"] = lambda x: "—" if x is None else f"{x * 100:.1f}%"
    return env


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


#: Source records listed when a finding is opened; findings_<rule>.csv has them all.
SOURCES_OPENED = 200


def _detail(row: dict, fields: list[dict]) -> dict | None:
    """What a finding adds when opened, beside its whole evidence and sources: its evidence fields
    by their labels ([zh, en, value]), timeline and review."""
    review = None
    if row.get("review"):
        review = {"d": row["review"], "note": row.get("review_note") or "", "by": row.get("reviewer") or "",
                  "on": str(row.get("reviewed_on") or ""), "until": str(row.get("suppressed_until") or ""),
                  "change": row.get("review_change") or ""}
    timeline = row.get("timeline") or []
    shown = [[f["zh"], f["en"], v or "无"] for f, v in zip(fields, evidence_values(row, fields))]
    if not (timeline or review or shown):
        return None
    return {"fields": shown, "timeline": timeline, "review": review}


def findings_blob(rows: list[dict], extra: list[str], titles: dict[str, tuple[str, str]],
                  fields: dict[str, list[dict]] | None = None) -> Markup | None:
    """The JSON every findings table of report.js reads, once for the whole run: columns, one
    compact row per finding (who, what, how much, since when, review) in priority order, and
    what each adds when opened (`fields`: each rule's RuleOutcome.evidence_fields). The priority
    list shows them all; each rule's table its own (by `rule_id`)."""
    fields = fields or {}
    if not rows:
        return None
    has_amount = any(r.get("amount_at_risk") is not None for r in rows)
    getters = {
        "status": lambda r: r.get("status") or "",
        "id": lambda r: r.get("person_id") or r.get("subject") or "",
        "name": lambda r: r.get("name") or "",
        "district": lambda r: r.get("district") or "",
        "severity": lambda r: r.get("severity") or "",
        "amount": lambda r: as_float(r.get("amount_at_risk")),
        "evidence": lambda r: r.get("evidence") or "",
        "first_seen": lambda r: "" if r.get("first_seen") is None else str(r.get("first_seen")),
        "review": lambda r: r.get("review") or "",
        "finding_key": lambda r: r.get("finding_key") or "",
        "sources": lambda r: "\n".join(shown_sources(r.get("sources"), SOURCES_OPENED, r.get("rule_id") or "")),
        "priority": lambda r: r.get("priority"),
        "rule": lambda r: list(titles.get(r.get("rule_id") or "", (r.get("rule_id"), r.get("rule_id")))),
        "rule_id": lambda r: r.get("rule_id") or "",
    }
    cols = [c for c in _BLOB_ORDER if (c != "amount" or has_amount)
            and (c not in ("status", "first_seen", "finding_key") or c in extra)
            and (c != "review" or any(r.get("review") for r in rows))]
    return json_for_script({"cols": cols, "rows": [[getters[c](r) for c in cols] for r in rows],
                            "details": [_detail(r, fields.get(r.get("rule_id") or "", [])) for r in rows]})


def _review_groups(rows: list[dict], rule_id: str) -> list[dict]:
    """A rule's review candidates (masked as the model has them), grouped by record in order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["rule_id"] == rule_id:
            groups.setdefault((row["subject"], row["name_as_delivered"]), []).append(row)
    return [{"subject": s, "name_as_delivered": n, "candidates": c} for (s, n), c in groups.items()]


def _rule_context(v: RuleView, extra: list[str], index: int, figures, suppressed: list[dict],
                  domains: dict, review: list[dict]) -> dict:
    o = v.outcome
    f = figures.of(o.rule_id)
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
        "description_zh": o.description_zh,
        "domain": o.domain,
        "domain_zh": (domains.get(o.domain) or {}).get("zh") or o.domain,
        "domain_en": (domains.get(o.domain) or {}).get("en") or o.domain,
        "version": o.version,
        "seconds": o.seconds,
        "sql": o.sql,
        "parameters": [(k, _param_text(val)) for k, val in (o.parameters or {}).items()],
        "count": f.findings or 0,
        "amount": f.amount,
        "has_amount": any(r.get("amount_at_risk") is not None for r in v.findings),
        "sev_counts": [(s, f.by_severity[s]) for s in ("high", "medium", "low") if f.by_severity.get(s)],
        "status_counts": [(s, getattr(f, s)) for s in ("new", "recurring") if getattr(f, s)],
        "suppressed": f.suppressed,
        "suppressed_rows": [r for r in suppressed if r.get("rule_id") == o.rule_id],
        "outside_districts": f.outside_districts,
        "has_rows": bool(v.findings),
        "review": o.review if v.ran else {},
        "review_groups": _review_groups(review, o.rule_id),
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
    rules = [_rule_context(v, extra, i, figures, model.suppressed, run.domain_titles, model.review) for i, v in enumerate(views, 1)]
    titles = {v.rule_id: (v.outcome.title_zh or v.rule_id, v.outcome.title_en or v.rule_id) for v in views}
    priority = sorted(rows, key=lambda r: r["priority"])  # the blob's order: the priority list
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
        "findings_blob": findings_blob(priority, extra, titles, {v.rule_id: v.outcome.evidence_fields for v in views}),
        "priority_note": PRIORITY_NOTE,
        "priority_shown": len(priority),
        "disposition_zh": DISPOSITION_ZH,
        "disposition_en": DISPOSITION_EN,
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
        "review_rules": [r for r in rules if r["review"].get("listed") or r["review"].get("unidentified")],
        "match_en": MATCH_EN,
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


def write_html(path: Path, model: ReportModel, before_rename: Checkpoint = carry_on) -> Path:
    return write_text_atomic(path, render_html(model), before_rename=before_rename)
