"""The nightly run: the newest delivery, every source, every rule, the reports.

Thin by design: it orchestrates `crosscheck.run.RunSession`, the same code path
as `crosscheck run`, with each source load and each rule as its own task.
"""
from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from crosscheck.config import ProjectConfig
from crosscheck.run import RunRequest, RunSession

_DATE_NAME = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


def newest_delivery(deliveries: Path) -> Path:
    """The last delivery folder by name (deliveries are named by date)."""
    folders = sorted(p for p in Path(deliveries).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        raise FileNotFoundError(f"{deliveries}: no delivery folders")
    return folders[-1]


def delivery_date(delivery: Path) -> date | None:
    match = _DATE_NAME.match(delivery.name)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


@task(name="load-source", cache_policy=NONE, retries=2, retry_delay_seconds=[2, 8])
def load_source(session: RunSession, source: str):
    return session.load_source(source)


@task(name="run-rule", cache_policy=NONE)
def run_rule(session: RunSession, rule_id: str):
    return session.run_rule(rule_id)


@task(name="write-reports", cache_policy=NONE)
def write_reports(session: RunSession):
    return session.finish()


def run_session(session: RunSession) -> str:
    """Every step of a session as tasks; a source that fails never stops the others."""
    for connector in session.sources:
        try:
            load_source(session, connector.source)
        except Exception as exc:  # retries exhausted
            session.source_failed(connector.source, f"{connector.source}: load failed after retries: {exc}")
    for rule_id in session.selected:
        run_rule(session, rule_id)
    result = write_reports(session)
    report = Path(result.out_dir) / "report.html"
    create_markdown_artifact(key="crosscheck-run", markdown=summary_markdown(result, report), description="crosscheck run summary")
    return str(report)


def summary_markdown(result, report: Path) -> str:
    lines = [f"# crosscheck run {result.run_id}", "", f"As of **{result.as_of}**, delivery `{result.extracts_root}`.", "",
             "| rule | status | findings | amount at risk |", "|---|---|---:|---:|"]
    for o in result.rules:
        shown = f"{o.findings:,}" if o.status == "ok" else "—"
        lines.append(f"| {o.rule_id} | {o.status}{': ' + o.reason if o.reason else ''} | {shown} | {o.amount_at_risk:,.2f} |")
    lines += ["", f"Report: [{report}]({report.as_uri()})"]
    return "\n".join(lines)


@flow(name="crosscheck-nightly", log_prints=True)
def nightly(
    deliveries: str | None = None,
    as_of: str | None = None,
    rules: list[str] | None = None,
    out: str | None = None,
    mask: bool = True,
) -> str:
    """Run on the newest delivery under `deliveries` (default: the project's
    deliveries folder). As-of: given, else the delivery's date, else today."""
    config = ProjectConfig.load()
    delivery = newest_delivery(Path(deliveries) if deliveries else config.deliveries_dir)
    as_of_date = date.fromisoformat(as_of) if as_of else (delivery_date(delivery) or date.today())
    session = RunSession(
        RunRequest(extracts=delivery, as_of=as_of_date, out=Path(out) if out else None, rules=rules, mask=mask),
        config,
    )
    return run_session(session)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the nightly flow once, now.")
    parser.add_argument("--deliveries")
    parser.add_argument("--as-of")
    parser.add_argument("--out")
    args = parser.parse_args()
    report = nightly(deliveries=args.deliveries, as_of=args.as_of, out=args.out)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
