"""Serving the workbench (`crosscheck workbench`): uvicorn runs the application built in each
server process from the store and project that `serve` puts in its environment. SIGTERM or
SIGINT stops it: requests in progress get STOP_SECONDS to finish; server processes
(`--workers`) end with the one that started them, however it ends."""
from __future__ import annotations

import os
from pathlib import Path

from crosscheck.config import ProjectConfig
from crosscheck.workbench.app import create_app

_STORE, _PROJECT, _PARENT = "CROSSCHECK_WORKBENCH_STORE", "CROSSCHECK_WORKBENCH_PROJECT", "CROSSCHECK_WORKBENCH_PARENT"
STOP_SECONDS = 5
#: The server's own loggers a log file also takes (uvicorn's errors).
LOGGERS = ("uvicorn.error",)


def serve(store: Path, config: ProjectConfig, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until stopped; the casework database and its WAL are created owner-only."""
    import uvicorn

    os.umask(0o077)
    os.environ[_STORE] = str(store)
    os.environ[_PROJECT] = str(config.project_dir)
    os.environ[_PARENT] = str(os.getpid())
    uvicorn.run("crosscheck.workbench.server:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False, server_header=False,
                timeout_graceful_shutdown=STOP_SECONDS)


def app_from_environment():
    parent = os.environ.get(_PARENT)
    if parent and parent != str(os.getpid()):  # a server process of `--workers`: it ends with the workbench,
        from crosscheck.lifetime import die_with_parent  # at once if the workbench ended while it started

        die_with_parent(int(parent))
    from crosscheck.service.logfile import start_logging

    config = ProjectConfig.load(Path(os.environ[_PROJECT]))
    start_logging(config, also=LOGGERS)
    return create_app(Path(os.environ[_STORE]), config)
