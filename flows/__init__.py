"""Prefect flows. Prefect is imported here and nowhere else in the project.

Importing this package sets quiet, local, offline Prefect defaults (each can be
overridden from the environment): state under <repo>/.prefect, no telemetry,
warnings only, a generous start-up timeout for the temporary local server.
"""
import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]

for _key, _value in {
    "PREFECT_HOME": str(_REPO / ".prefect"),
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # the pipeline also logs outside flow runs
}.items():
    os.environ.setdefault(_key, _value)


def _mask_log_records() -> None:
    """Every log record of a flow process (Prefect's API log handler included, and the
    prints `log_prints` captures) carries identity numbers masked: the message and the
    traceback text are rendered and masked when the record is made."""
    import logging

    from crosscheck.privacy.masking import mask_ids_in_text

    make = logging.getLogRecordFactory()
    if getattr(make, "masks_identity_numbers", False):
        return

    def masked_record(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            record.msg, record.args = mask_ids_in_text(record.getMessage()), ()
        except Exception:  # noqa: BLE001 - a record that cannot render is left to logging's own report
            return record
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_ids_in_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None  # handlers print exc_text, never the raw exception again
        return record

    masked_record.masks_identity_numbers = True
    logging.setLogRecordFactory(masked_record)


_mask_log_records()


def _ship_pipeline_logs() -> None:
    """The pipeline's warnings (retries, a skipped delivery) reach the flow run's log in the
    Prefect API, whenever Prefect configured its logging (PREFECT_LOGGING_EXTRA_LOGGERS does
    the same, but only when set before Prefect is first imported)."""
    import logging

    from prefect import flow  # noqa: F401  (sets up Prefect's logging)

    logger = logging.getLogger("crosscheck")
    shipped = logging.getLogger("prefect.extra").handlers
    kinds = {type(h) for h in shipped}
    logger.handlers[:] = [h for h in logger.handlers if type(h) not in kinds] + list(shipped)  # once each
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)


_ship_pipeline_logs()


def _quick_teardown() -> None:
    """A flow process asked to stop ends within a service manager's stop budget (flows/serve.py)."""
    from crosscheck.lifetime import quick_teardown

    quick_teardown()


_quick_teardown()


def _log_to_file() -> None:
    """The project's log file (crosscheck.toml `log_file`, or the serve loop's --log-file): the
    serve loop's and every flow run's events go there too. A project file that does not load
    is said by the flow itself, when it loads it."""
    from crosscheck.config import ProjectConfig
    from crosscheck.service.logfile import log_to_file

    try:
        config = ProjectConfig.load()
    except ValueError:
        return
    if config.log_file:
        log_to_file(config.log_file, json_lines=config.log_json)


_log_to_file()

