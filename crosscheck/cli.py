"""The `crosscheck` command."""
from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="crosscheck: cross-match government data to find money paid where it should not be.")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"crosscheck: {message}", err=True)
    raise typer.Exit(code)


def parse_date(value: str | None, option: str) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} '{value}': expected a date as YYYY-MM-DD")


def _split_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@app.command()
def run(
    extracts: Path = typer.Option(..., "--extracts", help="Extracts root: one delivery, one folder per source system."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date the run judges from (YYYY-MM-DD). Default: today."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the run's files. Default: reports/<run id>/."),
    rules: Optional[str] = typer.Option(None, "--rules", help="Comma-separated rule ids. Default: every enabled rule."),
    param: list[str] = typer.Option([], "--param", help="Override a rule parameter for this run: RULE_ID.NAME=VALUE (repeatable)."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Write identity numbers and names in full."),
    districts: Optional[str] = typer.Option(None, "--districts", help="Comma-separated districts to report. Default: all."),
    store: Optional[Path] = typer.Option(None, "--store", help="Findings store (DuckDB file). Default: from crosscheck.toml."),
    no_record: bool = typer.Option(False, "--no-record", help="Do not compare with or record in the findings store."),
    project: Optional[Path] = typer.Option(None, "--project", help="Project folder (connectors/, rules/, crosscheck.toml)."),
) -> None:
    """Load a delivery, run the rules, write findings and reports."""
    from crosscheck.config import ProjectConfig
    from crosscheck.run import RunError, RunRequest, execute_run, parse_overrides
    from crosscheck.store import StoreError

    as_of_date = parse_date(as_of, "--as-of")
    try:
        request = RunRequest(
            extracts=extracts,
            as_of=as_of_date,
            out=out,
            rules=_split_ids(rules),
            districts=_split_ids(districts),
            mask=not no_mask,
            overrides=parse_overrides(param),
            store=store,
            record=not no_record,
        )
        result = execute_run(request, ProjectConfig.load(project))
    except (RunError, StoreError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(render_run_summary(result))


def render_run_summary(result) -> str:
    lines = [f"run {result.run_id}  as-of {result.as_of}  extracts {result.extracts_root}"]
    for outcome in result.rules:
        if outcome.status == "ok":
            lines.append(f"  {outcome.rule_id:<36} {outcome.findings:>6} findings  {outcome.amount_at_risk:>14,.2f} yuan")
        else:
            lines.append(f"  {outcome.rule_id:<36} {outcome.status.upper()}: {outcome.reason}")
    quarantined = sum(f.rows_quarantined for f in result.files)
    failed = [f"{t.table} ({t.reason})" for t in result.loads if t.status == "failed"]
    lines.append(f"  rows loaded {sum(f.rows_loaded for f in result.files):,}, quarantined {quarantined:,}")
    if failed:
        lines.append("  failed tables: " + "; ".join(failed))
    lines.append(f"report: {Path(result.out_dir) / 'report.html'}")
    return "\n".join(lines)


@app.command()
def sample(
    out: Path = typer.Option(..., "--out", help="Folder to write the delivery into."),
    people: int = typer.Option(20_000, "--people", min=100, help="Residents in the synthetic city."),
    seed: int = typer.Option(7, "--seed", help="Random seed; same seed, same files."),
    as_of: str = typer.Option("2026-11-01", "--as-of", help="The delivery's as-of date (YYYY-MM-DD)."),
) -> None:
    """Write a deterministic synthetic city as raw extracts, with its ground truth in _truth/."""
    from crosscheck.sample import generate_city

    summary = generate_city(out, people=people, seed=seed, as_of=parse_date(as_of, "--as-of"))
    typer.echo(f"sample city of {people:,} people written to {out}")
    if isinstance(summary, dict) and summary.get("planted"):
        typer.echo("planted: " + ", ".join(f"{k} {v}" for k, v in summary["planted"].items()))


def _mount_subcommands() -> None:
    from crosscheck.rules.cli import rules_app
    from crosscheck.store.cli import review_app, runs_app

    app.add_typer(rules_app, name="rules", help="List, lint, show and test rules.")
    app.add_typer(review_app, name="review", help="Record reviewers' dispositions and outcomes.")
    app.add_typer(runs_app, name="runs", help="Runs recorded in the findings store, with provenance.")


_mount_subcommands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
