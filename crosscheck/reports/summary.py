"""summary.json: the machine-readable account of a run. Never carries identity numbers."""
from __future__ import annotations

import json
from pathlib import Path

from crosscheck.privacy.masking import mask_deep
from crosscheck.reports.common import CHANGE_KEYS, as_float, write_text_atomic
from crosscheck.reports.report_model import ReportModel


def build_summary(model: ReportModel) -> dict:
    """run.to_dict(), with the reports' view of each rule and the totals added.

    Findings counts and amounts are the run's figures (crosscheck.reports.figures: what
    every other output shows); a rule that did not run has ``findings: null`` so it
    never reads as "zero findings".
    """
    run, views, figures = model.run, model.views, model.figures
    data = run.to_dict()
    data["masked"] = model.mask
    rules = []
    for v in views:
        d = next((r for r in data["rules"] if r["rule_id"] == v.rule_id), None)
        if d is None:
            d = {"rule_id": v.rule_id, "title_zh": v.outcome.title_zh, "title_en": v.outcome.title_en,
                 "severity": v.outcome.severity, "status": v.outcome.status}
        d = dict(d)
        f = figures.of(v.rule_id)
        if v.ran:
            d["findings"] = f.findings or 0
            d["amount_at_risk"] = as_float(f.amount)
            d["findings_by_severity"] = dict(f.by_severity)
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
         "duplicates_dropped": f.duplicates_dropped, "balanced": f.balanced, "status": f.status, "error": f.error,
         "reused": f.reused, "lines_unchanged": f.lines_unchanged}
        for f in run.files
    ]
    data["totals"] = {
        "rules": len(views),
        **{f"rules_{o}": n for o, n in figures.outcomes.items()},
        "findings": figures.totals.findings,
        # reviewed as false positive / explained, or outside the districts asked for: not listed
        "suppressed": figures.totals.suppressed,
        "outside_districts": figures.totals.outside_districts,
        "amount_at_risk": as_float(figures.totals.amount),
        "findings_by_severity": dict(figures.totals.by_severity),
        "tables": len(run.loads),
        "tables_loaded": sum(t.status == "loaded" for t in run.loads),
        "tables_partial": sum(t.status == "partial" for t in run.loads),
        "tables_failed": sum(t.status == "failed" for t in run.loads),
        "tables_missing": sum(t.status == "missing" for t in run.loads),
        "files": len(run.files),
        "rows_read": sum(f.rows_read for f in run.files),
        "rows_loaded": sum(f.rows_loaded for f in run.files),
        "rows_quarantined": sum(f.rows_quarantined for f in run.files),
        "duplicates_dropped": sum(f.duplicates_dropped for f in run.files),
        "files_unread": len(run.unread),
        "files_unread_like_data": sum(bool(u.looks_like) for u in run.unread),
        "quarantine_rows": len(model.quarantine),
        "expectations_failed": sum(not e.success for t in run.loads for e in t.expectations),
    }
    data["by_district"] = [
        {"district": d["district"], "findings": d["findings"], "amount_at_risk": as_float(d["amount"]),
         "high": d["high"], "medium": d["medium"], "low": d["low"]}
        for d in model.districts
    ]
    data["history"] = _history(model)
    # identity numbers never appear here, --no-mask or not (a reason or detail may quote one)
    return mask_deep(data)


def _history(model: ReportModel) -> dict:
    """The comparison with earlier runs (empty dict when the run was not recorded):
    per-rule counts {findings (listed), new, recurring, resolved, suppressed,
    outside_districts} from the run's figures, their totals, per-rule precision from
    reviewers' dispositions, and the resolved findings' keys."""
    run = model.run
    if not run.history:
        return {}
    counts = {r["rule_id"]: {"findings": r["listed"], **{k: r[k] for k in CHANGE_KEYS if k != "listed"}}
              for r in model.changes}
    precision = {
        p["rule_id"]: {"reviewed": p["reviewed"], "confirmed": p["confirmed"], "false_positive": p["false_positive"],
                       "explained": p["explained"], "precision": p["precision"], "recovered": as_float(p["recovered"])}
        for p in model.precision
    }
    totals = {k: sum(c[k] for c in counts.values()) for k in ("findings", *CHANGE_KEYS[1:])}
    resolved = [{"finding_key": r.get("finding_key"), "rule_id": r.get("rule_id"),
                 "last_seen": r.get("last_seen"), "last_run_id": r.get("last_run_id")}
                for r in model.resolved]
    out = dict(run.history)  # other keys (e.g. overdue) pass through as they are
    out.update({"counts": counts, "totals": totals, "precision": precision, "resolved": resolved})
    return out


def write_summary_json(path: Path, summary: dict) -> Path:
    text = json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n"
    return write_text_atomic(path, text)
