"""The `crosscheck` command."""
from __future__ import annotations

import logging
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
    from crosscheck.masking import mask_ids_in_text

    typer.echo(f"crosscheck: {mask_ids_in_text(message)}", err=True)
    raise typer.Exit(code)


def parse_date(value: str | None, option: str) -> date:
    from crosscheck.run import RunError, parse_as_of

    try:
        return parse_as_of(value, option)
    except RunError as exc:
        _fail(str(exc))


class _StderrHandler(logging.Handler):
    """The pipeline's warnings on whatever sys.stderr is when they happen, masked."""

    def emit(self, record: logging.LogRecord) -> None:
        from crosscheck.masking import mask_ids_in_text

        try:
            print("crosscheck: " + mask_ids_in_text(record.getMessage()), file=sys.stderr)
        except Exception:  # noqa: BLE001 - a log line never breaks a run
            self.handleError(record)


def _log_to_stderr(debug: bool) -> None:
    """The pipeline's warnings (retries, skipped deliveries) on stderr, identity numbers masked."""
    logger = logging.getLogger("crosscheck")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False


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
    alert: list[str] = typer.Option([], "--alert", help="Also alert this Apprise URL (mailtos://, dingtalk://, wecombot://, feishu://, json:// ...) (repeatable)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Where rules run: duckdb or spark. Default: crosscheck.toml's engine (duckdb)."),
    debug: bool = typer.Option(False, "--debug", help="When the run fails, also print the traceback."),
) -> None:
    """Load a delivery, run the rules, write findings and reports, send the alerts.

    Exit status: 0 when the run completed (findings or not, rules partial or skipped
    included: the summary says so); 1 when it started but could not finish (recorded
    as failed, a notice sent to the alert channels); 2 for bad input; 3 when the
    findings store stayed busy past its lock timeout."""
    from crosscheck.config import ProjectConfig
    from crosscheck.reports.text import console_summary
    from crosscheck.lifecycle import RunFailed
    from crosscheck.run import RunError, RunRequest, execute_run, parse_overrides
    from crosscheck.store import StoreBusy, StoreError

    _log_to_stderr(debug)
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
            alerts=list(alert),
            engine=engine,
        )
        result = execute_run(request, ProjectConfig.load(project))
    except StoreBusy as exc:  # another run held the findings store past the lock timeout
        _fail(f"{exc}; nothing was recorded for this run", code=3)
    except RunFailed as exc:
        if debug:
            import traceback

            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        _fail(str(exc), code=1)
    except (RunError, StoreError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(console_summary(result))


@app.command()
def sample(
    out: Path = typer.Option(..., "--out", help="Folder to write the delivery into."),
    people: int = typer.Option(20_000, "--people", min=100, help="Residents in the synthetic city."),
    seed: int = typer.Option(7, "--seed", help="Random seed; same seed, same files."),
    as_of: str = typer.Option("2026-11-01", "--as-of", help="The delivery's as-of date (YYYY-MM-DD)."),
    scale: Optional[bool] = typer.Option(None, "--scale/--no-scale", help="City-scale generator (DuckDB SQL, UTF-8 CSV + parquet taps); default: on above 2,000,000 people."),
    domains: bool = typer.Option(True, "--domains/--core-only", help="Also the domain sources (civil_affairs, finance, vehicle_registry, market_regulation, village_cadres, agriculture, hospital exams) with their planted cases."),
    memory_limit: str = typer.Option("8GB", "--memory-limit", help="City-scale generator: DuckDB's memory limit (e.g. 2GB); beyond it DuckDB spills to a temp folder."),
) -> None:
    """Write a deterministic synthetic city as raw extracts, with its ground truth in _truth/."""
    from crosscheck.sample import generate_city
    from crosscheck.sample.scale import AUTO_SCALE_ABOVE, generate_scale_city

    if scale or (scale is None and people > AUTO_SCALE_ABOVE):
        from crosscheck.config import check_memory_limit

        try:
            check_memory_limit(memory_limit, "--memory-limit")
        except ValueError as exc:
            _fail(str(exc))
        summary = generate_scale_city(out, people=people, seed=seed, as_of=parse_date(as_of, "--as-of"),
                                      memory_limit=memory_limit)
    else:
        summary = generate_city(out, people=people, seed=seed, as_of=parse_date(as_of, "--as-of"), domains=domains)
    typer.echo(f"sample city of {people:,} people written to {out}")
    if isinstance(summary, dict) and summary.get("planted"):
        typer.echo("planted: " + ", ".join(f"{k} {v}" for k, v in summary["planted"].items()))


@app.command("eval-linkage")
def eval_linkage(
    dataset: str = typer.Option("febrl4", "--dataset", help="febrl4 (link 4a to 4b) or febrl3 (deduplicate 3)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="FEBRL CSV folder. Default: ../shared/data/febrl or $CROSSCHECK_FEBRL_DIR."),
    param: list[str] = typer.Option([], "--param", help="Override a parameter of the linkage rule: NAME=VALUE (repeatable)."),
    limit_entities: Optional[int] = typer.Option(None, "--limit-entities", min=1, help="Only persons numbered below N (a quick subset)."),
) -> None:
    """Precision, recall, F1 and pairs/s of the fuzzy_join linkage rule on a FEBRL benchmark dataset."""
    from crosscheck.linkage import DATASETS, evaluate, render

    if dataset not in DATASETS:
        _fail(f"--dataset '{dataset}': expected one of {', '.join(DATASETS)}")
    overrides = {}
    for p in param:
        name, sep, value = p.partition("=")
        if not sep or not name.strip():
            _fail(f"--param '{p}': expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    try:
        result = evaluate(dataset, data_dir, overrides=overrides, limit_entities=limit_entities)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    for line in render(result):
        typer.echo(line)


@app.command("link-names")
def link_names(
    registry: Path = typer.Option(..., "--registry", help="CSV: 公民身份号码, 姓名, 性别, 出生日期, 所属乡镇, 所属村 (GBK or UTF-8)."),
    records: Path = typer.Option(..., "--records", help="CSV: 记录编号, 姓名, 性别, 出生年份, 所属乡镇, 所属村 (性别 and 出生年份 may be empty)."),
    out: Path = typer.Option(..., "--out", help="LINKS.csv to write (UTF-8 with BOM): 记录编号, 公民身份号码, 方式, 候选."),
    neighbouring: bool = typer.Option(False, "--neighbouring", help="Look for a record with no candidate in its village in the rest of its township (邻村)."),
) -> None:
    """Link each record (a name and a village, no identity number) to the one registry person it is (docs/names.md)."""
    from crosscheck.names.files import LinkInputError
    from crosscheck.names.link import link_files

    try:
        summary = link_files(registry, records, out, neighbouring=neighbouring)
    except LinkInputError as exc:
        _fail(str(exc))
    counts, *bad_rows = summary.lines()
    typer.echo(counts)
    for line in bad_rows:
        typer.echo(line, err=True)
    typer.echo(f"written {out}")


@app.command("eval-names")
def eval_names(
    seed: int = typer.Option(7, "--seed", help="Seed of the generated registry and records."),
    villages: int = typer.Option(60, "--villages", min=1, help="Villages in the generated registry."),
    people: int = typer.Option(600, "--people", min=10, help="Registry people per village, on average."),
    records: int = typer.Option(6000, "--records", min=10, help="Records to link."),
) -> None:
    """Precision, recall and the ambiguous share of the name linker on the project's corruption harness (BENCHMARKS.md)."""
    from devtools.names.harness import evaluate, render

    for line in render(evaluate(seed=seed, villages=villages, people=people, records=records)):
        typer.echo(line)


cache_app = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="The cache of loaded deliveries and parsed files: list it, prune it.")


@cache_app.command("list")
def cache_list(project: Optional[Path] = typer.Option(None, "--project", help="Project folder (crosscheck.toml).")) -> None:
    """Every delivery and parsed file in the cache, least recently used first, and the total."""
    import time as _time

    from crosscheck.cache_admin import items
    from crosscheck.config import ProjectConfig

    config = ProjectConfig.load(project)
    present = items(config.cache_dir)
    for i in present:
        typer.echo(f"{i.kind:<9} {i.size / 1e6:>10.1f} MB  {_time.strftime('%Y-%m-%d %H:%M', _time.localtime(i.last_used))}  {i.name}")
    typer.echo(f"{len(present)} items, {sum(i.size for i in present) / 1e6:.1f} MB in {config.cache_dir} "
               f"(limit {config.cache_max_size})")


@cache_app.command("prune")
def cache_prune(
    max_size: Optional[str] = typer.Option(None, "--max-size", help="Keep at most this much (e.g. 10GB). Default: cache_max_size."),
    everything: bool = typer.Option(False, "--all", help="Remove everything the cache holds."),
    project: Optional[Path] = typer.Option(None, "--project", help="Project folder (crosscheck.toml)."),
) -> None:
    """Remove the least recently used items until the cache is under its limit (and any leftovers of killed runs)."""
    from crosscheck.cache_admin import parse_size, prune
    from crosscheck.config import ProjectConfig

    config = ProjectConfig.load(project)
    try:
        limit = 0 if everything else parse_size(max_size or config.cache_max_size, "--max-size")
    except ValueError as exc:
        _fail(str(exc))
    removed = prune(config.cache_dir, limit)
    typer.echo(f"removed {len(removed)} items, {sum(i.size for i in removed) / 1e6:.1f} MB")


def _mount_subcommands() -> None:
    from crosscheck.rules.cli import rules_app
    from crosscheck.store.cli import review_app, runs_app
    from crosscheck.workbench.cli import users_app, workbench

    app.add_typer(rules_app, name="rules", help="List, lint, show and test rules; write the rule catalog and reference (docs/writing-rules.md).")
    app.add_typer(users_app, name="users", help="Workbench accounts: add, list, disable, passwd.")
    app.command("workbench")(workbench)
    app.add_typer(cache_app, name="cache", help="The cache of loaded deliveries and parsed files: list, prune.")
    app.add_typer(review_app, name="review", help="Record reviewers' dispositions and outcomes (docs/reviewing.md).")
    app.add_typer(runs_app, name="runs", help="Runs recorded in the findings store, with provenance.")


_mount_subcommands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
