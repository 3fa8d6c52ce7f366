"""The life of a clue in the workbench: assign, answer, feedback, close, reopen (and the logged
unmasked view), each one short transaction with its audit entry (the values before and after).

    new --assign--> assigned --disposition--> answered --close--> closed
     ^                 ^  (reassign, new deadline)  |               |
     +-----------------+------------reopen----------+---------------+

Checks, in order: the clue exists in the account's scope (404), the role may do this (403),
the values given (400), the clue's status allows it (409).
"""
from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal

from crosscheck.casework.accounts import account_of
from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clues import Clues
from crosscheck.casework.db import BadInput, Conflict, Database, Forbidden, NotFound, day_text
from crosscheck.casework.reviews import Reviews, clue_state
from crosscheck.casework.scope import DISPOSITIONS, Account

MAX_NOTE = 4000

MAY = {
    "assign": ("supervisor",),
    "disposition": ("reviewer", "supervisor"),
    "feedback": ("department", "supervisor"),
    "close": ("supervisor",),
    "reopen": ("supervisor",),
}


def _text(value: object, what: str, *, required: bool = False) -> str:
    if value is not None and not isinstance(value, (str, int, float)):
        raise BadInput(f"{what}: expected text")
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise BadInput(f"{what} is required")
    if len(text) > MAX_NOTE:
        raise BadInput(f"{what}: at most {MAX_NOTE} characters")
    return text


def parse_deadline(value: object, today: date) -> date:
    try:
        day = date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise BadInput(f"deadline '{value}': expected a date as YYYY-MM-DD") from None
    if day < today:
        raise BadInput(f"deadline {day} is before today ({today})")
    return day


def parse_recovered(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadInput("amount_recovered: expected a number of yuan")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        raise BadInput(f"amount_recovered '{value}': expected a number of yuan") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e13"):
        raise BadInput(f"amount_recovered '{value}': expected a number of yuan ≥ 0")
    return amount.quantize(Decimal("0.01"))


class Workflow:
    """The actions on a clue. Reads clues through ``clues`` (scope), records answers through
    ``reviews``, appends to ``audit`` in the same transaction."""

    def __init__(self, db: Database, clues: Clues, reviews: Reviews, audit: AuditLog):
        self.db = db
        self.clues = clues
        self.reviews = reviews
        self.audit = audit

    def _allowed(self, account: Account, action: str) -> None:
        if account.role not in MAY[action]:
            raise Forbidden(f"a {account.role} may not {action} clues")

    def _visible(self, con: sqlite3.Connection, account: Account, key: str) -> dict:
        return self.clues.row(account, key, con)

    def _assignee(self, con: sqlite3.Connection, name: object, clue: dict) -> str:
        username = _text(name, "assignee", required=True)
        row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
        if row is None or row["disabled"] or row["role"] != "reviewer":
            raise BadInput(f"assignee '{username}' is not an active reviewer account")
        who = account_of(dict(row))
        if not who.covers(clue["district"], clue["domain"]):
            raise BadInput(f"assignee '{username}' has no scope over {clue['district']} / {clue['domain']}")
        return username

    def assign(self, account: Account, key: str, assignee: object, deadline: object) -> dict:
        return self.bulk_assign(account, [key], assignee, deadline)[0]

    def bulk_assign(self, account: Account, keys: list[str], assignee: object,
                    deadline: object) -> list[dict]:
        """Assign every clue of ``keys`` to one reviewer with one deadline, all or none."""
        if not isinstance(keys, list) or not keys or len(keys) > 5000:
            raise BadInput("keys: expected a list of 1 to 5000 finding keys")
        with self.db.write() as con:
            clues = [self._visible(con, account, str(k)) for k in keys]
            self._allowed(account, "assign")
            day = parse_deadline(deadline, self.db.today())
            for clue in clues:
                name = self._assignee(con, assignee, clue)
                if clue["status"] not in ("new", "assigned"):
                    raise Conflict(f"clue {clue['finding_key']} is {clue['status']}: reopen it to assign it again")
                before = clue_state(con, clue)
                action = "assign" if clue["assignee"] != name else "deadline"
                con.execute("""UPDATE clues SET status = 'assigned', assignee = ?, deadline = ?, assigned_at = ?
                               WHERE finding_key = ?""", [name, day.isoformat(), self.db.stamp(), clue["finding_key"]])
                self.audit.append(con, account.username, action, clue["finding_key"], before,
                      dict(before, status="assigned", assignee=name, deadline=day.isoformat()))
        return [self.clues.detail(account, c["finding_key"]) for c in clues]

    def answer(self, account: Account, key: str, disposition: object, note: object,
               amount_recovered: object = None, rectification: object = None) -> dict:
        """A disposition of the assignee (or a supervisor): confirmed with the amount recovered
        and the rectification, false positive or explained with why. The clue becomes answered."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            self._allowed(account, "disposition")
            if disposition not in DISPOSITIONS:
                raise BadInput(f"disposition '{disposition}': expected one of {', '.join(DISPOSITIONS)}")
            text = _text(note, "note", required=disposition != "confirmed")
            recovered = parse_recovered(amount_recovered)
            fix = _text(rectification, "rectification")
            if disposition != "confirmed" and (recovered is not None or fix):
                raise BadInput("amount_recovered and rectification go with a confirmed disposition only")
            if clue["status"] == "closed":
                raise Conflict(f"clue {key} is closed (已销号): a supervisor reopens it first")
            today = self.db.today()
            self.reviews.record_review(con, clue["finding_key"], disposition, text, account.username, today, "workbench",
                               actor=account.username, via="web", rectification=fix or None)
            if recovered is not None and recovered > 0:
                self.reviews.record_outcome(con, clue["finding_key"], recovered, today, fix, account.username,
                                    actor=account.username, via="web")
        return self.clues.detail(account, key)

    def add_feedback(self, account: Account, key: str, note: object) -> dict:
        """The department's feedback (整改反馈), any time before closure; the status stays."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            self._allowed(account, "feedback")
            text = _text(note, "note", required=True)
            if clue["status"] == "closed":
                raise Conflict(f"clue {key} is closed (已销号): feedback comes before closure")
            con.execute("INSERT INTO feedback (finding_key, note, author, at) VALUES (?, ?, ?, ?)",
                        [clue["finding_key"], text, account.username, self.db.stamp()])
            count = con.execute("SELECT count(*) FROM feedback WHERE finding_key = ?", [clue["finding_key"]]).fetchone()[0]
            self.audit.append(con, account.username, "feedback", clue["finding_key"], {"feedback": count - 1},
                  {"feedback": count, "note": text})
        return self.clues.detail(account, key)

    def close_clue(self, account: Account, key: str, note: object = "") -> dict:
        """A supervisor approves the answer (销号): answered -> closed."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            self._allowed(account, "close")
            text = _text(note, "note")
            if clue["status"] != "answered":
                raise Conflict(f"clue {key} is {clue['status']}: only an answered clue can be closed")
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
            self._allowed(account, "reopen")
            text = _text(note, "note", required=True)
            if clue["status"] not in ("answered", "closed"):
                raise Conflict(f"clue {key} is {clue['status']}: only an answered or closed clue can be reopened")
            before = clue_state(con, clue)
            status = "assigned" if clue["assignee"] else "new"
            con.execute("""UPDATE clues SET status = ?, review_id = NULL, disposition = NULL, answered_at = NULL,
                                   closed_at = NULL WHERE finding_key = ?""", [status, clue["finding_key"]])
            after = {k: v for k, v in before.items() if k != "note"}
            self.audit.append(con, account.username, "reopen", clue["finding_key"], before,
                  dict(after, status=status, disposition=None, reopen_note=text))
        return self.clues.detail(account, key)

    def log_unmask(self, account: Account, key: str) -> dict:
        """One deliberate unmasked view of a clue: allowed with the unmask permission, always logged."""
        with self.db.write() as con:
            clue = self._visible(con, account, key)
            if not account.unmask:
                raise Forbidden("this account may not see identity numbers and names in full")
            self.audit.append(con, account.username, "unmask", clue["finding_key"], {"masked": True},
                  {"masked": False, "fields": ["person_id", "name", "subject", "evidence", "sources"]})
        return self.clues.detail(account, key, unmask=True)


__all__ = ["MAY", "NotFound", "Workflow", "day_text", "parse_deadline", "parse_recovered"]
