"""The workbench for the tests that let time pass: the application `crosscheck workbench`
serves, built with a clock the test moves (`workbench_helpers.FileClock`), served by uvicorn.

    python tests/workbench_server.py STORE PROJECT PORT CLOCK_FILE
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn

from crosscheck.config import ProjectConfig
from crosscheck.workbench.app import create_app
from workbench_helpers import FileClock


def main(store: str, project: str, port: str, clock_file: str) -> None:
    os.umask(0o077)
    app = create_app(Path(store), ProjectConfig.load(Path(project)), clock=FileClock(Path(clock_file)))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False, server_header=False)


if __name__ == "__main__":
    main(*sys.argv[1:5])
