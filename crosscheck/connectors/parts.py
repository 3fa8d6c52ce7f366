"""Parsed files kept for the next delivery: the unit of reuse is the file, not the delivery.

Departments deliver the same files again every month (last month's payments, taps and
visits beside the new month's). A file parsed once (same SHA-256, same table declaration,
same parser) is never parsed again: its rows as the parser left them (before quarantine and
the exact-duplicate check across files, which are redone on the whole table, so the result
is exactly a cold run's) are kept as one Parquet part, with what its load said (encoding,
rows read, lines that could not be split, optional columns absent) beside it:

    <cache_dir>/parts/<table>/<declaration>/<file sha256>.parquet   the parsed rows
    <cache_dir>/parts/<table>/<declaration>/<file sha256>.json      its account; written last

A table's state (its files loaded, deduplicated and validated: crosscheck.connectors.tables)
sits beside its parts.

A part is used only when both files are there; each is written under a temporary name and
renamed, so a killed run leaves nothing a later run would use. Parts hold full identity
numbers: the folder is as private as the store (0700).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from crosscheck.catalog import ConnectorSpec
from crosscheck.fsutil import private_dirs, write_private_text
from crosscheck.testhooks import pause

#: Bump when the parser writes different rows from the same file: older parts are then unused.
PARSER_VERSION = "crosscheck-parser-2"
#: Columns of the working table a part leaves out: set again for each delivery (and the row hash).
PER_DELIVERY = ("__file_idx", "source_file", "__h")


def declaration(connector: ConnectorSpec, table: str) -> str:
    """What a part's rows depend on besides the file's bytes: the table's declaration, the
    source's null markers and encoding, the parser's version."""
    spec = connector.tables[table]
    text = json.dumps({"table": spec.model_dump(mode="json"), "null_markers": connector.null_markers,
                       "encoding": connector.encoding, "parser": PARSER_VERSION}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Part:
    rows: Path
    account: Path

    def meta(self) -> dict:
        return json.loads(self.account.read_text(encoding="utf-8"))


class PartStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _paths(self, table: str, version: str, sha256: str) -> Part:
        base = self.folder / table / version / sha256
        return Part(base.with_suffix(".parquet"), base.with_suffix(".json"))

    def find(self, table: str, version: str, sha256: str | None) -> Part | None:
        if not sha256:
            return None
        part = self._paths(table, version, sha256)
        if not (part.rows.is_file() and part.account.is_file()):
            return None
        os.utime(part.account)  # last used: the cache evicts the least recently used first
        return part

    def keep(self, con, table: str, version: str, sha256: str, index: int, meta: dict) -> None:
        """Write the rows the parser put into `table` for file `index`, and its account."""
        part = self._paths(table, version, sha256)
        private_dirs(part.rows.parent)
        nonce = f".{os.getpid()}-{secrets.token_hex(4)}.tmp"
        tmp_rows, tmp_meta = Path(str(part.rows) + nonce), Path(str(part.account) + nonce)
        try:
            con.execute(f'COPY (SELECT * EXCLUDE ({", ".join(PER_DELIVERY)}) FROM "{table}" WHERE __file_idx = {index}) '
                        f"TO {_lit(str(tmp_rows))} (FORMAT parquet, COMPRESSION zstd)")
            os.chmod(tmp_rows, 0o600)
            try:
                tmp_meta.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            except OSError as exc:  # a full disk says where
                raise OSError(exc.errno, exc.strerror, str(part.account)) from exc
            os.chmod(tmp_meta, 0o600)
            pause("part")  # fault tests only: killed here, the part was never whole
            os.replace(tmp_rows, part.rows)
            os.replace(tmp_meta, part.account)  # last: the part exists from here on
        finally:
            tmp_rows.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)

    @staticmethod
    def read_into(con, table: str, part: Part, index: int, rel: str, hash_column: str, keys: str) -> int:
        """Insert a part's rows as file `index` at path `rel`, with the hash of their `keys`;
        the number of rows."""
        return con.execute(
            f'INSERT INTO "{table}" BY NAME SELECT *, {index} AS __file_idx, {_lit(rel)} AS source_file, '
            f"hash({keys}) AS {hash_column} FROM read_parquet({_lit(str(part.rows))})").fetchall()[0][0]
