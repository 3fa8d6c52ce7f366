"""Accounts, sessions and logins of the workbench.

Passwords are kept only as argon2id hashes (argon2-cffi). A session is a random token the
browser keeps in an HttpOnly cookie; only its SHA-256 is stored, with the CSRF token that
every changing request must carry and the time it expires. Five wrong passwords for one
name within 15 minutes lock that name for 15 minutes (unknown names alike, so the answer
never tells which names exist); attempts while locked are refused and logged, not counted.
Every login, failed login, logout and account change is in the audit log.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.db import BadInput, CaseworkError, Database, parse_stamp, stamp
from crosscheck.casework.scope import ROLES, Account

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # argon2id, OWASP's minimum
_DUMMY = HASHER.hash("not a password of anyone")
USERNAME = re.compile(r"^[\w.@\-\u00b7]{1,64}$")
MIN_PASSWORD = 8
FAILURES_TO_LOCK = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


class LoginRefused(CaseworkError):
    def __init__(self, zh: str, en: str, locked_until: datetime | None = None):
        super().__init__(zh, en)
        self.locked_until = locked_until


WRONG = ("用户名或密码错误", "wrong username or password")
#: Who a failed login is written as when the name typed is no account (it may be a password).
UNKNOWN = "（未知账户）"


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: datetime


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_of(row: dict) -> Account:
    """An account from its row of ``users``."""
    return Account(row["username"], row["role"], tuple(json.loads(row["districts"] or "[]")),
                   tuple(json.loads(row["domains"] or "[]")), bool(row["unmask"]), bool(row["disabled"]))


def _failure_key(name: str) -> str:
    """How failed logins of a name are counted: its SHA-256, never the text typed."""
    return hashlib.sha256(("login:" + name).encode("utf-8")).hexdigest()


def _names(values) -> list[str]:
    return sorted({str(v).strip() for v in values or () if str(v).strip()})


class Accounts:
    """Accounts, logins and sessions of one casework database."""

    def __init__(self, db: Database, audit: AuditLog):
        self.db = db
        self.audit = audit

    def user(self, username: str) -> Account | None:
        row = self.db.one("SELECT * FROM users WHERE username = ?", [username])
        return None if row is None else account_of(row)

    def users(self, role: str | None = None) -> list[Account]:
        rows = self.db.rows("SELECT * FROM users" + (" WHERE role = ?" if role else "") + " ORDER BY username",
                         [role] if role else [])
        return [account_of(r) for r in rows]

    def add_user(self, username: str, role: str, password: str, *, districts=(), domains=(),
                 unmask: bool = False, actor: str = "operator", via: str = "cli") -> Account:
        username = (username or "").strip()
        if not USERNAME.match(username):
            raise BadInput(f"user name '{username}': 1 to 64 letters, digits, Chinese characters or . _ - @")
        if role not in ROLES:
            raise BadInput(f"role '{role}': expected one of {', '.join(ROLES)}")
        if role == "department" and not _names(domains):
            raise BadInput("a department account needs --domains (the rule domains routed to it)")
        if len(password or "") < MIN_PASSWORD:
            raise BadInput(f"the password needs at least {MIN_PASSWORD} characters")
        account = Account(username, role, tuple(_names(districts)), tuple(_names(domains)), bool(unmask))
        with self.db.write() as con:
            if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise BadInput(f"user '{username}' exists already")
            con.execute("""INSERT INTO users (username, role, districts, domains, unmask, password_hash, disabled,
                                              created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)""",
                        [username, role, json.dumps(account.districts, ensure_ascii=False),
                         json.dumps(account.domains, ensure_ascii=False), int(account.unmask),
                         HASHER.hash(password), self.db.stamp(), self.db.stamp()])
            self.audit.append(con, actor, "account_add", None, None, account.public(), via)
        return account

    def disable_user(self, username: str, *, actor: str = "operator", via: str = "cli") -> Account:
        with self.db.write() as con:
            row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
            if row is None:
                raise BadInput(f"no user '{username}'")
            before = account_of(dict(row)).public()
            now = self.db.stamp()
            con.execute("UPDATE users SET disabled = 1, changed_at = ? WHERE username = ?", [now, username])
            con.execute("UPDATE sessions SET ended_at = ? WHERE username = ? AND ended_at IS NULL", [now, username])
            self.audit.append(con, actor, "account_disable", None, before, dict(before, disabled=True), via)
        return self.user(username)

    def set_password(self, username: str, password: str, *, actor: str = "operator",
                     via: str = "cli") -> None:
        if len(password or "") < MIN_PASSWORD:
            raise BadInput(f"the password needs at least {MIN_PASSWORD} characters")
        with self.db.write() as con:
            if con.execute("UPDATE users SET password_hash = ?, changed_at = ? WHERE username = ?",
                           [HASHER.hash(password), self.db.stamp(), username]).rowcount == 0:
                raise BadInput(f"no user '{username}'")
            con.execute("UPDATE sessions SET ended_at = ? WHERE username = ? AND ended_at IS NULL",
                        [self.db.stamp(), username])
            self.audit.append(con, actor, "account_password", None, {"username": username},
                              {"username": username, "password": "changed"}, via)

    def set_channel(self, username: str, url: str | None, *, shown: str = "", actor: str = "operator",
                    via: str = "cli") -> None:
        """Where the account's reminders go (an Apprise URL; None: nowhere). ``shown``: the URL as
        it may be written to the audit log (its secrets masked)."""
        with self.db.write() as con:
            if con.execute("UPDATE users SET channel = ?, changed_at = ? WHERE username = ?",
                           [url or None, self.db.stamp(), username]).rowcount == 0:
                raise BadInput(f"no user '{username}'")
            self.audit.append(con, actor, "account_channel", None, None, {"username": username, "channel": shown or None},
                              via)

    # -- logging in ------------------------------------------------------------------
    def locked_until(self, username: str) -> datetime | None:
        """When the name's lock ends, if 5 failures within 15 minutes lock it now."""
        now = self.db.now()
        times = [parse_stamp(r["at"]) for r in self.db.rows(
            "SELECT at FROM login_failures WHERE username = ? AND at > ? ORDER BY at",
            [_failure_key(username), stamp(now - FAILURE_WINDOW - LOCK_FOR)])]
        until = None
        for i in range(len(times) - FAILURES_TO_LOCK + 1):
            first, last = times[i], times[i + FAILURES_TO_LOCK - 1]
            if last - first <= FAILURE_WINDOW:
                until = max(until or last, last + LOCK_FOR)
        return until if until and until > now else None

    def _locked(self, until: datetime) -> LoginRefused:
        local = until.astimezone(self.db.settings.zone).strftime("%H:%M")
        return LoginRefused(f"账户已锁定至 {local}（15 分钟内密码错误 5 次），请 15 分钟后再试",
                            f"account locked until {local} ({self.db.settings.timezone}) after 5 wrong passwords "
                            "in 15 minutes: try again in 15 minutes", until)

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.db.settings.zone).isoformat(timespec="seconds")

    def login(self, username: object, password: object, session_seconds: int) -> tuple[Session, str]:
        """(the new session, its cookie token); LoginRefused with the reason otherwise."""
        name = str(username or "").strip()[:64]
        secret = str(password or "")
        row = self.db.one("SELECT * FROM users WHERE username = ?", [name]) if name else None
        shown = name if row is not None else UNKNOWN   # never what was typed: it may be a password
        until = self.locked_until(name)
        if until:
            with self.db.write() as con:
                self.audit.append(con, shown, "login_locked", None, None, {"locked_until": self._local(until)})
            raise self._locked(until)
        try:
            ok = HASHER.verify(row["password_hash"] if row else _DUMMY, secret) and row is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        disabled = ok and bool(row["disabled"])
        if not ok or disabled:  # a disabled account is answered as a wrong password: the password stays unconfirmed
            with self.db.write() as con:
                con.execute("INSERT INTO login_failures VALUES (?, ?)", [_failure_key(name), self.db.stamp()])
                self.audit.append(con, shown, "login_refused" if disabled else "login_failed", None, None,
                                  {"reason": "account disabled" if disabled else "wrong username or password"})
            until = self.locked_until(name)
            if until:
                raise self._locked(until)
            raise LoginRefused(*WRONG)
        account = account_of(row)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.db.now()
        expires = now + timedelta(seconds=int(session_seconds))
        with self.db.write() as con:
            con.execute("DELETE FROM login_failures WHERE username = ?", [_failure_key(name)])
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)",
                        [_hash_token(token), name, csrf, stamp(now), stamp(expires)])
            self.audit.append(con, name, "login", None, None, {"role": account.role, "expires_at": self._local(expires)})
        return Session(account, csrf, expires), token

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token: not logged out, not expired, account enabled."""
        if not token or len(token) > 200:
            return None
        row = self.db.one("""SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.username = s.username
                          WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ? AND u.disabled = 0""",
                       [_hash_token(token), self.db.stamp()])
        if row is None:
            return None
        return Session(account_of(row), row["csrf_token"], parse_stamp(row["expires_at"]))

    @staticmethod
    def csrf_ok(session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf_token.encode(), str(token).encode())

    def logout(self, token: str, username: str) -> None:
        with self.db.write() as con:
            con.execute("UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                        [self.db.stamp(), _hash_token(token)])
            self.audit.append(con, username, "logout", None, None, None)
