"""Figures for SECURITY.md, recorded by the hardening tests as they run.

Inert unless ``CROSSCHECK_FIGURES`` names a file: then every `record` call
appends one JSON line to it. `bench/security_figures.py` runs the tests with it
set and turns the lines into the table in SECURITY.md.
"""
from __future__ import annotations

import json
import os

FIGURES_ENV = "CROSSCHECK_FIGURES"


def record(kind: str, name: str, **figures) -> None:
    """kind: corpus | property | fault | escape | pii; name: the case; figures: counts and outcome."""
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "name": name, **figures}, ensure_ascii=False, default=str) + "\n")


def rows_lost(files) -> int:
    """Rows read but neither loaded, quarantined nor dropped as duplicates, over FileAccounts."""
    return sum(f.rows_read - f.rows_loaded - f.rows_quarantined - f.duplicates_dropped for f in files)
