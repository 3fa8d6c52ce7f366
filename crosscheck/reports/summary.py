"""summary.json: the machine-readable account of a run. Never carries identity numbers."""
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from crosscheck.reports.common import (
    RuleView,
    as_float,
    district_totals,
    history_rows,
    precision_rows,
    resolved_rows,
    write_text_atomic,
)
from crosscheck.reports.masking import mask_deep
from crosscheck.results import RunResult


def build_summary(run: RunResult, views: list[RuleView], rows: list[dict], quarantine: list[dict], mask: bool) -> dict:
    """run.to_dict(), with the reports' view of each rule and the totals added.

    Findings counts and amounts come from the findings table (what the other
    files show); a rule that did not run has ``findings: null`` so it never
    reads as "zero findings".
    """
    data = run.to_dict()
    data["masked"] = mask
    rules = []
    for v in views:
        d = next((r for r in data["rules"] if r["rule_id"] == v.rule_id), None)
        if d is None:
            d = {"rule_id": v.rule_id, "title_zh": v.outcome.title_zh, "title_en": v.outcome.title_en,
                 "severity": v.outcome.severity, "status": v.outcome.status}
        d = dict(d)
        if v.ran:
            d["findings"] = len(v.findings)
            d["amount_at_risk"] = as_float(v.amount)
            d["findings_by_severity"] = dict(Counter(f.get("severity") or "" for f in v.findings))
        else:
            d["findings"] = None
            d["amount_at_risk"] = None
        rules.append(d)
    data["rules"] = rules
    data["skipped_rules"] = [
        {"rule_id": v.rule_id, "title_zh": v.outcome.title_zh, "title_en": v.outcome.title_en,
         "status": v.outcome.status, "reason": v.outcome.reason}
        for v in views if not v.ran
    ]
    data["files"] = [
        {"source": f.source, "table": f.table, "file": f.file, "sha256": f.sha256, "encoding": f.encoding,
         "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
         "duplicates_dropped": f.duplicates_dropped, "balanced": f.balanced, "status": f.status, "error": f.error}
        for f in run.files
    ]
    total_amount = sum((v.amount for v in views if v.ran), Decimal("0"))
    data["totals"] = {
        "rules": len(views),
        "rules_ok": sum(v.outcome.status == "ok" for v in views),
        "rules_skipped": sum(v.outcome.status == "skipped" for v in views),
        "rules_errored": sum(v.outcome.status == "errored" for v in views),
        "findings": len(rows),
        # reviewed as false positive / explained: counted here, not listed in the findings files
        "suppressed": sum(int(c.get("suppressed", 0) or 0) for c in ((run.history or {}).get("counts") or {}).values()),
        "amount_at_risk": as_float(total_amount),
        "findings_by_severity": dict(Counter(r.get("severity") or "" for r in rows)),
        "tables": len(run.loads),
        "tables_loaded": sum(t.status == "loaded" for t in run.loads),
        "tables_failed": sum(t.status == "failed" for t in run.loads),
        "tables_missing": sum(t.status == "missing" for t in run.loads),
        "files": len(run.files),
        "rows_read": sum(f.rows_read for f in run.files),
        "rows_loaded": sum(f.rows_loaded for f in run.files),
        "rows_quarantined": sum(f.rows_quarantined for f in run.files),
        "duplicates_dropped": sum(f.duplicates_dropped for f in run.files),
        "quarantine_rows": len(quarantine),
        "expectations_failed": sum(not e.success for t in run.loads for e in t.expectations),
    }
    data["by_district"] = [
        {"district": d["district"], "findings": d["findings"], "amount_at_risk": as_float(d["amount"]),
         "high": d["high"], "medium": d["medium"], "low": d["low"]}
        for d in district_totals(rows)
    ]
    data["history"] = _history(run, views)
    # identity numbers never appear here, --no-mask or not (a reason or detail may quote one)
    return mask_deep(data)


def _history(run: RunResult, views: list[RuleView]) -> dict:
    """The comparison with earlier runs (empty dict when the run was not recorded):
    per-rule counts {findings, new, recurring, resolved, suppressed} (findings include
    the suppressed ones, which the other files do not list), their totals, per-rule
    precision from reviewers' dispositions, and the resolved findings' keys."""
    if not run.history:
        return {}
    counts = {r["rule_id"]: {k: r[k] for k in ("findings", "new", "recurring", "resolved", "suppressed")}
              for r in history_rows(run, views)}
    precision = {
        p["rule_id"]: {"reviewed": p["reviewed"], "confirmed": p["confirmed"], "false_positive": p["false_positive"],
                       "explained": p["explained"], "precision": p["precision"], "recovered": as_float(p["recovered"])}
        for p in precision_rows(run, views)
    }
    totals = {k: sum(c[k] for c in counts.values()) for k in ("findings", "new", "recurring", "resolved", "suppressed")}
    resolved = [{"finding_key": r.get("finding_key"), "rule_id": r.get("rule_id"),
                 "last_seen": r.get("last_seen"), "last_run_id": r.get("last_run_id")}
                for r in resolved_rows(run, True)]
    out = dict(run.history)  # other keys (e.g. overdue) pass through as they are
    out.update({"counts": counts, "totals": totals, "precision": precision, "resolved": resolved})
    return out


def write_summary_json(path: Path, summary: dict) -> Path:
    text = json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n"
    return write_text_atomic(path, text)
