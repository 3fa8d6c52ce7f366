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
}.items():
    os.environ.setdefault(_key, _value)
