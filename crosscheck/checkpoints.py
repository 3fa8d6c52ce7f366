"""Checkpoints: the named moments of a run that a test may stop it at.

The code that reaches such a moment is given a `Checkpoint` by whoever started it and calls
it with the moment's name; a real run passes `carry_on`, which does nothing. A test passes
one that pauses there (and announces it), so that it can kill the process at a known point
and see what the next run makes of it. The moments:

- ``load``: after a table is loaded (crosscheck.pipeline.run);
- ``rules``: after a rule ran (crosscheck.pipeline.run);
- ``part``: a parsed file's part written under its temporary name, not yet renamed into
  place (crosscheck.cache.parts);
- ``segment``: a table segment written, not yet renamed into place (crosscheck.cache.tables);
- ``findings``: a rule's findings kept for the next delivery, their rows in place, the entry
  naming them written under its temporary name, not yet renamed (crosscheck.cache.findings);
- ``record``: inside the findings store's transaction, the run's rows written, not committed
  (crosscheck.store.recording);
- ``reports``: inside that transaction, every report file written but report.html, whose
  temporary file is not yet renamed into place (crosscheck.reports.common.atomic_path).
"""
from __future__ import annotations

from typing import Callable

#: What the code calls at a checkpoint, with the moment's name.
Checkpoint = Callable[[str], None]

MOMENTS = ("load", "rules", "part", "segment", "findings", "record", "reports")


def carry_on(moment: str) -> None:
    """The checkpoint of every real run: nothing happens."""
