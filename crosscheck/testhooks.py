"""The casework clock's offset for the workbench tests.

``CROSSCHECK_TEST_CLOCK_FILE`` names a file holding a number of seconds that the casework
clock (`crosscheck.casework.db.utc_now`: sessions, lockouts, deadlines' colours, the audit
log) is moved forward by, so a test can let 15 minutes or 10 days pass at once.

Never set this variable outside tests.
"""
from __future__ import annotations

import os
from pathlib import Path

CLOCK_FILE_ENV = "CROSSCHECK_TEST_CLOCK_FILE"


def clock_offset() -> float:
    """Seconds the tests moved the casework clock forward (0 unless CROSSCHECK_TEST_CLOCK_FILE is set)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return 0.0
    try:
        return float(Path(path).read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        return 0.0
