"""The audit log (留痕): every action appended with who, when, the clue and the values before
and after; read by admins (every entry) and supervisors (the entries of the clues in their
scope). Nothing here (or anywhere) edits or deletes an entry: the table refuses it."""
from __future__ import annotations

import sqlite3
from typing import Any

from crosscheck.casework.db import BadInput, Database, Forbidden, dumps, loads
from crosscheck.casework.scope import CLUE_FROM, Account, visible
from crosscheck.privacy.masking import mask_ids_in_text

MAY_READ = ("admin", "supervisor")


class AuditLog:
    """Appending to and reading the audit log of one casework database."""

    def __init__(self, db: Database):
        self.db = db

    def append(self, con: sqlite3.Connection, user: str, action: str, key: str | None = None, before: Any = None,
               after: Any = None, via: str = "web") -> int:
        """Append one entry (inside the caller's transaction ``con``)."""
        cur = con.execute("INSERT INTO audit (at, user, action, finding_key, before, after, via) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [self.db.stamp(), user, action, key, dumps(before), dumps(after), via])
        return int(cur.lastrowid)

    def read(self, account: Account, *, finding_key: str | None = None, user: str | None = None,
             limit: int = 500, offset: int = 0) -> dict:
        if account.role not in MAY_READ:
            raise Forbidden(f"a {account.role} may not read the audit log")
        if not (0 < int(limit) <= 5000) or int(offset) < 0:
            raise BadInput("limit must be 1..5000 and offset ≥ 0")
        conditions, params = ["1 = 1"], []
        if account.role != "admin":
            where, scope = visible(account)
            conditions.append(f"a.finding_key IN (SELECT c.finding_key {CLUE_FROM} WHERE {where})")
            params += scope
        if finding_key:
            conditions.append("a.finding_key = ?")
            params.append(str(finding_key).strip().lower())
        if user:
            conditions.append("a.user = ?")
            params.append(str(user))
        where_sql = " AND ".join(conditions)
        total = self.db.one(f"SELECT count(*) AS n FROM audit a WHERE {where_sql}", params)["n"]
        rows = self.db.rows(f"SELECT a.* FROM audit a WHERE {where_sql} ORDER BY a.audit_id DESC LIMIT ? OFFSET ?",
                            params + [int(limit), int(offset)])
        return {"total": int(total), "entries": [self.entry(r) for r in rows]}

    def history(self, key: str, unmask: bool = False) -> list[dict]:
        """One clue's entries, oldest first."""
        return [self.entry(e, unmask) for e in
                self.db.rows("SELECT * FROM audit WHERE finding_key = ? ORDER BY audit_id", [key])]

    def entry(self, e: dict, unmask: bool = False) -> dict:
        def value(text: str | None) -> Any:
            v = loads(text)
            return v if unmask else _mask_values(v)

        return {"id": e["audit_id"], "at": self.db.local(e["at"]), "user": e["user"], "action": e["action"],
                "finding_key": e["finding_key"], "before": value(e["before"]), "after": value(e["after"]),
                "via": e["via"]}


def _mask_values(v: Any) -> Any:
    if isinstance(v, str):
        return mask_ids_in_text(v)
    if isinstance(v, dict):
        return {k: _mask_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_mask_values(x) for x in v]
    return v
