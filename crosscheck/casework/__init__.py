"""The casework database (SQLite, WAL) beside the findings store: every clue's status,
dispositions, outcomes, feedback, accounts, sessions and the audit log. See
`crosscheck.casework.db` for the tables and why they live here.

    from crosscheck.casework import Casework, casework_path
    with Casework.open(casework_path(store)) as cw:
        cw.list_clues(account, status="assigned")
"""
from crosscheck.casework.accounts import Accounts, LoginRefused, Session
from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clues import ClueQueries, Reminders
from crosscheck.casework.dashboard import Dashboard
from crosscheck.casework.db import (
    BadInput,
    CaseworkBase,
    CaseworkError,
    Conflict,
    Forbidden,
    NotFound,
    Settings,
    casework_path,
)
from crosscheck.casework.publish import Publishing
from crosscheck.casework.reviews import Reviews
from crosscheck.casework.scope import Account
from crosscheck.casework.workflow import Workflow


class Casework(Publishing, Reviews, Workflow, ClueQueries, Reminders, Dashboard, AuditLog, Accounts, CaseworkBase):
    """An open casework database (use `Casework.open` as a context manager)."""


__all__ = [
    "Account",
    "BadInput",
    "Casework",
    "CaseworkError",
    "Conflict",
    "Forbidden",
    "LoginRefused",
    "NotFound",
    "Session",
    "Settings",
    "casework_path",
]
