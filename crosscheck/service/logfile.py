"""Log files an operator keeps: one line per event, rotated by size, plain text or JSON lines,
identity numbers masked (crosscheck.privacy.masking.mask_ids_in_text) like every other output.

    log_to_file(Path("/var/log/crosscheck/crosscheck.log"), json_lines=False)

adds a handler to the `crosscheck` logger (runs, the serve loop, flow runs, the workbench) and
to the loggers named (uvicorn's errors, say). Events at INFO and above are written. Several
processes may share one file (the serve loop and its flow runs, the workbench's server
processes): each line is written, and the file rotated, under a lock on ``<file>.lock``, so no
line is cut and a file is rotated once. At MAX_BYTES the file becomes ``<file>.1`` (the older
ones move up to ``<file>.<KEEP>``, the oldest goes).
"""
from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
from datetime import datetime
from pathlib import Path

from crosscheck.privacy.files import private_dirs

MAX_BYTES = 10 * 1024 * 1024
KEEP = 5
#: The log file a process was given (--log-file), handed to the processes it starts.
LOG_FILE_ENV = "CROSSCHECK_LOG_FILE"


class EventLine(logging.Formatter):
    """One event, one line: ``time level logger [pid] message`` (a traceback folded into it), or
    the same as a JSON object; identity numbers masked."""

    def __init__(self, json_lines: bool = False):
        super().__init__()
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        from crosscheck.privacy.masking import mask_ids_in_text

        when = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        message = mask_ids_in_text(record.getMessage())
        error = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        error = mask_ids_in_text(error)
        if self.json_lines:
            event = {"time": when, "level": record.levelname, "logger": record.name, "pid": record.process,
                     "message": message}
            if error:
                event["error"] = error
            return json.dumps(event, ensure_ascii=False)
        line = f"{when} {record.levelname} {record.name} [{record.process}] {message}"
        if error:
            line += " | " + error.strip().replace("\n", " | ")
        return line.replace("\n", " | ")


class SharedRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log file several processes append to: each write and rotation under a lock,
    and a file another process rotated away is reopened."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP):
        private_dirs(Path(path).parent)
        super().__init__(path, maxBytes=max_bytes, backupCount=keep, encoding="utf-8", delay=True)
        self.lock_path = f"{self.baseFilename}.lock"

    def _open(self):
        old = os.umask(0o077)  # the log names runs, users and files: owner-only like the rest
        try:
            return super()._open()
        finally:
            os.umask(old)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            self.handleError(record)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.stream is not None and self._rotated_away():
                self.stream.close()
                self.stream = None
            if self.stream is not None:
                self.stream.seek(0, os.SEEK_END)  # where the other processes got to
            super().emit(record)
            if self.stream is not None:
                self.stream.flush()
        finally:
            os.close(fd)

    def _rotated_away(self) -> bool:
        try:
            return os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
        except OSError:
            return True


def log_to_file(path: Path | str, *, json_lines: bool = False, also: tuple[str, ...] = ()) -> None:
    """Write the `crosscheck` logger's events (and those of the loggers in `also`) at INFO and
    above to `path`; once per file and process."""
    path = Path(path).absolute()
    for name in ("crosscheck", *also):
        logger = logging.getLogger(name)
        if any(isinstance(h, SharedRotatingFile) and Path(h.baseFilename) == path for h in logger.handlers):
            continue
        handler = SharedRotatingFile(path)
        handler.setLevel(logging.INFO)
        handler.setFormatter(EventLine(json_lines))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)


def start_logging(config, log_file: Path | None = None, *, also: tuple[str, ...] = ()) -> Path | None:
    """`--log-file` (`log_file`), else crosscheck.toml's `log_file`: this process's events go
    there, and so do those of the processes it starts (crosscheck.config reads LOG_FILE_ENV)."""
    path = Path(log_file).absolute() if log_file else config.log_file
    if path is None:
        return None
    os.environ[LOG_FILE_ENV] = str(path)
    log_to_file(path, json_lines=config.log_json, also=also)
    return path
