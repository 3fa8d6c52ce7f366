"""Recording a run: key its findings, label them new / recurring / suppressed against the
history, resolve the findings that stopped appearing, and write it all with the run's
provenance; or record a run that failed.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.results import FINDINGS_SCHEMA, RunResult, finding_columns_sql
from crosscheck.store.db import StoreError, registered
from crosscheck.store.keys import key_column
from crosscheck.store.lock import current_user
from crosscheck.store.provenance import insert_provenance
from crosscheck.store.reviews import DEFAULT_SUPPRESSION_DAYS, decide_suppression

log = logging.getLogger("crosscheck.store")

#: Columns the store adds to a run's findings table.
STORE_COLUMNS = pa.schema(
    [
        ("finding_key", pa.string()),
        ("status", pa.string()),            # new | recurring
        ("first_seen", pa.date32()),
        ("suppressed", pa.bool_()),
        ("review", pa.string()),            # current disposition, null if never reviewed
        ("reviewed_on", pa.date32()),
        ("review_note", pa.string()),       # the current disposition's note
        ("reviewer", pa.string()),          # and who gave it
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

#: Each incoming finding (in the run's order) with its first appearance and current review, if any
#: (``latest``: the casework database's current dispositions, read once before the transaction).
INCOMING_WITH_HISTORY = """
    WITH seen AS (SELECT finding_key, min(first_seen) AS first_seen FROM finding_keys GROUP BY finding_key)
    SELECT i.*, seen.first_seen AS prev_first_seen,
           latest.review_id, latest.disposition, latest.reviewed_on, latest.note AS review_note, latest.reviewer,
           latest.amount_at_risk AS review_amount, latest.evidence_json AS review_evidence
    FROM incoming i
    LEFT JOIN seen ON seen.finding_key = i.finding_key
    LEFT JOIN latest ON latest.finding_key = i.finding_key
    ORDER BY i._ord
"""

#: Per rule that ran ok now, the findings of its last earlier complete ok run missing from this one.
NOW_RESOLVED = """
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


class RunRecording:
    """`Store.record_run` and `Store.record_failed` (uses the store's connection, lock and transaction)."""

    def record_run(self, run: RunResult, suppression_days: dict[str, int] | None = None, *,
                   default_suppression_days: int = DEFAULT_SUPPRESSION_DAYS, checkpoint: Checkpoint = carry_on) -> RecordedRun:
        """Record the run (see `recording`) and commit."""
        with self.recording(run, suppression_days, default_suppression_days=default_suppression_days,
                            checkpoint=checkpoint) as recorded:
            return recorded

    @contextmanager
    def recording(self, run: RunResult, suppression_days: dict[str, int] | None = None, *,
                  default_suppression_days: int = DEFAULT_SUPPRESSION_DAYS,
                  checkpoint: Checkpoint = carry_on) -> Iterator[RecordedRun]:
        """Write the run, its provenance and findings in one transaction; compare with history.
        The block runs inside the transaction, given what was recorded (a run writes its
        reports there): it commits when the block ends, and if the block raises, nothing is
        recorded.

        Every finding gets its key, ``new``/``recurring`` and ``first_seen``; a
        finding whose current review is false_positive/explained is flagged
        ``suppressed`` unless the review expired or the evidence changed
        materially. Only a run of scope ``complete`` (every enabled rule, no
        district filter, default parameters) changes the history: its findings
        are added, and for each rule that ran on complete inputs (status ok),
        findings of the last earlier run in which that rule ran that are missing
        now are resolved. A ``subset`` run reads the history to label its
        findings and records its provenance only.

        The current dispositions come from the casework database, read once before the
        transaction (reviewers go on recording meanwhile; theirs count from the next run).
        After the commit, a complete run's clues are published there (`Casework.publish`).
        """
        if self._is_recorded(run):
            raise StoreError(f"run {run.run_id} is already recorded in {self.path}")
        self.lock.set_holder(f"run {run.run_id}")
        incoming = _incoming_findings(run)
        latest = self.casework.review_snapshot()
        with self._transaction() as con:
            findings, resolved = _compare_with_history(con, run, incoming, latest, dict(suppression_days or {}),
                                                       default_suppression_days)
            counts = _counts(run, findings, resolved)
            insert_provenance(con, run, findings, counts)
            checkpoint("record")
            recorded = RecordedRun(
                run_id=run.run_id,
                findings=findings.select(RECORDED_FINDINGS_SCHEMA.names).cast(RECORDED_FINDINGS_SCHEMA),
                resolved=resolved,
                counts=counts,
                precision=self.precision(),
            )
            yield recorded
        try:
            self.casework.publish(self.con)
        except Exception as exc:  # noqa: BLE001 - the run is recorded; the next open of the store publishes it
            log.warning("run %s is recorded; its clues reach the workbench when the store is next opened "
                        "for writing (publishing failed: %s)", run.run_id, exc)
        self.lock.set_holder(f"{current_user()}'s session")

    def record_failed(self, run: RunResult) -> None:
        """A run that could not finish (``run.error`` says why): its provenance and what it got
        through (loads, rule outcomes), no findings; the history is unchanged."""
        if self._is_recorded(run):
            return  # recorded already (e.g. it failed after its record was committed)
        no_findings = pa.table({"amount_at_risk": pa.array([], pa.decimal128(18, 2))})
        with self._transaction() as con:
            insert_provenance(con, run, no_findings, {})

    def _is_recorded(self, run: RunResult) -> bool:
        self._writable()
        return bool(self.con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run.run_id]).fetchall()[0][0])


def _incoming_findings(run: RunResult) -> pa.Table:
    """The run's findings in FINDINGS_SCHEMA with their finding_key and row order (_ord)."""
    missing = [c for c in FINDINGS_SCHEMA.names if c not in run.findings.column_names]
    if missing:
        raise StoreError(f"run {run.run_id}: findings table lacks column(s) {', '.join(missing)}")
    incoming = run.findings.select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
    incoming = incoming.append_column("finding_key", key_column(incoming))
    return incoming.append_column("_ord", pa.array(range(incoming.num_rows), pa.int64()))


def _compare_with_history(con: duckdb.DuckDBPyConnection, run: RunResult, incoming: pa.Table, latest: pa.Table,
                          days: dict[str, int], default_days: int) -> tuple[pa.Table, pa.Table]:
    """(the run's findings labelled against the history, the findings resolved now);
    a complete run's are added to the history."""
    complete = run.scope == "complete"
    ran_ok = sorted({r.rule_id for r in run.rules if r.status == "ok"}) if complete else []
    with registered(con, incoming=incoming, latest=latest,
                    ran_ok=pa.table({"rule_id": pa.array(ran_ok, pa.string())})):
        findings = _classify(con.sql(INCOMING_WITH_HISTORY).to_arrow_table(), run.as_of, days, default_days)
        resolved = con.sql(NOW_RESOLVED).to_arrow_table().cast(RESOLVED_SCHEMA)
        if complete:
            _add_to_history(con, run, findings, resolved)
    return findings, resolved


def _classify(enriched: pa.Table, as_of: date, days: dict[str, int], default_days: int) -> pa.Table:
    """The findings with the store's columns: status, first_seen and what their review decides."""
    prev = enriched.column("prev_first_seen").to_pylist()
    suppressed, until, change = _suppression(enriched, as_of, days, default_days)
    out = enriched.select(FINDINGS_SCHEMA.names + ["finding_key"])
    columns = {
        "status": pa.array(["recurring" if p is not None else "new" for p in prev], pa.string()),
        "first_seen": pa.array([min(p, as_of) if p is not None else as_of for p in prev], pa.date32()),
        "suppressed": pa.array(suppressed, pa.bool_()),
        "review": enriched.column("disposition").cast(pa.string()),
        "reviewed_on": enriched.column("reviewed_on").cast(pa.date32()),
        "review_note": enriched.column("review_note").cast(pa.string()),
        "reviewer": enriched.column("reviewer").cast(pa.string()),
        "suppressed_until": pa.array(until, pa.date32()),
        "review_change": pa.array(change, pa.string()),
        "review_id": enriched.column("review_id").cast(pa.int64()),
    }
    for name, column in columns.items():
        out = out.append_column(name, column)
    return out


def _suppression(enriched: pa.Table, as_of: date, days: dict[str, int],
                 default_days: int) -> tuple[list[bool], list[date | None], list[str | None]]:
    """Per finding: suppressed?, until when, and why a suppressing review no longer holds."""
    n = enriched.num_rows
    suppressed, until, change = [False] * n, [None] * n, [None] * n
    dispositions = enriched.column("disposition").to_pylist()
    reviewed = [i for i, d in enumerate(dispositions) if d is not None]
    if not reviewed:
        return suppressed, until, change
    cols = {c: enriched.column(c).to_pylist() for c in
            ("rule_id", "reviewed_on", "review_amount", "review_evidence", "amount_at_risk", "evidence_json")}
    for i in reviewed:
        decision = decide_suppression(
            dispositions[i], cols["reviewed_on"][i], cols["review_amount"][i], cols["review_evidence"][i],
            cols["amount_at_risk"][i], cols["evidence_json"][i], as_of,
            days.get(cols["rule_id"][i], default_days),
        )
        suppressed[i], until[i], change[i] = decision.suppressed, decision.until, decision.change
    return suppressed, until, change


def _add_to_history(con: duckdb.DuckDBPyConnection, run: RunResult, findings: pa.Table, resolved: pa.Table) -> None:
    """A complete run's findings, resolved findings and first/last appearances."""
    outgoing = findings.append_column("run_id", pa.array([run.run_id] * findings.num_rows, pa.string()))
    with registered(con, outgoing=outgoing, resolved_now=resolved):
        con.execute(
            f"""INSERT INTO findings BY NAME
               SELECT run_id, finding_key, {finding_columns_sql('outgoing')}, status,
                      first_seen, suppressed, review_id, review, suppressed_until, review_change
               FROM outgoing"""
        )
        con.execute("INSERT INTO resolved BY NAME SELECT ? AS run_id, * FROM resolved_now", [run.run_id])
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


def _counts(run: RunResult, findings: pa.Table, resolved: pa.Table) -> dict[str, dict[str, int]]:
    """rule_id -> {findings, new, recurring, resolved, suppressed}, every rule of the run included."""
    counts: dict[str, dict[str, int]] = {}

    def slot(rule_id: str) -> dict[str, int]:
        return counts.setdefault(rule_id, {"findings": 0, "new": 0, "recurring": 0, "resolved": 0, "suppressed": 0})

    for r in run.rules:
        slot(r.rule_id)
    for rule_id, status, supp in zip(findings.column("rule_id").to_pylist(), findings.column("status").to_pylist(),
                                     findings.column("suppressed").to_pylist()):
        c = slot(rule_id)
        c["findings"] += 1
        c[status] += 1
        c["suppressed"] += int(bool(supp))
    for rule_id in resolved.column("rule_id").to_pylist():
        slot(rule_id)["resolved"] += 1
    return counts
