"""The casework database: where every clue's status lives (SQLite, WAL, beside the findings store).

The findings store (`crosscheck.store`, DuckDB) keeps the runs and the findings history; a
run holds it for minutes while it records and writes its reports. Everything people do with
a clue lives here instead, in a SQLite file beside it (``<store stem>.clues.sqlite``) in WAL
mode, written in short transactions: a nightly run reads the current dispositions it needs
without blocking anyone, and reviewers' actions never wait for a run.

Tables
    meta          schema_version, published_seq (the last complete run published), moved_from_store
    rules         per rule of the last complete run: titles, domain, severity, rule_status
                  (draft: runs in shadow, never pushed as clues), personal kinds (masking)
    runs          complete runs published: run_id, seq, as_of; run_counts per run, rule, district
    clues         one row per finding_key of the history: the finding as last seen (published by
                  each complete run), its priority rank, and its workflow state: status
                  (new / assigned / answered / closed), assignee, deadline, current disposition
    reviews       append-only dispositions (confirmed / false_positive / explained); the newest
                  per key is current; the finding's amount and evidence at review time
    outcomes      append-only money recovered on confirmed clues (cents)
    feedback      append-only department feedback (整改反馈)
    audit         append-only log of every action, with the values before and after
    users, sessions, login_failures   accounts (argon2 hashes), sessions, failed logins

Reviews, outcomes, feedback and the audit log refuse UPDATE and DELETE (triggers).
Amounts are whole cents (INTEGER); dates ISO text; times ISO text in UTC.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from crosscheck.casework.clock import SYSTEM_CLOCK, Clock

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000
APPEND_ONLY = ("reviews", "outcomes", "feedback", "audit", "comments", "attachments")

DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS rules (
        rule_id TEXT PRIMARY KEY, title_zh TEXT, title_en TEXT, domain TEXT, severity TEXT,
        rule_status TEXT, personal TEXT, last_run_id TEXT)""",
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, seq INTEGER, as_of TEXT, finished_at TEXT)",
    """CREATE TABLE IF NOT EXISTS run_counts (
        run_id TEXT NOT NULL, rule_id TEXT NOT NULL, district TEXT NOT NULL, findings INTEGER, new INTEGER,
        suppressed INTEGER, amount_cents INTEGER, PRIMARY KEY (run_id, rule_id, district))""",
    """CREATE TABLE IF NOT EXISTS clues (
        finding_key TEXT PRIMARY KEY, rule_id TEXT NOT NULL, domain TEXT, subject TEXT, person_id TEXT,
        name TEXT, district TEXT, severity TEXT, amount_cents INTEGER, evidence TEXT, evidence_json TEXT,
        sources TEXT, discriminator TEXT, first_seen TEXT, last_seen TEXT, last_run_id TEXT,
        seen_status TEXT, suppressed INTEGER, review_change TEXT, resolved_run_id TEXT, resolved_on TEXT,
        priority INTEGER,
        status TEXT NOT NULL DEFAULT 'new', assignee TEXT, deadline TEXT, assigned_at TEXT,
        answered_at TEXT, closed_at TEXT, review_id INTEGER, disposition TEXT)""",
    "CREATE INDEX IF NOT EXISTS clues_priority ON clues (priority)",
    "CREATE INDEX IF NOT EXISTS clues_district ON clues (district, priority)",
    "CREATE INDEX IF NOT EXISTS clues_assignee ON clues (assignee, priority)",
    "CREATE INDEX IF NOT EXISTS clues_rule ON clues (rule_id, status)",
    """CREATE TABLE IF NOT EXISTS reviews (
        review_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, rule_id TEXT,
        disposition TEXT NOT NULL, note TEXT, reviewer TEXT NOT NULL, reviewed_on TEXT NOT NULL,
        recorded_at TEXT, source TEXT, run_id TEXT, amount_cents INTEGER, evidence_json TEXT,
        rectification TEXT)""",
    "CREATE INDEX IF NOT EXISTS reviews_key ON reviews (finding_key, review_id)",
    """CREATE TABLE IF NOT EXISTS outcomes (
        outcome_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, rule_id TEXT,
        recovered_cents INTEGER, recovered_on TEXT, note TEXT, recorded_by TEXT, recorded_at TEXT,
        review_id INTEGER)""",
    "CREATE INDEX IF NOT EXISTS outcomes_key ON outcomes (finding_key)",
    """CREATE TABLE IF NOT EXISTS feedback (
        feedback_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, note TEXT, author TEXT, at TEXT)""",
    "CREATE INDEX IF NOT EXISTS feedback_key ON feedback (finding_key)",
    """CREATE TABLE IF NOT EXISTS audit (
        audit_id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
        finding_key TEXT, before TEXT, after TEXT, via TEXT)""",
    "CREATE INDEX IF NOT EXISTS audit_key ON audit (finding_key)",
    "CREATE INDEX IF NOT EXISTS audit_user ON audit (user)",
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, districts TEXT, domains TEXT,
        unmask INTEGER NOT NULL DEFAULT 0, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT, changed_at TEXT, channel TEXT)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at TEXT,
        expires_at TEXT NOT NULL, ended_at TEXT)""",
    "CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS handovers (
        handover_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, department TEXT NOT NULL,
        deadline TEXT, request TEXT, handed_by TEXT, at TEXT, answer_note TEXT, rectified TEXT,
        returned_cents INTEGER, answered_by TEXT, answered_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS handovers_key ON handovers (finding_key, handover_id)",
    "CREATE INDEX IF NOT EXISTS handovers_department ON handovers (department, finding_key)",
    """CREATE TABLE IF NOT EXISTS comments (
        comment_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, user TEXT NOT NULL,
        text TEXT NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS comments_key ON comments (finding_key)",
    """CREATE TABLE IF NOT EXISTS attachments (
        attachment_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_key TEXT NOT NULL, name TEXT NOT NULL,
        size INTEGER NOT NULL, sha256 TEXT NOT NULL, type TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS attachments_key ON attachments (finding_key)",
    """CREATE TABLE IF NOT EXISTS notices (
        notice_id INTEGER PRIMARY KEY AUTOINCREMENT, event_key TEXT NOT NULL UNIQUE, username TEXT NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, status TEXT, error TEXT)""",
    "CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at)",
]


if TYPE_CHECKING:
    from crosscheck.config import ProjectConfig
def _append_only(table: str, verb: str) -> str:
    return f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table}
               BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""


DDL += [_append_only(table, verb) for table in APPEND_ONLY for verb in ("UPDATE", "DELETE")]


class CaseworkError(Exception):
    """The casework database cannot do what was asked; the message says why, in Chinese for
    the Chinese view (``zh``) and in English (``en``); ``str()`` gives both."""

    def __init__(self, zh: str, en: str | None = None):
        self.zh, self.en = zh, en or zh
        super().__init__(zh if self.en == zh else f"{zh} / {self.en}")


class BadInput(CaseworkError):
    """A value given cannot be used (HTTP 400)."""


class Forbidden(CaseworkError):
    """The account's role may not do this (HTTP 403)."""


class NotFound(CaseworkError):
    """No such clue (or none in the account's scope) (HTTP 404)."""


class Conflict(CaseworkError):
    """The clue's status does not allow it (HTTP 409)."""


def casework_path(store: str | os.PathLike) -> Path:
    """The casework database of a findings store: ``crosscheck.duckdb`` -> ``crosscheck.clues.sqlite``."""
    store = Path(store)
    return store.with_name(f"{store.stem}.clues.sqlite")


# -- values ---------------------------------------------------------------------------

def stamp(at: datetime) -> str:
    """A UTC time as stored: ISO text, microseconds, +00:00 (so texts sort as times)."""
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def to_cents(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int((Decimal(str(value)) * 100).quantize(Decimal(1)))
    except InvalidOperation:
        raise CaseworkError(f"amount '{value}': expected a number") from None


def from_cents(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def day_text(value: date | str | None) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def parse_day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def dumps(obj: Any) -> str | None:
    return None if obj is None else json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- the connection -------------------------------------------------------------------

def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False,
                              timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        if not path.exists():  # owner-only; SQLite gives the -wal and -shm files the same mode
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not read_only:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
    return con


def _ensure_schema(con: sqlite3.Connection, path: Path) -> None:
    con.execute("BEGIN IMMEDIATE")
    try:
        for statement in DDL:
            con.execute(statement)
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif int(row[0]) > SCHEMA_VERSION:
            raise CaseworkError(f"{path}: casework schema {row[0]} is newer than this crosscheck understands")
        elif int(row[0]) < 2:
            _upgrade_to_2(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})").fetchall()}


def _upgrade_to_2(con: sqlite3.Connection) -> None:
    """Schema 1 -> 2: an outcome belongs to the answer it was recorded on (``outcomes.review_id``:
    the clue's amount recovered is its current answer's), accounts may have a reminder channel."""
    if "review_id" not in _columns(con, "outcomes"):
        con.execute("ALTER TABLE outcomes ADD COLUMN review_id INTEGER")
        con.execute("DROP TRIGGER IF EXISTS outcomes_no_update")
        con.execute("""UPDATE outcomes SET review_id = coalesce(
                           (SELECT max(v.review_id) FROM reviews v WHERE v.finding_key = outcomes.finding_key
                                                                   AND v.recorded_at <= outcomes.recorded_at),
                           (SELECT max(v.review_id) FROM reviews v WHERE v.finding_key = outcomes.finding_key))""")
        con.execute(_append_only("outcomes", "UPDATE"))
    if "channel" not in _columns(con, "users"):
        con.execute("ALTER TABLE users ADD COLUMN channel TEXT")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


@dataclass(frozen=True)
class Settings:
    """What the casework reads from crosscheck.toml: the timezone deadlines and times are told
    in, and the `[workbench]` thresholds (crosscheck.config.WorkbenchConfig)."""

    timezone: str = "Asia/Shanghai"
    warn_days: int = 3                  # yellow within this many days of the deadline
    tuning_window: int = 20             # a model's last N answered clues ...
    tuning_below: float = 0.10          # ... confirmed below this rate: it needs tuning
    max_deadline_days: int = 180        # a deadline is set at most this many days ahead

    @classmethod
    def of(cls, config: "ProjectConfig") -> "Settings":
        """The project's: its timezone and `[workbench]` table."""
        w = config.workbench
        return cls(timezone=config.timezone, warn_days=w.warn_days, tuning_window=w.tuning_window,
                   tuning_below=float(w.tuning_below), max_deadline_days=w.max_deadline_days)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, clock: Clock = SYSTEM_CLOCK) -> date:
        """Today in the project's timezone, by ``clock``."""
        return clock.now().astimezone(self.zone).date()


class Database:
    """An open casework database: one connection, short transactions, the clock and the
    settings every service of `crosscheck.casework.Casework` is given."""

    def __init__(self, path: Path, con: sqlite3.Connection, read_only: bool = False,
                 settings: Settings | None = None, clock: Clock = SYSTEM_CLOCK):
        self.path = path
        self.con = con
        self.read_only = read_only
        self.settings = settings or Settings()
        self.clock = clock
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False, settings: Settings | None = None,
             clock: Clock = SYSTEM_CLOCK) -> "Database":
        path = Path(path).expanduser().absolute()
        if read_only and not path.exists():
            raise CaseworkError(f"no casework database at {path}")
        try:
            con = _connect(path, read_only)
            if not read_only:
                _ensure_schema(con, path)
        except sqlite3.Error as exc:
            raise CaseworkError(f"{path}: {exc}") from exc
        return cls(path, con, read_only, settings, clock)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def now(self) -> datetime:
        return self.clock.now()

    def stamp(self) -> str:
        """Now, as stored."""
        return stamp(self.clock.now())

    def today(self) -> date:
        """Today in the project's timezone."""
        return self.settings.today(self.clock)

    def local(self, text: str | None) -> str | None:
        """A stored UTC time in the project's timezone, ISO with its offset."""
        at = parse_stamp(text)
        return None if at is None else at.astimezone(self.settings.zone).isoformat(timespec="seconds")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE: writers queue, readers never wait)."""
        if self.read_only:
            raise CaseworkError(f"{self.path} was opened read-only")
        with self._lock:
            con = self.con
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise

    def rows(self, query: str, params: list | tuple = ()) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.con.execute(query, params).fetchall()]

    def one(self, query: str, params: list | tuple = ()) -> dict | None:
        found = self.rows(query, params)
        return found[0] if found else None

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    @staticmethod
    def set_meta(con: sqlite3.Connection, key: str, value: str) -> None:
        con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])
