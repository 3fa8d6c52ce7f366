"""Findings history store: runs, findings, reviews and outcomes (DuckDB).

See `crosscheck.store.store` for the API (and the modules of its parts) and
`crosscheck.store.schema` for the tables.
"""
from crosscheck.store.db import StoreError
from crosscheck.store.keys import finding_key
from crosscheck.store.lock import StoreBusy
from crosscheck.store.recording import RecordedRun
from crosscheck.store.reviews import DISPOSITIONS, ImportResult, material_change
from crosscheck.store.store import DEFAULT_STORE_NAME, Store

__all__ = [
    "DEFAULT_STORE_NAME",
    "DISPOSITIONS",
    "ImportResult",
    "RecordedRun",
    "Store",
    "StoreBusy",
    "StoreError",
    "finding_key",
    "material_change",
]
