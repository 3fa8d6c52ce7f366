"""Reading the history: precision per rule, runs and their detail, the run of a delivery,
the last complete run, overdue findings, and one finding's history."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import pyarrow as pa

from crosscheck.store.db import StoreError, registered, rows
from crosscheck.store.keys import normalise_key

#: The newest complete, not failed run whose files and rules (one "name:hash" a line) are these.
RUN_OF_DELIVERY = """
    WITH per_run AS (
        SELECT run_id, string_agg(file || ':' || sha256, chr(10) ORDER BY file) AS files
        FROM (SELECT DISTINCT run_id, file, sha256 FROM run_files WHERE status <> 'unread') GROUP BY run_id
    ), rules AS (
        SELECT run_id, string_agg(rule_id || ':' || coalesce(version, ''), chr(10) ORDER BY rule_id) AS rules
        FROM run_rules GROUP BY run_id
    )
    SELECT r.run_id, r.as_of, r.started_at, r.finished_at, r.out_dir, r.status
    FROM runs r JOIN per_run p USING (run_id) JOIN rules USING (run_id)
    WHERE r.scope = 'complete' AND r.status <> 'failed' AND p.files = ? AND rules.rules = ?
    ORDER BY r.seq DESC LIMIT 1
"""

OVERDUE = """
    SELECT f.finding_key, f.rule_id, f.subject, f.person_id, f.name, f.district, f.severity,
           f.amount_at_risk, k.first_seen, date_diff('day', k.first_seen, ?::DATE) AS days_open
    FROM findings f JOIN finding_keys k ON k.finding_key = f.finding_key
    WHERE f.run_id = ? AND NOT coalesce(f.suppressed, false)
      AND k.first_seen <= ?::DATE - ?::INTEGER
      AND NOT EXISTS (SELECT 1 FROM reviewed_keys r WHERE r.finding_key = f.finding_key)
    ORDER BY k.first_seen, f.rule_id, f.amount_at_risk DESC NULLS LAST, f.finding_key
"""

FINDING_COUNTS_PER_RULE = """
    SELECT rule_id, count(*) AS findings,
           count(*) FILTER (WHERE status = 'new') AS new,
           count(*) FILTER (WHERE status = 'recurring') AS recurring,
           count(*) FILTER (WHERE suppressed) AS suppressed
    FROM findings WHERE run_id = ? GROUP BY rule_id
"""


class HistoryQueries:
    """The store's read-only methods (use the store's connection; they work inside
    record_run's transaction too)."""

    def precision(self) -> dict[str, dict[str, Any]]:
        """Per rule, over the current disposition of every reviewed finding (in the casework
        database): confirmed / (confirmed + false_positive + explained), with the counts
        and the total recovered on confirmed findings. precision is None when
        nothing of the rule has been reviewed."""
        return self.casework.precision()

    def run_of_delivery(self, files: dict[str, str], rule_versions: dict[str, str]) -> dict | None:
        """The newest complete run that finished on exactly these files (path -> SHA-256) with
        exactly these rules (id -> version), if any: the delivery is then processed."""
        wanted_files = "\n".join(f"{f}:{h}" for f, h in sorted(files.items()))
        wanted_rules = "\n".join(f"{r}:{v}" for r, v in sorted(rule_versions.items()))
        found = rows(self.con, RUN_OF_DELIVERY, [wanted_files, wanted_rules])
        return found[0] if found else None

    def last_complete_run(self) -> dict | None:
        """The complete run (scope complete, not failed) that finished last, if any."""
        found = rows(self.con, """SELECT run_id, as_of, started_at, finished_at, status FROM runs
                                  WHERE scope = 'complete' AND status <> 'failed'
                                  ORDER BY finished_at DESC NULLS LAST, seq DESC LIMIT 1""")
        return found[0] if found else None

    def overdue(self, run_id: str, as_of: date, days: int) -> list[dict]:
        """Findings of run ``run_id`` still waiting for a reviewer: first seen at least
        ``days`` days before ``as_of``, not suppressed, and never given a disposition.
        Oldest first. (Works inside the transaction of `recording`.)"""
        with registered(self.con, reviewed_keys=self.casework.ever_reviewed()):
            return rows(self.con, OVERDUE, [as_of, run_id, as_of, int(days)])

    def runs(self, limit: int | None = None) -> list[dict]:
        """Recorded runs, newest first."""
        q = """SELECT run_id, as_of, started_at, finished_at, started_by, findings, new, recurring, resolved,
                      suppressed, amount_at_risk, status, scope, error, masked, code_version, git_describe
               FROM runs ORDER BY seq DESC"""
        if limit:
            q += f" LIMIT {int(limit)}"
        return rows(self.con, q)

    def resolve_run_id(self, run_id: str) -> str:
        """A run id, a unique prefix of one, or 'latest'."""
        if run_id == "latest":
            found = self.con.execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchall()
        else:
            found = self.con.execute(
                "SELECT run_id FROM runs WHERE run_id = ? OR starts_with(run_id, ?) ORDER BY seq", [run_id, run_id]
            ).fetchall()
            exact = [r for r in found if r[0] == run_id]
            found = exact or found
        if not found:
            raise StoreError(f"no run '{run_id}' in {self.path}")
        if len(found) > 1:
            raise StoreError(f"run '{run_id}' is ambiguous: {', '.join(r[0] for r in found[:5])}")
        return found[0][0]

    def run_detail(self, run_id: str) -> dict:
        """Everything recorded about one run: provenance, rules, loads, files, counts."""
        run_id = self.resolve_run_id(run_id)
        rules = rows(self.con, "SELECT * FROM run_rules WHERE run_id = ? ORDER BY rule_id", [run_id])
        for r in rules:
            try:
                r["parameters"] = json.loads(r["parameters"] or "{}")
            except ValueError:
                pass
        return {
            "run": rows(self.con, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0],
            "rules": rules,
            "loads": rows(self.con, "SELECT * EXCLUDE (run_id) FROM run_loads WHERE run_id = ? ORDER BY source, table_name", [run_id]),
            "files": rows(self.con, "SELECT * EXCLUDE (run_id) FROM run_files WHERE run_id = ? ORDER BY source, table_name, file", [run_id]),
            "counts": self._counts_of_run(run_id, [r["rule_id"] for r in rules]),
        }

    def _counts_of_run(self, run_id: str, rule_ids: list[str]) -> dict[str, dict[str, int]]:
        """rule_id -> {findings, new, recurring, suppressed, resolved} as recorded for the run."""
        per_rule = {r["rule_id"]: r for r in rows(self.con, FINDING_COUNTS_PER_RULE, [run_id])}
        resolved = dict(self.con.execute(
            "SELECT rule_id, count(*) FROM resolved WHERE run_id = ? GROUP BY rule_id", [run_id]).fetchall())
        counts = {}
        for rid in sorted(set(rule_ids) | set(per_rule) | set(resolved)):
            c = per_rule.get(rid, {})
            counts[rid] = {k: int(c.get(k, 0) or 0) for k in ("findings", "new", "recurring", "suppressed")}
            counts[rid]["resolved"] = int(resolved.get(rid, 0))
        return counts

    def run_findings(self, run_id: str) -> pa.Table:
        return self._run_table("findings", run_id)

    def resolved_in(self, run_id: str) -> pa.Table:
        return self._run_table("resolved", run_id)

    def _run_table(self, table: str, run_id: str) -> pa.Table:
        run_id = self.resolve_run_id(run_id)
        return self.con.sql(
            f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY rule_id, finding_key", params=[run_id]
        ).to_arrow_table()

    def finding(self, key: str) -> dict:
        """One finding's history: key facts, appearances, reviews, outcomes."""
        key = normalise_key(key)
        info = rows(self.con, "SELECT * FROM finding_keys WHERE finding_key = ?", [key])
        if not info:
            raise StoreError(f"unknown finding key '{key}'")
        return {
            "key": info[0],
            "appearances": rows(
                self.con,
                """SELECT f.run_id, r.as_of, f.status, f.suppressed, f.review, f.amount_at_risk, f.evidence, f.review_change
                   FROM findings f JOIN runs r ON r.run_id = f.run_id WHERE f.finding_key = ? ORDER BY r.seq""",
                [key],
            ),
            "resolved": rows(self.con, "SELECT run_id, last_seen FROM resolved WHERE finding_key = ? ORDER BY run_id", [key]),
            "reviews": self.casework.reviews_of(key),
            "outcomes": self.casework.outcomes_of(key),
        }
