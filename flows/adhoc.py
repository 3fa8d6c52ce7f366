"""The analyst's ad-hoc run as a Prefect flow: one delivery, chosen rules, districts and parameters.

The same pipeline as `crosscheck run` (crosscheck.pipeline.run.RunSession.execute), each step a
task; parameters are checked before anything is loaded, with a message naming the bad value.
"""
from __future__ import annotations

from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import flow

from crosscheck.config import ProjectConfig
from crosscheck.reports.text import markdown_summary
from crosscheck.pipeline.run import RunRequest, RunSession, parse_as_of
from flows.nightly import prefect_step, publish


@flow(name="crosscheck-adhoc", log_prints=True)
def adhoc(
    extracts: str,
    as_of: str | None = None,
    rules: list[str] | None = None,
    districts: list[str] | None = None,
    params: dict[str, dict[str, str]] | None = None,
    mask: bool = True,
    out: str | None = None,
    alerts: list[str] | None = None,
    engine: str | None = None,
) -> str:
    """Run chosen rules on one delivery. `params` overrides rule parameters:
    {"pension_no_sign_of_life": {"min_age": "85"}}. `alerts`: Apprise URLs alerted
    besides crosscheck.toml's [alerts] channels. `engine`: duckdb or spark (default:
    crosscheck.toml's engine)."""
    request = RunRequest(
        extracts=Path(extracts),
        as_of=parse_as_of(as_of, "as_of"),
        out=Path(out) if out else None,
        rules=rules or None,
        districts=districts or None,
        mask=mask,
        alerts=list(alerts or []),
        engine=engine,
        overrides={k: {p: str(v) for p, v in ps.items()} for k, ps in (params or {}).items()},
    )
    result = RunSession(request, ProjectConfig.load()).execute(prefect_step)  # bad input: RunError here
    report = Path(result.out_dir) / "report.html"
    publish(markdown_summary(result, report))
    return str(report)
