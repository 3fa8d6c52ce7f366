"""Every file of a delivery: read by a connector, or named as not read, with why.

The connectors read the files directly inside a source folder whose names match a
table's patterns (`discover`). Everything else under the delivery is listed as
unread with its reason, and, where its name or its header matches a table, with
the table it looks like: such a file may hold data the rules then miss, so the
run names it and the rules reading that table are `partial`.
"""
from __future__ import annotations

import csv
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from crosscheck.catalog import Catalog
from crosscheck.connectors.files import discover
from crosscheck.connectors.readers import normalize_header
from crosscheck.results import UnreadFile

#: File types a connector can read.
READABLE = (".csv", ".xlsx", ".parquet")
#: Files that operating systems and office programs leave beside data.
SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
#: Bytes of a CSV read to find its header line.
HEADER_BYTES = 1 << 16


@dataclass(frozen=True)
class DeliveryFile:
    """A file a connector reads: its path relative to the delivery, and the table it feeds."""

    rel: str
    path: Path
    source: str
    table: str


@dataclass
class Inventory:
    read: list[DeliveryFile] = field(default_factory=list)
    unread: list[UnreadFile] = field(default_factory=list)

    def unread_like(self, table: str) -> list[UnreadFile]:
        return [u for u in self.unread if u.looks_like == table]


def take_inventory(root: Path, catalog: Catalog) -> Inventory:
    """Walk the whole delivery (symbolic links to folders are not followed)."""
    root = Path(root)
    inventory = Inventory()
    claimed: dict[str, DeliveryFile] = {}
    for connector in catalog.connectors.values():
        for table, spec in connector.tables.items():
            for path in discover(root / connector.folder, spec.files):
                rel = path.relative_to(root).as_posix()
                claimed.setdefault(rel, DeliveryFile(rel, path, connector.source, table))
    inventory.read = sorted(claimed.values(), key=lambda f: f.rel)
    folders = {c.folder: c for c in catalog.connectors.values()}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in claimed:
                continue
            reason, may_be_data = _why_unread(Path(rel), folders)
            looks_like, source = _looks_like(path, catalog) if may_be_data else ("", "")
            inventory.unread.append(UnreadFile(file=rel, reason=reason, looks_like=looks_like, source=source))
    return inventory


def _why_unread(rel: Path, folders: dict) -> tuple[str, bool]:
    """Why a file is not read, and whether it may still be data (hidden and temporary files are not)."""
    name, parts = rel.name, rel.parts
    if name.startswith("~$"):
        return "temporary file (an office program's lock file)", False
    if name.startswith(".") or name.lower() in SYSTEM_FILES or any(p.startswith(".") for p in parts[:-1]):
        return "hidden or system file", False
    if len(parts) == 1:
        return "at the top of the delivery, not in a source folder", True
    folder = parts[0]
    if folder not in folders:
        return f"in {folder}/, which is not a source folder", True
    if len(parts) > 2:
        return (f"in a sub-folder of {folder}/ ({'/'.join(parts[1:-1])}/): only files directly in "
                f"{folder}/ are read"), True
    if rel.suffix.lower() not in READABLE:
        return f"not a data file a connector reads ({rel.suffix or 'no extension'}: connectors read {', '.join(READABLE)})", True
    patterns = sorted({p for spec in folders[folder].tables.values() for p in spec.files})
    return f"no connector pattern matches its name ({folder}/ reads {', '.join(patterns)})", True


def _looks_like(path: Path, catalog: Catalog) -> tuple[str, str]:
    """(table, source) whose file name pattern or header this file matches; ("", "") if none."""
    stem = path.name.lower().rsplit(".", 1)[0]
    for connector in catalog.connectors.values():
        for table, spec in connector.tables.items():
            if any(fnmatch.fnmatchcase(stem, p.lower().rsplit(".", 1)[0]) for p in spec.files):
                return table, connector.source
    headers = {normalize_header(h) for h in _header(path)}
    best, best_known = ("", ""), 0
    for connector in catalog.connectors.values():
        for table, spec in connector.tables.items():
            found = [any(normalize_header(h) in headers for h in c.headers) for c in spec.columns]
            required = all(f for c, f in zip(spec.columns, found) if not c.nullable)
            if headers and required and sum(found) > best_known:  # the table that knows most of its headers
                best, best_known = (table, connector.source), sum(found)
    return best


def _header(path: Path) -> list[str]:
    """The first row of a CSV, .xlsx or parquet file; [] when it cannot be read (it is not read anyway)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            from python_calamine import CalamineWorkbook

            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
            return [str(v) for v in next(iter(rows), [])]
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with open(path, "rb") as fh:
            first = fh.read(HEADER_BYTES).split(b"\n", 1)[0]
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return next(csv.reader([first.decode(encoding).rstrip("\r")]), [])
            except UnicodeDecodeError:
                continue
    except Exception:  # noqa: BLE001 - an unreadable file simply looks like nothing
        return []
    return []
