"""The nightly run as a Prefect flow: `crosscheck.pipeline.nightly.run_nightly`, each step a task.

Thin by design: the policy (which delivery, "already processed", retries, what a run
records) lives in crosscheck/; here each step becomes a task named after what it does
(`load-pension_payments`, `rule-pension_paid_after_death`, `write-reports`, `send-alerts`)
and the run's summary becomes the flow's artifact.
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from crosscheck.config import ProjectConfig
from crosscheck.pipeline.nightly import NightlyRequest, run_nightly
from crosscheck.privacy.masking import mask_ids_in_text


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


def prefect_step(name: str, fn, *args):
    """A step of the run pipeline (crosscheck.pipeline.run.Step) as a Prefect task called `name`."""
    return task(name=name, cache_policy=NONE)(masked_errors(fn))(*args)


def publish(markdown: str) -> None:
    create_markdown_artifact(key="crosscheck-run", markdown=markdown, description="crosscheck run summary")


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
    """Run on the newest delivery under `deliveries` (default: the project's deliveries
    folder). As-of: given, else the delivery's date, else today. A delivery a complete
    run already processed (same files, same rule versions) is skipped unless `force`;
    the earlier run's report is returned. `alerts`: Apprise URLs alerted besides
    crosscheck.toml's [alerts] channels. `engine`: duckdb or spark (default: crosscheck.toml's)."""
    request = NightlyRequest(deliveries=Path(deliveries) if deliveries else None, as_of=as_of, rules=rules,
                             out=Path(out) if out else None, mask=mask, force=force, alerts=list(alerts or []),
                             engine=engine)
    outcome = run_nightly(request, ProjectConfig.load(), step=prefect_step)
    publish(outcome.markdown())
    return str(outcome.report)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the nightly flow once, now.")
    parser.add_argument("--deliveries")
    parser.add_argument("--as-of")
    parser.add_argument("--out")
    parser.add_argument("--force", action="store_true", help="process the delivery even if it was processed before")
    parser.add_argument("--alert", action="append", default=[], help="also alert this Apprise URL (repeatable)")
    args = parser.parse_args()
    try:
        report = nightly(deliveries=args.deliveries, as_of=args.as_of, out=args.out, force=args.force,
                         alerts=args.alert or None)
    except Exception as exc:  # said in one line (masked); Prefect's own log has the rest
        print(f"crosscheck: {mask_ids_in_text(str(exc))}", file=sys.stderr)
        sys.exit(1)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
