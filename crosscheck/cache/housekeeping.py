"""The cache folder's housekeeping: what it holds, and keeping it under its size limit.

Three kinds of items live under `cache_dir` (crosscheck.toml; see crosscheck.cache.canonical,
crosscheck.connectors.parts and crosscheck.connectors.tables): a delivery's loaded tables
(`<key>/`), a file's part (`parts/<table>/<declaration>/<sha256>.json`: its rows are in the
segment it was loaded into) and a table's state with its newest segment
(`parts/<table>/<declaration>/{state,seg}-<digest>.*`; a state whose older segment is gone,
or a part whose segment is gone, is not used). Each is used whole or not at all. Beyond
`cache_max_size` the least recently used go first; a run prunes when it ends, and
`crosscheck cache prune` does it on demand. Leftovers of a killed run (temporary names,
partial load folders of processes that are gone) are removed whatever the size.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.I)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
#: A temporary file older than this is a killed run's leftover (a live run renames its files within minutes).
STALE_SECONDS = 6 * 3600


def parse_size(value: str, where: str) -> int:
    """'20GB', '512MB', '1.5G' -> bytes; ValueError naming `where`."""
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{where} '{value}': expected a size such as 20GB or 512MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


@dataclass
class Item:
    kind: str            # delivery | part | table
    name: str            # entry key, or table/declaration/sha256
    paths: list[Path]
    size: int
    last_used: float     # seconds since the epoch


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def items(cache_dir: Path) -> list[Item]:
    """Every delivery entry and part in the cache, least recently used first."""
    cache_dir = Path(cache_dir)
    out: list[Item] = []
    if not cache_dir.is_dir():
        return out
    for entry in cache_dir.iterdir():
        marker = entry / "loads.json"
        if entry.is_dir() and marker.is_file():
            out.append(Item("delivery", entry.name, [entry], _size(entry), marker.stat().st_mtime))
    for account in (cache_dir / "parts").glob("*/*/*.json"):
        if not account.name.startswith("state-"):  # a part: what its file's load said; its rows are in a segment
            name = "/".join(account.with_suffix("").parts[-3:])
            out.append(Item("part", name, [account], account.stat().st_size, account.stat().st_mtime))
    for segment in (cache_dir / "parts").glob("*/*/seg-*.duckdb"):
        state = segment.with_name(segment.name.replace("seg-", "state-", 1)).with_suffix(".json")
        paths = [segment, state] if state.is_file() else [segment]
        name = "/".join([*segment.parts[-3:-1], segment.stem.removeprefix("seg-")])
        out.append(Item("table", name, paths, sum(p.stat().st_size for p in paths), paths[-1].stat().st_mtime))
    return sorted(out, key=lambda i: (i.last_used, i.name))


def remove_leftovers(cache_dir: Path) -> list[Path]:
    """Temporary files and partial loads a killed run left behind."""
    from crosscheck.cache.canonical import _remove_abandoned

    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    _remove_abandoned(cache_dir)
    gone = []
    now = time.time()
    for tmp in [*cache_dir.glob("parts/**/*.tmp"), *cache_dir.glob("*/views/.*")]:
        try:
            if now - tmp.stat().st_mtime > STALE_SECONDS:
                tmp.unlink()
                gone.append(tmp)
        except OSError:
            continue
    return gone


def prune(cache_dir: Path, max_bytes: int) -> list[Item]:
    """Remove the least recently used items until the cache holds at most `max_bytes`."""
    remove_leftovers(cache_dir)
    present = items(cache_dir)
    total = sum(i.size for i in present)
    removed = []
    for item in present:
        if total <= max_bytes:
            break
        for path in item.paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        total -= item.size
        removed.append(item)
    return removed
