"""The cache folder's layout: every path under `cache_dir` is named here and nowhere else.

    <cache_dir>/
      hashes.json                                       file SHA-256 by (absolute path, size, mtime_ns):
                                                        re-hashing a 10 GB delivery is skipped when nothing changed
      <key>/canonical.duckdb                            a delivery's loaded canonical tables + `quarantine`
      <key>/loads.json                                  their load accounting (crosscheck.cache.canonical)
      <key>/views/<view>-<signature>.duckdb             a shared view's rows computed on that delivery
      <key>.partial-<pid>-<nonce>/                      a delivery being loaded by process <pid>
      parts/<table>/<declaration>/<file sha256>.json    a file's part (crosscheck.cache.parts)
      parts/<table>/<declaration>/seg-<digest>.duckdb   a table segment (crosscheck.cache.tables)
      parts/<table>/<declaration>/state-<digest>.json   a table state, naming its segments
      findings/<rule>/<key>.json                        a rule's last findings: the table states they were
                                                        computed on, the as-of date (crosscheck.cache.findings)
      findings/<rule>/<key>-<sha256>.arrow              those findings (Arrow IPC), named by their content

Every file is written under a temporary name beside its final one (`temporary`) and renamed
into place, so a killed run leaves only temporaries (`leftovers`) and partial loads of
processes that are gone, which housekeeping removes (crosscheck.cache.housekeeping). The
folder holds full identity numbers: it is as private as the store (0700, files 0600).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

CANONICAL = "canonical.duckdb"
LOADS = "loads.json"
VIEWS = "views"
PARTIAL = ".partial-"


def sql_literal(text: str | Path) -> str:
    """A path or name as an SQL string literal (ATTACH, file names in rows)."""
    return "'" + str(text).replace("'", "''") + "'"


def temporary(final: Path) -> Path:
    """A hidden temporary name beside `final`, unique to this process and call."""
    final = Path(final)
    return final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@dataclass(frozen=True)
class CacheLayout:
    root: Path

    # -- deliveries (crosscheck.cache.canonical) --------------------------------------
    @property
    def hashes(self) -> Path:
        return self.root / "hashes.json"

    def entry(self, key: str | None) -> Path:
        """A delivery's entry folder (holding CANONICAL, LOADS and VIEWS)."""
        return self.root / (key or "pending")

    def partial_entry(self, key: str | None) -> Path:
        """A folder this process loads a delivery into, renamed to `entry(key)` when kept."""
        return self.root / f"{key or 'pending'}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}"

    def partial_entries(self) -> Iterator[tuple[Path, int | None]]:
        """Each partial load and the process it belongs to (None: not a process id)."""
        for path in self.root.glob(f"*{PARTIAL}*"):
            try:
                yield path, int(path.name.rsplit(PARTIAL, 1)[1].split("-")[0])
            except (ValueError, IndexError):
                yield path, None

    def deliveries(self) -> Iterator[Path]:
        """Every kept delivery entry."""
        if self.root.is_dir():
            for entry in self.root.iterdir():
                if entry.is_dir() and (entry / LOADS).is_file():
                    yield entry

    @staticmethod
    def view(entry: Path, view: str, signature: str) -> Path:
        return Path(entry) / VIEWS / f"{view}-{signature}.duckdb"

    @staticmethod
    def views(entry: Path) -> list[Path]:
        folder = Path(entry) / VIEWS
        return sorted(folder.glob("*.duckdb")) if folder.is_dir() else []

    # -- parts and table states (crosscheck.cache.parts, crosscheck.cache.tables) ------
    @property
    def parts(self) -> Path:
        return self.root / "parts"

    def declaration(self, table: str, version: str) -> Path:
        """The folder of one table declaration's parts, segments and states."""
        return self.parts / table / version

    def part(self, table: str, version: str, sha256: str) -> Path:
        return self.declaration(table, version) / f"{sha256}.json"

    def state(self, table: str, version: str, digest: str) -> Path:
        return self.declaration(table, version) / f"state-{digest}.json"

    def segment(self, table: str, version: str, digest: str) -> Path:
        return self.declaration(table, version) / f"seg-{digest}.duckdb"

    def states(self, table: str, version: str) -> list[Path]:
        return list(self.declaration(table, version).glob("state-*.json"))

    def all_parts(self) -> Iterator[Path]:
        return (p for p in self.parts.glob("*/*/*.json") if not p.name.startswith("state-"))

    def all_segments(self) -> Iterator[Path]:
        return self.parts.glob("*/*/seg-*.duckdb")

    @staticmethod
    def state_of(segment: Path) -> Path:
        """The state named like a segment (the state of the table's files up to that segment)."""
        return segment.with_name("state-" + segment.name.removeprefix("seg-")).with_suffix(".json")

    @staticmethod
    def digest_of(path: Path) -> str:
        """The digest in a segment's or state's name."""
        return path.stem.removeprefix("seg-").removeprefix("state-")

    # -- a rule's last findings (crosscheck.cache.findings) -------------------------------
    def findings(self, rule_id: str, key: str) -> Path:
        return self.root / "findings" / rule_id / f"{key}.json"

    def findings_rows(self, rule_id: str, key: str, sha256: str) -> Path:
        return self.root / "findings" / rule_id / f"{key}-{sha256[:32]}.arrow"

    def all_findings(self) -> Iterator[Path]:
        return (self.root / "findings").glob("*/*.json")

    # -- what a killed run leaves -------------------------------------------------------
    def leftovers(self) -> Iterator[Path]:
        """Temporary files (anywhere under the root)."""
        return self.root.glob("**/.*.tmp")
