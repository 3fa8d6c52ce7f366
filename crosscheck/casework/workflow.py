"""The life of a clue in the workbench: assign, answer, hand over to a department and its
answer (整改反馈), close, reopen, comments (and the logged unmasked view), each one short
transaction with its audit entry (the values before and after).

    new --assign--> assigned --disposition--> answered --close--> closed
     ^                 ^  (reassign, new deadline)  |               |
     +-----------------+------------reopen----------+---------------+

A clue has one current answer: a second disposition replaces the first (an edit, audited with
the answer before and after); reopening withdraws it; the history keeps every one.

Checks, in order: the clue exists in the account's scope (404), the role may do this (403),
the values given (400), the clue's status allows it (409).
"""
from __future__ import annotations

import sqlite3

from crosscheck.casework import inputs
from crosscheck.casework.accounts import account_of
from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clues import Clues, money
from crosscheck.casework.db import BadInput, Conflict, Database, Forbidden, from_cents, to_cents
from crosscheck.casework.notices import add as notify
from crosscheck.casework.notices import clue_line
from crosscheck.casework.reviews import Reviews, clue_state
from crosscheck.casework.scope import DISPOSITIONS, ROLE_ZH, STATUS_ZH, Account

MAY = {
    "assign": ("supervisor",),
    "disposition": ("reviewer", "supervisor"),
    "feedback": ("department", "supervisor"),
    "handover": ("supervisor",),
    "close": ("supervisor",),
    "reopen": ("supervisor",),
    "comment": ("supervisor", "reviewer", "department", "admin"),
    "attach": ("supervisor", "reviewer", "department"),
}
ACTION_ZH = {"assign": "分派", "disposition": "处置", "feedback": "反馈", "handover": "转办", "close": "销号",
             "reopen": "退回", "comment": "评论", "attach": "上传附件"}


def allowed(account: Account, action: str) -> None:
    if account.role not in MAY[action]:
        raise Forbidden(f"{ROLE_ZH.get(account.role, account.role)}不能{ACTION_ZH[action]}",
                        f"a {account.role} may not {action} clues")


def _state_zh(status: str) -> str:
    return STATUS_ZH.get(status, status)


class Workflow:
    """The actions on a clue. Reads clues through ``clues`` (scope), records answers through
    ``reviews``, appends to ``audit`` in the same transaction."""

    def __init__(self, db: Database, clues: Clues, reviews: Reviews, audit: AuditLog):
        self.db = db
        self.clues = clues
        self.reviews = reviews
        self.audit = audit

    def _visible(self, con: sqlite3.Connection, account: Account, key: str) -> dict:
        return self.clues.row(account, key, con)

    def _account(self, con: sqlite3.Connection, name: object, role: str, clue: dict, zh: str, en: str) -> str:
        username = inputs.text(name, zh, en, required=True, limit=64)
        row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
        if row is None or row["disabled"] or row["role"] != role:
            raise BadInput(f"{zh}“{username}”不是有效的{ROLE_ZH[role]}账户", f"{en} '{username}' is not an active {role} account")
        if not account_of(dict(row)).covers(clue["district"], clue["domain"]):
            raise BadInput(f"{zh}“{username}”无权处理{clue['district'] or '—'} / {clue['domain'] or '—'}的线索",
                           f"{en} '{username}' has no scope over {clue['district']} / {clue['domain']}")
        return username

    def assign(self, account: Account, key: str, assignee: object, deadline: object) -> dict:
        return self.bulk_assign(account, [key], assignee, deadline)[0]

    def bulk_assign(self, account: Account, keys: list[str], assignee: object, deadline: object) -> list[dict]:
        """Assign every clue of ``keys`` to one reviewer with one deadline, all or none."""
        if not isinstance(keys, list) or not keys or len(keys) > 5000:
            raise BadInput("请选择 1 至 5000 条线索", "keys: expected a list of 1 to 5000 finding keys")
        with self.db.write() as con:
            clues = [self._visible(con, account, str(k)) for k in keys]
            allowed(account, "assign")
            day = inputs.deadline(deadline, self.db.today(), self.db.settings.max_deadline_days)
            for clue in clues:
                name = self._account(con, assignee, "reviewer", clue, "核查人", "assignee")
                if clue["status"] not in ("new", "assigned"):
                    raise Conflict(f"不能分派：线索 {clue['finding_key']} 为{_state_zh(clue['status'])}，请先退回",
                                   f"clue {clue['finding_key']} is {clue['status']}: reopen it to assign it again")
                before = clue_state(con, clue)
                action = "assign" if clue["assignee"] != name else "deadline"
                con.execute("""UPDATE clues SET status = 'assigned', assignee = ?, deadline = ?, assigned_at = ?
                               WHERE finding_key = ?""", [name, day.isoformat(), self.db.stamp(), clue["finding_key"]])
                self.audit.append(con, account.username, action, clue["finding_key"], before,
                                  dict(before, status="assigned", assignee=name, deadline=day.isoformat()))
                if action == "assign":
                    notify(con, self.db, f"assign:{clue['finding_key']}:{name}:{day.isoformat()}", name,
                           f"新分派线索：{day.isoformat()} 前核查",
                           f"{account.username} 分派给你一条线索，核查期限 {day.isoformat()}：{clue_line(clue)}。")
        return [self.clues.detail(account, c["finding_key"]) for c in clues]

    def answer(self, account: Account, key: str, disposition: object, note: object, amount_recovered: object = None,
               rectification: object = None, *, above_amount_at_risk: bool = False, voucher: int | None = None) -> dict:
        """A disposition of the assignee (or a supervisor): confirmed with the amount recovered
        and the rectification, false positive or explained with why. The clue becomes answered;
        a second disposition replaces the first as the current answer."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "disposition")
            if disposition not in DISPOSITIONS:
                raise BadInput(f"处置结果“{disposition}”无效：应为属实、误报或已解释",
                               f"disposition '{disposition}': expected one of {', '.join(DISPOSITIONS)}")
            note_text = inputs.text(note, "核查说明", "note", required=disposition != "confirmed")
            recovered = inputs.amount(amount_recovered, "追回金额", "amount_recovered")
            fix = inputs.text(rectification, "整改情况", "rectification")
            if disposition != "confirmed" and (recovered is not None or fix):
                raise BadInput("追回金额和整改情况只随“属实”填写",
                               "amount_recovered and rectification go with a confirmed disposition only")
            at_risk = from_cents(clue["amount_cents"])
            if recovered is not None and at_risk is not None and recovered > at_risk and not above_amount_at_risk:
                raise BadInput(f"追回金额 {recovered:,.2f} 元超过涉及金额 {at_risk:,.2f} 元：确认无误请勾选“超过涉及金额”",
                               f"amount_recovered {recovered:,.2f} is above the amount at risk {at_risk:,.2f}: "
                               "send above_amount_at_risk: true if it is right")
            if voucher is not None and not con.execute("SELECT 1 FROM attachments WHERE attachment_id = ? AND finding_key = ?",
                                                       [voucher, clue["finding_key"]]).fetchone():
                raise BadInput(f"凭证附件 #{voucher} 不属于该线索", f"voucher #{voucher} is not an attachment of this clue")
            if clue["status"] == "closed":
                raise Conflict(f"线索 {key} 已销号：请督办人先退回", f"clue {key} is closed (已销号): a supervisor reopens it first")
            today = self.db.today()
            self.reviews.record_review(con, clue["finding_key"], disposition, note_text, account.username, today,
                                       "workbench", actor=account.username, via="web", rectification=fix or None,
                                       recovered=recovered)
            if recovered is not None and recovered > 0:
                self.reviews.record_outcome(con, clue["finding_key"], recovered, today,
                                            fix + (f"（凭证附件 #{voucher}）" if voucher else ""), account.username,
                                            actor=account.username, via="web")
        return self.clues.detail(account, key)

    def handover(self, account: Account, key: str, department: object, deadline: object, request: object) -> dict:
        """转办: a supervisor hands a clue to a department with its own deadline and request; the
        department then sees it (and only what the request says of the reviewers' work)."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "handover")
            name = self._account(con, department, "department", clue, "责任部门", "department")
            day = inputs.deadline(deadline, self.db.today(), self.db.settings.max_deadline_days)
            ask = inputs.text(request, "转办要求", "request", required=True)
            if clue["status"] == "closed":
                raise Conflict(f"线索 {key} 已销号，不能转办", f"clue {key} is closed: it cannot be handed over")
            cur = con.execute("""INSERT INTO handovers (finding_key, department, deadline, request, handed_by, at)
                                 VALUES (?, ?, ?, ?, ?, ?)""",
                              [clue["finding_key"], name, day.isoformat(), ask, account.username, self.db.stamp()])
            notify(con, self.db, f"handover:{cur.lastrowid}", name, f"转办线索：{day.isoformat()} 前办理",
                   f"{account.username} 转办一条线索，请于 {day.isoformat()} 前办理并反馈整改情况：{clue_line(clue)}。")
            self.audit.append(con, account.username, "handover", clue["finding_key"], None,
                              {"department": name, "deadline": day.isoformat(), "request": ask})
        return self.clues.detail(account, key)

    def add_feedback(self, account: Account, key: str, note: object, rectified: object = None,
                     amount_returned: object = None) -> dict:
        """The department's answer (整改反馈: what was rectified, the money returned), or a
        supervisor's note of it, any time before closure; the status stays."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "feedback")
            text = inputs.text(note, "反馈内容", "note", required=True)
            fixed = inputs.text(rectified, "整改情况", "rectified")
            returned = inputs.amount(amount_returned, "退回金额", "amount_returned")
            if clue["status"] == "closed":
                raise Conflict(f"线索 {key} 已销号：反馈应在销号前提交", f"clue {key} is closed (已销号): feedback comes before closure")
            con.execute("INSERT INTO feedback (finding_key, note, author, at) VALUES (?, ?, ?, ?)",
                        [clue["finding_key"], text, account.username, self.db.stamp()])
            count = con.execute("SELECT count(*) FROM feedback WHERE finding_key = ?", [clue["finding_key"]]).fetchone()[0]
            after = {"feedback": count, "note": text}
            if account.role == "department":
                handed = con.execute("""SELECT handover_id, handed_by FROM handovers WHERE finding_key = ? AND
                                        department = ? ORDER BY handover_id DESC LIMIT 1""",
                                     [clue["finding_key"], account.username]).fetchone()
                con.execute("""UPDATE handovers SET answer_note = ?, rectified = ?, returned_cents = ?, answered_by = ?,
                                   answered_at = ? WHERE handover_id = ?""",
                            [text, fixed or None, to_cents(returned), account.username, self.db.stamp(),
                             handed["handover_id"]])
                notify(con, self.db, f"answer:{handed['handover_id']}:{count}", handed["handed_by"],
                       f"整改反馈：{account.username}", f"{account.username} 反馈了转办线索的整改情况：{clue_line(clue)}。")
                after.update(rectified=fixed or None, amount_returned=money(to_cents(returned)))
            self.audit.append(con, account.username, "feedback", clue["finding_key"], {"feedback": count - 1}, after)
        return self.clues.detail(account, key)

    def close_clue(self, account: Account, key: str, note: object = "") -> dict:
        """A supervisor approves the answer (销号): answered -> closed."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "close")
            text = inputs.text(note, "意见", "note")
            if clue["status"] != "answered":
                raise Conflict(f"不能销号：线索为{_state_zh(clue['status'])}，只有待销号的线索可以销号",
                               f"clue {key} is {clue['status']}: only an answered clue can be closed")
            before = clue_state(con, clue)
            con.execute("UPDATE clues SET status = 'closed', closed_at = ? WHERE finding_key = ?",
                        [self.db.stamp(), clue["finding_key"]])
            self.audit.append(con, account.username, "close", clue["finding_key"], before,
                              dict(before, status="closed", **({"close_note": text} if text else {})))
        return self.clues.detail(account, key)

    def reopen_clue(self, account: Account, key: str, note: object) -> dict:
        """A supervisor sends an answer back, or reopens a closed clue: the disposition stays in
        the history but is no longer current; the clue goes back to its assignee (or to new)."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "reopen")
            if clue["status"] not in ("answered", "closed"):
                raise Conflict(f"不能退回：线索为{_state_zh(clue['status'])}，只有待销号或已销号的线索可以退回",
                               f"clue {key} is {clue['status']}: only an answered or closed clue can be reopened")
            text = inputs.text(note, "退回原因", "note", required=True)
            before = clue_state(con, clue)
            status = "assigned" if clue["assignee"] else "new"
            con.execute("""UPDATE clues SET status = ?, review_id = NULL, disposition = NULL, answered_at = NULL,
                                   closed_at = NULL WHERE finding_key = ?""", [status, clue["finding_key"]])
            after = {k: v for k, v in before.items() if k not in ("note", "amount_recovered")}
            entry = self.audit.append(con, account.username, "reopen", clue["finding_key"], before,
                                      dict(after, status=status, disposition=None, reopen_note=text))
            if clue["assignee"]:
                notify(con, self.db, f"reopen:{entry}", clue["assignee"], "线索被退回重查",
                       f"{account.username} 退回了你处置的线索（原因：{text}）：{clue_line(clue)}。")
        return self.clues.detail(account, key)

    def comment(self, account: Account, key: str, text: object) -> dict:
        """One entry of the clue's comment thread (supervisor, reviewer, department)."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            allowed(account, "comment")
            body = inputs.text(text, "评论", "text", required=True)
            at = self.db.stamp()
            cur = con.execute("INSERT INTO comments (finding_key, user, text, at) VALUES (?, ?, ?, ?)",
                              [clue["finding_key"], account.username, body, at])
            self.audit.append(con, account.username, "comment", clue["finding_key"], None, {"text": body})
        return {"id": int(cur.lastrowid), "at": self.db.local(at), "user": account.username, "text": body}

    def comments(self, account: Account, key: str) -> list[dict]:
        clue = self.clues.row(account, key)
        return [{"id": r["comment_id"], "at": self.db.local(r["at"]), "user": r["user"], "text": r["text"]}
                for r in self.db.rows("SELECT * FROM comments WHERE finding_key = ? ORDER BY comment_id",
                                      [clue["finding_key"]])]

    def log_unmask(self, account: Account, key: str) -> dict:
        """One deliberate unmasked view of a clue: allowed with the unmask permission, always logged."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            if not account.unmask:
                raise Forbidden("该账户无权查看身份证号和姓名明文", "this account may not see identity numbers and names in full")
            self.audit.append(con, account.username, "unmask", clue["finding_key"], {"masked": True},
                              {"masked": False, "fields": ["person_id", "name", "subject", "evidence", "sources"]})
        return self.clues.detail(account, key, unmask=True)
