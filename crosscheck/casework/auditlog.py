"""Reading the audit log (留痕): admins see every entry, supervisors the entries of the clues in
their scope. Nothing here (or anywhere) edits or deletes an entry: the table refuses it."""
from __future__ import annotations

from crosscheck.casework.clues import CLUE_FROM
from crosscheck.casework.db import BadInput, CaseworkBase, Forbidden
from crosscheck.casework.scope import Account, visible

MAY_READ = ("admin", "supervisor")


class AuditLog:
    """`Casework.audit_log`."""

    def audit_log(self: CaseworkBase, account: Account, *, finding_key: str | None = None, user: str | None = None,
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
        total = self.one(f"SELECT count(*) AS n FROM audit a WHERE {where_sql}", params)["n"]
        rows = self.rows(f"SELECT a.* FROM audit a WHERE {where_sql} ORDER BY a.audit_id DESC LIMIT ? OFFSET ?",
                         params + [int(limit), int(offset)])
        return {"total": int(total), "entries": [self.audit_entry(r) for r in rows]}
