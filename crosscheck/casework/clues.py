"""Reading clues for an account: the list (filters, priority order, colours) and one clue with
its evidence, source records, disposition, feedback and history, masked unless asked otherwise."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from crosscheck.casework.db import BadInput, CaseworkBase, NotFound, from_cents, loads, parse_stamp
from crosscheck.casework.scope import COLORS, STATUSES, Account, color_of, color_sql, days_left, visible
from crosscheck.privacy.masking import mask_finding, mask_ids_in_text

MAX_LIMIT = 5000
CLUE_FROM = "FROM clues c LEFT JOIN rules r ON r.rule_id = c.rule_id"
LIST_COLUMNS = """c.finding_key, c.rule_id, c.domain, c.district, c.severity, c.amount_cents, c.status, c.assignee,
                  c.deadline, c.person_id, c.name, c.subject, c.first_seen, c.last_seen, c.seen_status,
                  c.disposition, c.resolved_run_id, r.title_zh, r.title_en, r.personal"""


def money(cents: int | None) -> float | None:
    value = from_cents(cents)
    return None if value is None else float(value)


def kinds_of(row: dict) -> dict:
    kinds = loads(row.get("personal"))
    return kinds if isinstance(kinds, dict) else {}


class ClueQueries:
    """`Casework.list_clues`, `clue_row`, `clue_detail`, `history`."""

    def list_clues(self: CaseworkBase, account: Account | None, *, status: str | None = None,
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
            sql, p = color_sql(color, self.settings.today(), self.settings.warn_days)
            conditions.append(sql)
            values += p
        if not (0 < int(limit) <= MAX_LIMIT) or int(offset) < 0:
            raise BadInput(f"limit must be 1..{MAX_LIMIT} and offset ≥ 0")
        where_sql = " AND ".join(conditions)
        total = self.one(f"SELECT count(*) AS n {CLUE_FROM} WHERE {where_sql}", values)["n"]
        found = self.rows(f"SELECT {LIST_COLUMNS} {CLUE_FROM} WHERE {where_sql} ORDER BY c.priority, c.finding_key "
                          "LIMIT ? OFFSET ?", values + [int(limit), int(offset)])
        return {"total": int(total), "clues": [self.list_item(r) for r in found]}

    def list_item(self: CaseworkBase, row: dict, unmask: bool = False) -> dict:
        today, warn = self.settings.today(), self.settings.warn_days
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

    def clue_row(self: CaseworkBase, account: Account | None, key: str, con=None) -> dict:
        """The clue's row (with its rule's titles and kinds) if the account may see it; NotFound otherwise."""
        where, params = visible(account)
        query = f"SELECT c.*, r.title_zh, r.title_en, r.personal, r.rule_status {CLUE_FROM} WHERE c.finding_key = ? AND {where}"
        args = [str(key or "").strip().lower()] + params
        if con is not None:
            row = con.execute(query, args).fetchone()
            found = dict(row) if row else None
        else:
            found = self.one(query, args)
        if found is None:
            raise NotFound(f"no clue '{key}' in your scope")
        return found

    def clue_detail(self: CaseworkBase, account: Account | None, key: str, *, unmask: bool = False) -> dict:
        """The clue with its evidence, source records, disposition, feedback and its own history."""
        row = self.clue_row(account, key)
        return self.detail_of(row, unmask=unmask, account=account)

    def detail_of(self: CaseworkBase, row: dict, *, unmask: bool = False, account: Account | None = None) -> dict:
        key = row["finding_key"]
        item = self.list_item(row, unmask=unmask)
        text = {k: row.get(k) for k in ("subject", "person_id", "name", "evidence", "evidence_json", "sources")}
        shown = text if unmask else mask_finding(text, kinds_of(row))
        review = self.one("SELECT * FROM reviews WHERE review_id = ?", [row["review_id"]]) if row["review_id"] else None
        outcomes = self.rows("SELECT * FROM outcomes WHERE finding_key = ? ORDER BY outcome_id", [key])
        feedback = self.rows("SELECT * FROM feedback WHERE finding_key = ? ORDER BY feedback_id", [key])
        hide = (lambda t: t) if unmask else mask_ids_in_text
        item.update({
            "subject": shown["subject"], "evidence": shown["evidence"],
            "evidence_fields": loads(shown["evidence_json"]) if shown["evidence_json"] else None,
            "sources": [s for s in (shown["sources"] or "").split("; ") if s],
            "masked": not unmask, "review_change": row["review_change"], "suppressed": bool(row["suppressed"]),
            "last_run_id": row["last_run_id"], "resolved_run_id": row["resolved_run_id"],
            "resolved_on": row["resolved_on"], "rule_status": row.get("rule_status") or "stable",
            "assigned_at": self.local(row["assigned_at"]), "answered_at": self.local(row["answered_at"]),
            "closed_at": self.local(row["closed_at"]),
            "disposition": None if review is None else {
                "disposition": review["disposition"], "note": hide(review["note"]), "reviewer": review["reviewer"],
                "reviewed_on": review["reviewed_on"], "rectification": hide(review["rectification"]),
                "source": review["source"]},
            "amount_recovered": money(sum(o["recovered_cents"] or 0 for o in outcomes)) if outcomes else None,
            "outcomes": [{"recovered": money(o["recovered_cents"]), "recovered_on": o["recovered_on"],
                          "note": hide(o["note"]), "recorded_by": o["recorded_by"]} for o in outcomes],
            "feedback": [{"note": hide(f["note"]), "author": f["author"], "at": self.local(f["at"])} for f in feedback],
            "history": self.history(key, unmask=unmask),
        })
        return item

    def history(self: CaseworkBase, key: str, unmask: bool = False) -> list[dict]:
        return [self.audit_entry(e, unmask) for e in
                self.rows("SELECT * FROM audit WHERE finding_key = ? ORDER BY audit_id", [key])]

    def audit_entry(self: CaseworkBase, e: dict, unmask: bool = False) -> dict:
        def value(text: str | None) -> Any:
            v = loads(text)
            return v if unmask else _mask_values(v)

        return {"id": e["audit_id"], "at": self.local(e["at"]), "user": e["user"], "action": e["action"],
                "finding_key": e["finding_key"], "before": value(e["before"]), "after": value(e["after"]),
                "via": e["via"]}

    def local(self: CaseworkBase, text: str | None) -> str | None:
        """A stored UTC time in the project's timezone, ISO with its offset."""
        at = parse_stamp(text)
        return None if at is None else at.astimezone(self.settings.zone).isoformat(timespec="seconds")


def _mask_values(v: Any) -> Any:
    if isinstance(v, str):
        return mask_ids_in_text(v)
    if isinstance(v, dict):
        return {k: _mask_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_mask_values(x) for x in v]
    return v


def as_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=lambda o: o.isoformat() if isinstance(o, date) else str(o))


class Reminders:
    """`Casework.due_clues`: assigned clues whose deadline is near (yellow) or past (red)."""

    def due_clues(self: CaseworkBase) -> list[dict]:
        today, warn = self.settings.today(), self.settings.warn_days
        where, params = visible(None)
        sql, dates = color_sql("yellow", today, warn)
        red, red_dates = color_sql("red", today, warn)
        rows = self.rows(f"""SELECT c.finding_key, c.rule_id, c.subject, c.person_id, c.name, c.district, c.severity,
                                    c.amount_cents, c.deadline, c.assignee, c.status, r.personal
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
