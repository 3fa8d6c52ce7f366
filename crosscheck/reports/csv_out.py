"""findings.csv and quarantine.csv: UTF-8 with BOM so Excel shows Chinese."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from crosscheck.reports.common import (FINDINGS_COLUMNS, QUARANTINE_COLUMNS, fmt_amount, review_columns, review_values,
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
