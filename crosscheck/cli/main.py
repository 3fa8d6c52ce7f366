"""The `crosscheck` command: `crosscheck run`, and every sub-command mounted from its own module."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from crosscheck.checkpoints import carry_on
from crosscheck.cli.common import fail, log_to_stderr, parse_date, split_ids

app = typer.Typer(no_args_is_help=True, add_completion=False, help="crosscheck: cross-match government data to find money paid where it should not be.")


@app.command()
def run(
    ctx: typer.Context,
    extracts: Path = typer.Option(..., "--extracts", help="Extracts root: one delivery, one folder per source system."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date the run judges from (YYYY-MM-DD). Default: today."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the run's files. Default: reports/<run id>/."),
    rules: Optional[str] = typer.Option(None, "--rules", help="Comma-separated rule ids. Default: every enabled rule."),
    domains: Optional[str] = typer.Option(None, "--domains", help="Comma-separated rule domains (folders or titles: 营商环境,公车管理): their rules only."),
    param: list[str] = typer.Option([], "--param", help="Override a rule parameter for this run: RULE_ID.NAME=VALUE (repeatable)."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Write identity numbers and names in full."),
    districts: Optional[str] = typer.Option(None, "--districts", help="Comma-separated districts to report. Default: all."),
    store: Optional[Path] = typer.Option(None, "--store", help="Findings store (DuckDB file). Default: from crosscheck.toml."),
    no_record: bool = typer.Option(False, "--no-record", help="Do not compare with or record in the findings store."),
    project: Optional[Path] = typer.Option(None, "--project", help="Project folder (connectors/, rules/, crosscheck.toml)."),
    alert: list[str] = typer.Option([], "--alert", help="Also alert this Apprise URL (mailtos://, dingtalk://, wecombot://, feishu://, json:// ...) (repeatable)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Where rules run: duckdb or spark. Default: crosscheck.toml's engine (duckdb)."),
    log_file: Optional[Path] = typer.Option(None, "--log-file", help="Also write the run's events here, one a line, rotated. Default: crosscheck.toml's log_file."),
    debug: bool = typer.Option(False, "--debug", help="When the run fails, also print the traceback."),
    verify: bool = typer.Option(False, "--verify", help="Hash every file of the delivery, even those whose size and modification time are as when they were last hashed."),
) -> None:
    """Load a delivery, run the rules, write findings and reports, send the alerts.

    Exit status: 0 when the run completed (findings or not, rules partial or skipped
    included: the summary says so); 1 when it started but could not finish (recorded
    as failed, a notice sent to the alert channels); 2 for bad input; 3 when the
    findings store stayed busy past its lock timeout; 143 (SIGTERM) or 130 (SIGINT)
    when it was stopped (recorded as failed, the signal named)."""
    from crosscheck.config import ProjectConfig
    from crosscheck.reports.text import console_summary
    from crosscheck.pipeline.lifecycle import RunFailed
    from crosscheck.pipeline.run import RunError, RunRequest, execute_run, parse_overrides
    from crosscheck.lifetime import Stopped, stop_on_signals, stop_signal_of, stoppable
    from crosscheck.service.logfile import start_logging
    from crosscheck.store import StoreBusy, StoreError

    log_to_stderr(debug)
    as_of_date = parse_date(as_of, "--as-of")
    try:
        with stop_on_signals():  # SIGTERM / SIGINT end the run through its failure path: recorded as failed
            request = RunRequest(
                extracts=extracts,
                as_of=as_of_date,
                out=out,
                rules=split_ids(rules),
                districts=split_ids(districts),
                mask=not no_mask,
                overrides=parse_overrides(param),
                store=store,
                record=not no_record,
                alerts=list(alert),
                engine=engine,
                domains=split_ids(domains),
                verify=verify,
            )
            config = ProjectConfig.load(project)
            start_logging(config, log_file)
            # a caller may hand the command a checkpoint (crosscheck.checkpoints) in its context object
            checkpoint = getattr(ctx.obj, "checkpoint", carry_on)
            result = execute_run(request, config, step=stoppable, checkpoint=checkpoint)
    except Stopped as exc:  # before the run began, or after it was recorded
        fail(str(exc), code=exc.exit_code)
    except StoreBusy as exc:  # another run held the findings store past the lock timeout
        fail(f"{exc}; nothing was recorded for this run", code=3)
    except RunFailed as exc:
        if debug:
            import traceback

            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        signum = stop_signal_of(exc.__cause__ or exc)
        fail(str(exc), code=128 + signum if signum else 1)
    except (RunError, StoreError, ValueError) as exc:
        fail(str(exc))
    typer.echo(console_summary(result))


def _mount_subcommands() -> None:
    from crosscheck.cli.cache import cache_app
    from crosscheck.cli.dev import eval_linkage, eval_names, sample
    from crosscheck.cli.names import link_names
    from crosscheck.cli.rules import rules_app
    from crosscheck.cli.review import review_app, runs_app
    from crosscheck.cli.sql import sql
    from crosscheck.cli.service import backup, restore, status
    from crosscheck.cli.workbench import users_app, workbench

    app.command()(sql)
    app.command()(sample)
    app.command("eval-linkage")(eval_linkage)
    app.command("link-names")(link_names)
    app.command("eval-names")(eval_names)
    app.add_typer(rules_app, name="rules", help="List, lint, show and test rules; write the rule catalog and reference (docs/writing-rules.md).")
    app.add_typer(users_app, name="users", help="Workbench accounts: add, list, disable, passwd.")
    app.command("workbench")(workbench)
    app.add_typer(cache_app, name="cache", help="The cache of loaded deliveries and parsed files: list, prune.")
    app.add_typer(review_app, name="review", help="Record reviewers' dispositions and outcomes (docs/reviewing.md).")
    app.add_typer(runs_app, name="runs", help="Runs recorded in the findings store, with provenance.")
    app.command("status")(status)
    app.command("backup")(backup)
    app.command("restore")(restore)


_mount_subcommands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
