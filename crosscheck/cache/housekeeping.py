"""The cache folder's housekeeping: what it holds, and keeping it under its size limit.

Three kinds of items live under `cache_dir` (crosscheck.toml; where each lives:
crosscheck.cache.layout): a delivery's loaded tables, a file's part (its rows are in the
segment it was loaded into) and a table's state with its newest segment (a state whose
older segment is gone, or a part whose segment is gone, is not used). Each is used whole or
not at all. Beyond `cache_max_size` the least recently used go first; a run prunes when it
ends, and `crosscheck cache prune` does it on demand. Leftovers of a killed run (temporary
names, partial load folders of processes that are gone) are removed whatever the size.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from crosscheck.cache.canonical import remove_abandoned
from crosscheck.cache.layout import LOADS, CacheLayout

#: A temporary file older than this is a killed run's leftover (a live run renames its files within minutes).
STALE_SECONDS = 6 * 3600


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
    """Every delivery entry, part and table state in the cache, least recently used first."""
    layout = CacheLayout(Path(cache_dir))
    out: list[Item] = []
    if not layout.root.is_dir():
        return out
    for entry in layout.deliveries():
        out.append(Item("delivery", entry.name, [entry], _size(entry), (entry / LOADS).stat().st_mtime))
    for account in layout.all_parts():  # a part: what its file's load said; its rows are in a segment
        name = "/".join(account.with_suffix("").parts[-3:])
        out.append(Item("part", name, [account], account.stat().st_size, account.stat().st_mtime))
    for segment in layout.all_segments():
        state = layout.state_of(segment)
        paths = [segment, state] if state.is_file() else [segment]
        name = "/".join([*segment.parts[-3:-1], layout.digest_of(segment)])
        out.append(Item("table", name, paths, sum(p.stat().st_size for p in paths), paths[-1].stat().st_mtime))
    return sorted(out, key=lambda i: (i.last_used, i.name))


def remove_leftovers(cache_dir: Path) -> list[Path]:
    """Temporary files and partial loads a killed run left behind."""
    layout = CacheLayout(Path(cache_dir))
    if not layout.root.is_dir():
        return []
    remove_abandoned(layout)
    gone = []
    now = time.time()
    for tmp in list(layout.leftovers()):
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
