"""One run: the pipeline that `crosscheck run`, the nightly flow and the ad-hoc flow all call.

    result = execute_run(RunRequest(extracts=..., as_of=...), config)             # the CLI
    result = RunSession(request, config).execute(step=prefect_task)                # the flows

`RunSession.execute` is the sequence of steps, in order: begin (journal; runs that
never finished are recorded as failed), load each canonical table, check the
districts asked for, run each rule, finish (record in the findings store and
write every report file), send the alerts. `step(name, fn, *args)` runs each one:
a plain call for the CLI, a Prefect task named `load-<table>`, `rule-<id>`, ... for
the flows. The policy (retries of a source folder that cannot be listed, what is
a fault, which runs change the history) lives here and nowhere else; nothing here
knows about Prefect.
"""
from __future__ import annotations

import getpass
import logging
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow as pa

from crosscheck.catalog import Catalog, load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.engines import engine_class, open_engine, unavailable_reason
from crosscheck.fsutil import private_dirs
from crosscheck.results import FINDINGS_SCHEMA, QUARANTINE_SCHEMA, RuleOutcome, RunResult, TableLoad
from crosscheck.testhooks import pause

log = logging.getLogger("crosscheck.run")

#: How a step of the pipeline is run: step(name, fn, *args) -> fn(*args).
Step = Callable[..., Any]


def call(name: str, fn: Callable, *args: Any) -> Any:
    """The CLI's way of running a step: just call it."""
    return fn(*args)


class RunError(ValueError):
    """The run cannot start: bad input. The message names the file, folder or value and the problem."""


class RunFailed(Exception):
    """The run started but could not finish (disk full, memory, an unexpected error). It is
    recorded in the findings store as failed and a notice went to the alert channels;
    the message is one line naming the cause and the path."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class RunRequest:
    extracts: Path
    as_of: date
    out: Path | None = None
    rules: list[str] | None = None            # None: every enabled rule
    districts: list[str] | None = None        # None: findings in every district
    mask: bool = True
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    store: Path | None = None                 # None: the project's store
    record: bool = True                       # False: compare with nothing, record nothing
    alerts: list[str] = field(default_factory=list)  # Apprise URLs alerted besides crosscheck.toml's [alerts]
    engine: str | None = None                 # where rules run: duckdb or spark; None: crosscheck.toml's engine


def parse_as_of(value: str | date | None, option: str = "--as-of") -> date:
    """The as-of date from YYYY-MM-DD (today when not given); RunError otherwise."""
    if value is None or value == "":
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RunError(f"{option} '{value}': expected a date as YYYY-MM-DD") from None


def parse_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """`rule.param=value` strings -> {rule: {param: value}} (values typed later by the rule)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        rule_id, dot, param = key.strip().partition(".")
        if not sep or not dot or not rule_id or not param:
            raise RunError(f"--param '{item}': expected RULE_ID.PARAMETER=VALUE")
        out.setdefault(rule_id, {})[param] = value.strip()
    return out


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def connect(config: ProjectConfig, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to disk and never downloads extensions."""
    settings = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": config.duckdb_memory_limit,
        "temp_directory": str(spill_dir),
    }
    if config.duckdb_threads:
        settings["threads"] = config.duckdb_threads
    con = duckdb.connect(":memory:", config=settings)
    con.execute("SET enable_progress_bar = false")
    return con


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No external access (files, databases, extensions) and the configuration locked."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def check_delivery(extracts: Path, catalog: Catalog) -> None:
    """``extracts`` is one delivery: a folder holding at least one source folder. A folder of
    deliveries (or any other folder) is refused, naming the folders expected and, where
    one of its sub-folders is a delivery, suggesting it."""
    if not extracts.is_dir():
        raise RunError(f"{extracts}: extracts folder not found")
    known = sorted({c.folder for c in catalog.connectors.values()})
    try:
        children = sorted(p for p in extracts.iterdir() if p.is_dir())
    except OSError as exc:
        raise RunError(f"{extracts}: cannot list the extracts folder: {exc.strerror or exc}") from None
    if any(p.name in known for p in children):
        return
    deliveries = [p for p in children if any((p / k).is_dir() for k in known)]
    hint = ""
    if deliveries:
        names = ", ".join(p.name for p in deliveries[-5:])
        hint = (f"; it holds {len(deliveries)} deliver{'y' if len(deliveries) == 1 else 'ies'} ({names}):"
                f" did you mean --extracts {deliveries[-1]}?")
    raise RunError(f"{extracts}: not a delivery: it has none of the source folders {', '.join(known)}{hint}")


class RunSession:
    """One run's state and steps (see the module docstring); `execute` runs them in order."""

    def __init__(self, request: RunRequest, config: ProjectConfig | None = None):
        from crosscheck.connectors.inventory import take_inventory
        from crosscheck.rules.loader import collect_ruleset
        from crosscheck.yamlio import ConfigError

        self.config = config or ProjectConfig.load()
        self.request = request
        extracts = Path(request.extracts)
        try:
            self.catalog: Catalog = load_catalog(self.config.connectors_dir)
        except ConfigError as exc:
            raise RunError(str(exc)) from exc
        check_delivery(extracts, self.catalog)
        self.ruleset, problems = collect_ruleset(self.config.rules_dir, self.catalog)
        self.broken = broken_rules(self.ruleset, problems)   # rule id -> why it cannot run (file:line: problem)
        self.rule_problems = [str(p) for p in problems]
        self.selected = self._select(request)
        self.engine = request.engine or self.config.engine   # its name; the engine opens before the first rule
        try:
            reason = unavailable_reason(self.engine, self.config)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        if reason:
            raise RunError(f"--engine {self.engine}: {reason}")
        self.inventory = take_inventory(extracts, self.catalog)
        started = datetime.now(timezone.utc)
        run_id = new_run_id(started)
        out = Path(request.out) if request.out else self.config.reports_dir / run_id
        enabled = [r for r, rule in self.ruleset.rules.items() if rule.spec.status != "deprecated"] + [
            r for r in self.broken if r not in self.ruleset.rules]
        complete = set(self.selected) == set(enabled) and not request.districts and not request.overrides
        self.result = RunResult(
            run_id=run_id,
            as_of=request.as_of,
            extracts_root=str(extracts.resolve()),
            out_dir=str(out.resolve()),
            started_at=started,
            masked=request.mask,
            started_by=getpass.getuser(),
            unread=list(self.inventory.unread),
            scope="complete" if complete else "subset",
            request={"rules": request.rules, "districts": request.districts, "parameters": request.overrides,
                     "engine": self.engine},
            timezone=self.config.timezone,
            personal_headers=self.catalog.personal_headers(),
        )
        if request.as_of > date.today():
            self.result.warnings.append(f"as-of {request.as_of} is after today ({date.today()}): "
                                        "windows that end on the as-of date reach into the future")
        if self.rule_problems:
            self.result.warnings.append(
                f"{len(self.rule_problems)} problem(s) in rule files; rules that need them cannot run: "
                + "; ".join(self.rule_problems))
        self._spill = tempfile.TemporaryDirectory(prefix="crosscheck-spill-")
        self.con = connect(self.config, Path(self._spill.name))
        self._findings: list[pa.Table] = []
        self._shared_views: dict = {}   # views computed once per run (rules.runner.materialize_views)
        self._rule_engine = None        # crosscheck.engines.Engine, opened before the first rule
        self.cache = self._canonical_cache()
        self.load_db = None             # crosscheck.canonical_cache.LoadDatabase, once a table is parsed
        self.cache_used = False         # tables attached from the cache entry
        self.locked = False             # the DuckDB is locked down (no file access): rules may run
        self.journal = None             # crosscheck.store.journal.RunJournal while the run is noted there
        self.abandoned: list[RunResult] = []  # earlier runs found ended without finishing (recorded failed)
        self._failed_sources: dict[str, str] = {}  # source whose folder could not be listed -> why

    def _select(self, request: RunRequest) -> list[str]:
        """Rule ids to run, in the order asked (default: every enabled rule, and every rule file
        that does not load, which then fails visibly). RunError for unknown ids, a parameter of a
        rule not selected or of a broken rule, a value of the wrong type, or only broken rules."""
        only = list(dict.fromkeys(request.rules)) if request.rules else None
        for r in request.overrides:
            if r in self.broken:
                raise RunError(f"--param {r}: rule {r} cannot run: {self.broken[r]}")
        runnable = [r for r in only if r not in self.broken] if only else None
        if only and not runnable:
            raise RunError("; ".join(f"rule {r} cannot run: {self.broken[r]}" for r in only))
        try:
            ids = self.ruleset.select(runnable, request.overrides)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        ids = only or ids + [r for r in self.broken if r not in self.ruleset.rules]
        unselected = sorted(set(request.overrides) - set(ids))
        if unselected:
            raise RunError(f"--param for rule(s) not selected in this run: {', '.join(unselected)} "
                           f"(selected: {', '.join(ids)})")
        return ids

    # -- the pipeline -----------------------------------------------------------------
    def execute(self, step: Step = call) -> RunResult:
        """Every step in order. Raises RunFailed (recorded, notice sent) when the run cannot finish."""
        try:
            self.begin()
            for table in self.tables:
                step(f"load-{table}", self.load_table, table)
            self.check_districts()
            for rule_id in self.selected:
                step(f"rule-{rule_id}", self.run_rule, rule_id)
            result = step("write-reports", self.finish)
        except RunError:
            self.close()
            self.end_journal()
            raise
        except BaseException as exc:
            self.close()
            failure = self.fail(exc)
            if failure is exc:
                raise
            raise failure from exc
        step("send-alerts", self.send_alerts)  # after the store commit and the reports; never raises
        return result

    @property
    def tables(self) -> list[str]:
        """Canonical tables in load order (connector by connector)."""
        return [t for c in self.catalog.connectors.values() for t in c.tables]

    def rule_versions(self) -> dict[str, str]:
        """Selected rule id -> version (SHA-256 of its file; '' for a file that does not load)."""
        return {r: self.ruleset.rules[r].version if r in self.ruleset.rules else "" for r in self.selected}

    @property
    def store_path(self) -> Path:
        return Path(self.request.store) if self.request.store else self.config.store

    def begin(self) -> None:
        """Note the run in the store's journal; record runs that never finished as failed,
        and work out the scheduled nights missed since the last complete run."""
        if not self.request.record:
            return
        from crosscheck.store.journal import RunJournal

        self.journal = RunJournal(self.store_path)
        self.abandoned = self._record_abandoned(self.journal.ended())
        self.journal.start({"run_id": self.result.run_id, "as_of": self.result.as_of.isoformat(),
                            "extracts_root": self.result.extracts_root, "out_dir": self.result.out_dir,
                            "started_at": self.result.started_at.isoformat(), "started_by": self.result.started_by,
                            "scope": self.result.scope, "request": self.result.request})
        self.result.missed_schedules = self._missed_schedules()

    def load_table(self, table: str) -> TableLoad:
        """Load one canonical table: from the delivery's cache entry, else from its files.
        A source folder that cannot be listed is retried, then the table is recorded as
        failed; faults (disk full, memory) stop the run."""
        connector = self.catalog.connectors[self.catalog.source_of(table)]
        self.result.loads = [t for t in self.result.loads if t.table != table]  # a retry replaces
        self._shared_views.clear()  # tables change: views are computed afresh
        if self._rule_engine is not None:  # reloaded after rules ran: offered to the engine again
            self._rule_engine.forget_table(table)
        load = self._load_with_retries(connector, table)
        load.unread = self.inventory.unread_like(table)
        load.settle()
        self.result.loads.append(load)
        pause("load")
        return load

    def _load_with_retries(self, connector, table: str) -> TableLoad:
        """The table from the cache entry or its files; a source folder that cannot be listed is
        tried `load_retries` more times, then every table of that source is failed."""
        from crosscheck.connectors import load_table
        from crosscheck.faults import is_fault

        if connector.source in self._failed_sources:  # its folder failed for another table: not tried again
            return TableLoad(connector.source, table, "failed", self._failed_sources[connector.source])
        waits = [self.config.load_retry_wait * 4 ** i for i in range(self.config.load_retries)]
        for attempt, wait in enumerate([*waits, None], 1):
            try:
                if self.cache is not None and self.cache.complete:
                    self.cache_used = True
                    return self.cache.attach(self.con, [table])[0]  # loaded and validated before: no re-parsing
                self._load_database().begin(self.con)
                return load_table(self.con, Path(self.request.extracts), connector, table,
                                  known_hashes=self.cache.hashes if self.cache is not None else None)
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
            if load.usable and "district" in self.catalog.columns(load.table):
                found.update(r[0] for r in self.con.execute(
                    f'SELECT DISTINCT district FROM "{load.table}" WHERE district IS NOT NULL').fetchall())
        return found

    @property
    def available(self) -> dict[str, str | None]:
        """Canonical table -> None if rules may read it, else why not."""
        status: dict[str, str | None] = {t: "source not loaded" for t in self.catalog.tables}
        for load in self.result.loads:
            status[load.table] = None if load.usable else (load.reason or load.status)
        return status

    def run_rule(self, rule_id: str) -> RuleOutcome:
        from crosscheck.rules import run_rule

        if rule_id in self.broken:
            outcome = broken_outcome(rule_id, self.broken[rule_id], self.ruleset.rules.get(rule_id))
        else:
            con = self.rule_engine()
            self.lock_down()
            rule = self.ruleset[rule_id]
            outcome, findings = run_rule(
                con,
                rule,
                available=self.available,
                as_of=self.request.as_of,
                overrides=self.request.overrides.get(rule_id),
                shared_views=self._shared_views,
            )
            if outcome.status == "ok":
                mark_partial(outcome, rule, self.result.loads)
            if findings.num_rows:
                self._findings.append(findings.cast(FINDINGS_SCHEMA))
        self.result.rules.append(outcome)
        pause("rules")
        return outcome

    def finish(self) -> RunResult:
        """Record the run in the findings store and write every report file, as
        one step: if writing the reports fails, the store keeps nothing of it."""
        from crosscheck.reports import write_reports
        from crosscheck.reports.figures import run_figures
        from crosscheck.store import Store

        result = self.result
        result.findings = pa.concat_tables(self._findings) if self._findings else FINDINGS_SCHEMA.empty_table()
        tables = {row[0] for row in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "quarantine" in tables:
            result.quarantine = self.con.sql(
                'SELECT * FROM quarantine ORDER BY source, "table", file, line'
            ).to_arrow_table().cast(QUARANTINE_SCHEMA)
        self.close()
        result.finished_at = datetime.now(timezone.utc)
        out = Path(result.out_dir)
        private_dirs(out)

        def write(findings: pa.Table, recorded=None, store=None) -> None:
            if recorded is not None:
                result.resolved = recorded.resolved
                result.history = {"counts": recorded.counts, "precision": recorded.precision,
                                  "overdue": self._overdue(store, recorded),
                                  "overdue_days": self.config.alerts.overdue_days}
            result.figures = run_figures(result.rules, findings, self.request.districts, result.resolved)
            result.findings = self._for_reviewers(findings)
            write_reports(result, out, mask=result.masked)

        if self.request.record:
            with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
                store.record_run(result, suppression_days=self.ruleset.suppression_days,
                                 before_commit=lambda recorded: write(recorded.findings, recorded, store))
            self.end_journal()
        else:
            write(result.findings)
        return result

    def fail(self, exc: BaseException) -> BaseException:
        """Record the run as failed (store, else journal) and send the failure notice; returns
        what to raise: RunFailed, or a StoreBusy as it is (nothing could be recorded)."""
        from crosscheck.faults import describe
        from crosscheck.masking import mask_ids_in_text
        from crosscheck.store import Store, StoreBusy

        result = self.result
        result.error = mask_ids_in_text(describe(exc, memory_limit=self.config.duckdb_memory_limit))
        result.finished_at = datetime.now(timezone.utc)
        message = f"run {result.run_id} failed: {result.error}"
        if self.journal is not None:
            self.journal.note_error(result.run_id, result.error)  # the next run records it if we cannot
            if not isinstance(exc, StoreBusy):
                try:
                    with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
                        store.record_failed(result)
                    self.end_journal()
                except BaseException as store_exc:  # noqa: BLE001 - said; the journal keeps the run
                    message += f"; not recorded in the store {self.store_path}: {describe(store_exc)}"
        self._send_failure_notices([result])
        return exc if isinstance(exc, StoreBusy) else RunFailed(message, result)

    def end_journal(self) -> None:
        if self.journal is not None:
            self.journal.end(self.result.run_id)

    def _record_abandoned(self, entries: list[dict]) -> list[RunResult]:
        """Runs whose process ended without recording them: recorded as failed, notice sent."""
        if not entries:
            return []
        from crosscheck.store import Store
        from crosscheck.store.journal import ENDED

        failed = []
        for e in entries:
            run = RunResult(run_id=e["run_id"], as_of=date.fromisoformat(e["as_of"]),
                            extracts_root=e.get("extracts_root", ""), out_dir=e.get("out_dir", ""),
                            started_at=datetime.fromisoformat(e["started_at"]), started_by=e.get("started_by", ""),
                            scope=e.get("scope", "subset"), request=e.get("request") or {},
                            error=e.get("error") or ENDED)
            failed.append(run)
        with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
            for run in failed:
                store.record_failed(run)
                self.journal.end(run.run_id)
        self._send_failure_notices(failed)
        return failed

    def _send_failure_notices(self, runs: list[RunResult]) -> None:
        from crosscheck.alerts import send_failure_notices

        for run in runs:
            self.result.alerts += send_failure_notices(run, self.config.alerts, self.request.alerts)

    def _missed_schedules(self) -> list[str]:
        from crosscheck.schedule import missed_since
        from crosscheck.store import Store, StoreError

        if not self.store_path.exists():
            return []
        try:
            with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout, read_only=True) as store:
                last = store.last_complete_run()
        except StoreError:
            return []
        if last is None:
            return []
        finished = last["finished_at"].replace(tzinfo=timezone.utc)
        return missed_since(self.config.nightly_cron, self.config.timezone, finished, self.result.started_at)

    def _overdue(self, store, recorded) -> list[dict]:
        """Findings of this run unreviewed for [alerts] overdue_days or more (masked; see crosscheck.alerts)."""
        from crosscheck.alerts import overdue_entries

        rows = store.overdue(recorded.run_id, self.request.as_of, self.config.alerts.overdue_days)
        return overdue_entries(rows, self.request.districts, self.result.personal_kinds)

    def send_alerts(self) -> list[dict]:
        """After finish(): send the digests (crosscheck.alerts), record the outcomes in
        result.alerts and rewrite summary.json and report.html with them. Never raises:
        an alert that cannot be sent is recorded as failed and the run stands."""
        from crosscheck.alerts import send_alerts

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
        from crosscheck.reports.figures import listed_mask

        return findings.filter(listed_mask(findings, self.request.districts))

    # -- where the tables live ------------------------------------------------------
    def _canonical_cache(self):
        """The canonical cache entry of this delivery (crosscheck.canonical_cache), None when disabled."""
        if not (self.config.canonical_cache and self.config.cache_dir is not None
                and engine_class(self.engine).uses_canonical_cache):
            return None
        from crosscheck.canonical_cache import CanonicalCache

        return CanonicalCache.of_delivery(Path(self.request.extracts), self.catalog, self.config.cache_dir,
                                          [f.path for f in self.inventory.read])

    def _load_database(self):
        """The database file this run loads into (crosscheck.canonical_cache.LoadDatabase):
        a partial cache entry, or with the cache disabled a file in the run's spill folder."""
        if self.load_db is None:
            from crosscheck.canonical_cache import LoadDatabase

            self.load_db = (self.cache.new_load() if self.cache is not None
                            else LoadDatabase(Path(self._spill.name) / "load"))
        return self.load_db

    def publish_loaded(self) -> None:
        """Close the load database and read its tables from then on (before the connection is
        locked); it becomes the cache entry only for a delivery fully loaded from its files in
        this run with no file lost."""
        db = self.load_db
        if db is None or not db.active:
            return
        loaded = {load.table for load in self.result.loads}
        keep = (not self.cache_used and loaded == set(self.catalog.tables)
                and not any(t.status == "failed" or any(f.status == "failed" for f in t.files)
                            for t in self.result.loads))
        db.publish(self.con, self.result.loads, keep)

    def lock_down(self) -> None:
        """Lock the run's DuckDB before any rule runs: no file access (read_csv, COPY,
        ATTACH, INSTALL/LOAD, EXPORT all fail) and no setting can be changed back.
        Spilling to the run's temp_directory keeps working. Idempotent; run_rule calls
        it, so anything that needs files (loading, exporting the canonical tables)
        must happen before the first rule."""
        if not self.locked:
            self.publish_loaded()
            store = self.view_store()
            if store is not None:  # views an earlier run on this delivery computed: read, not computed
                self._shared_views.update(store.attach(self.con))
            lock_down(self.con)
            self.locked = True

    def view_store(self):
        """Where the shared views of this delivery are kept (crosscheck.canonical_cache.ViewStore):
        only when every canonical table is read from the delivery's cache entry."""
        from_entry = self.cache_used or (self.load_db is not None and self.load_db.kept)
        if self.cache is None or not from_entry or not self.cache.complete:
            return None
        from crosscheck.canonical_cache import ViewStore

        return ViewStore(self.cache.dir)

    def rule_engine(self):
        """What rules run on (crosscheck.engines), opened on first use; the loaded canonical
        tables are offered to it before the DuckDB is locked."""
        if self._rule_engine is None:
            try:
                self._rule_engine = open_engine(self.engine, self.config, self.con, self.result.run_id)
            except RuntimeError as exc:  # the engine cannot start (e.g. crosscheck.spark_engine.SparkUnavailable)
                raise RunError(f"--engine {self.engine}: {exc}") from exc
        self._rule_engine.offer_tables(self.con, self.available)
        return self._rule_engine

    def close(self) -> None:
        if self.con is None:
            return
        if self._rule_engine is not None:
            self._rule_engine.close()
            self._rule_engine = None
        self.keep_views()
        self.con.close()
        self.con = None
        if self.load_db is not None:
            self.load_db.discard()
        self._spill.cleanup()

    def keep_views(self) -> None:
        """Keep the shared views this run computed in the delivery's cache entry, for the
        next run (an ad-hoc run then reads them). Never fails the run."""
        store = self.view_store() if self.locked and self._shared_views else None
        if store is None:
            return
        try:
            store.keep(self.con, self._shared_views)
        except Exception as exc:  # noqa: BLE001 - the next run computes them again
            log.warning("shared views not kept in the canonical cache: %s", exc)


def broken_rules(ruleset, problems) -> dict[str, str]:
    """Rule id -> why it cannot run, for every rule whose file (or a view file it names) has a
    problem: the rule file's own problems, and 'needs view V: ...' for broken views."""
    by_file: dict[str, list[str]] = {}
    for p in problems:
        by_file.setdefault(str(Path(p.file).resolve()), []).append(str(p))
    rules_dir = Path(ruleset.rules_dir)
    broken: dict[str, str] = {}
    views: dict[str, str] = {}
    for path in sorted(rules_dir.rglob("*.y*ml")):
        found = by_file.get(str(path.resolve()))
        if not found:
            continue
        is_view = any(part.startswith("_") for part in path.relative_to(rules_dir).parts[:-1])
        (views if is_view else broken)[path.stem] = "; ".join(found)
    if views:
        import re

        for rule_id, rule in ruleset.rules.items():
            text = rule.path.read_text(encoding="utf-8")
            needs = [f"needs view {v} ({why})" for v, why in views.items() if re.search(rf"\b{re.escape(v)}\b", text)]
            if needs:
                broken[rule_id] = "; ".join(filter(None, [broken.get(rule_id), *needs]))
    return broken


def broken_outcome(rule_id: str, why: str, rule=None) -> RuleOutcome:
    if rule is not None:
        s = rule.spec
        return RuleOutcome(rule_id=rule_id, title_zh=s.title.zh, title_en=s.title.en, severity=s.severity,
                           status="failed", reason=f"rule file does not load: {why}", version=rule.version,
                           description=s.description.strip(), domain=rule.domain)
    return RuleOutcome(rule_id=rule_id, title_zh=rule_id, title_en=rule_id, severity="", status="failed",
                       reason=f"rule file does not load: {why}")


def mark_partial(outcome: RuleOutcome, rule, loads: list[TableLoad]) -> None:
    """A rule that ran on a table that lost a file is partial, and names each such file."""
    try:
        tables = rule.compile().tables
    except Exception:  # noqa: BLE001 - it ran, so it compiles; nothing to add otherwise
        return
    lost = [f"{t.table}: {item}" for t in loads if t.table in tables and t.status == "partial" for item in t.lost]
    if lost:
        outcome.status = "partial"
        outcome.reason = "; ".join(filter(None, ["inputs incomplete: " + "; ".join(lost), outcome.reason]))


def execute_run(request: RunRequest, config: ProjectConfig | None = None, step: Step = call) -> RunResult:
    return RunSession(request, config).execute(step)
