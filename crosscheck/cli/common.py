"""What every command shares: a refusal in one line (identity numbers masked), dates, lists, warnings on stderr."""
from __future__ import annotations

import logging
import sys
from datetime import date

import typer


def fail(message: str, code: int = 2) -> None:
    from crosscheck.privacy.masking import mask_ids_in_text

    typer.echo(f"crosscheck: {mask_ids_in_text(message)}", err=True)
    raise typer.Exit(code)


def parse_date(value: str | None, option: str) -> date:
    from crosscheck.pipeline.run import RunError, parse_as_of

    try:
        return parse_as_of(value, option)
    except RunError as exc:
        fail(str(exc))


class _StderrHandler(logging.Handler):
    """The pipeline's warnings on whatever sys.stderr is when they happen, masked. The run's life
    (`crosscheck.pipeline.run`: started, finished, failed) is for log files: the command says it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "crosscheck.pipeline.run" and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        from crosscheck.privacy.masking import mask_ids_in_text

        try:
            print("crosscheck: " + mask_ids_in_text(record.getMessage()), file=sys.stderr)
        except Exception:  # noqa: BLE001 - a log line never breaks a run
            self.handleError(record)


def log_to_stderr(debug: bool) -> None:
    """The pipeline's warnings (retries, skipped deliveries) on stderr, identity numbers masked."""
    logger = logging.getLogger("crosscheck")
    level = logging.DEBUG if debug else logging.WARNING
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)] or [_StderrHandler()]:
        handler.setLevel(level)  # a log file (crosscheck.service.logfile) may take more than the console
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def split_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]
