"""Parsed files kept for the next delivery: the unit of reuse is the file, not the delivery.

Departments deliver the same files again every month (last month's payments, taps and
visits beside the new month's). A file parsed once (same SHA-256, same table declaration,
same parser) is never parsed again. Its rows as the parser left them are in the table
segment it was loaded into (crosscheck.cache.tables): the rows kept, the exact copies
dropped (the segment's `copies`) and the quarantined lines (its `quarantine`), each with
its line number. A part says which segment holds the file, and what its load said
(encoding, rows read, lines that could not be split, optional columns absent, headers), in
`CacheLayout.part`, written once its segment is kept.

A file read from its part is deduplicated again with the other files of its table, so the
result is exactly a cold run's. A part is used only while its segment is there; it is
written under a temporary name and renamed, so a killed run leaves nothing a later run would
use. The folder is as private as the store (0700): segments hold full identity numbers.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from crosscheck.cache.layout import CacheLayout, sql_literal
from crosscheck.cache.tables import attach_segments
from crosscheck.catalog import ConnectorSpec
from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.privacy.files import private_dirs, write_private_text
from crosscheck.results import CONFLICTING_ROWS

#: Bump when the parser writes different rows from the same file: older parts are then unused.
PARSER_VERSION = "crosscheck-parser-5"


def declaration(connector: ConnectorSpec, table: str) -> str:
    """What a part's rows depend on besides the file's bytes: the table's declaration, the
    source's null markers and encoding, the parser's version."""
    spec = connector.tables[table]
    text = json.dumps({"table": spec.model_dump(mode="json"), "null_markers": connector.null_markers,
                       "encoding": connector.encoding, "parser": PARSER_VERSION}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass
class Part:
    account: Path
    meta: dict    # what the file's load said, and where its rows are ("segment", "file")

    @property
    def segment(self) -> Path:
        return self.account.with_name(self.meta["segment"])

    def rows_sql(self, con, table: str) -> str:
        """The file's parsed rows that were not quarantined for their own fault (kept, dropped as
        copies or in conflict), with their line, their hash `__h` and the hash of their
        delivered values `__rh` (and, for a keyed table, their delivered values `__raw`)."""
        (name,) = attach_segments(con, [self.segment])
        where = f"WHERE source_file = {sql_literal(self.meta['file'])}"
        kept = ["copies"] + (["conflicts"] if con.execute(  # rows of a keyed table that conflicted in that delivery
            f"SELECT 1 FROM duckdb_tables() WHERE database_name = {sql_literal(name)} AND table_name = 'conflicts'").fetchall() else [])
        return (f'SELECT * EXCLUDE (source_file) FROM {name}.main."{table}" {where} '
                + "".join(f"UNION ALL SELECT * EXCLUDE (source_file) FROM {name}.main.{t} {where} " for t in kept))

    def quarantine_sql(self, con, table: str, rel: str) -> str:
        """The file's quarantined lines, as quarantine rows of file `rel` (not the rows that were
        in conflict with another file's: those are among its rows, `rows_sql`)."""
        (name,) = attach_segments(con, [self.segment])
        return (f'SELECT source, "table", {sql_literal(rel)} AS file, line, reason, raw_values FROM {name}.main.quarantine '
                f"WHERE \"table\" = {sql_literal(table)} AND file = {sql_literal(self.meta['file'])} "
                f"AND NOT starts_with(reason, {sql_literal(CONFLICTING_ROWS)})")


class PartStore:
    def __init__(self, layout: CacheLayout, checkpoint: Checkpoint = carry_on):
        self.layout = layout
        self.checkpoint = checkpoint

    def _path(self, table: str, version: str, sha256: str) -> Path:
        return self.layout.part(table, version, sha256)

    def find(self, table: str, version: str, sha256: str | None) -> Part | None:
        """The part of the file with this SHA-256, while its segment is there."""
        if not sha256:
            return None
        path = self._path(table, version, sha256)
        try:
            part = Part(path, json.loads(path.read_text(encoding="utf-8")))
            segment = part.segment
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not segment.is_file():
            return None  # its segment was evicted
        os.utime(path)  # last used: the cache evicts the least recently used first
        return part

    def keep(self, table: str, version: str, sha256: str, meta: dict) -> None:
        """Write the part of a file whose rows are in segment `meta["segment"]` as `meta["file"]`."""
        path = self._path(table, version, sha256)
        private_dirs(path.parent)
        # killed before the rename, the part was never whole
        write_private_text(path, json.dumps(meta, ensure_ascii=False), before_rename=lambda: self.checkpoint("part"))
