"""A run in a few lines: the console summary of `crosscheck run` and the nightly flow, and the
Prefect artifact (markdown). Both read the run's figures (crosscheck.reports.figures), like
every report file, and never carry an identity number."""
from __future__ import annotations

from pathlib import Path

from crosscheck.reports.common import figures_of
from crosscheck.privacy.masking import mask_ids_in_text
from crosscheck.results import RunResult

#: Unread files named one by one; the rest are counted.
UNREAD_SHOWN = 20


def _money(value) -> str:
    return f"{value:,.2f}"


def _scope(run: RunResult) -> str:
    if run.request.get("record") is False:
        return "not recorded (--no-record): not compared with the findings history, nothing added to it"
    return "" if run.scope == "complete" else "subset run (some rules, districts or parameters): history unchanged"


def console_summary(run: RunResult) -> str:
    figures = figures_of(run)
    lines = [f"run {run.run_id}  as-of {run.as_of}  extracts {run.extracts_root}"]
    if _scope(run):
        lines.append(f"  {_scope(run)}")
    for o in run.rules:
        f = figures.of(o.rule_id)
        if o.status in ("ok", "partial"):
            line = f"  {o.rule_id:<36} {f.findings or 0:>6} findings  {_money(f.amount):>14} yuan"
            if o.status == "partial":
                line += f"  PARTIAL: {o.reason}"
            lines.append(line)
        else:
            lines.append(f"  {o.rule_id:<36} {o.status.upper()}: {o.reason}")
    t = figures.totals
    lines.append(f"  {'total':<36} {t.findings or 0:>6} findings  {_money(t.amount):>14} yuan"
                 + (f"  (not listed: {t.suppressed} suppressed by reviews" if t.suppressed or t.outside_districts else "")
                 + (f", {t.outside_districts} outside the districts asked for" if t.outside_districts else "")
                 + (")" if t.suppressed or t.outside_districts else ""))
    if run.history:
        lines.append(f"  new {t.new}, recurring {t.recurring}, resolved {t.resolved}")
    lines.append(f"  rows loaded {sum(f.rows_loaded for f in run.files):,}, "
                 f"quarantined {sum(f.rows_quarantined for f in run.files):,}")
    failed = [f"{t.table} ({t.reason})" for t in run.loads if t.status == "failed"]
    if failed:
        lines.append("  failed tables: " + "; ".join(failed))
    lines += _unread_lines(run, "  ")
    lines += [f"  warning: {w}" for w in run.warnings]
    if run.missed_schedules:
        lines.append(f"  {len(run.missed_schedules)} scheduled night(s) missed since the last complete run: "
                     + ", ".join(run.missed_schedules) + f" ({run.timezone})")
    if run.alerts:
        from crosscheck.reports.alerts import alert_lines

        lines += ["  alert " + line for line in alert_lines(run.alerts)]
    lines.append(f"report: {Path(run.out_dir) / 'report.html'}")
    return mask_ids_in_text("\n".join(lines))  # a reason may quote an identity number


def _unread_lines(run: RunResult, indent: str) -> list[str]:
    if not run.unread:
        return []
    like = sum(bool(u.looks_like) for u in run.unread)
    out = [f"{indent}{len(run.unread)} file(s) of the delivery not read"
           + (f", {like} of them looking like a table's data" if like else "") + ":"]
    for u in sorted(run.unread, key=lambda u: (not u.looks_like, u.file))[:UNREAD_SHOWN]:
        out.append(f"{indent}  {u.file}: {u.reason}" + (f" [looks like {u.looks_like}]" if u.looks_like else ""))
    if len(run.unread) > UNREAD_SHOWN:
        out.append(f"{indent}  … {len(run.unread) - UNREAD_SHOWN} more (summary.json lists them all)")
    return out


def markdown_summary(run: RunResult, report: Path) -> str:
    """Findings per rule with the change since the last run, outcomes, unread files, alerts."""
    figures = figures_of(run)
    lines = [f"# crosscheck run {run.run_id}", "", f"As of **{run.as_of}**, delivery `{run.extracts_root}`."]
    if _scope(run):
        lines += ["", f"*{_scope(run)}*"]
    lines += ["", "| rule | outcome | findings | new | recurring | suppressed | amount at risk |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for o in run.rules:
        f = figures.of(o.rule_id)
        if o.status in ("ok", "partial"):
            outcome = "ok" if o.status == "ok" else f"**partial**: {o.reason}"
            lines.append(f"| {o.rule_id} | {outcome} | {f.findings or 0:,} | {f.new:,} | {f.recurring:,} | "
                         f"{f.suppressed:,} | {_money(f.amount)} |")
        else:
            lines.append(f"| {o.rule_id} | **{o.status}**: {o.reason} | — | — | — | — | — |")
    t = figures.totals
    lines.append(f"| **total** | | **{t.findings or 0:,}** | {t.new:,} | {t.recurring:,} | {t.suppressed:,} | "
                 f"**{_money(t.amount)}** |")
    if t.outside_districts:
        lines += ["", f"{t.outside_districts:,} finding(s) outside the districts asked for are not listed."]
    not_run = [o for o in run.rules if o.status in ("skipped", "failed")]
    if not_run:
        lines += ["", f"**{len(not_run)} rule(s) did not run**: " + "; ".join(f"{o.rule_id} ({o.reason})" for o in not_run)]
    unread = _unread_lines(run, "")
    if unread:
        lines += ["", unread[0]] + [f"- {line.strip()}" for line in unread[1:]]
    if run.warnings:
        lines += [""] + [f"- warning: {w}" for w in run.warnings]
    if run.missed_schedules:
        lines += ["", f"**{len(run.missed_schedules)} scheduled night(s) missed** since the last complete run: "
                  + ", ".join(run.missed_schedules) + f" ({run.timezone})"]
    if run.alerts:
        from crosscheck.reports.alerts import alert_lines

        failed = sum(a.get("status") == "failed" for a in run.alerts)
        lines += ["", f"**Alerts** ({failed} failed):" if failed else "**Alerts**:", ""]
        lines += [f"- {line}" for line in alert_lines(run.alerts)]
    lines += ["", f"Report: [{report}]({report.as_uri()})"]
    return mask_ids_in_text("\n".join(lines))
