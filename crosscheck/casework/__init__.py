"""The casework database (SQLite, WAL) beside the findings store: every clue's status,
dispositions, outcomes, feedback, accounts, sessions and the audit log. See
`crosscheck.casework.db` for the tables and why they live here.

    from crosscheck.casework import Casework, casework_path
    with Casework.open(casework_path(store)) as cw:
        cw.clues.list(account, status="assigned")

`Casework` is the services of one database, each given what it uses:

    db          Database: the connection, transactions, the clock and the settings
    audit       AuditLog(db): append an entry, read the log
    accounts    Accounts(db, audit): users, logins, sessions
    clues       Clues(db, audit): lists, one clue, the clues due
    reviews     Reviews(db, audit): dispositions and outcomes (runs read them)
    workflow    Workflow(db, clues, reviews, audit): assign, answer, hand over, feedback, close,
                reopen, comment
    attachments Attachments(db, clues, audit, folder): a clue's evidence files
    worklists   Worklists(db, clues): my work, the assignees' workload
    notices     Notices(db, clues, audit, send): reminders to people through their channels
    figures     Dashboard(db): the dashboard's figures of a scope
    publishing  Publishing(db): complete runs of the findings store as clues

The few methods other packages call (the findings store, the run, the console) are named
on `Casework` itself and hand over to the service that does it.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa

from crosscheck.casework.accounts import Accounts, LoginRefused, Session
from crosscheck.casework.attachments import Attachments, folder_of
from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clock import SYSTEM_CLOCK, Clock
from crosscheck.casework.clues import Clues
from crosscheck.casework.dashboard import Dashboard
from crosscheck.casework.notices import Notices, Send
from crosscheck.casework.db import (
    BadInput,
    CaseworkError,
    Conflict,
    Database,
    Forbidden,
    NotFound,
    Settings,
    casework_path,
)
from crosscheck.casework.publish import Publishing
from crosscheck.casework.reviews import Reviews
from crosscheck.casework.scope import Account
from crosscheck.casework.workflow import Workflow
from crosscheck.casework.worklists import Worklists


class Casework:
    """An open casework database and its services (use `Casework.open` as a context manager)."""

    def __init__(self, db: Database, send: Send | None = None):
        self.db = db
        self.audit = AuditLog(db)
        self.accounts = Accounts(db, self.audit)
        self.clues = Clues(db, self.audit)
        self.reviews = Reviews(db, self.audit)
        self.workflow = Workflow(db, self.clues, self.reviews, self.audit)
        self.attachments = Attachments(db, self.clues, self.audit, folder_of(db.path))
        self.worklists = Worklists(db, self.clues)
        self.notices = Notices(db, self.clues, self.audit, send)
        self.figures = Dashboard(db)
        self.publishing = Publishing(db)

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False, settings: Settings | None = None,
             clock: Clock = SYSTEM_CLOCK) -> "Casework":
        return cls(Database.open(path, read_only=read_only, settings=settings, clock=clock))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Casework":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the database, for the findings store and the console --------------------------
    @property
    def path(self):
        return self.db.path

    @property
    def con(self) -> sqlite3.Connection | None:
        return self.db.con

    @property
    def settings(self) -> Settings:
        return self.db.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.db.settings = value

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.db.write()

    def rows(self, query: str, params: list | tuple = ()) -> list[dict]:
        return self.db.rows(query, params)

    def one(self, query: str, params: list | tuple = ()) -> dict | None:
        return self.db.one(query, params)

    def meta(self, key: str) -> str | None:
        return self.db.meta(key)

    set_meta = staticmethod(Database.set_meta)

    # -- what the findings store and the run call -----------------------------------
    def publish(self, duck: Any) -> int:
        return self.publishing.publish(duck)

    def move_from_store(self, duck: Any) -> tuple[int, int]:
        return self.reviews.move_from_store(duck)

    def clue_facts(self, key: str, con: sqlite3.Connection | None = None) -> dict | None:
        return self.reviews.clue_facts(key, con)

    def current_review(self, key: str) -> dict | None:
        return self.reviews.current_review(key)

    def reviews_of(self, key: str) -> list[dict]:
        return self.reviews.reviews_of(key)

    def outcomes_of(self, key: str) -> list[dict]:
        return self.reviews.outcomes_of(key)

    def review_snapshot(self) -> pa.Table:
        return self.reviews.review_snapshot()

    def ever_reviewed(self) -> pa.Table:
        return self.reviews.ever_reviewed()

    def precision(self) -> dict[str, dict[str, Any]]:
        return self.reviews.precision()

    def record_review(self, con: sqlite3.Connection, *args, **kwargs) -> int:
        return self.reviews.record_review(con, *args, **kwargs)

    def record_outcome(self, con: sqlite3.Connection, *args, **kwargs) -> int:
        return self.reviews.record_outcome(con, *args, **kwargs)

    def due_clues(self) -> list[dict]:
        return self.clues.due()

    # -- what the console's `users` commands call ------------------------------------
    def user(self, username: str) -> Account | None:
        return self.accounts.user(username)

    def users(self, role: str | None = None) -> list[Account]:
        return self.accounts.users(role)

    def add_user(self, *args, **kwargs) -> Account:
        return self.accounts.add_user(*args, **kwargs)

    def disable_user(self, *args, **kwargs) -> Account:
        return self.accounts.disable_user(*args, **kwargs)

    def set_password(self, *args, **kwargs) -> None:
        return self.accounts.set_password(*args, **kwargs)

    def login(self, *args, **kwargs) -> tuple[Session, str]:
        return self.accounts.login(*args, **kwargs)

    def dashboard(self, account: Account | None) -> dict:
        return self.figures.for_account(account)

    def list_clues(self, account: Account | None, **filters) -> dict:
        return self.clues.list(account, **filters)


__all__ = [
    "Account",
    "BadInput",
    "Casework",
    "CaseworkError",
    "Clock",
    "Conflict",
    "Forbidden",
    "LoginRefused",
    "NotFound",
    "Session",
    "Settings",
    "casework_path",
]
