"""Reading clues for an account: the list (filters, priority order, colours) and one clue with
its evidence, source records, disposition, feedback and history, masked unless asked otherwise."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.db import BadInput, Database, NotFound, from_cents, loads
from crosscheck.casework.scope import CLUE_FROM, COLORS, STATUSES, Account, color_of, color_sql, days_left, visible
from crosscheck.privacy.masking import mask_finding, mask_ids_in_text

MAX_LIMIT = 5000
LIST_COLUMNS = """c.finding_key, c.rule_id, c.domain, c.district, c.severity, c.amount_cents, c.status, c.assignee,
                  c.deadline, c.person_id, c.name, c.subject, c.first_seen, c.last_seen, c.seen_status,
                  c.disposition, c.resolved_run_id, r.title_zh, r.title_en, r.personal"""


def money(cents: int | None) -> float | None:
    value = from_cents(cents)
    return None if value is None else float(value)


def kinds_of(row: dict) -> dict:
    kinds = loads(row.get("personal"))
    return kinds if isinstance(kinds, dict) else {}


class Clues:
    """Reading clues for an account, and the clues whose deadline is near or past."""

    def __init__(self, db: Database, audit: AuditLog):
        self.db = db
        self.audit = audit

    def list(self, account: Account | None, *, status: str | None = None,
                   rule_id: str | None = None, district: str | None = None, color: str | None = None,
                   assignee: str | None = None, limit: int = 1000, offset: int = 0) -> dict:
        """``{"total", "clues"}``: the clues in the account's scope matching every filter given,
        in priority order; total counts them all, clues holds ``limit`` of them from ``offset``."""
        where, params = visible(account)
        conditions, values = [where], list(params)
        if status:
            wanted = [s.strip() for s in status.split(",") if s.strip()]
            bad = [s for s in wanted if s not in STATUSES]
            if bad:
                raise BadInput(f"status '{bad[0]}': expected one of {', '.join(STATUSES)}")
            conditions.append(f"c.status IN ({', '.join('?' * len(wanted))})")
            values += wanted
        for column, value in (("rule_id", rule_id), ("district", district), ("assignee", assignee)):
            if value:
                conditions.append(f"c.{column} = ?")
                values.append(value)
        if color:
            if color not in COLORS:
                raise BadInput(f"color '{color}': expected one of {', '.join(COLORS)}")
            sql, p = color_sql(color, self.db.today(), self.db.settings.warn_days)
            conditions.append(sql)
            values += p
        if not (0 < int(limit) <= MAX_LIMIT) or int(offset) < 0:
            raise BadInput(f"limit must be 1..{MAX_LIMIT} and offset ≥ 0")
        where_sql = " AND ".join(conditions)
        total = self.db.one(f"SELECT count(*) AS n {CLUE_FROM} WHERE {where_sql}", values)["n"]
        found = self.db.rows(f"SELECT {LIST_COLUMNS} {CLUE_FROM} WHERE {where_sql} ORDER BY c.priority, c.finding_key "
                          "LIMIT ? OFFSET ?", values + [int(limit), int(offset)])
        return {"total": int(total), "clues": [self.list_item(r) for r in found]}

    def list_item(self, row: dict, unmask: bool = False) -> dict:
        today, warn = self.db.today(), self.db.settings.warn_days
        shown = row if unmask else mask_finding({k: row.get(k) for k in ("subject", "person_id", "name")},
                                                kinds_of(row))
        return {
            "finding_key": row["finding_key"], "rule_id": row["rule_id"], "district": row["district"],
            "severity": row["severity"], "amount_at_risk": money(row["amount_cents"]), "status": row["status"],
            "assignee": row["assignee"], "deadline": row["deadline"],
            "color": color_of(row["status"], row["deadline"], today, warn),
            "person_id": shown["person_id"], "name": shown["name"],
            "days_left": days_left(row["deadline"], today) if row["status"] == "assigned" and row["deadline"] else None,
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
            raise NotFound(f"no clue '{key}' in your scope")
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
        outcomes = self.db.rows("SELECT * FROM outcomes WHERE finding_key = ? ORDER BY outcome_id", [key])
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
        })
        return item

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


def as_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=lambda o: o.isoformat() if isinstance(o, date) else str(o))
