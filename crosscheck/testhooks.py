"""Fault-injection hook for the hardening and store safety tests.

Inert unless ``CROSSCHECK_TEST_PAUSE`` names a phase. Then, the first time a run
reaches that phase, it creates the file named by ``CROSSCHECK_TEST_PAUSE_FILE``
(if set) and sleeps ``CROSSCHECK_TEST_PAUSE_SECONDS`` (default 60), or until the
test deletes that file, so a test can SIGKILL it at a known point. Phases:

- ``load``: after the first table is loaded (RunSession.load_table);
- ``rules``: after the first rule ran (RunSession.run_rule);
- ``record``: inside the findings-store transaction, the run's rows written but
  not committed, before the reports (Store.record_run; tests/test_store_safety.py);
- ``part``: a parsed file's part written under its temporary names, not yet renamed
  into place (crosscheck.connectors.parts.PartStore.keep; tests/test_incremental.py);
- ``reports``: inside the findings-store transaction, with every report file
  but report.html written, report.html's temporary file written but not yet
  renamed into place (crosscheck.reports.common.atomic_path).

Never set these variables outside tests.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_ENV = "CROSSCHECK_TEST_PAUSE"
PAUSE_FILE_ENV = "CROSSCHECK_TEST_PAUSE_FILE"
PAUSE_SECONDS_ENV = "CROSSCHECK_TEST_PAUSE_SECONDS"
#: The phases tests/hardening/test_hardening_faults.py kills ``crosscheck run`` at.
PHASES = ("load", "rules", "reports")

_paused: set[str] = set()


def pause(phase: str) -> None:
    """Sleep here if the tests asked to pause at ``phase`` (once per process)."""
    if os.environ.get(PAUSE_ENV) != phase or phase in _paused:
        return
    _paused.add(phase)
    signal_file = os.environ.get(PAUSE_FILE_ENV)
    if signal_file:
        Path(signal_file).write_text(f"{os.getpid()} {phase}\n", encoding="utf-8")
    deadline = time.monotonic() + float(os.environ.get(PAUSE_SECONDS_ENV) or 60)
    while time.monotonic() < deadline:
        if signal_file and not Path(signal_file).exists():
            return  # the test deleted the file: carry on
        time.sleep(0.05)
