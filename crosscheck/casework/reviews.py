"""Dispositions and outcomes in the casework database: the one record of them, written by the
workbench and by `crosscheck review mark|import|outcome` alike, read by runs (suppression, the
reports' disposition columns), alerts and precision.

A clue's current disposition is the review its row points to (``clues.review_id``): the
newest one recorded, until a supervisor reopens the clue (the review stays in the history,
it is no longer current). Recording a disposition makes the clue ``answered``; a closed clue
takes none until it is reopened.
"""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa

from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.db import CaseworkError, Conflict, Database, day_text, from_cents, parse_day, stamp, to_cents

#: The current disposition of every clue that has one (what a run's suppression reads).
SNAPSHOT_SCHEMA = pa.schema([
    ("finding_key", pa.string()), ("review_id", pa.int64()), ("disposition", pa.string()),
    ("reviewed_on", pa.date32()), ("amount_at_risk", pa.decimal128(18, 2)), ("evidence_json", pa.string()),
    ("note", pa.string()), ("reviewer", pa.string()),
])

PRECISION = """
    WITH rec AS (SELECT review_id, sum(recovered_cents) AS cents FROM outcomes GROUP BY review_id)
    SELECT c.rule_id,
           sum(v.disposition = 'confirmed') AS confirmed, sum(v.disposition = 'false_positive') AS false_positive,
           sum(v.disposition = 'explained') AS explained, count(*) AS reviewed,
           coalesce(sum(CASE WHEN v.disposition = 'confirmed' THEN rec.cents END), 0) AS recovered
    FROM clues c JOIN reviews v ON v.review_id = c.review_id LEFT JOIN rec ON rec.review_id = c.review_id
    GROUP BY c.rule_id ORDER BY c.rule_id
"""


def review_dict(row: dict) -> dict:
    """A review as the findings store used to give it (dates, Decimal amounts, naive UTC times)."""
    out = dict(row)
    out["reviewed_on"] = parse_day(row["reviewed_on"])
    recorded = datetime.fromisoformat(row["recorded_at"]) if row.get("recorded_at") else None
    if recorded is not None and recorded.tzinfo is not None:
        recorded = recorded.astimezone(timezone.utc).replace(tzinfo=None)
    out["recorded_at"] = recorded
    out["amount_at_risk"] = from_cents(out.pop("amount_cents", None))
    return out


def outcome_dict(row: dict) -> dict:
    out = dict(row)
    out["recovered"] = from_cents(out.pop("recovered_cents", None))
    out["recovered_on"] = parse_day(row["recovered_on"])
    return out


class Reviews:
    """Dispositions and outcomes: the one record of them, read by runs, alerts and precision."""

    def __init__(self, db: Database, audit: AuditLog):
        self.db = db
        self.audit = audit

    def clue_facts(self, key: str, con: sqlite3.Connection | None = None) -> dict | None:
        """The clue's row (any clue, draft rules' too), or None when no complete run had the key."""
        query = "SELECT * FROM clues WHERE finding_key = ?"
        if con is not None:
            row = con.execute(query, [key]).fetchone()
            return dict(row) if row else None
        return self.db.one(query, [key])

    def current_review(self, key: str) -> dict | None:
        row = self.db.one("SELECT v.* FROM clues c JOIN reviews v ON v.review_id = c.review_id WHERE c.finding_key = ?", [key])
        return review_dict(row) if row else None

    def reviews_of(self, key: str) -> list[dict]:
        return [review_dict(r) for r in self.db.rows("SELECT * FROM reviews WHERE finding_key = ? ORDER BY review_id", [key])]

    def outcomes_of(self, key: str) -> list[dict]:
        return [outcome_dict(r) for r in self.db.rows("SELECT * FROM outcomes WHERE finding_key = ? ORDER BY outcome_id", [key])]

    def review_snapshot(self) -> pa.Table:
        """Every current disposition, as one read (WAL: writers carry on meanwhile)."""
        found = self.db.rows("""SELECT v.finding_key, v.review_id, v.disposition, v.reviewed_on, v.amount_cents,
                                    v.evidence_json, v.note, v.reviewer
                             FROM clues c JOIN reviews v ON v.review_id = c.review_id""")
        return pa.table({
            "finding_key": [r["finding_key"] for r in found],
            "review_id": [r["review_id"] for r in found],
            "disposition": [r["disposition"] for r in found],
            "reviewed_on": [parse_day(r["reviewed_on"]) for r in found],
            "amount_at_risk": [from_cents(r["amount_cents"]) for r in found],
            "evidence_json": [r["evidence_json"] for r in found],
            "note": [r["note"] for r in found],
            "reviewer": [r["reviewer"] for r in found],
        }, schema=SNAPSHOT_SCHEMA)

    def ever_reviewed(self) -> pa.Table:
        """Keys that ever had a disposition (the 'never reviewed' reminder leaves them out)."""
        keys = [r["finding_key"] for r in self.db.rows("SELECT DISTINCT finding_key FROM reviews")]
        return pa.table({"finding_key": pa.array(keys, pa.string())})

    def precision(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in self.db.rows(PRECISION):
            reviewed = int(r["reviewed"])
            out[r["rule_id"]] = {
                "confirmed": int(r["confirmed"]), "false_positive": int(r["false_positive"]),
                "explained": int(r["explained"]), "reviewed": reviewed,
                "precision": (int(r["confirmed"]) / reviewed) if reviewed else None,
                "recovered": from_cents(r["recovered"]) or Decimal("0.00"),
            }
        return out

    # -- writing (inside the caller's transaction: ``con`` from Casework.write) ---------
    def record_review(self, con: sqlite3.Connection, key: str, disposition: str, note: str,
                      reviewer: str, on: date, source: str, *, actor: str, via: str,
                      rectification: str | None = None, recovered: Decimal | None = None) -> int:
        """Append a disposition, make it the clue's current one (status answered), log it."""
        clue = self.clue_facts(key, con)
        if clue is None:
            raise CaseworkError(f"unknown finding key '{key}' (no recorded run has it)")
        if clue["status"] == "closed":
            raise Conflict(f"clue {key} is closed (已销号); a supervisor reopens it before a new disposition")
        before = clue_state(con, clue)
        cur = con.execute(
            """INSERT INTO reviews (finding_key, rule_id, disposition, note, reviewer, reviewed_on, recorded_at, source,
                                    run_id, amount_cents, evidence_json, rectification)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [key, clue["rule_id"], disposition, note or "", reviewer, day_text(on), self.db.stamp(), source,
             clue["last_run_id"], clue["amount_cents"], clue["evidence_json"], rectification or None])
        review_id = int(cur.lastrowid)
        con.execute("""UPDATE clues SET review_id = ?, disposition = ?, status = 'answered', answered_at = ?
                       WHERE finding_key = ?""", [review_id, disposition, self.db.stamp(), key])
        after = dict(before, status="answered", disposition=disposition, note=note or "", reviewer=reviewer,
                     reviewed_on=day_text(on), **({"rectification": rectification} if rectification else {}))
        after.pop("amount_recovered", None)  # the new answer's own amount, or none
        if recovered is not None:
            after["amount_recovered"] = float(recovered)
        self.audit.append(con, actor, "disposition", key, before, after, via)
        return review_id

    def record_outcome(self, con: sqlite3.Connection, key: str, recovered: Decimal, on: date,
                       note: str, recorded_by: str, *, actor: str, via: str) -> int:
        """Append money recovered on a clue to its current answer (confirmed); log it."""
        clue = self.clue_facts(key, con)
        if clue is None:
            raise CaseworkError(f"unknown finding key '{key}' (no recorded run has it)")
        cur = con.execute(
            """INSERT INTO outcomes (finding_key, rule_id, recovered_cents, recovered_on, note, recorded_by, recorded_at,
                                     review_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [key, clue["rule_id"], to_cents(recovered), day_text(on), note or "", recorded_by, self.db.stamp(),
             clue["review_id"]])
        total = con.execute("SELECT sum(recovered_cents) FROM outcomes WHERE review_id = ?", [clue["review_id"]]).fetchone()[0]
        self.audit.append(con, actor, "outcome", key, {"amount_recovered": float(from_cents(total - to_cents(recovered)))},
                          {"amount_recovered": float(from_cents(total)), "recovered": float(recovered),
                           "recovered_on": day_text(on), "note": note or ""}, via)
        return int(cur.lastrowid)

    # -- moving a findings store's reviews here (store schema 2 -> 3) -------------------
    def move_from_store(self, duck: Any) -> tuple[int, int]:
        """Copy the findings store's reviews and outcomes (ids kept; repeating it adds nothing)
        and make each key's newest review its clue's current disposition (status answered)."""
        def fetch(query: str) -> list[dict]:
            cur = duck.execute(query)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

        reviews = fetch("SELECT * FROM reviews ORDER BY review_id")
        outcomes = fetch("SELECT * FROM outcomes ORDER BY outcome_id")
        with self.db.write() as con:
            con.executemany(
                """INSERT OR IGNORE INTO reviews (review_id, finding_key, rule_id, disposition, note, reviewer, reviewed_on,
                       recorded_at, source, run_id, amount_cents, evidence_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [[int(r["review_id"]), r["finding_key"], r["rule_id"], r["disposition"], r["note"], r["reviewer"],
                  day_text(r["reviewed_on"]), _utc_text(r["recorded_at"]), r["source"], r["run_id"],
                  to_cents(r["amount_at_risk"]), r["evidence_json"]] for r in reviews])
            newest = {}
            for r in reviews:  # an outcome belongs to the newest answer of its key
                newest[r["finding_key"]] = max(newest.get(r["finding_key"], 0), int(r["review_id"]))
            con.executemany(
                """INSERT OR IGNORE INTO outcomes (outcome_id, finding_key, rule_id, recovered_cents, recovered_on, note,
                       recorded_by, recorded_at, review_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [[int(o["outcome_id"]), o["finding_key"], o["rule_id"], to_cents(o["recovered"]),
                  day_text(o["recovered_on"]), o["note"], o["recorded_by"], _utc_text(o["recorded_at"]),
                  newest.get(o["finding_key"])] for o in outcomes])
            con.execute("""UPDATE clues SET
                               review_id = (SELECT max(v.review_id) FROM reviews v WHERE v.finding_key = clues.finding_key),
                               status = CASE WHEN status = 'new' THEN 'answered' ELSE status END
                           WHERE review_id IS NULL AND finding_key IN (SELECT finding_key FROM reviews)""")
            con.execute("""UPDATE clues SET disposition = (SELECT v.disposition FROM reviews v WHERE v.review_id = clues.review_id),
                               answered_at = coalesce(answered_at, (SELECT v.recorded_at FROM reviews v
                                                                   WHERE v.review_id = clues.review_id))
                           WHERE review_id IS NOT NULL""")
            if reviews or outcomes:
                self.audit.append(con, "crosscheck", "migrate", None, None,
                                  {"reviews": len(reviews), "outcomes": len(outcomes), "from": "findings store schema 2"},
                                  "upgrade")
            self.db.set_meta(con, "moved_from_store", "yes")
        return len(reviews), len(outcomes)


def clue_state(con: sqlite3.Connection, clue: dict) -> dict:
    """What the audit log keeps of a clue before and after an action (with its current answer's
    note and amount recovered)."""
    note = recovered = None
    if clue.get("review_id"):
        row = con.execute("SELECT note FROM reviews WHERE review_id = ?", [clue["review_id"]]).fetchone()
        note = row[0] if row else None
        recovered = con.execute("SELECT sum(recovered_cents) FROM outcomes WHERE review_id = ?",
                                [clue["review_id"]]).fetchone()[0]
    state = {"status": clue["status"], "assignee": clue["assignee"], "deadline": clue["deadline"],
             "disposition": clue["disposition"]}
    if note is not None:
        state["note"] = note
    if recovered is not None:
        state["amount_recovered"] = float(from_cents(recovered))
    return state


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return stamp(value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value)
