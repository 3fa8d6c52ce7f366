"""The application uvicorn serves (`crosscheck workbench`): built in each server process from
the store and project that the command put in its environment."""
from __future__ import annotations

import os
from pathlib import Path

from crosscheck.config import ProjectConfig
from crosscheck.workbench.app import create_app


def app_from_environment():
    project = Path(os.environ["CROSSCHECK_WORKBENCH_PROJECT"])
    return create_app(Path(os.environ["CROSSCHECK_WORKBENCH_STORE"]), ProjectConfig.load(project))
