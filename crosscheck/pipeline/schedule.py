"""The nightly schedule (crosscheck.toml `nightly_cron` in `timezone`): which scheduled runs were missed.

A scheduled time counts as missed when no complete run finished after it, once the run
scheduled then has had `GRACE` to finish. The next run says so in its digest and report.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

#: Time a scheduled run has to finish before its night counts as missed.
GRACE = timedelta(hours=1)
#: Missed times listed at most (the count is always complete).
LISTED = 31


def missed_since(cron: str, timezone: str, last_complete: datetime, now: datetime) -> list[str]:
    """Scheduled times after `last_complete` and before `now` − GRACE (both aware), as
    local 'YYYY-MM-DD HH:MM' in `timezone`; the last entry says how many more when over LISTED."""
    zone = ZoneInfo(timezone)
    missed: list[str] = []
    more = 0
    for at in CronSim(cron, last_complete.astimezone(zone)):
        if at > now - GRACE:
            break
        if len(missed) < LISTED:
            missed.append(at.strftime("%Y-%m-%d %H:%M"))
        else:
            more += 1
        if more > 10_000:
            break
    if more:
        missed.append(f"… {more} more")
    return missed
