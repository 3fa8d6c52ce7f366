"""What each person has to do (我的工作): the clues assigned to them (or, for a department, handed
over to it and not yet answered), those due within ``warn_days`` and those overdue; and, for a
supervisor, the workload of every assignee in scope (open, yellow, red, answered this month)."""
from __future__ import annotations

from datetime import datetime, time

from crosscheck.casework.clues import LIST_COLUMNS, Clues
from crosscheck.casework.db import Database, stamp
from crosscheck.casework.scope import CLUE_FROM, Account, color_of, visible


class Worklists:
    def __init__(self, db: Database, clues: Clues):
        self.db = db
        self.clues = clues

    def my_work(self, account: Account) -> dict:
        where, params = visible(account)
        if account.role == "department":
            mine = f"""c.finding_key IN (SELECT h.finding_key FROM handovers h WHERE h.department = ?
                                                                              AND h.answered_at IS NULL)"""
        else:
            mine = "c.assignee = ? AND c.status = 'assigned'"
        rows = self.db.rows(f"SELECT {LIST_COLUMNS} {CLUE_FROM} WHERE {where} AND {mine} "
                            "ORDER BY c.deadline, c.priority LIMIT 1000", params + [account.username])
        items = [self.clues.list_item(r) for r in rows]
        out = {"mine": items, "due_soon": [c for c in items if c["color"] == "yellow"],
               "overdue": [c for c in items if c["color"] == "red"]}
        if account.role == "supervisor":
            out["workload"] = self.workload(account)
        return out

    def workload(self, account: Account) -> list[dict]:
        """Per assignee of the clues in the supervisor's scope: open, yellow, red, answered this month."""
        where, params = visible(account)
        today, warn = self.db.today(), self.db.settings.warn_days
        month_start = datetime.combine(today.replace(day=1), time(0), self.db.settings.zone)
        rows = self.db.rows(f"""SELECT c.assignee, c.status, c.deadline, c.answered_at {CLUE_FROM}
                                WHERE {where} AND c.assignee IS NOT NULL""", params)
        per: dict[str, dict] = {}
        since = stamp(month_start)
        for r in rows:
            w = per.setdefault(r["assignee"], {"assignee": r["assignee"], "open": 0, "yellow": 0, "red": 0,
                                               "answered_this_month": 0})
            if r["status"] == "assigned":
                w["open"] += 1
                colour = color_of(r["status"], r["deadline"], today, warn)
                if colour in ("yellow", "red"):
                    w[colour] += 1
            if r["answered_at"] and r["answered_at"] >= since and r["status"] in ("answered", "closed"):
                w["answered_this_month"] += 1
        return sorted(per.values(), key=lambda w: (-w["red"], -w["yellow"], -w["open"], w["assignee"]))
