"""`crosscheck status`: what an operator (or a monitoring tool) asks of a running system.

The last complete run and how it ended, the last run of any kind, runs going on now or ended
without a word (crosscheck.store.journal), the next scheduled night and the nights missed since
the last complete run (crosscheck.pipeline.schedule), open and overdue clues (the casework
database), the cache's size and the free disk where the store lives. `problems` lists what needs
someone: a scheduled night missed, or the last run failed.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from crosscheck.config import ProjectConfig


def _utc(value: datetime | None) -> datetime | None:
    """A time as the store keeps it (naive UTC) made aware."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def gather(config: ProjectConfig, store: Path, *, lock_timeout: float = 60, now: datetime | None = None) -> dict:
    """Everything `crosscheck status` says, as plain values (JSON-ready)."""
    from cronsim import CronSim

    from crosscheck.pipeline.schedule import missed_since
    from crosscheck.store import Store
    from crosscheck.store.journal import RunJournal

    now = now or datetime.now(timezone.utc)
    zone = ZoneInfo(config.timezone)
    last_complete = last = None
    if store.exists():
        with Store.open(store, lock_timeout=lock_timeout, read_only=True, notify=None) as st:
            last_complete = st.last_complete_run()
            newest = st.runs(limit=1)
            last = newest[0] if newest else None
    journal = RunJournal(store).entries()
    unrecorded = [e for e in journal if e["state"] == "ended"]
    missed = (missed_since(config.nightly_cron, config.timezone, _utc(last_complete["finished_at"]), now)
              if last_complete else [])
    out = {
        "checked_at": now.isoformat(timespec="seconds"),
        "store": str(store),
        "last_complete_run": _run(last_complete),
        "last_run": _run(last),
        "running": [{"run_id": e["run_id"], "started_at": e.get("started_at")} for e in journal if e["state"] == "running"],
        "ended_unrecorded": [e["run_id"] for e in unrecorded],
        "schedule": {"cron": config.nightly_cron, "timezone": config.timezone,
                     "next": next(iter(CronSim(config.nightly_cron, now.astimezone(zone)))).isoformat()},
        "missed_nights": missed,
        "clues": _clues(config, store),
        "cache": {"folder": str(config.cache_dir), "bytes": _cache_bytes(config.cache_dir),
                  "limit": config.cache_max_size},
        "disk": _disk(store.parent),
    }
    problems = []
    if missed:
        problems.append(f"{len(missed)} scheduled night(s) missed since the last complete run")
    if last and last["status"] == "failed":
        problems.append(f"the last run ({last['run_id']}) failed: {last.get('error') or 'no reason recorded'}")
    if unrecorded:
        problems.append(f"{len(unrecorded)} run(s) ended without finishing (the next run records them as failed)")
    out["problems"] = problems
    return out


def _run(row: dict | None) -> dict | None:
    if row is None:
        return None
    finished = _utc(row.get("finished_at"))
    return {"run_id": row["run_id"], "as_of": str(row.get("as_of") or ""), "status": row.get("status"),
            "scope": row.get("scope"), "error": row.get("error"), "findings": row.get("findings"),
            "finished_at": finished.isoformat(timespec="seconds") if finished else None}


def _clues(config: ProjectConfig, store: Path) -> dict | None:
    """Open (not closed) and overdue (assigned, deadline passed) clues; None without a casework database."""
    from crosscheck.casework import Casework, Settings, casework_path
    from crosscheck.casework.scope import color_sql

    path = casework_path(store)
    if not path.exists():
        return None
    with Casework.open(path, read_only=True, settings=Settings.of(config)) as cw:
        red, params = color_sql("red", cw.settings.today(), cw.settings.warn_days, alias="clues")
        open_ = cw.one("SELECT count(*) AS n FROM clues WHERE status <> 'closed'")["n"]
        overdue = cw.one(f"SELECT count(*) AS n FROM clues WHERE {red}", params)["n"]
    return {"open": int(open_), "overdue": int(overdue)}


def _cache_bytes(folder: Path | None) -> int:
    if folder is None or not Path(folder).is_dir():
        return 0
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def _disk(folder: Path) -> dict:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    return {"folder": str(folder), "free_bytes": usage.free, "total_bytes": usage.total}


def render(status: dict) -> str:
    """The operator's text: one line per fact, the problems last."""
    def when(text: str | None) -> str:
        if not text:
            return "?"
        return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def run(r: dict | None) -> str:
        if r is None:
            return "none yet"
        said = f"{r['run_id']} (as-of {r['as_of']}), finished {when(r['finished_at'])}: {r['status']}"
        if r.get("error"):
            said += f": {r['error']}"
        elif r.get("findings") is not None:
            said += f", {r['findings']:,} findings"
        return said

    schedule = status["schedule"]
    zone = ZoneInfo(schedule["timezone"])
    clues, cache, disk = status["clues"], status["cache"], status["disk"]
    missed = status["missed_nights"]
    lines = [
        f"store:             {status['store']}",
        f"last complete run: {run(status['last_complete_run'])}",
        f"last run:          {run(status['last_run'])}",
    ]
    lines += [f"running now:       {r['run_id']} since {when(r['started_at'])}" for r in status["running"]]
    lines += [
        f"next night:        {when(schedule['next'])} ({schedule['timezone']}, cron {schedule['cron']})",
        f"missed nights:     {len(missed)}: {', '.join(missed)}" if missed else "missed nights:     none",
        (f"clues:             {clues['open']:,} open, {clues['overdue']:,} overdue" if clues
         else "clues:             no casework database yet"),
        f"cache:             {cache['bytes'] / 1e9:.2f} GB in {cache['folder']} (limit {cache['limit']})",
        f"free disk:         {disk['free_bytes'] / 1e9:.1f} GB of {disk['total_bytes'] / 1e9:.1f} GB at {disk['folder']}",
    ]
    lines += [f"attention:         {p}" for p in status["problems"]] or ["attention:         nothing"]
    return "\n".join(lines)
