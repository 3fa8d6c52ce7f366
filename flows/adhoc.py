"""The analyst's ad-hoc run: one delivery, chosen rules, districts and parameters.

Same code path as `crosscheck run` and the nightly flow; parameters are checked
before anything is loaded, with a message naming the bad value.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import flow

from crosscheck.config import ProjectConfig
from crosscheck.run import RunRequest, RunSession
from flows.nightly import run_session


class ParameterError(ValueError):
    pass


def parse_as_of(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParameterError(f"as_of '{value}': expected a date as YYYY-MM-DD") from None


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
    extracts_path = Path(extracts)
    if not extracts_path.is_dir():
        raise ParameterError(f"extracts '{extracts}': folder not found")
    request = RunRequest(
        extracts=extracts_path,
        as_of=parse_as_of(as_of),
        out=Path(out) if out else None,
        rules=rules or None,
        districts=districts or None,
        mask=mask,
        alerts=list(alerts or []),
        engine=engine,
        overrides={k: {p: str(v) for p, v in ps.items()} for k, ps in (params or {}).items()},
    )
    session = RunSession(request, ProjectConfig.load())  # unknown rule or parameter: ValueError here
    return run_session(session)
