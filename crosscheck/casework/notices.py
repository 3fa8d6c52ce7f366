"""Reminders to people (提醒): an account may have a channel (any Apprise URL: WeCom, DingTalk,
mail ...; `crosscheck users channel NAME URL`). Each event tells its person once:

- a clue assigned to a reviewer (分派), or handed over to a department (转办);
- an assigned clue turning yellow (临期) or red (逾期), per deadline (a new deadline may warn again);
- an answer sent back (退回) to its assignee; a department's answer (整改反馈) to who handed it over;
- every day, each supervisor's list of the red clues in their scope (挂牌督办).

Events are written to the ``notices`` outbox under a key naming the event (a second write of the
same event adds nothing), in the transaction of the action or by `Notices.scan` for colours and
the daily list; `Notices.deliver` sends what is pending through the alerts' Apprise sending
(`crosscheck.reports.alerts.send`, passed in), masked, and records sent or failed. An account
without a channel gets nothing (its notices are kept as ``no channel``). The workbench server
runs `Notices.run` every ``[workbench] notify_seconds``; `crosscheck users notify` runs it once.
"""
from __future__ import annotations

import sqlite3
from datetime import date
from typing import Callable

from crosscheck.casework.accounts import account_of
from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clues import Clues
from crosscheck.casework.db import Database
from crosscheck.casework.scope import Account, color_sql, visible
from crosscheck.privacy.masking import mask_ids_in_text

Send = Callable[..., tuple[bool, int, str]]
TITLE = "【线索核查工作台】"


def add(con: sqlite3.Connection, db: Database, event_key: str, username: str, title: str, body: str) -> None:
    """One notice to ``username`` for the event ``event_key`` (again: nothing)."""
    con.execute("INSERT OR IGNORE INTO notices (event_key, username, title, body, created_at) VALUES (?, ?, ?, ?, ?)",
                [event_key, username, TITLE + title, mask_ids_in_text(body), db.stamp()])


def clue_line(clue: dict) -> str:
    what = clue.get("title_zh") or clue["rule_id"]
    return f"{what}（{clue.get('district') or '—'}，线索编号 {clue['finding_key']}）"


class Notices:
    def __init__(self, db: Database, clues: Clues, audit: AuditLog, send: Send | None = None):
        self.db = db
        self.clues = clues
        self.audit = audit
        self._send = send

    def scan(self) -> int:
        """Write the colour events and today's red lists not written yet; how many were new."""
        today, warn = self.db.today(), self.db.settings.warn_days
        where, params = visible(None)
        before = self.db.one("SELECT count(*) AS n FROM notices")["n"]
        with self.db.write() as con:
            for colour, zh in (("yellow", "临期"), ("red", "逾期")):
                sql, dates = color_sql(colour, today, warn)
                for c in con.execute(f"""SELECT c.*, r.title_zh FROM clues c LEFT JOIN rules r ON r.rule_id = c.rule_id
                                         WHERE {where} AND {sql}""", params + dates).fetchall():
                    add(con, self.db, f"{colour}:{c['finding_key']}:{c['assignee']}:{c['deadline']}", c["assignee"],
                        f"线索{zh}：{c['deadline']} 到期",
                        f"你核查的线索{zh}（期限 {c['deadline']}）：{clue_line(dict(c))}。请在核查工作台填写处置。")
            for row in con.execute("SELECT * FROM users WHERE role = 'supervisor' AND disabled = 0").fetchall():
                self._red_list(con, row, today)
        return self.db.one("SELECT count(*) AS n FROM notices")["n"] - before

    def _red_list(self, con: sqlite3.Connection, user: sqlite3.Row, today: date) -> None:
        account: Account = account_of(dict(user))
        where, params = visible(account)
        sql, dates = color_sql("red", today, self.db.settings.warn_days)
        red = con.execute(f"""SELECT c.*, r.title_zh FROM clues c LEFT JOIN rules r ON r.rule_id = c.rule_id
                              WHERE {where} AND {sql} ORDER BY c.deadline, c.priority""", params + dates).fetchall()
        if not red:
            return
        lines = [f"{i}. {clue_line(dict(c))}，核查人 {c['assignee']}，期限 {c['deadline']}" for i, c in enumerate(red[:50], 1)]
        more = [f"……另有 {len(red) - 50} 条"] if len(red) > 50 else []
        add(con, self.db, f"redlist:{account.username}:{today.isoformat()}", account.username,
            f"挂牌督办：{len(red)} 条线索已逾期（{today.isoformat()}）",
            "\n".join([f"截至 {today.isoformat()}，你督办范围内 {len(red)} 条线索已逾期：", *lines, *more]))

    def deliver(self) -> dict[str, int]:
        """Send every pending notice to its person's channel; counts per outcome."""
        if self._send is None:
            from crosscheck.reports.alerts import send as alerts_send

            self._send = alerts_send
        counts = {"sent": 0, "failed": 0, "no channel": 0}
        pending = self.db.rows("""SELECT n.*, u.channel FROM notices n LEFT JOIN users u ON u.username = n.username
                                  WHERE n.sent_at IS NULL AND n.status IS NULL ORDER BY n.notice_id""")
        for n in pending:
            if not n["channel"]:
                status, error = "no channel", ""
            else:
                ok, _, error = self._send(n["channel"], n["title"], n["body"], tries=2, wait=1.0)
                status = "sent" if ok else "failed"
            with self.db.write() as con:
                con.execute("UPDATE notices SET status = ?, error = ?, sent_at = ? WHERE notice_id = ?",
                            [status, error or None, self.db.stamp(), n["notice_id"]])
                if status == "sent":
                    self.audit.append(con, "crosscheck", "notice", None, None,
                                      {"username": n["username"], "text": n["title"]}, "notify")
            counts[status] += 1
        return counts

    def run(self) -> dict[str, int]:
        """Scan, then deliver: what the server's reminder loop and `crosscheck users notify` do."""
        self.scan()
        return self.deliver()
