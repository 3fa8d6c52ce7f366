"""The nightly run: the newest delivery, every source, every rule, the reports.

Thin by design: it orchestrates `crosscheck.run.RunSession`, the same code path
as `crosscheck run`, with each source load and each rule as its own task.
"""
from __future__ import annotations

import argparse
import functools
import re
from datetime import date
from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from crosscheck.config import ProjectConfig
from crosscheck.reports.masking import mask_ids_in_text
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


class TaskError(Exception):
    """A task's error with identity numbers masked (Prefect keeps it in the task's state)."""


def masked_errors(fn):
    """Re-raise what leaves ``fn`` with identity numbers masked; other errors unchanged."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            masked = mask_ids_in_text(str(exc))
            if masked == str(exc):
                raise
            raise TaskError(f"{type(exc).__name__}: {masked}") from None
    return wrapper


@task(name="load-source", cache_policy=NONE, retries=2, retry_delay_seconds=[2, 8])
@masked_errors
def load_source(session: RunSession, source: str):
    return session.load_source(source)


@task(name="run-rule", cache_policy=NONE)
@masked_errors
def run_rule(session: RunSession, rule_id: str):
    return session.run_rule(rule_id)


@task(name="write-reports", cache_policy=NONE)
@masked_errors
def write_reports(session: RunSession):
    return session.finish()


@task(name="send-alerts", cache_policy=NONE)
@masked_errors
def send_alerts(session: RunSession):
    return session.send_alerts()  # retries per channel inside; never raises


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
    try:
        send_alerts(session)
    except Exception as exc:  # sending never breaks a run
        print(f"alerts: {exc}")
    report = Path(result.out_dir) / "report.html"
    create_markdown_artifact(key="crosscheck-run", markdown=summary_markdown(result, report), description="crosscheck run summary")
    return str(report)


def summary_markdown(result, report: Path) -> str:
    """Findings per rule, new since the last run, skipped rules. No identity numbers."""
    counts = result.history.get("counts", {})
    lines = [f"# crosscheck run {result.run_id}", "", f"As of **{result.as_of}**, delivery `{result.extracts_root}`.", "",
             "| rule | status | findings | new since last run | suppressed | amount at risk |", "|---|---|---:|---:|---:|---:|"]
    for o in result.rules:
        c = counts.get(o.rule_id, {})
        if o.status == "ok":
            lines.append(f"| {o.rule_id} | ok | {o.findings:,} | {c.get('new', 0):,} | {c.get('suppressed', 0):,} | {o.amount_at_risk:,.2f} |")
        else:
            lines.append(f"| {o.rule_id} | **{o.status}**: {o.reason} | — | — | — | — |")
    skipped = [o for o in result.rules if o.status != "ok"]
    if skipped:
        lines += ["", f"**{len(skipped)} rule(s) did not run**: " + "; ".join(f"{o.rule_id} ({o.reason})" for o in skipped)]
    if getattr(result, "alerts", None):
        from crosscheck.alerts import alert_lines

        failed = sum(a.get("status") == "failed" for a in result.alerts)
        lines += ["", f"**Alerts** ({failed} failed):" if failed else "**Alerts**:", ""]
        lines += [f"- {line}" for line in alert_lines(result.alerts)]
    lines += ["", f"Report: [{report}]({report.as_uri()})"]
    return mask_ids_in_text("\n".join(lines))  # a rule's or a file's reason may quote an identity number


def processed_run(session: RunSession) -> dict | None:
    """The recorded run that already read exactly this delivery's files, if any."""
    from crosscheck.connectors.files import delivery_files, file_sha256
    from crosscheck.store import Store

    if not session.store_path.exists():
        return None
    files = {rel: file_sha256(path) for rel, path in delivery_files(Path(session.request.extracts), session.catalog)}
    with Store.open(session.store_path, read_only=True) as store:
        return store.run_of_delivery(files)


@flow(name="crosscheck-nightly", log_prints=True)
def nightly(
    deliveries: str | None = None,
    as_of: str | None = None,
    rules: list[str] | None = None,
    out: str | None = None,
    mask: bool = True,
    force: bool = False,
    alerts: list[str] | None = None,
    engine: str | None = None,
) -> str:
    """Run on the newest delivery under `deliveries` (default: the project's
    deliveries folder). As-of: given, else the delivery's date, else today.
    A delivery already processed (same files, same contents) is skipped
    unless `force`; the earlier run's report is returned.
    `alerts`: Apprise URLs alerted besides crosscheck.toml's [alerts] channels.
    `engine`: duckdb or spark (default: crosscheck.toml's engine)."""
    config = ProjectConfig.load()
    delivery = newest_delivery(Path(deliveries) if deliveries else config.deliveries_dir)
    as_of_date = date.fromisoformat(as_of) if as_of else (delivery_date(delivery) or date.today())
    session = RunSession(
        RunRequest(extracts=delivery, as_of=as_of_date, out=Path(out) if out else None, rules=rules, mask=mask,
                   alerts=list(alerts or []), engine=engine),
        config,
    )
    if not force:
        earlier = processed_run(session)
        if earlier and (Path(earlier["out_dir"]) / "report.html").is_file():  # a deleted report is made again
            session.close()
            report = Path(earlier["out_dir"]) / "report.html"
            message = f"delivery {delivery} was already processed by run {earlier['run_id']}; skipped (force=True reruns it)"
            print(message)
            create_markdown_artifact(key="crosscheck-run", markdown=f"# Skipped\n\n{message}.\n\nReport: `{report}`",
                                     description="crosscheck run summary")
            return str(report)
    return run_session(session)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the nightly flow once, now.")
    parser.add_argument("--deliveries")
    parser.add_argument("--as-of")
    parser.add_argument("--out")
    parser.add_argument("--force", action="store_true", help="process the delivery even if it was processed before")
    parser.add_argument("--alert", action="append", default=[], help="also alert this Apprise URL (repeatable)")
    args = parser.parse_args()
    report = nightly(deliveries=args.deliveries, as_of=args.as_of, out=args.out, force=args.force,
                     alerts=args.alert or None)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
