"""findings.csv, findings_<rule>.csv, review_candidates.csv and quarantine.csv: UTF-8 with BOM so Excel shows Chinese."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from crosscheck.reports.common import (EVIDENCE_FILE, EVIDENCE_FILE_COLUMNS, FINDINGS_COLUMNS, QUARANTINE_COLUMNS,
                                       CANDIDATES_COLUMNS, CANDIDATES_FILE, evidence_header, evidence_values, fmt_amount, review_columns, review_values,
                                       write_text_atomic)
from crosscheck.privacy.masking import neutralise_formula
from crosscheck.reports.report_model import ReportModel


def _render(columns: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue()


def write_findings_csv(path: Path, model: ReportModel) -> Path:
    """One row per finding; with a finding_key, also the review columns a reviewer fills in
    (处置 / disposition, 备注 / note, 复核人 / reviewer) for `crosscheck review import`, showing
    the current review of findings already reviewed."""
    columns = FINDINGS_COLUMNS + model.extra
    review = review_columns(model.extra)
    out = []
    for r in model.rows:
        line = []
        for c in columns:
            v = r.get(c)
            if c == "amount_at_risk":
                line.append(fmt_amount(v))  # a number, even when negative: never prefixed
            else:
                line.append(neutralise_formula("" if v is None else str(v)))
        out.append(line + ([neutralise_formula(v) for v in review_values(r)] if review else []))
    return write_text_atomic(path, _render(columns + review, out), bom=True)


def write_quarantine_csv(path: Path, model: ReportModel) -> Path:
    out = []
    for r in model.quarantine:
        line = []
        for c in QUARANTINE_COLUMNS:
            v = r.get(c)
            if c == "line":
                line.append("" if v is None else int(v))
            else:
                line.append(neutralise_formula("" if v is None else str(v)))
        out.append(line)
    return write_text_atomic(path, _render(QUARANTINE_COLUMNS, out), bom=True)


def write_review_csv(out_dir: Path, model: ReportModel) -> dict[str, Path]:
    """review_candidates.csv, when a rule that lists review candidates (待人工核实) ran: one row per
    record it could not decide and candidate, masked like findings.csv (the header alone when none)."""
    if not any(v.ran and v.outcome.review for v in model.views):
        return {}
    out = [[neutralise_formula("" if r.get(c) is None else str(r[c])) for c in CANDIDATES_COLUMNS] for r in model.review]
    return {CANDIDATES_FILE: write_text_atomic(Path(out_dir) / CANDIDATES_FILE, _render(CANDIDATES_COLUMNS, out), bom=True)}


def write_evidence_csvs(out_dir: Path, model: ReportModel) -> dict[str, Path]:
    """findings_<rule>.csv for every rule that ran: one row per listed finding, its evidence fields
    as columns (headed by their Chinese label and name, in the rule's order), every source record;
    masked like findings.csv. A rule without findings gets the header alone."""
    written: dict[str, Path] = {}
    key = ["finding_key"] if "finding_key" in model.extra else []
    for view in model.views:
        if not view.ran or view.outcome.draft:
            continue
        fields = view.outcome.evidence_fields
        columns = key + EVIDENCE_FILE_COLUMNS + [evidence_header(f) for f in fields] + ["sources"]
        out = []
        for r in view.findings:
            fixed = [fmt_amount(r.get(c)) if c == "amount_at_risk" else neutralise_formula("" if r.get(c) is None else str(r[c]))
                     for c in key + EVIDENCE_FILE_COLUMNS]
            out.append(fixed + [neutralise_formula(v) for v in evidence_values(r, fields)]
                       + [neutralise_formula(r.get("sources") or "")])
        name = EVIDENCE_FILE.format(rule_id=view.rule_id)
        written[name] = write_text_atomic(Path(out_dir) / name, _render(columns, out), bom=True)
    return written
