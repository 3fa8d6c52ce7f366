"""A rule's findings on the tables it read, kept for the next delivery (crosscheck.pipeline.incremental).

What is kept of a rule (`CacheLayout.findings`): its findings (Arrow IPC, named by their
SHA-256), the table states they were computed on (each table's segments,
crosscheck.cache.tables), the as-of date and, once known, how the rule runs on the change
(its plan, so that the next run need not analyse the rule again). The key hashes everything else the findings
depend on: the rule file's version, its compiled SQL (views and tables stood in for
included), its bound parameters, the engine, the declaration of every table it reads and
FORMAT (the findings' rendering). A rule edited, run with other parameters or on another
engine, or a connector declared otherwise, finds no entry and runs whole.

The rows are written first, under a temporary name, and renamed; the entry naming them is
written last (a temporary name, then a rename), so a run killed in between leaves the
previous entry, whose rows are still there, or none: never an entry without its rows.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from crosscheck.cache.layout import CacheLayout, temporary
from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.privacy.files import private_dirs, write_private_text

#: Bump when the same query rows render into other findings (crosscheck.rules.runner).
FORMAT = "crosscheck-rule-findings-1"


def findings_key(parts: dict) -> str:
    """The key of a rule's kept findings: a hash of what they depend on besides the tables' rows."""
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Kept:
    """A rule's findings kept from an earlier run, and what they were computed on."""

    findings: pa.Table
    as_of: date
    tables: dict[str, list[str]]     # table -> its segments, oldest first
    plan: dict | None = None         # how the rule runs on the change (crosscheck.rules.incremental.Plan)


class FindingsMemory:
    def __init__(self, layout: CacheLayout, checkpoint: Checkpoint = carry_on):
        self.layout = layout
        self.checkpoint = checkpoint

    def read(self, rule_id: str, key: str) -> Kept | None:
        """The kept findings, while their rows and every segment they were computed on are there."""
        path = self.layout.findings(rule_id, key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return None
            rows = self.layout.findings_rows(rule_id, key, data["sha256"])
            tables = {t: list(s) for t, s in data["tables"].items()}
            if not all(Path(s).is_file() for segments in tables.values() for s in segments):
                return None   # a segment was evicted: the changed rows cannot be told
            with pa.memory_map(str(rows)) as source:
                findings = pa.ipc.open_file(source).read_all()
            os.utime(path)
            return Kept(findings, date.fromisoformat(data["as_of"]), tables, data.get("plan"))
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None

    def keep(self, rule_id: str, key: str, findings: pa.Table, as_of: date, tables: dict[str, list[str]],
             plan: dict | None = None) -> None:
        """Keep a rule's findings (the rows first, then the entry naming them)."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, findings.schema) as writer:
            writer.write_table(findings)
        data = sink.getvalue().to_pybytes()
        sha = hashlib.sha256(data).hexdigest()
        rows = self.layout.findings_rows(rule_id, key, sha)
        private_dirs(rows.parent)
        if not rows.is_file():
            tmp = temporary(rows)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, rows)
            finally:
                tmp.unlink(missing_ok=True)
        entry = {"format": FORMAT, "sha256": sha, "as_of": as_of.isoformat(), "tables": tables, "plan": plan}
        # killed before the rename, the entry before stands, with its own rows
        write_private_text(self.layout.findings(rule_id, key), json.dumps(entry, ensure_ascii=False),
                           before_rename=lambda: self.checkpoint("findings"))
        for older in rows.parent.glob(f"{key}-*.arrow"):
            if older != rows:
                older.unlink(missing_ok=True)
