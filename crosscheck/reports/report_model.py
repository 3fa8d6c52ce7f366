"""The report model: everything the report writers show of a run, built once per writing.

`build_model(run, mask)` masks the run's free texts, prepares the findings, review candidates
and quarantine rows (sorted, masked), the rules as the reports show them, the run's figures
(crosscheck.reports.figures), the change since the last run, precision, resolved findings
and district totals. Every writer (CSV, summary.json, XLSX, HTML) reads this one model.
"""
from __future__ import annotations

from dataclasses import dataclass

from crosscheck.reports.common import (
    RuleView,
    district_totals,
    extra_columns,
    figures_of,
    finding_rows,
    history_rows,
    mask_run_texts,
    precision_rows,
    quarantine_rows,
    resolved_rows,
    review_rows,
    rule_views,
)
from crosscheck.reports.figures import RunFigures
from crosscheck.results import RunResult


@dataclass
class ReportModel:
    run: RunResult                 # free texts masked when `mask`
    mask: bool
    rows: list[dict]               # findings as shown: sorted by full values, masked when `mask`
    quarantine: list[dict]
    extra: list[str]               # store columns the findings carry (finding_key, status, first_seen)
    views: list[RuleView]          # rules in run order, each with its shown findings
    figures: RunFigures
    changes: list[dict]            # per rule, the change since the previous run ([] when not recorded)
    precision: list[dict]
    resolved: list[dict]
    districts: list[dict]
    suppressed: list[dict]         # findings a review suppressed (shown collapsed, with why and until when)
    review: list[dict]             # the records rules could not decide, with their candidates (待人工核实), masked when `mask`


def build_model(run: RunResult, mask: bool = True) -> ReportModel:
    figures = figures_of(run)
    if mask:
        run = mask_run_texts(run)
    rows = finding_rows(run, mask)
    views = rule_views(run, rows)
    return ReportModel(
        run=run, mask=mask, rows=rows, quarantine=quarantine_rows(run, mask), extra=extra_columns(run),
        views=views, figures=figures, changes=history_rows(run, views), precision=precision_rows(run, views),
        resolved=resolved_rows(run, mask), districts=district_totals(rows),
        suppressed=finding_rows(run, mask, run.suppressed_findings) if run.suppressed_findings is not None else [],
        review=review_rows(run, mask),
    )
