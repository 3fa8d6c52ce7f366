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
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from crosscheck.catalog import Catalog, load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.engines import engine_class, open_engine, unavailable_reason
from crosscheck.pipeline.lifecycle import RunLife
from crosscheck.reports.figures import listed_mask, run_figures, suppressed_in, without_rules
from crosscheck.pipeline.outcomes import broken_outcome, broken_rules, mark_partial
from crosscheck.pipeline.workspace import Workspace
from crosscheck.privacy.files import private_dirs
from crosscheck.results import FINDINGS_SCHEMA, QUARANTINE_SCHEMA, RuleOutcome, RunResult, TableLoad
from crosscheck.testhooks import pause
from crosscheck.connectors.validation import Checks

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


class RunError(ValueError):
    """The run cannot start: bad input. The message names the file, folder or value and the problem."""


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
    domains: list[str] | None = None          # the rules of these domains (folders or titles); None: every domain


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
        self.ruleset, problems = collect_ruleset(self.config.rules_dir, self.catalog, checked=self.config.cache_dir)
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
        complete = set(self.selected) == set(enabled) and not (request.districts or request.overrides or request.domains)
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
                     "engine": self.engine, "domains": request.domains},
            timezone=self.config.timezone,
            domain_titles=dict(self.ruleset.domains),
            personal_headers=self.catalog.personal_headers(),
        )
        if request.as_of > date.today():
            self.result.warnings.append(f"as-of {request.as_of} is after today ({date.today()}): "
                                        "windows that end on the as-of date reach into the future")
        if self.rule_problems:
            self.result.warnings.append(
                f"{len(self.rule_problems)} problem(s) in rule files; rules that need them cannot run: "
                + "; ".join(self.rule_problems))
        self.workspace = Workspace(self.config, extracts, self.catalog, [f.path for f in self.inventory.read],
                                   cached=engine_class(self.engine).uses_canonical_cache)
        self.checks = Checks(background=not self.workspace.cached)  # expectations beside the loading
        self._findings: list[pa.Table] = []
        self._rule_engine = None        # crosscheck.engines.Engine, opened before the first rule
        self.life = RunLife(self.config, self.store_path, self.result, self.request.alerts)
        self._failed_sources: dict[str, str] = {}  # source whose folder could not be listed -> why

    def _select(self, request: RunRequest) -> list[str]:
        """Rule ids to run, in the order asked (default: every enabled rule, and every rule file
        that does not load, which then fails visibly). RunError for unknown ids, a parameter of a
        rule not selected or of a broken rule, a value of the wrong type, or only broken rules."""
        only = list(dict.fromkeys(request.rules)) if request.rules else None
        if request.domains:  # a domain's rules (a subset: the history is read, never changed)
            try:
                only = self.ruleset.in_domains(request.domains, rules=only)
            except ValueError as exc:
                raise RunError(f"--domains: {exc}") from None
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
        seconds = self.result.seconds

        def timed(name: str, fn: Callable, *args: Any, through: Step = step) -> Any:
            started = time.perf_counter()
            try:
                return through(name, fn, *args)
            finally:
                seconds[name] = round(time.perf_counter() - started, 3)

        try:
            self.begin()
            seconds["start_to_first_read"] = _process_age()
            for table in self.tables:
                timed(f"load-{table}", self.load_table, table)
            timed("check-districts", self.check_districts, through=call)
            for rule_id in self.selected:
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
        """Note the run (crosscheck.pipeline.lifecycle): runs that never finished are recorded as failed,
        and the scheduled nights missed since the last complete run are said."""
        if self.request.record:
            self.life.begin()

    def load_table(self, table: str) -> TableLoad:
        """Load one canonical table: from the delivery's cache entry, else from its files.
        A source folder that cannot be listed is retried, then the table is recorded as
        failed; faults (disk full, memory) stop the run."""
        connector = self.catalog.connectors[self.catalog.source_of(table)]
        self.result.loads = [t for t in self.result.loads if t.table != table]  # a retry replaces
        self.workspace.tables_changed()
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
        from crosscheck.pipeline.faults import is_fault

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
                                  parts=ws.parts, checks=self.checks)
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
                shared_views=self.workspace.shared_views,
                stand_ins={t.table: t.stand_in for t in self.result.loads if t.stand_in is not None},
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
        from crosscheck.store import Store

        result = self.result
        self.checks.settle()
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

        draft = {r.rule_id for r in result.rules if r.draft}

        def write(findings: pa.Table, recorded=None, store=None) -> None:
            live = without_rules(findings, draft)  # a draft rule runs in shadow: recorded, never listed
            if recorded is not None:
                result.resolved = without_rules(recorded.resolved, draft)
                result.history = {"counts": recorded.counts, "precision": recorded.precision,
                                  "overdue": [o for o in self._overdue(store, recorded) if o["rule_id"] not in draft],
                                  "overdue_days": self.config.alerts.overdue_days,
                                  "deadlines": self._deadlines(store),
                                  "shadow": {r: recorded.counts.get(r, {}).get("findings", 0) for r in sorted(draft)}}
            result.figures = run_figures(result.rules, live, self.request.districts, result.resolved)
            result.findings = self._for_reviewers(live)
            result.suppressed_findings = suppressed_in(live, self.request.districts)
            write_reports(result, out, mask=result.masked)

        if self.request.record:
            with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
                store.record_run(result, suppression_days=self.ruleset.suppression_days,
                                 before_commit=lambda recorded: write(recorded.findings, recorded, store))
            self.life.end()
        else:
            write(result.findings)
        return result

    def _overdue(self, store, recorded) -> list[dict]:
        """Findings of this run unreviewed for [alerts] overdue_days or more (masked; see crosscheck.reports.alerts)."""
        from crosscheck.reports.alerts import overdue_entries

        rows = store.overdue(recorded.run_id, self.request.as_of, self.config.alerts.overdue_days)
        return overdue_entries(rows, self.request.districts, self.result.personal_kinds)

    def _deadlines(self, store) -> list[dict]:
        """Workbench clues whose deadline is near (yellow) or past (red), masked: the reminders
        carry them (crosscheck.reports.alerts)."""
        store.casework.settings = self.config.casework_settings()
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
        """Before the first rule (see Workspace.lock_down), every table's expectations done."""
        self.checks.settle()
        self.workspace.lock_down(self.result.loads)

    def rule_engine(self):
        """What rules run on (crosscheck.engines), opened on first use; the loaded canonical
        tables are offered to it before the DuckDB is locked."""
        if self._rule_engine is None:
            try:
                self._rule_engine = open_engine(self.engine, self.config, self.con, self.result.run_id)
            except RuntimeError as exc:  # the engine cannot start (e.g. crosscheck.engines.spark.SparkUnavailable)
                raise RunError(f"--engine {self.engine}: {exc}") from exc
        self._rule_engine.offer_tables(self.con, self.available)
        return self._rule_engine

    def close(self) -> None:
        self.checks.close()
        if self._rule_engine is not None:
            self._rule_engine.close()
            self._rule_engine = None
        self.workspace.close()


def execute_run(request: RunRequest, config: ProjectConfig | None = None, step: Step = call) -> RunResult:
    return RunSession(request, config).execute(step)
