"""One run: the pipeline that `crosscheck run`, the nightly flow and the ad-hoc flow all call.

    result = execute_run(RunRequest(extracts=..., as_of=...), config)             # the CLI
    result = RunSession(request, config).execute(step=prefect_task)                # the flows

A run goes through its steps in this order:
- plan (crosscheck.pipeline.plan, when the session is made): rules, delivery and engine
  checked; bad input is a RunError and nothing is opened;
- begin: noted in the store's journal; runs that never finished are recorded as failed;
- open: the run's DuckDB, the delivery's cache entry and the files' hashes
  (crosscheck.pipeline.workspace), and the worker that computes the expectations;
- load-<table>, for each canonical table; check-districts;
- rule-<id>, for each selected rule;
- write-reports: the run recorded in the findings store and every report file written in
  one transaction (if the reports cannot be written, the store keeps nothing of the run);
- send-alerts.
`step(name, fn, *args)` runs each one: a plain call for the CLI, a Prefect task named
`load-<table>`, `rule-<id>`, ... for the flows. The policy (retries of a source folder that
cannot be listed, what is a fault, which runs change the history) lives here and nowhere
else; nothing here knows about Prefect. A `Checkpoint` (crosscheck.checkpoints) is called
at the moments a test may stop the run at.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.config import ProjectConfig
from crosscheck.engines import engine_class, open_engine
from crosscheck.pipeline.lifecycle import RunLife
from crosscheck.pipeline.outcomes import broken_outcome, mark_partial
from crosscheck.pipeline.plan import RunError, RunPlan, RunRequest, parse_as_of, parse_overrides
from crosscheck.pipeline.workspace import Workspace
from crosscheck.privacy.files import private_dirs
from crosscheck.reports.figures import listed_mask, run_figures, suppressed_in, without_rules
from crosscheck.connectors.validation import Checks
from crosscheck.results import FINDINGS_SCHEMA, QUARANTINE_SCHEMA, REVIEW_SCHEMA, RuleOutcome, RunResult, TableLoad

__all__ = ["RunError", "RunRequest", "RunSession", "Step", "call", "execute_run", "parse_as_of", "parse_overrides"]

log = logging.getLogger("crosscheck.pipeline.run")

#: How a step of the pipeline is run: step(name, fn, *args) -> fn(*args).
Step = Callable[..., Any]


def _process_age() -> float:
    """Seconds since this process started (Linux: /proc), else since crosscheck.pipeline.run was imported."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return round(time.perf_counter() - _IMPORTED, 3)


_IMPORTED = time.perf_counter()


def call(name: str, fn: Callable, *args: Any) -> Any:
    """The CLI's way of running a step: just call it."""
    return fn(*args)


class RunSession:
    """One run's state and steps (see the module docstring); `execute` runs them in order."""

    def __init__(self, request: RunRequest, config: ProjectConfig | None = None, *,
                 checkpoint: Checkpoint = carry_on):
        self.config = config or ProjectConfig.load()
        self.request = request
        self.plan = RunPlan.make(request, self.config)      # RunError for bad input; nothing opened yet
        self.result = self.plan.result
        self.checkpoint = checkpoint
        self.life = RunLife(self.config, self.store_path, self.result, self.request.alerts)
        self._workspace: Workspace | None = None
        self.checks = None              # crosscheck.connectors.validation.Checks, opened with the workspace
        self.on_change = None           # crosscheck.pipeline.incremental.RulesOnChange, with the canonical cache
        self._findings: list[pa.Table] = []
        self._review: list[dict] = []       # the rules' review candidates (待人工核实)
        self._rule_engine = None        # crosscheck.engines.Engine, opened before the first rule
        self._failed_sources: dict[str, str] = {}  # source whose folder could not be listed -> why

    # -- the pipeline -----------------------------------------------------------------
    def execute(self, step: Step = call) -> RunResult:
        """Every step in order. Raises RunFailed (recorded, notice sent) when the run cannot finish."""
        seconds = self.result.seconds

        def timed(name: str, fn: Callable, *args: Any, through: Step = step) -> Any:
            started = time.perf_counter()
            try:
                return through(name, fn, *args)
            finally:
                seconds[name] = round(time.perf_counter() - started, 3)

        try:
            self.begin()
            self.open()
            seconds["start_to_first_read"] = _process_age()
            for table in self.plan.tables:
                timed(f"load-{table}", self.load_table, table)
            timed("check-districts", self.check_districts, through=call)
            for rule_id in self.plan.selected:
                timed(f"rule-{rule_id}", self.run_rule, rule_id)
            result = step("write-reports", self.finish)
        except RunError:
            self.close()
            self.life.end()
            raise
        except BaseException as exc:
            self.close()
            failure = self.life.fail(exc)
            if failure is exc:
                raise
            raise failure from exc
        step("send-alerts", self.send_alerts)  # after the store commit and the reports; never raises
        return result

    @property
    def store_path(self) -> Path:
        return Path(self.request.store) if self.request.store else self.config.store

    def begin(self) -> None:
        """Note the run (crosscheck.pipeline.lifecycle): runs that never finished are recorded as failed,
        and the scheduled nights missed since the last complete run are said."""
        if self.request.record:
            self.life.begin()

    def load_table(self, table: str) -> TableLoad:
        """Load one canonical table: from the delivery's cache entry, else from its files.
        A source folder that cannot be listed is retried, then the table is recorded as
        failed; faults (disk full, memory) stop the run."""
        connector = self.plan.catalog.connectors[self.plan.catalog.source_of(table)]
        self.result.loads = [t for t in self.result.loads if t.table != table]  # a retry replaces
        self.workspace.tables_changed()
        if self._rule_engine is not None:  # reloaded after rules ran: offered to the engine again
            self._rule_engine.forget_table(table)
        load = self._load_with_retries(connector, table)
        load.unread = self.plan.inventory.unread_like(table)
        load.settle()
        self.result.loads.append(load)
        self.checkpoint("load")
        return load

    def _load_with_retries(self, connector, table: str) -> TableLoad:
        """The table from the cache entry or its files; a source folder that cannot be listed is
        tried `load_retries` more times, then every table of that source is failed."""
        from crosscheck.connectors import load_table
        from crosscheck.errors import is_fault

        if connector.source in self._failed_sources:  # its folder failed for another table: not tried again
            return TableLoad(connector.source, table, "failed", self._failed_sources[connector.source])
        waits = [self.config.load_retry_wait * 4 ** i for i in range(self.config.load_retries)]
        for attempt, wait in enumerate([*waits, None], 1):
            try:
                ws = self.workspace
                if ws.cached:
                    return ws.attach(table)  # loaded and validated before: no re-parsing
                ws.load_into()
                return load_table(ws.con, Path(self.request.extracts), connector, table, known_hashes=ws.known_hashes,
                                  parts=ws.parts, states=ws.states, checks=self.checks)
            except OSError as exc:
                if is_fault(exc):
                    raise
                if wait is None:
                    why = f"{connector.folder}/: load failed after {attempt} tries: {exc}"
                    self._failed_sources[connector.source] = why
                    return TableLoad(connector.source, table, "failed", why)
                log.warning("%s: %s; trying again in %.0f s", table, exc, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def check_districts(self) -> None:
        """Districts asked for must be in the data: RunError listing the districts present."""
        wanted = self.request.districts
        if not wanted:
            return
        present = self.districts_present()
        unknown = [d for d in wanted if d not in present]
        if unknown:
            raise RunError(f"--districts: {', '.join(unknown)} not in this delivery; districts present: "
                           + (", ".join(sorted(present)) or "none (no loaded table has a district column)"))

    def districts_present(self) -> set[str]:
        found: set[str] = set()
        for load in self.result.loads:
            if load.usable and "district" in self.plan.catalog.columns(load.table):
                found.update(r[0] for r in self.con.execute(
                    f'SELECT DISTINCT district FROM "{load.table}" WHERE district IS NOT NULL').fetchall())
        return found

    @property
    def available(self) -> dict[str, str | None]:
        """Canonical table -> None if rules may read it, else why not."""
        status: dict[str, str | None] = {t: "source not loaded" for t in self.plan.catalog.tables}
        for load in self.result.loads:
            status[load.table] = None if load.usable else (load.reason or load.status)
        return status

    def run_rule(self, rule_id: str) -> RuleOutcome:
        from crosscheck.rules import run_rule

        if rule_id in self.plan.broken:
            outcome = broken_outcome(rule_id, self.plan.broken[rule_id], self.plan.ruleset.rules.get(rule_id))
        else:
            con = self.rule_engine()
            self.lock_down()
            rule = self.plan.ruleset[rule_id]
            args = dict(available=self.available, as_of=self.request.as_of,
                        overrides=self.request.overrides.get(rule_id), shared_views=self.workspace.shared_views,
                        stand_ins={t.table: t.stand_in for t in self.result.loads if t.stand_in is not None})
            if self.on_change is not None:  # from the findings kept on an earlier delivery, where it can
                outcome, findings = self.on_change.run(con, self.con, rule, loads=self.result.loads, **args)
            else:
                outcome, findings = run_rule(con, rule, **args)
            if outcome.status == "ok":
                mark_partial(outcome, rule, self.result.loads)
            if findings.num_rows:
                self._findings.append(findings.cast(FINDINGS_SCHEMA))
            self._review += [{"rule_id": rule_id, **row} for row in outcome.review_rows]
            outcome.review_rows = []
        self.result.rules.append(outcome)
        self.checkpoint("rules")
        return outcome

    def finish(self) -> RunResult:
        """Record the run in the findings store and write every report file, in one
        transaction: if the reports cannot be written, the store keeps nothing of the run."""
        from crosscheck.store import Store

        result = self.collect()
        if not self.request.record:
            self.write_reports(result.findings)
            return result
        with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
            with store.recording(result, suppression_days=self.plan.ruleset.suppression_days,
                                 checkpoint=self.checkpoint) as recorded:
                self.label_with_history(recorded, store)
                self.write_reports(recorded.findings)
        self.life.end()
        return result

    def collect(self) -> RunResult:
        """The rules' findings and the quarantine, read off the run's DuckDB, which is closed then."""
        result = self.result
        self.settle()
        result.findings = pa.concat_tables(self._findings) if self._findings else FINDINGS_SCHEMA.empty_table()
        result.review = pa.Table.from_pylist(self._review, schema=REVIEW_SCHEMA)
        tables = {row[0] for row in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "quarantine" in tables:
            result.quarantine = self.con.sql(
                'SELECT * FROM quarantine ORDER BY source, "table", file, line'
            ).to_arrow_table().cast(QUARANTINE_SCHEMA)
        self.close()
        result.finished_at = datetime.now(timezone.utc)
        return result

    @property
    def draft_rules(self) -> set[str]:
        """Draft rules run in shadow: recorded, never listed."""
        return {r.rule_id for r in self.result.rules if r.draft}

    def label_with_history(self, recorded, store) -> None:
        """What the findings store says of this run: resolved findings, counts, precision, overdue
        reviews, workbench deadlines, and the shadow rules' counts."""
        result, draft = self.result, self.draft_rules
        result.resolved = without_rules(recorded.resolved, draft)
        result.history = {"counts": recorded.counts, "precision": recorded.precision,
                          "overdue": [o for o in self._overdue(store, recorded) if o["rule_id"] not in draft],
                          "overdue_days": self.config.alerts.overdue_days,
                          "deadlines": self._deadlines(store),
                          "shadow": {r: recorded.counts.get(r, {}).get("findings", 0) for r in sorted(draft)}}

    def write_reports(self, findings: pa.Table) -> None:
        """Every report file of the run, from its findings (labelled by the history when recorded)."""
        from crosscheck.reports import write_reports

        result = self.result
        live = without_rules(findings, self.draft_rules)
        result.figures = run_figures(result.rules, live, self.request.districts, result.resolved)
        result.findings = self._for_reviewers(live)
        result.suppressed_findings = suppressed_in(live, self.request.districts)
        out = Path(result.out_dir)
        private_dirs(out)
        write_reports(result, out, mask=result.masked, checkpoint=self.checkpoint)

    def _overdue(self, store, recorded) -> list[dict]:
        """Findings of this run unreviewed for [alerts] overdue_days or more (masked; see crosscheck.reports.alerts)."""
        from crosscheck.reports.alerts import overdue_entries

        rows = store.overdue(recorded.run_id, self.request.as_of, self.config.alerts.overdue_days)
        return overdue_entries(rows, self.request.districts, self.result.personal_kinds)

    def _deadlines(self, store) -> list[dict]:
        """Workbench clues whose deadline is near (yellow) or past (red), masked: the reminders
        carry them (crosscheck.reports.alerts)."""
        from crosscheck.casework import Settings

        store.casework.settings = Settings.of(self.config)
        rows = store.casework.due_clues()
        districts = self.request.districts
        return [r for r in rows if not districts or r["district"] in districts]

    def send_alerts(self) -> list[dict]:
        """After finish(): send the digests (crosscheck.reports.alerts), record the outcomes in
        result.alerts and rewrite summary.json and report.html with them. Never raises:
        an alert that cannot be sent is recorded as failed and the run stands."""
        from crosscheck.reports.alerts import send_alerts

        result = self.result
        try:
            result.alerts += send_alerts(result, self.config.alerts, self.request.alerts,
                                         reports_root=self.config.reports_dir)
        except Exception as exc:  # noqa: BLE001 - sending never breaks a run
            result.alerts.append({"channel": "—", "name": "", "kind": "new", "status": "failed", "findings": 0,
                                  "tries": 0, "error": f"alerts: {type(exc).__name__}: {exc}"[:300], "reason": ""})
        if result.alerts:
            try:
                from crosscheck.reports import rewrite_reports

                rewrite_reports(result, Path(result.out_dir), mask=result.masked)
            except Exception as exc:  # noqa: BLE001
                log.warning("alerts: could not add the alert outcomes to the report: %s", exc)
        return result.alerts

    def _for_reviewers(self, findings: pa.Table) -> pa.Table:
        """What reviewers are shown: not suppressed, in the requested districts."""
        return findings.filter(listed_mask(findings, self.request.districts))

    # -- where the tables live (crosscheck.pipeline.workspace) ---------------------------------
    def open(self) -> None:
        """The run's DuckDB, the delivery's canonical cache entry (its files hashed), and the
        worker that computes the tables' expectations beside the loading."""
        if self._workspace is not None:
            return
        self._workspace = Workspace(self.config, Path(self.request.extracts), self.plan.catalog,
                                    [f.path for f in self.plan.inventory.read],
                                    cached=engine_class(self.plan.engine).uses_canonical_cache, checkpoint=self.checkpoint,
                                    verify=self.request.verify)
        self.checks = Checks(background=not self._workspace.cached, warm=not self._workspace.cached)
        if self._workspace.states is not None:
            from crosscheck.pipeline.incremental import RulesOnChange

            self.on_change = RulesOnChange(self._workspace.states.layout, self.plan.catalog, self.plan.engine,
                                           self.checkpoint)
            self.result.on_change = self.on_change.how

    @property
    def workspace(self) -> Workspace:
        self.open()
        return self._workspace

    @property
    def con(self):
        return self.workspace.con

    @property
    def cache(self):
        return self.workspace.cache

    @property
    def cache_used(self) -> bool:
        return self.workspace.cache_used

    def lock_down(self) -> None:
        """Before the first rule (see Workspace.lock_down); the tables' expectations are settled
        later (`collect`): rules never wait for them."""
        self.open()
        if self.on_change is not None and not self.workspace.locked:
            self.on_change.prepare(self.con, [self.plan.ruleset[r] for r in self.plan.selected if r not in self.plan.broken],
                                   self.available, self.request.overrides)
        self.workspace.lock_down(self.result.loads)

    def settle(self) -> None:
        """Every table's expectations done; then the delivery's tables are kept for the next run."""
        self.checks.settle()
        self.workspace.keep_loaded(self.result.loads)

    def rule_engine(self):
        """What rules run on (crosscheck.engines), opened on first use; the loaded canonical
        tables are offered to it before the DuckDB is locked."""
        if self._rule_engine is None:
            try:
                self._rule_engine = open_engine(self.plan.engine, self.config, self.con, self.result.run_id)
            except RuntimeError as exc:  # the engine cannot start (e.g. crosscheck.engines.spark.SparkUnavailable)
                raise RunError(f"--engine {self.plan.engine}: {exc}") from exc
        self._rule_engine.offer_tables(self.con, self.available)
        return self._rule_engine

    def close(self) -> None:
        if self.checks is not None:
            self.checks.close()
        if self._rule_engine is not None:
            self._rule_engine.close()
            self._rule_engine = None
        if self._workspace is not None:
            self._workspace.close()


def execute_run(request: RunRequest, config: ProjectConfig | None = None, step: Step = call, *,
                checkpoint: Checkpoint = carry_on) -> RunResult:
    return RunSession(request, config, checkpoint=checkpoint).execute(step)
