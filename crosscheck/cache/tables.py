"""A table's loaded state, kept for the next delivery: a table grows by its new files only.

Departments deliver one more month of payments, taps and visits beside the months already
delivered. A canonical table whose files are exactly those of a state kept before (same
relative paths, same SHA-256, same order, same declaration) is read from that state's
segments: nothing is parsed, deduplicated or validated again. A table whose files begin
with a kept state's files and add more after them is that state plus one new segment: only
the new files are parsed (or read from their parts, crosscheck.cache.parts), their
exact duplicates dropped within them and against the state's rows (each row keeps the hash
of its canonical columns, `__h`), their rows validated row by row, and the table-wide
expectations run on the whole table. Any other change (a file replaced, removed or put
before the last) loads the table from all its files as one segment.

A segment (`CacheLayout.segment`) holds the rows of its files (the table itself, with `__h`
and `__rh`), the exact copies dropped from them (`copies`) and their `quarantine` rows; the
parts of the files parsed into it point at it. A state (`CacheLayout.state`) names its files,
its segments (oldest first), its load accounting and its row-by-row expectation counts.

<digest> hashes the declaration and the (path, SHA-256) of the state's files in order. A
state's rows are its segments' rows in order: the rows, and the accounting, of a cold load
of the same files, since an exact duplicate is dropped on the later file and every file of
a segment comes after the files of the segments before it. Each file is written under a
temporary name and renamed (the state last), so a killed run leaves nothing a later run
would use; a state whose segment was evicted is not used. Segments hold full identity
numbers: the folder is as private as the store (0700, files 0600).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crosscheck.cache.layout import CacheLayout, sql_literal, temporary
from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.privacy.files import private_dirs, write_private_text
from crosscheck.results import ExpectationResult, FileAccount, TableLoad

#: The hash of a row's canonical columns: exact duplicates share it.
HASH = "__h"
#: Each parsed row's hash of its delivered values (crosscheck.connectors.parse.raw_hash): a
#: snapshot delivered again is matched on it line by line.
RAW_HASH = "__rh"
#: The rows of a segment hash with DuckDB's hash(): a new DuckDB may hash otherwise.
FORMAT = "crosscheck-table-state-2"
PREFIX = "__cc_seg_"

Contents = list[tuple[str, str]]   # (path relative to the extracts root, SHA-256) of each file, in load order


def digest(version: str, contents: Contents) -> str:
    import duckdb

    text = "\n".join([FORMAT, duckdb.__version__, version, *(f"{rel}\t{sha}" for rel, sha in contents)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def alias(segment: Path) -> str:
    return PREFIX + CacheLayout.digest_of(segment)[:16]


def attach_segments(con, segments: list[Path]) -> list[str]:
    """Attach each segment read-only (once per connection); their aliases."""
    attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    out = []
    for segment in segments:
        name = alias(segment)
        if name not in attached:
            con.execute(f"ATTACH {sql_literal(str(segment))} AS {name} (READ_ONLY)")
            attached.add(name)
        out.append(name)
    return out


def union_sql(con, segments: list[Path], relation: str, columns: str = "*") -> str:
    """`columns` of `relation` (a table of each segment) over all the segments, oldest first."""
    return " UNION ALL ".join(f"SELECT {columns} FROM {a}.main.{relation}" for a in attach_segments(con, segments))


def define_view(con, table: str, columns: list[str], segments: list[Path]) -> None:
    """`table`, in the current database, as the union of its segments' rows, oldest first."""
    rows = union_sql(con, segments, f'"{table}"', ", ".join(f'"{c}"' for c in columns))
    con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {rows}')


def segment_columns(con, table: str, segment: Path) -> list[str]:
    """The canonical columns of a segment's table (its row hashes, and a keyed table's delivered values, left out)."""
    (name,) = attach_segments(con, [segment])
    return [r[0] for r in con.execute(f'DESCRIBE {name}.main."{table}"').fetchall() if r[0] not in (HASH, RAW_HASH, "__raw")]


def quarantine_sql(con, segments: list[Path]) -> str:
    return union_sql(con, segments, "quarantine")


@dataclass
class State:
    digest: str
    contents: Contents
    segments: list[Path]
    load: TableLoad
    counts: list          # crosscheck.connectors.validation.RowCounts over every file of the state

    def rows_sql(self, con, table: str, columns: str = "*") -> str:
        """The state's rows (with their hashes `__h` and `__rh`; or only `columns`), as one relation."""
        return union_sql(con, self.segments, f'"{table}"', columns)


def _in_order(some: Contents, every: Contents) -> bool:
    """Whether `some` are files of `every`, in the same order."""
    rest = iter(every)
    return all(any(c == d for d in rest) for c in some)


def comes_after(some: Contents, every: Contents) -> bool:
    """Whether every file of `every` not in `some` comes after the last of `some`."""
    last = max(every.index(c) for c in some)
    return all(c in some for c in every[:last + 1])


@dataclass
class NewSegment:
    path: Path
    keep: bool = False


class TableStates:
    def __init__(self, layout: CacheLayout, checkpoint: Checkpoint = carry_on):
        self.layout = layout
        self.checkpoint = checkpoint

    def _paths(self, table: str, version: str, key: str) -> tuple[Path, Path]:
        return self.layout.state(table, version, key), self.layout.segment(table, version, key)

    def _read(self, table: str, version: str, contents: Contents) -> State | None:
        key = digest(version, contents)
        path, _ = self._paths(table, version, key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        segments = [self._paths(table, version, d)[1] for d in data["segments"]]
        if data.get("format") != FORMAT or not all(s.is_file() for s in segments):
            return None   # a segment was evicted: the state is gone
        for d in data["segments"]:  # last used: the cache evicts the least recently used first
            used = self._paths(table, version, d)[0]
            if used.is_file():
                os.utime(used)
        item = data["load"]
        files = [FileAccount(**f) for f in item.pop("files")]
        expectations = [ExpectationResult(**e) for e in item.pop("expectations")]
        item.pop("unread", None)
        load = TableLoad(**item, files=files, expectations=expectations)
        return State(key, [tuple(c) for c in data["contents"]], segments, load, data["counts"])

    def find(self, table: str, version: str, contents: Contents) -> State | None:
        """The state of exactly these files."""
        return self._read(table, version, contents)

    def base(self, table: str, version: str, contents: Contents) -> State | None:
        """The kept state with the most of these files, all among them and in the same order
        (the months delivered before), not all of them."""
        best: State | None = None
        for path in self.layout.states(table, version):
            try:
                kept = [tuple(c) for c in json.loads(path.read_text(encoding="utf-8"))["contents"]]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if len(kept) < len(contents) and _in_order(kept, contents) and (best is None or len(kept) > len(best.contents)):
                best = self._read(table, version, kept) or best
        return best

    def delivered_before(self, table: str, version: str) -> dict[str, str]:
        """Path -> SHA-256 of each file in the kept states, the most recently used state's last."""
        found: dict[str, str] = {}
        kept = sorted(self.layout.states(table, version), key=lambda p: p.stat().st_mtime)
        for path in kept:
            try:
                found.update((rel, sha) for rel, sha in json.loads(path.read_text(encoding="utf-8"))["contents"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    @contextmanager
    def new_segment(self, con, table: str, version: str, contents: Contents):
        """A segment file the loader writes `table` and its quarantine into: attached and made
        the connection's default while the block runs; then closed and, if the block set
        `keep`, put in place at `path`."""
        _, final = self._paths(table, version, digest(version, contents))
        private_dirs(final.parent)
        tmp = temporary(final)
        name = f"__cc_new_{secrets.token_hex(4)}"
        home = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {sql_literal(str(tmp))} AS {name}")
        segment = NewSegment(final)
        try:
            con.execute(f"USE {name}")
            try:
                yield segment
            finally:
                con.execute(f"USE {home}")
            con.execute(f"DETACH {name}")
            if segment.keep:
                os.chmod(tmp, 0o600)
                self.checkpoint("segment")  # killed here, the segment was never in place
                os.replace(tmp, final)
        finally:
            if name in {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}:
                con.execute(f"DETACH {name}")
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def keep(self, table: str, version: str, contents: Contents, segments: list[Path], load: TableLoad,
             counts: list) -> None:
        """Write the state (last: it exists from here on)."""
        path, _ = self._paths(table, version, digest(version, contents))
        item = dataclasses.asdict(load)
        item.pop("unread", None)
        item.pop("segments", None)
        data = {"format": FORMAT, "contents": [list(c) for c in contents],
                "segments": [CacheLayout.digest_of(s) for s in segments], "load": item, "counts": counts}
        write_private_text(path, json.dumps(data, ensure_ascii=False))
