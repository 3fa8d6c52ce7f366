"""The findings history store: runs, findings, reviews, outcomes in one DuckDB file.

    from crosscheck.store import Store
    with Store.open(path, lock_timeout=600) as store:
        recorded = store.record_run(run, suppression_days={"rule_id": 90})

Each run is written in one transaction, under an exclusive lock on
``<store>.lock`` (see `crosscheck.store.lock`). The store keeps full identity
numbers; where it creates the file and folders they are owner-only (0600/0700).
"""
from __future__ import annotations

import getpass
import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pyarrow as pa

from crosscheck.fsutil import private_dirs, private_files
from crosscheck.results import FINDINGS_SCHEMA, RunResult
from crosscheck.store.keys import is_key, key_column, normalise_key
from crosscheck.store.lock import StoreBusy, StoreLock, _stderr
from crosscheck.store.reviews import (
    DEFAULT_SUPPRESSION_DAYS,
    DISPOSITIONS,
    ImportResult,
    ReviewError,
    SheetProblem,
    decide_suppression,
    normalise_disposition,
    parse_amount,
    parse_day,
    read_review_file,
)
from crosscheck.store.schema import SchemaError, ensure_schema, has_schema

DEFAULT_STORE_NAME = "crosscheck.duckdb"

#: Test hooks (safety tests only): seconds to sleep inside record_run's
#: transaction, and a file to create when the sleep starts.
HOLD_ENV = "CROSSCHECK_STORE_TEST_HOLD_SECONDS"
HOLD_SIGNAL_ENV = "CROSSCHECK_STORE_TEST_HOLD_SIGNAL"

#: Columns the store adds to a run's findings table.
STORE_COLUMNS = pa.schema(
    [
        ("finding_key", pa.string()),
        ("status", pa.string()),            # new | recurring
        ("first_seen", pa.date32()),
        ("suppressed", pa.bool_()),
        ("review", pa.string()),            # current disposition, null if never reviewed
        ("reviewed_on", pa.date32()),
        ("suppressed_until", pa.date32()),
        ("review_change", pa.string()),     # why a false_positive / explained finding is shown again
    ]
)
RECORDED_FINDINGS_SCHEMA = pa.schema(list(FINDINGS_SCHEMA) + list(STORE_COLUMNS))
RESOLVED_SCHEMA = pa.schema(
    [
        ("finding_key", pa.string()),
        ("rule_id", pa.string()),
        ("subject", pa.string()),
        ("person_id", pa.string()),
        ("last_seen", pa.date32()),
        ("last_run_id", pa.string()),
    ]
)


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


@dataclass
class RecordedRun:
    run_id: str
    findings: pa.Table                 # RECORDED_FINDINGS_SCHEMA, in the run's row order
    resolved: pa.Table                 # RESOLVED_SCHEMA
    counts: dict[str, dict[str, int]]  # rule_id -> {findings, new, recurring, resolved, suppressed}
    precision: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def suppressed(self) -> int:
        return sum(c["suppressed"] for c in self.counts.values())


# -- helpers ------------------------------------------------------------------------

def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover
        return str(os.getuid())


@lru_cache(maxsize=1)
def code_version() -> tuple[str, str]:
    """(crosscheck version, `git describe --always --dirty` of the checkout or '')."""
    import crosscheck

    version = getattr(crosscheck, "__version__", "") or ""
    if not version:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("crosscheck")
        except Exception:  # noqa: BLE001
            version = ""
    describe = ""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(crosscheck.__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
        if out.returncode == 0:
            describe = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        describe = ""
    return version, describe


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreBusy(f"store {path} is open in another program that does not take crosscheck's lock: {text}") from exc
        raise StoreError(f"store {path}: {text}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"store {path}: cannot open ({exc})") from exc


# -- the store ----------------------------------------------------------------------

class Store:
    """An open store. Use `Store.open` as a context manager."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, lock: StoreLock, read_only: bool):
        self.path = path
        self.con = con
        self.lock = lock
        self.read_only = read_only

    # -- open / close -------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        lock_timeout: float = 600,
        *,
        read_only: bool = False,
        purpose: str | None = None,
        notify: Callable[[str], None] | None = _stderr,
    ) -> "Store":
        """Open (creating if new, unless read_only) the store at ``path``.

        Waits up to ``lock_timeout`` seconds for another process holding the
        store, printing one message through ``notify``; raises `StoreBusy` if
        it is still busy. ``purpose`` is what waiting processes are told this
        one is doing (record_run sets it to 'run <id>').
        """
        path = Path(path).expanduser().absolute()
        if read_only and not path.exists():
            raise StoreError(f"no store at {path} (a run creates it)")
        if not read_only:
            private_dirs(path.parent)
        lock = StoreLock(path, shared=read_only)
        lock.acquire(lock_timeout, what=purpose or ("reading" if read_only else f"{_user()}'s session"), notify=notify)
        with private_files():
            created = not path.exists()
            try:
                con = _connect(path, read_only)
                try:
                    if created:
                        os.chmod(path, 0o600)
                    if read_only:
                        if not has_schema(con):
                            raise StoreError(f"{path} is not a crosscheck store")
                    else:
                        ensure_schema(con)
                except BaseException:
                    con.close()
                    raise
            except SchemaError as exc:
                lock.release()
                raise StoreError(f"store {path}: {exc}") from exc
            except BaseException:
                lock.release()
                raise
        return cls(path, con, lock, read_only)

    def close(self) -> None:
        if self.con is not None:
            try:
                with private_files():
                    self.con.close()
            finally:
                self.con = None
                self.lock.release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _writable(self) -> None:
        if self.con is None:
            raise StoreError("store is closed")
        if self.read_only:
            raise StoreError("store was opened read-only")

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self._writable()
        con = self.con
        with private_files():
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise

    # -- recording a run ----------------------------------------------------------
    def record_run(
        self,
        run: RunResult,
        suppression_days: dict[str, int] | None = None,
        *,
        default_suppression_days: int = DEFAULT_SUPPRESSION_DAYS,
        before_commit: "Callable[[RecordedRun], None] | None" = None,
    ) -> RecordedRun:
        """Write the run, its provenance and findings in one transaction; compare with history.

        Every finding gets its key, ``new``/``recurring`` and ``first_seen``; a
        finding whose current review is false_positive/explained is flagged
        ``suppressed`` unless the review expired or the evidence changed
        materially. Only a run of scope ``complete`` (every enabled rule, no
        district filter, default parameters) changes the history: its findings
        are added, and for each rule that ran on complete inputs (status ok),
        findings of the last earlier run in which that rule ran that are missing
        now are resolved. A ``subset`` run reads the history to label its
        findings and records its provenance only.
        """
        self._writable()
        con = self.con
        days = dict(suppression_days or {})
        if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run.run_id]).fetchall()[0][0]:
            raise StoreError(f"run {run.run_id} is already recorded in {self.path}")
        self.lock.set_holder(f"run {run.run_id}")

        missing = [c for c in FINDINGS_SCHEMA.names if c not in run.findings.column_names]
        if missing:
            raise StoreError(f"run {run.run_id}: findings table lacks column(s) {', '.join(missing)}")
        incoming = run.findings.select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
        incoming = incoming.append_column("finding_key", key_column(incoming))
        incoming = incoming.append_column("_ord", pa.array(range(incoming.num_rows), pa.int64()))
        complete = run.scope == "complete"
        ran_ok = sorted({r.rule_id for r in run.rules if r.status == "ok"}) if complete else []
        version, describe = code_version()

        with self._transaction() as con:
            seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()[0][0]
            con.register("incoming", incoming)
            con.register("ran_ok", pa.table({"rule_id": pa.array(ran_ok, pa.string())}))
            try:
                enriched = con.sql(
                    """
                    WITH latest AS (
                        SELECT * FROM reviews
                        QUALIFY row_number() OVER (PARTITION BY finding_key ORDER BY review_id DESC) = 1
                    ), seen AS (
                        SELECT finding_key, min(first_seen) AS first_seen FROM finding_keys GROUP BY finding_key
                    )
                    SELECT i.*, seen.first_seen AS prev_first_seen,
                           latest.review_id, latest.disposition, latest.reviewed_on,
                           latest.amount_at_risk AS review_amount, latest.evidence_json AS review_evidence
                    FROM incoming i
                    LEFT JOIN seen ON seen.finding_key = i.finding_key
                    LEFT JOIN latest ON latest.finding_key = i.finding_key
                    ORDER BY i._ord
                    """
                ).to_arrow_table()
                out = self._classify(enriched, run.as_of, days, default_suppression_days)

                resolved = con.sql(
                    """
                    WITH prev AS (
                        SELECT rr.rule_id, max(r.seq) AS seq
                        FROM run_rules rr JOIN runs r ON r.run_id = rr.run_id
                        WHERE r.scope = 'complete' AND rr.status = 'ok' AND rr.rule_id IN (SELECT rule_id FROM ran_ok)
                        GROUP BY rr.rule_id
                    )
                    SELECT DISTINCT f.finding_key, f.rule_id, f.subject, f.person_id,
                           r.as_of AS last_seen, r.run_id AS last_run_id
                    FROM findings f
                    JOIN runs r ON r.run_id = f.run_id
                    JOIN prev ON prev.rule_id = f.rule_id AND prev.seq = r.seq
                    WHERE f.finding_key NOT IN (SELECT finding_key FROM incoming)
                    ORDER BY f.rule_id, f.finding_key
                    """
                ).to_arrow_table().cast(RESOLVED_SCHEMA)

                if complete:
                    self._add_to_history(con, run, out, resolved)
            finally:
                for name in ("incoming", "ran_ok", "outgoing", "resolved_now"):
                    try:
                        con.unregister(name)
                    except Exception:  # noqa: BLE001 - not registered yet
                        pass

            counts = self._counts(run, out, resolved)
            self._insert_provenance(con, run, seq, version, describe, out, counts)
            self._test_hold()
            recorded = RecordedRun(
                run_id=run.run_id,
                findings=out.select(RECORDED_FINDINGS_SCHEMA.names).cast(RECORDED_FINDINGS_SCHEMA),
                resolved=resolved,
                counts=counts,
                precision=self.precision(),
            )
            if before_commit is not None:
                before_commit(recorded)  # e.g. write the reports; if it fails, nothing is recorded
        self.lock.set_holder(f"{_user()}'s session")
        return recorded

    @staticmethod
    def _add_to_history(con, run: RunResult, out: pa.Table, resolved: pa.Table) -> None:
        """A complete run's findings, resolved findings and first/last appearances."""
        con.register("outgoing", out.append_column("run_id", pa.array([run.run_id] * out.num_rows, pa.string())))
        con.execute(
            """INSERT INTO findings BY NAME
               SELECT run_id, finding_key, rule_id, subject, person_id, name, district, severity,
                      amount_at_risk, evidence, evidence_json, discriminator, sources, status,
                      first_seen, suppressed, review_id, review, suppressed_until, review_change
               FROM outgoing"""
        )
        con.register("resolved_now", resolved)
        con.execute(
            "INSERT INTO resolved BY NAME SELECT ? AS run_id, * FROM resolved_now", [run.run_id]
        )
        con.execute(
            """INSERT INTO finding_keys
               SELECT finding_key, any_value(rule_id), any_value(subject), any_value(person_id),
                      any_value(discriminator), ?, ?, ?, ?
               FROM incoming
               WHERE finding_key NOT IN (SELECT finding_key FROM finding_keys)
               GROUP BY finding_key""",
            [run.as_of, run.run_id, run.as_of, run.run_id],
        )
        con.execute(
            """UPDATE finding_keys SET last_seen = ?, last_run_id = ?,
                      first_seen = least(first_seen, ?),
                      person_id = coalesce(person_id, (SELECT any_value(i.person_id) FROM incoming i
                                                       WHERE i.finding_key = finding_keys.finding_key))
               WHERE finding_key IN (SELECT finding_key FROM incoming)""",
            [run.as_of, run.run_id, run.as_of],
        )

    def record_failed(self, run: RunResult) -> None:
        """A run that could not finish (``run.error`` says why): its provenance and what it got
        through (loads, rule outcomes), no findings; the history is unchanged."""
        self._writable()
        if self.con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run.run_id]).fetchall()[0][0]:
            return  # recorded already (e.g. it failed after its record was committed)
        version, describe = code_version()
        empty = pa.table({"amount_at_risk": pa.array([], pa.decimal128(18, 2))})
        with self._transaction() as con:
            seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()[0][0]
            self._insert_provenance(con, run, seq, version, describe, empty, {})

    @staticmethod
    def _classify(enriched: pa.Table, as_of: date, days: dict[str, int], default_days: int) -> pa.Table:
        n = enriched.num_rows
        prev = enriched.column("prev_first_seen").to_pylist()
        dispositions = enriched.column("disposition").to_pylist()
        status = ["recurring" if p is not None else "new" for p in prev]
        first_seen = [min(p, as_of) if p is not None else as_of for p in prev]
        suppressed = [False] * n
        until: list[date | None] = [None] * n
        change: list[str | None] = [None] * n
        reviewed = [i for i, d in enumerate(dispositions) if d is not None]
        if reviewed:
            cols = {c: enriched.column(c).to_pylist() for c in
                    ("rule_id", "reviewed_on", "review_amount", "review_evidence", "amount_at_risk", "evidence_json")}
            for i in reviewed:
                decision = decide_suppression(
                    dispositions[i], cols["reviewed_on"][i], cols["review_amount"][i], cols["review_evidence"][i],
                    cols["amount_at_risk"][i], cols["evidence_json"][i], as_of,
                    days.get(cols["rule_id"][i], default_days),
                )
                suppressed[i], until[i], change[i] = decision.suppressed, decision.until, decision.change
        out = enriched.select(FINDINGS_SCHEMA.names + ["finding_key"])
        out = out.append_column("status", pa.array(status, pa.string()))
        out = out.append_column("first_seen", pa.array(first_seen, pa.date32()))
        out = out.append_column("suppressed", pa.array(suppressed, pa.bool_()))
        out = out.append_column("review", enriched.column("disposition").cast(pa.string()))
        out = out.append_column("reviewed_on", enriched.column("reviewed_on").cast(pa.date32()))
        out = out.append_column("suppressed_until", pa.array(until, pa.date32()))
        out = out.append_column("review_change", pa.array(change, pa.string()))
        out = out.append_column("review_id", enriched.column("review_id").cast(pa.int64()))
        return out

    @staticmethod
    def _counts(run: RunResult, out: pa.Table, resolved: pa.Table) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}

        def slot(rule_id: str) -> dict[str, int]:
            return counts.setdefault(rule_id, {"findings": 0, "new": 0, "recurring": 0, "resolved": 0, "suppressed": 0})

        for r in run.rules:
            slot(r.rule_id)
        for rule_id, status, supp in zip(out.column("rule_id").to_pylist(), out.column("status").to_pylist(),
                                         out.column("suppressed").to_pylist()):
            c = slot(rule_id)
            c["findings"] += 1
            c[status] += 1
            c["suppressed"] += int(bool(supp))
        for rule_id in resolved.column("rule_id").to_pylist():
            slot(rule_id)["resolved"] += 1
        return counts

    def _insert_provenance(self, con, run: RunResult, seq: int, version: str, describe: str,
                           out: pa.Table, counts: dict[str, dict[str, int]]) -> None:
        amounts = [a for a in out.column("amount_at_risk").to_pylist() if a is not None]
        con.execute(
            """INSERT INTO runs (seq, run_id, as_of, extracts_root, out_dir, started_at, finished_at, recorded_at,
                                 started_by, masked, code_version, git_describe, status, findings, new, recurring,
                                 resolved, suppressed, amount_at_risk, scope, request, error)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                seq, run.run_id, run.as_of, run.extracts_root, run.out_dir, _utc(run.started_at),
                _utc(run.finished_at), _now(), run.started_by, bool(run.masked), version, describe, run.status,
                out.num_rows,
                sum(c["new"] for c in counts.values()),
                sum(c["recurring"] for c in counts.values()),
                sum(c["resolved"] for c in counts.values()),
                sum(c["suppressed"] for c in counts.values()),
                sum(amounts, Decimal(0)),
                run.scope,
                json.dumps(run.request, ensure_ascii=False, sort_keys=True, default=str),
                run.error or None,
            ],
        )
        if run.rules:
            con.executemany(
                "INSERT INTO run_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run.run_id, r.rule_id, r.title_zh, r.title_en, r.severity, r.status, r.reason, r.findings,
                     float(r.amount_at_risk or 0), r.version, r.sql,
                     json.dumps(r.parameters, ensure_ascii=False, sort_keys=True, default=str),
                     r.description, r.domain, float(r.seconds or 0)]
                    for r in run.rules
                ],
            )
        if run.loads:
            con.executemany(
                "INSERT INTO run_loads VALUES (?, ?, ?, ?, ?, ?)",
                [[run.run_id, t.source, t.table, t.status, t.reason, t.rows] for t in run.loads],
            )
        files = [[run.run_id, f.source, f.table, f.file, f.sha256, f.encoding, f.rows_read, f.rows_loaded,
                  f.rows_quarantined, f.duplicates_dropped, f.status, f.error] for f in run.files]
        files += [[run.run_id, u.source, u.looks_like, u.file, "", "", 0, 0, 0, 0, "unread", u.reason] for u in run.unread]
        if files:
            con.executemany("INSERT INTO run_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", files)

    @staticmethod
    def _test_hold() -> None:
        seconds = os.environ.get(HOLD_ENV)
        if not seconds:
            return
        signal_file = os.environ.get(HOLD_SIGNAL_ENV)
        if signal_file:
            Path(signal_file).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(float(seconds))

    # -- reviews ------------------------------------------------------------------
    def _finding_snapshot(self, key: str) -> dict | None:
        rows = _rows(
            self.con,
            """SELECT f.finding_key, f.rule_id, f.run_id, f.amount_at_risk, f.evidence_json
               FROM findings f JOIN runs r ON r.run_id = f.run_id
               WHERE f.finding_key = ? ORDER BY r.seq DESC LIMIT 1""",
            [key],
        )
        return rows[0] if rows else None

    def _current_review(self, key: str) -> dict | None:
        rows = _rows(self.con, "SELECT * FROM reviews WHERE finding_key = ? ORDER BY review_id DESC LIMIT 1", [key])
        return rows[0] if rows else None

    def _add_review(self, con, key: str, disposition: str, note: str, reviewer: str, on: date, source: str) -> int:
        snap = self._finding_snapshot(key)
        if snap is None:
            raise StoreError(f"unknown finding key '{key}' (no recorded run has it)")
        review_id = con.execute("SELECT coalesce(max(review_id), 0) + 1 FROM reviews").fetchall()[0][0]
        con.execute(
            "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [review_id, key, snap["rule_id"], disposition, note or "", reviewer, on, _now(), source,
             snap["run_id"], snap["amount_at_risk"], snap["evidence_json"]],
        )
        return review_id

    def mark(self, key: str, disposition: str, note: str = "", reviewer: str = "", on: date | None = None) -> int:
        """Record a reviewer's disposition of one finding; returns the review id.

        The finding's amount_at_risk and evidence_json from its latest run are
        stored with the review (the baseline for the material-change test).
        """
        self._writable()
        key = normalise_key(key)
        try:
            value = normalise_disposition(disposition)
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        if value is None:
            raise StoreError(f"a disposition is required ({', '.join(DISPOSITIONS)})")
        if not (reviewer or "").strip():
            raise StoreError("a reviewer name is required")
        with self._transaction() as con:
            return self._add_review(con, key, value, (note or "").strip(), reviewer.strip(), on or date.today(), "cli")

    def import_reviews(self, path: str | os.PathLike, reviewer: str, on: date | None = None) -> ImportResult:
        """Apply the dispositions of a reviewer's edited findings.csv / findings.xlsx.

        Blank dispositions are no decision. Rows naming an unknown key, an
        unknown disposition or a bad date are reported as 'file:line: problem';
        every other row is applied (in one transaction). A row repeating the
        finding's current disposition and note is counted as unchanged, so a
        file can be imported twice.
        """
        self._writable()
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"{path}: file not found")
        default_reviewer = (reviewer or "").strip()
        if not default_reviewer:
            raise StoreError("a reviewer name is required")
        result = ImportResult()
        try:
            items = list(read_review_file(path))
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        with self._transaction() as con:
            for item in items:
                if isinstance(item, SheetProblem):
                    result.errors.append(f"{item.where}: {item.problem}")
                    continue
                v = item.values
                try:
                    disposition = normalise_disposition(v.get("disposition"))
                except ReviewError as exc:
                    result.errors.append(f"{item.where}: {exc}")
                    continue
                if disposition is None:
                    result.blank += 1
                    continue
                raw_key = v.get("finding_key")
                key = normalise_key(raw_key)
                if not key:
                    result.errors.append(f"{item.where}: disposition '{v.get('disposition')}' but no finding_key")
                    continue
                if not is_key(key):
                    result.errors.append(f"{item.where}: '{raw_key}' is not a finding key (16 hex characters)")
                    continue
                snap = self._finding_snapshot(key)
                if snap is None:
                    result.errors.append(f"{item.where}: unknown finding key '{key}'")
                    continue
                rule = str(v.get("rule_id") or "").strip()
                if rule and rule != snap["rule_id"]:
                    result.errors.append(f"{item.where}: finding {key} belongs to rule {snap['rule_id']}, not {rule}")
                    continue
                try:
                    day = parse_day(v.get("date"), "review date") or on or date.today()
                except ReviewError as exc:
                    result.errors.append(f"{item.where}: {exc}")
                    continue
                note = str(v.get("note") or "").strip()
                who = str(v.get("reviewer") or "").strip() or default_reviewer
                current = self._current_review(key)
                if current and current["disposition"] == disposition and (current["note"] or "") == note:
                    result.unchanged += 1
                    continue
                self._add_review(con, key, disposition, note, who, day, item.where)
                result.applied += 1
        return result

    def record_outcome(self, key: str, recovered: Decimal | float | str, on: date | None = None,
                       note: str = "", recorded_by: str | None = None) -> int:
        """Record money recovered for a confirmed finding; returns the outcome id."""
        self._writable()
        key = normalise_key(key)
        try:
            amount = parse_amount(recovered, "--recovered")
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        if amount is None or amount < 0:
            raise StoreError(f"recovered amount '{recovered}': expected a number ≥ 0")
        current = self._current_review(key)
        if current is None:
            if self._finding_snapshot(key) is None:
                raise StoreError(f"unknown finding key '{key}' (no recorded run has it)")
            raise StoreError(f"finding {key} has not been reviewed; mark it confirmed before recording an outcome")
        if current["disposition"] != "confirmed":
            raise StoreError(f"finding {key} is {current['disposition']}, not confirmed; outcomes are recorded for confirmed findings")
        with self._transaction() as con:
            outcome_id = con.execute("SELECT coalesce(max(outcome_id), 0) + 1 FROM outcomes").fetchall()[0][0]
            con.execute(
                "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [outcome_id, key, current["rule_id"], amount, on or date.today(), (note or "").strip(),
                 recorded_by or _user(), _now()],
            )
        return outcome_id

    # -- reading ------------------------------------------------------------------
    def precision(self) -> dict[str, dict[str, Any]]:
        """Per rule, over the current disposition of every reviewed finding:
        confirmed / (confirmed + false_positive + explained), with the counts
        and the total recovered on confirmed findings. precision is None when
        nothing of the rule has been reviewed."""
        rows = _rows(
            self.con,
            """WITH latest AS (
                   SELECT * FROM reviews
                   QUALIFY row_number() OVER (PARTITION BY finding_key ORDER BY review_id DESC) = 1
               ), rec AS (
                   SELECT finding_key, sum(recovered) AS recovered FROM outcomes GROUP BY finding_key
               )
               SELECT l.rule_id,
                      count(*) FILTER (WHERE disposition = 'confirmed') AS confirmed,
                      count(*) FILTER (WHERE disposition = 'false_positive') AS false_positive,
                      count(*) FILTER (WHERE disposition = 'explained') AS explained,
                      count(*) AS reviewed,
                      coalesce(sum(rec.recovered) FILTER (WHERE disposition = 'confirmed'), 0) AS recovered
               FROM latest l LEFT JOIN rec ON rec.finding_key = l.finding_key
               GROUP BY l.rule_id ORDER BY l.rule_id""",
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            reviewed = int(r["reviewed"])
            out[r["rule_id"]] = {
                "confirmed": int(r["confirmed"]),
                "false_positive": int(r["false_positive"]),
                "explained": int(r["explained"]),
                "reviewed": reviewed,
                "precision": (int(r["confirmed"]) / reviewed) if reviewed else None,
                "recovered": Decimal(str(r["recovered"])),
            }
        return out

    def run_of_delivery(self, files: dict[str, str], rule_versions: dict[str, str]) -> dict | None:
        """The newest complete run that finished on exactly these files (path -> SHA-256) with
        exactly these rules (id -> version), if any: the delivery is then processed."""
        wanted_files = "\n".join(f"{f}:{h}" for f, h in sorted(files.items()))
        wanted_rules = "\n".join(f"{r}:{v}" for r, v in sorted(rule_versions.items()))
        rows = _rows(
            self.con,
            """WITH per_run AS (
                   SELECT run_id, string_agg(file || ':' || sha256, chr(10) ORDER BY file) AS files
                   FROM (SELECT DISTINCT run_id, file, sha256 FROM run_files WHERE status <> 'unread') GROUP BY run_id
               ), rules AS (
                   SELECT run_id, string_agg(rule_id || ':' || coalesce(version, ''), chr(10) ORDER BY rule_id) AS rules
                   FROM run_rules GROUP BY run_id
               )
               SELECT r.run_id, r.as_of, r.started_at, r.finished_at, r.out_dir, r.status
               FROM runs r JOIN per_run p USING (run_id) JOIN rules USING (run_id)
               WHERE r.scope = 'complete' AND r.status <> 'failed' AND p.files = ? AND rules.rules = ?
               ORDER BY r.seq DESC LIMIT 1""",
            [wanted_files, wanted_rules],
        )
        return rows[0] if rows else None

    def last_complete_run(self) -> dict | None:
        """The complete run (scope complete, not failed) that finished last, if any."""
        rows = _rows(self.con, """SELECT run_id, as_of, started_at, finished_at, status FROM runs
                                  WHERE scope = 'complete' AND status <> 'failed'
                                  ORDER BY finished_at DESC NULLS LAST, seq DESC LIMIT 1""")
        return rows[0] if rows else None

    def overdue(self, run_id: str, as_of: date, days: int) -> list[dict]:
        """Findings of run ``run_id`` still waiting for a reviewer: first seen at least
        ``days`` days before ``as_of``, not suppressed, and never given a disposition.
        Oldest first. (Works inside record_run's transaction, e.g. from before_commit.)"""
        return _rows(
            self.con,
            """SELECT f.finding_key, f.rule_id, f.subject, f.person_id, f.name, f.district, f.severity,
                      f.amount_at_risk, k.first_seen, date_diff('day', k.first_seen, ?::DATE) AS days_open
               FROM findings f JOIN finding_keys k ON k.finding_key = f.finding_key
               WHERE f.run_id = ? AND NOT coalesce(f.suppressed, false)
                 AND k.first_seen <= ?::DATE - ?::INTEGER
                 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.finding_key = f.finding_key)
               ORDER BY k.first_seen, f.rule_id, f.amount_at_risk DESC NULLS LAST, f.finding_key""",
            [as_of, run_id, as_of, int(days)],
        )

    def runs(self, limit: int | None = None) -> list[dict]:
        """Recorded runs, newest first."""
        q = """SELECT run_id, as_of, started_at, finished_at, started_by, findings, new, recurring, resolved,
                      suppressed, amount_at_risk, status, scope, error, masked, code_version, git_describe
               FROM runs ORDER BY seq DESC"""
        if limit:
            q += f" LIMIT {int(limit)}"
        return _rows(self.con, q)

    def resolve_run_id(self, run_id: str) -> str:
        """A run id, a unique prefix of one, or 'latest'."""
        if run_id == "latest":
            rows = self.con.execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchall()
        else:
            rows = self.con.execute(
                "SELECT run_id FROM runs WHERE run_id = ? OR starts_with(run_id, ?) ORDER BY seq", [run_id, run_id]
            ).fetchall()
            exact = [r for r in rows if r[0] == run_id]
            rows = exact or rows
        if not rows:
            raise StoreError(f"no run '{run_id}' in {self.path}")
        if len(rows) > 1:
            raise StoreError(f"run '{run_id}' is ambiguous: {', '.join(r[0] for r in rows[:5])}")
        return rows[0][0]

    def run_detail(self, run_id: str) -> dict:
        """Everything recorded about one run: provenance, rules, loads, files, counts."""
        run_id = self.resolve_run_id(run_id)
        run = _rows(self.con, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0]
        rules = _rows(self.con, "SELECT * FROM run_rules WHERE run_id = ? ORDER BY rule_id", [run_id])
        for r in rules:
            try:
                r["parameters"] = json.loads(r["parameters"] or "{}")
            except ValueError:
                pass
        per_rule = {
            r["rule_id"]: r
            for r in _rows(
                self.con,
                """SELECT rule_id, count(*) AS findings,
                          count(*) FILTER (WHERE status = 'new') AS new,
                          count(*) FILTER (WHERE status = 'recurring') AS recurring,
                          count(*) FILTER (WHERE suppressed) AS suppressed
                   FROM findings WHERE run_id = ? GROUP BY rule_id""",
                [run_id],
            )
        }
        resolved = dict(self.con.execute(
            "SELECT rule_id, count(*) FROM resolved WHERE run_id = ? GROUP BY rule_id", [run_id]).fetchall())
        counts = {}
        for rid in sorted({r["rule_id"] for r in rules} | set(per_rule) | set(resolved)):
            c = per_rule.get(rid, {})
            counts[rid] = {k: int(c.get(k, 0) or 0) for k in ("findings", "new", "recurring", "suppressed")}
            counts[rid]["resolved"] = int(resolved.get(rid, 0))
        return {
            "run": run,
            "rules": rules,
            "loads": _rows(self.con, "SELECT * EXCLUDE (run_id) FROM run_loads WHERE run_id = ? ORDER BY source, table_name", [run_id]),
            "files": _rows(self.con, "SELECT * EXCLUDE (run_id) FROM run_files WHERE run_id = ? ORDER BY source, table_name, file", [run_id]),
            "counts": counts,
        }

    def run_findings(self, run_id: str) -> pa.Table:
        run_id = self.resolve_run_id(run_id)
        return self.con.sql(
            "SELECT * EXCLUDE (run_id) FROM findings WHERE run_id = ? ORDER BY rule_id, finding_key", params=[run_id]
        ).to_arrow_table()

    def resolved_in(self, run_id: str) -> pa.Table:
        run_id = self.resolve_run_id(run_id)
        return self.con.sql(
            "SELECT * EXCLUDE (run_id) FROM resolved WHERE run_id = ? ORDER BY rule_id, finding_key", params=[run_id]
        ).to_arrow_table()

    def finding(self, key: str) -> dict:
        """One finding's history: key facts, appearances, reviews, outcomes."""
        key = normalise_key(key)
        info = _rows(self.con, "SELECT * FROM finding_keys WHERE finding_key = ?", [key])
        if not info:
            raise StoreError(f"unknown finding key '{key}'")
        return {
            "key": info[0],
            "appearances": _rows(
                self.con,
                """SELECT f.run_id, r.as_of, f.status, f.suppressed, f.review, f.amount_at_risk, f.evidence, f.review_change
                   FROM findings f JOIN runs r ON r.run_id = f.run_id WHERE f.finding_key = ? ORDER BY r.seq""",
                [key],
            ),
            "resolved": _rows(self.con, "SELECT run_id, last_seen FROM resolved WHERE finding_key = ? ORDER BY run_id", [key]),
            "reviews": _rows(self.con, "SELECT * FROM reviews WHERE finding_key = ? ORDER BY review_id", [key]),
            "outcomes": _rows(self.con, "SELECT * FROM outcomes WHERE finding_key = ? ORDER BY outcome_id", [key]),
        }
