"""Reading clues for an account: the list (filters, priority order, colours) and one clue with
its evidence, source records, disposition, feedback and history, masked unless asked otherwise."""
from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache
from typing import Any

from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.db import BadInput, Database, NotFound, from_cents, loads
from crosscheck.casework.scope import (
    CLUE_FROM,
    COLORS,
    STATUSES,
    Account,
    color_of,
    color_sql,
    colour_of_days,
    days_left,
    visible,
)
from crosscheck.privacy.masking import mask_finding, mask_ids_in_text

MAX_LIMIT = 5000
IDENTITY = re.compile(r"[0-9]{17}[0-9Xx]|[0-9]{15}")
KEY_PREFIX = re.compile(r"[0-9a-f]{6,}")
#: A department reads the request handed to it and its own work: never the reviewers' notes.
DEPARTMENT_SEES = ("handover", "feedback", "comment", "attachment_upload")
LIST_COLUMNS = """c.finding_key, c.rule_id, c.domain, c.district, c.severity, c.amount_cents, c.status, c.assignee,
                  c.deadline, c.person_id, c.name, c.subject, c.first_seen, c.last_seen, c.seen_status,
                  c.disposition, c.resolved_run_id, r.title_zh, r.title_en, r.personal"""


def money(cents: int | None) -> float | None:
    value = from_cents(cents)
    return None if value is None else float(value)


def kinds_of(row: dict) -> dict:
    """The rule's personal kinds (what masking needs), parsed once per distinct text."""
    return _kinds(row.get("personal") or "")


@lru_cache(maxsize=256)
def _kinds(text: str) -> dict:
    kinds = loads(text)
    return kinds if isinstance(kinds, dict) else {}


class Clues:
    """Reading clues for an account, and the clues whose deadline is near or past."""

    def __init__(self, db: Database, audit: AuditLog):
        self.db = db
        self.audit = audit

    def list(self, account: Account | None, *, status: str | None = None, rule_id: str | None = None,
             district: str | None = None, color: str | None = None, assignee: str | None = None,
             q: str | None = None, overdue_first: bool = False, limit: int = 1000, offset: int = 0) -> dict:
        """``{"total", "clues"}``: the clues in the account's scope matching every filter given
        (``q``: see `search`), in priority order (overdue ones first, by deadline, when asked);
        total counts them all, clues holds ``limit`` of them from ``offset``."""
        where, params = visible(account)
        conditions, values = [where], list(params)
        if q:
            sql, p = search(q)
            conditions.append(sql)
            values += p
        if status:
            wanted = [s.strip() for s in status.split(",") if s.strip()]
            bad = [s for s in wanted if s not in STATUSES]
            if bad:
                raise BadInput(f"状态“{bad[0]}”无效", f"status '{bad[0]}': expected one of {', '.join(STATUSES)}")
            conditions.append(f"c.status IN ({', '.join('?' * len(wanted))})")
            values += wanted
        for column, value in (("rule_id", rule_id), ("district", district), ("assignee", assignee)):
            if value:
                conditions.append(f"c.{column} = ?")
                values.append(value)
        if color:
            if color not in COLORS:
                raise BadInput(f"预警颜色“{color}”无效", f"color '{color}': expected one of {', '.join(COLORS)}")
            sql, p = color_sql(color, self.db.today(), self.db.settings.warn_days)
            conditions.append(sql)
            values += p
        if not (0 < int(limit) <= MAX_LIMIT) or int(offset) < 0:
            raise BadInput(f"每页条数应为 1 至 {MAX_LIMIT}，起始位置不小于 0", f"limit must be 1..{MAX_LIMIT} and offset ≥ 0")
        where_sql = " AND ".join(conditions)
        order = "c.priority, c.finding_key"
        if overdue_first:
            order = "(c.status = 'assigned' AND c.deadline < ?) DESC, CASE WHEN c.status = 'assigned' THEN c.deadline END, " + order
        total = self.db.one(f"SELECT count(*) AS n {CLUE_FROM} WHERE {where_sql}", values)["n"]
        found = self.db.rows(f"SELECT {LIST_COLUMNS} {CLUE_FROM} WHERE {where_sql} ORDER BY {order} LIMIT ? OFFSET ?",
                             values + ([self.db.today().isoformat()] if overdue_first else []) + [int(limit), int(offset)])
        today = self.db.today()
        return {"total": int(total), "clues": [self.list_item(r, today=today) for r in found]}

    def list_item(self, row: dict, unmask: bool = False, today: date | None = None) -> dict:
        today, warn = today or self.db.today(), self.db.settings.warn_days
        left = days_left(row["deadline"], today) if row["status"] == "assigned" and row["deadline"] else None
        shown = row if unmask else mask_finding({k: row.get(k) for k in ("subject", "person_id", "name")},
                                                kinds_of(row))
        return {
            "finding_key": row["finding_key"], "rule_id": row["rule_id"], "district": row["district"],
            "severity": row["severity"], "amount_at_risk": money(row["amount_cents"]), "status": row["status"],
            "assignee": row["assignee"], "deadline": row["deadline"],
            "color": colour_of_days(left, warn),
            "person_id": shown["person_id"], "name": shown["name"],
            "days_left": left,
            "domain": row["domain"], "title_zh": row.get("title_zh"), "title_en": row.get("title_en"),
            "disposition": row["disposition"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
            "recurring": row["seen_status"] == "recurring", "resolved": bool(row["resolved_run_id"]),
        }

    def row(self, account: Account | None, key: str, con=None) -> dict:
        """The clue's row (with its rule's titles and kinds) if the account may see it; NotFound otherwise."""
        where, params = visible(account)
        query = f"SELECT c.*, r.title_zh, r.title_en, r.personal, r.rule_status {CLUE_FROM} WHERE c.finding_key = ? AND {where}"
        args = [str(key or "").strip().lower()] + params
        if con is not None:
            row = con.execute(query, args).fetchone()
            found = dict(row) if row else None
        else:
            found = self.db.one(query, args)
        if found is None:
            raise NotFound(f"你的范围内没有线索“{key}”", f"no clue '{key}' in your scope")
        return found

    def detail(self, account: Account | None, key: str, *, unmask: bool = False) -> dict:
        """The clue with its evidence, source records, disposition, feedback and its own history."""
        row = self.row(account, key)
        return self.detail_of(row, unmask=unmask, account=account)

    def detail_of(self, row: dict, *, unmask: bool = False, account: Account | None = None) -> dict:
        key = row["finding_key"]
        item = self.list_item(row, unmask=unmask)
        text = {k: row.get(k) for k in ("subject", "person_id", "name", "evidence", "evidence_json", "sources")}
        shown = text if unmask else mask_finding(text, kinds_of(row))
        review = self.db.one("SELECT * FROM reviews WHERE review_id = ?", [row["review_id"]]) if row["review_id"] else None
        outcomes = self.db.rows("SELECT * FROM outcomes WHERE review_id = ? ORDER BY outcome_id",
                                [row["review_id"]]) if row["review_id"] else []
        feedback = self.db.rows("SELECT * FROM feedback WHERE finding_key = ? ORDER BY feedback_id", [key])
        hide = (lambda t: t) if unmask else mask_ids_in_text
        item.update({
            "subject": shown["subject"], "evidence": shown["evidence"],
            "evidence_fields": loads(shown["evidence_json"]) if shown["evidence_json"] else None,
            "sources": [s for s in (shown["sources"] or "").split("; ") if s],
            "masked": not unmask, "review_change": row["review_change"], "suppressed": bool(row["suppressed"]),
            "last_run_id": row["last_run_id"], "resolved_run_id": row["resolved_run_id"],
            "resolved_on": row["resolved_on"], "rule_status": row.get("rule_status") or "stable",
            "assigned_at": self.db.local(row["assigned_at"]), "answered_at": self.db.local(row["answered_at"]),
            "closed_at": self.db.local(row["closed_at"]),
            "disposition": None if review is None else {
                "disposition": review["disposition"], "note": hide(review["note"]), "reviewer": review["reviewer"],
                "reviewed_on": review["reviewed_on"], "rectification": hide(review["rectification"]),
                "source": review["source"]},
            "amount_recovered": money(sum(o["recovered_cents"] or 0 for o in outcomes)) if outcomes else None,
            "outcomes": [{"recovered": money(o["recovered_cents"]), "recovered_on": o["recovered_on"],
                          "note": hide(o["note"]), "recorded_by": o["recorded_by"]} for o in outcomes],
            "feedback": [{"note": hide(f["note"]), "author": f["author"], "at": self.db.local(f["at"])} for f in feedback],
            "history": self.audit.history(key, unmask=unmask),
            "handover": self.handover_of(key),
        })
        if account is not None and account.role == "department":
            item.update(disposition=None, outcomes=[], amount_recovered=None, review_change=None,
                        history=[h for h in item["history"] if h["action"] in DEPARTMENT_SEES])
        return item

    def handover_of(self, key: str) -> dict | None:
        """The clue's latest hand-over (转办) and the department's answer to it."""
        h = self.db.one("SELECT * FROM handovers WHERE finding_key = ? ORDER BY handover_id DESC LIMIT 1", [key])
        if h is None:
            return None
        answer = None if not h["answered_at"] else {
            "note": mask_ids_in_text(h["answer_note"] or ""), "rectified": h["rectified"],
            "amount_returned": money(h["returned_cents"]), "by": h["answered_by"], "at": self.db.local(h["answered_at"])}
        return {"department": h["department"], "deadline": h["deadline"], "request": h["request"],
                "by": h["handed_by"], "at": self.db.local(h["at"]), "answer": answer}

    def due(self) -> list[dict]:
        """Assigned clues whose deadline is near (yellow) or past (red), masked: the reminders."""
        today, warn = self.db.today(), self.db.settings.warn_days
        where, params = visible(None)
        sql, dates = color_sql("yellow", today, warn)
        red, red_dates = color_sql("red", today, warn)
        rows = self.db.rows(f"""SELECT c.finding_key, c.rule_id, c.subject, c.person_id, c.name, c.district,
                                       c.severity, c.amount_cents, c.deadline, c.assignee, c.status, r.personal
                                {CLUE_FROM} WHERE {where} AND (({sql}) OR ({red}))
                                ORDER BY c.deadline, c.priority""", params + dates + red_dates)
        out = []
        for r in rows:
            shown = mask_finding({k: r[k] for k in ("subject", "person_id", "name")}, kinds_of(r))
            out.append({"finding_key": r["finding_key"], "rule_id": r["rule_id"], "district": r["district"],
                        "severity": r["severity"], "amount_at_risk": money(r["amount_cents"]),
                        "subject": " ".join(p for p in (shown["person_id"] or shown["subject"] or "",
                                                        shown["name"] or "") if p),
                        "deadline": r["deadline"], "days_left": days_left(r["deadline"], today),
                        "color": color_of(r["status"], r["deadline"], today, warn), "assignee": r["assignee"]})
        return out


def search(q: str) -> tuple[str, list]:
    """SQL condition for ``q``: a full identity number (matched against the real value), a clue
    number (a prefix of its key, 6+ characters), else a name, a township or a village (in the
    subject or the evidence). Too short to mean anything: refused."""
    q = q.strip()
    if IDENTITY.fullmatch(q):
        return "(c.person_id = ? OR c.subject = ?)", [q.upper(), q.upper()]
    if KEY_PREFIX.fullmatch(q.lower()):
        return "c.finding_key LIKE ?", [q.lower() + "%"]
    if len(q) < 2 or q.isdigit():
        raise BadInput("搜索词太短：线索编号至少 6 位，身份证号需完整，姓名或地名至少 2 个字",
                       "search too short: a clue number needs 6+ characters, an identity number all of it, "
                       "a name or a place 2+ characters")
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return ("(c.name = ? OR c.subject LIKE ? ESCAPE '\\' OR c.evidence LIKE ? ESCAPE '\\')", [q, like, like])


def as_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=lambda o: o.isoformat() if isinstance(o, date) else str(o))
