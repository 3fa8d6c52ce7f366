"""The nightly run: the newest delivery, every rule, unless a complete run already processed it.

    outcome = run_nightly(NightlyRequest(deliveries=...), config)       # `python -m flows.nightly`, the flow

A delivery counts as processed only when a complete run (every enabled rule, no district
filter, default parameters) of the same files and the same rule versions finished and its
report is still there; the skip is said at WARNING, naming that run. Nothing here knows
about Prefect: the flow passes its `step` (crosscheck.pipeline.run.Step).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from crosscheck.config import ProjectConfig
from crosscheck.results import RunResult
from crosscheck.pipeline.run import RunError, RunRequest, RunSession, Step, call, parse_as_of

log = logging.getLogger("crosscheck.pipeline.nightly")

_DATE_NAME = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


@dataclass(frozen=True)
class NightlyRequest:
    deliveries: Path | None = None            # None: the project's deliveries folder
    as_of: str | date | None = None           # None: the delivery's date (its folder name), else today
    rules: list[str] | None = None
    out: Path | None = None
    mask: bool = True
    force: bool = False                       # run even if the delivery was processed
    alerts: list[str] = field(default_factory=list)
    engine: str | None = None


@dataclass
class NightlyOutcome:
    delivery: Path
    result: RunResult | None = None           # None: skipped
    processed_by: dict | None = None          # the earlier complete run, when skipped
    message: str = ""

    @property
    def report(self) -> Path:
        out = self.result.out_dir if self.result is not None else self.processed_by["out_dir"]
        return Path(out) / "report.html"

    def markdown(self) -> str:
        from crosscheck.reports.text import markdown_summary

        if self.result is not None:
            return markdown_summary(self.result, self.report)
        return f"# Skipped\n\n{self.message}.\n\nReport: `{self.report}`"


def newest_delivery(deliveries: Path) -> Path:
    """The last delivery folder by name (deliveries are named by date)."""
    deliveries = Path(deliveries)
    if not deliveries.is_dir():
        raise RunError(f"{deliveries}: deliveries folder not found")
    folders = sorted(p for p in deliveries.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        raise RunError(f"{deliveries}: no delivery folders")
    return folders[-1]


def delivery_date(delivery: Path) -> date | None:
    match = _DATE_NAME.match(delivery.name)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def processed_by(session: RunSession) -> dict | None:
    """The complete run that already processed this delivery with these rules, if any."""
    from crosscheck.cache.canonical import file_sha256
    from crosscheck.store import Store

    if not session.store_path.exists():
        return None
    known = session.cache.hashes if session.cache is not None else {}
    files = {f.rel: known.get(str(f.path.resolve())) or file_sha256(f.path) for f in session.plan.inventory.read}
    with Store.open(session.store_path, read_only=True) as store:
        return store.run_of_delivery(files, session.plan.rule_versions())


def run_nightly(request: NightlyRequest, config: ProjectConfig | None = None, step: Step = call) -> NightlyOutcome:
    config = config or ProjectConfig.load()
    delivery = newest_delivery(request.deliveries or config.deliveries_dir)
    as_of = parse_as_of(request.as_of, "as_of") if request.as_of else (delivery_date(delivery) or date.today())
    session = RunSession(RunRequest(extracts=delivery, as_of=as_of, out=request.out, rules=request.rules,
                                    mask=request.mask, alerts=list(request.alerts), engine=request.engine), config)
    earlier = None if request.force or session.result.scope != "complete" else processed_by(session)
    if earlier and (Path(earlier["out_dir"]) / "report.html").is_file():  # a deleted report is made again
        session.close()
        report = Path(earlier["out_dir"]) / "report.html"
        message = (f"delivery {delivery} was already processed by the complete run {earlier['run_id']} "
                   f"(finished {earlier['finished_at']:%Y-%m-%d %H:%M} UTC, report {report}); skipped")
        if request.out and Path(request.out).resolve() != Path(earlier["out_dir"]).resolve():
            message += f"; nothing was written to {request.out}"
        message += " (force reruns it)"
        log.warning(message)
        return NightlyOutcome(delivery, processed_by=earlier, message=message)
    return NightlyOutcome(delivery, result=session.execute(step))
