"""Rules on the change: a rule's findings on this delivery from its findings on the last one.

For a subject-local rule (crosscheck.rules.incremental) whose findings were kept on the
table states of an earlier run (crosscheck.cache.findings), the findings of this run are
the kept ones, minus the subjects the change touches, plus the rule run for those subjects
only. The touched subjects are read off the rows that differ between the kept table states
and this run's (crosscheck.cache.tables: a table that grew by a month differs by its new
segment; a snapshot delivered again by the rows of its new segment that are not in the old
one, and those of the old not in the new), each taken to its subject by the rule's own
restriction of that table. A rule that reads the as-of date runs whole when the date moved.

Any rule runs whole, and its findings are kept for the next run, when it is not
subject-local (the reason is in `crosscheck rules show`), when nothing was kept for it
(first run, rule or parameters or a table's declaration changed, a segment evicted), when a
table it reads was not loaded from table states, or on an engine without the canonical
cache (Spark). Either way its findings equal a cold run's (tests/test_incremental_rules.py).
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from crosscheck.cache.findings import FindingsMemory, Kept, findings_key
from crosscheck.cache.layout import CacheLayout
from crosscheck.cache.parts import declaration
from crosscheck.cache.tables import HASH, RAW_HASH, attach_segments, union_sql
from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.engines import dialect
from crosscheck.results import FINDINGS_SCHEMA, RuleOutcome, TableLoad
from crosscheck.rules.incremental import ANALYSIS, TOUCHED, Plan, analyse, touched_sql
from crosscheck.rules.runner import rule_query, run_rule, run_rule_on_change

log = logging.getLogger("crosscheck.pipeline.incremental")

#: What identifies a row of a table state: its canonical values (`__h`), its delivered
#: values (`__rh`) and where it was read (a row moved to another line is a changed row).
ROW_IDENTITY = (HASH, RAW_HASH, "source_file", "source_line")


class RulesOnChange:
    def __init__(self, layout: CacheLayout, catalog, engine: str, checkpoint: Checkpoint = carry_on):
        self.memory = FindingsMemory(layout, checkpoint)
        self.catalog, self.engine = catalog, engine
        self.kept: dict[str, tuple[str, Kept | None]] = {}      # rule id -> (key, what was kept)
        self.deltas: dict[tuple, str] = {}                     # (table, old, new, columns) -> temp table
        self.how: dict[str, str] = {}                          # rule id -> how it ran (logged, summary)

    def _key(self, rule, compiled, params: dict[str, Any]) -> str:
        decls = {t: declaration(self.catalog.connectors[self.catalog.source_of(t)], t) for t in sorted(compiled.tables)}
        return findings_key({"rule": rule.id, "version": rule.version, "sql": compiled.sql(), "parameters": params,
                             "engine": self.engine, "tables": decls, "analysis": ANALYSIS})

    def prepare(self, con, rules: list, available: dict[str, str | None], overrides: dict) -> None:
        """Before the connection is locked: find each rule's kept findings and attach the table
        segments they were computed on (read when the changed rows are looked for)."""
        for rule in rules:
            params = rule.spec.bind(overrides.get(rule.id))
            compiled, _, stopped = rule_query(rule, available, params)
            if stopped is not None:
                continue
            key = self._key(rule, compiled, params)
            kept = self.memory.read(rule.id, key)
            if kept is not None:
                try:
                    attach_segments(con, [Path(s) for segments in kept.tables.values() for s in segments])
                except Exception as exc:  # noqa: BLE001 - a segment that cannot be read: the rule runs whole
                    log.warning("%s: kept findings not used: %s", rule.id, exc)
                    kept = None
            self.kept[rule.id] = (key, kept)

    def run(self, engine, con, rule, *, available: dict[str, str | None], as_of: date, overrides: dict | None,
            shared_views: dict | None, stand_ins: dict | None, loads: list[TableLoad]) -> tuple[RuleOutcome, pa.Table]:
        """The rule's outcome and findings: on the change where it can, else whole; kept for the next run."""
        params = rule.spec.bind(overrides)
        compiled, _, stopped = rule_query(rule, available, params)
        key, kept = self.kept.get(rule.id, (None, None))
        segments = {t.table: t.segments for t in loads if t.usable}
        tables = {t: list(segments.get(t) or []) for t in (compiled.tables if compiled is not None else ())}
        plan = None
        if stopped is None and kept is not None:   # analysed once, then read from what was kept
            plan = Plan.from_json(kept.plan) if kept.plan else \
                Plan.of(analyse(compiled, self.catalog, opted_out=not rule.spec.incremental))
        why = self._why_whole(stopped, kept, plan, tables, as_of)
        standing = sorted(set(stand_ins or ()) & set(tables))
        if why is None and standing:  # rows standing in for a table not delivered are no table state
            why = f"it reads {', '.join(standing)}, not delivered"
        if why is None:
            try:
                outcome, findings = self._on_change(engine, con, rule, plan, kept, tables, available, as_of, overrides)
            except Exception as exc:  # noqa: BLE001 - never worse than running it whole
                why = f"on the change failed ({type(exc).__name__}: {exc}); run whole"
                log.warning("%s: %s", rule.id, why)
        if why is not None:
            self.how[rule.id] = f"whole: {why}"
            outcome, findings = run_rule(engine, rule, available=available, as_of=as_of, overrides=overrides,
                                         shared_views=shared_views, stand_ins=stand_ins)
        log.debug("%s: %s", rule.id, self.how[rule.id])  # the run summary says it too
        if outcome.status == "ok" and key is not None and tables and all(tables.values()):
            try:
                self.memory.keep(rule.id, key, findings.cast(FINDINGS_SCHEMA), as_of, tables,
                                 plan.to_json() if plan is not None else None)
            except OSError as exc:
                from crosscheck.errors import is_fault

                if is_fault(exc):
                    raise
                log.warning("%s: findings not kept for the next delivery: %s", rule.id, exc)
        return outcome, findings

    @staticmethod
    def _why_whole(stopped, kept: Kept | None, plan: Plan | None, tables: dict, as_of: date) -> str | None:
        if stopped is not None:
            return stopped.status
        if kept is None:
            return "no findings kept on an earlier delivery"
        if plan.reason is not None:
            return plan.reason
        if not all(tables.values()) or set(kept.tables) != set(tables):
            return "a table it reads was not loaded from kept table states"
        if plan.uses_as_of and kept.as_of != as_of:
            return f"it reads the as-of date, which moved ({kept.as_of} -> {as_of})"
        return None

    def _on_change(self, engine, con, rule, plan: Plan, kept: Kept, tables: dict, available, as_of,
                   overrides) -> tuple[RuleOutcome, pa.Table]:
        reads = plan.reads()
        parts = []
        for r in plan.restrictions:
            old, new = kept.tables[r.table], tables[r.table]
            if old != new:
                parts.append(touched_sql(r, self.delta(con, r.table, old, new, sorted(reads[r.table]))))
        keys = " UNION ALL ".join(dialect.transpile(p, "duckdb", pretty=False) for p in parts) or \
            f"SELECT CAST(NULL AS {plan.key_type}) AS key"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS SELECT DISTINCT CAST(key AS {plan.key_type}) AS key "
                    f"FROM ({keys}) WHERE key IS NOT NULL")
        touched = con.execute(f"SELECT count(*) FROM {TOUCHED}").fetchall()[0][0]
        con.register("__cc_kept", kept.findings)
        try:
            still = con.sql(f"SELECT * FROM __cc_kept WHERE subject NOT IN (SELECT CAST(key AS VARCHAR) FROM {TOUCHED})"
                            ).to_arrow_table()
        finally:
            con.unregister("__cc_kept")
        outcome, findings = run_rule_on_change(engine, rule, plan.tree(), still, available=available,
                                               as_of=as_of, overrides=overrides)
        self.how[rule.id] = f"on the change: {touched:,} subject(s) run again, {still.num_rows:,} finding(s) kept"
        return outcome, findings

    def delta(self, con, table: str, old: list[str], new: list[str], columns: list[str]) -> str:
        """A temp table of the rows of `table` in one state and not the other (`columns` of them)."""
        memo = (table, tuple(old), tuple(new), tuple(columns))
        if memo not in self.deltas:
            gone = [Path(s) for s in old if s not in new]
            came = [Path(s) for s in new if s not in old]
            cols = ", ".join([*(f'"{c}"' for c in columns), *ROW_IDENTITY])
            relation = f'"{table}"'
            if not gone or not came:
                body = union_sql(con, came or gone, relation, cols)
            else:
                a, b = union_sql(con, came, relation, cols), union_sql(con, gone, relation, cols)
                body = f"(({a}) EXCEPT ({b})) UNION ALL (({b}) EXCEPT ({a}))"
            name = f"__cc_changed_{len(self.deltas)}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {body}")
            self.deltas[memo] = name
        return self.deltas[memo]
