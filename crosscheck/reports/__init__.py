"""Report writers: findings.csv, quarantine.csv, summary.json, findings.xlsx, report.html.

They read a :class:`~crosscheck.results.RunResult` only (never the extracts)::

    from crosscheck.reports import write_reports
    paths = write_reports(run, out_dir, mask=True)   # {"findings.csv": Path, ...}

Masking (default on) applies to every file; summary.json never carries
identity numbers at all. Each file is written under a temporary name in
``out_dir`` and moved into place with ``os.replace``.
"""
from __future__ import annotations

from pathlib import Path

from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.reports.report_model import build_model
from crosscheck.privacy.masking import mask_id, mask_ids_in_text, mask_name
from crosscheck.results import RunResult

__all__ = ["write_reports", "mask_id", "mask_name", "mask_ids_in_text", "REPORT_FILES"]

#: What write_reports writes, in the order it writes them (report.html last); besides them, a
#: findings_<rule>.csv per rule that ran (common.EVIDENCE_FILE) and, when a rule that lists review
#: candidates ran, review_candidates.csv (common.CANDIDATES_FILE), after quarantine.csv.
REPORT_FILES = ("findings.csv", "quarantine.csv", "summary.json", "findings.xlsx", "report.html")


def write_reports(run: RunResult, out_dir: Path, *, mask: bool = True, checkpoint: Checkpoint = carry_on) -> dict[str, Path]:
    """Write every report file of ``run`` into ``out_dir``; return file name -> path written
    (`checkpoint` is called with "reports" before report.html, the last, is put in place)."""
    from crosscheck.reports.csv_out import write_evidence_csvs, write_findings_csv, write_quarantine_csv, write_review_csv
    from crosscheck.reports.html import write_html
    from crosscheck.reports.summary import build_summary, write_summary_json
    from crosscheck.reports.xlsx import write_xlsx

    model = build_model(run, mask)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    written["findings.csv"] = write_findings_csv(out / "findings.csv", model)
    written["quarantine.csv"] = write_quarantine_csv(out / "quarantine.csv", model)
    written.update(write_evidence_csvs(out, model))
    written.update(write_review_csv(out, model))
    written["summary.json"] = write_summary_json(out / "summary.json", build_summary(model))
    written["findings.xlsx"] = write_xlsx(out / "findings.xlsx", model)
    written["report.html"] = write_html(out / "report.html", model, before_rename=checkpoint)
    return written


def rewrite_reports(run: RunResult, out_dir: Path, *, mask: bool = True,
                    names: tuple[str, ...] = ("summary.json", "report.html")) -> dict[str, Path]:
    """Rewrite some report files of a run already written (e.g. with the alert outcomes
    added after the store commit); each is replaced atomically, the others are untouched."""
    from crosscheck.reports.html import write_html
    from crosscheck.reports.summary import build_summary, write_summary_json

    model = build_model(run, mask)
    out = Path(out_dir)
    written: dict[str, Path] = {}
    if "summary.json" in names:
        written["summary.json"] = write_summary_json(out / "summary.json", build_summary(model))
    if "report.html" in names:
        written["report.html"] = write_html(out / "report.html", model)
    return written
