"""One run: load a delivery, run the rules, write the reports.

`crosscheck run`, the nightly flow and the ad-hoc flow all go through
`RunSession`; the flows call its steps as separate tasks, the CLI calls
`execute()`. Nothing here knows about Prefect.
"""
from __future__ import annotations

import getpass
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from crosscheck.catalog import Catalog, ConnectorSpec, load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.results import FINDINGS_SCHEMA, QUARANTINE_SCHEMA, RuleOutcome, RunResult, TableLoad
from crosscheck.testhooks import pause

log = logging.getLogger(__name__)


ENGINES = ("duckdb", "spark")


class RunError(Exception):
    """The run could not start or complete; the message names file and problem."""


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


def private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents owner-only (0700); existing folders are left alone."""
    missing: list[Path] = []
    p = Path(folder)
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)


class RunSession:
    """The steps of one run, in order: load each source, run each rule, finish."""

    def __init__(self, request: RunRequest, config: ProjectConfig | None = None):
        from crosscheck.rules import load_ruleset
        from crosscheck.yamlio import ConfigError

        self.config = config or ProjectConfig.load()
        self.request = request
        extracts = Path(request.extracts)
        if not extracts.is_dir():
            raise RunError(f"{extracts}: extracts folder not found")
        try:
            self.catalog: Catalog = load_catalog(self.config.connectors_dir)
            self.ruleset = load_ruleset(self.config.rules_dir, self.catalog)
        except ConfigError as exc:
            raise RunError(str(exc)) from exc
        self.selected = self.ruleset.select(request.rules, request.overrides)  # raises ValueError on unknown ids
        self.engine = request.engine or self.config.engine
        if self.engine not in ENGINES:
            raise RunError(f"engine '{self.engine}': expected one of {', '.join(ENGINES)}")
        if self.engine == "spark":
            from crosscheck.spark_engine import unavailable_reason

            reason = unavailable_reason(self.config)
            if reason:
                raise RunError(f"--engine spark: {reason}")
        self._spark = None  # crosscheck.spark_engine.SparkEngine, started before the first rule
        started = datetime.now(timezone.utc)
        run_id = new_run_id(started)
        out = Path(request.out) if request.out else self.config.reports_dir / run_id
        self.result = RunResult(
            run_id=run_id,
            as_of=request.as_of,
            extracts_root=str(extracts.resolve()),
            out_dir=str(out.resolve()),
            started_at=started,
            masked=request.mask,
            started_by=getpass.getuser(),
            personal_headers=self.catalog.personal_headers(),
        )
        self._spill = tempfile.TemporaryDirectory(prefix="crosscheck-spill-")
        self.con = connect(self.config, Path(self._spill.name))
        self._findings: list[pa.Table] = []
        self._shared_views: dict = {}   # views computed once per run (rules.runner.materialize_views)

    # -- steps ---------------------------------------------------------------
    @property
    def sources(self) -> list[ConnectorSpec]:
        return list(self.catalog.connectors.values())

    def load_source(self, source: str) -> list[TableLoad]:
        """Load one source system. Raises OSError when its folder exists but cannot
        be listed (a transient fault worth retrying); a missing folder is not an error."""
        from crosscheck.connectors import load_source

        connector = self.catalog.connectors[source]
        folder = Path(self.request.extracts) / connector.folder
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise NotADirectoryError(f"{folder}: source folder is not a readable directory")
            next(folder.iterdir(), None)  # raises OSError if the folder cannot be listed
        self.result.loads = [load for load in self.result.loads if load.source != source]  # a retry replaces
        self._shared_views.clear()  # tables change: views are computed afresh
        if self._spark is not None:  # reloaded after rules ran on Spark: publish again
            for table in self.catalog.connectors[source].tables:
                self._spark.published.pop(table, None)
        cache = self.canonical_cache()
        if cache is not None and cache.complete:
            loads = cache.attach(self.con, [source])  # loaded and validated before: no re-parsing
            self._cache_used = True
        else:
            self.load_database().begin(self.con)
            loads = load_source(self.con, Path(self.request.extracts), connector,
                                known_hashes=cache.hashes if cache is not None else None)
        self.result.loads.extend(loads)
        pause("load")
        return loads

    def canonical_cache(self):
        """The canonical cache entry of this delivery (crosscheck.canonical_cache), None when disabled."""
        if not hasattr(self, "_cache"):
            self._cache = None
            if self.config.canonical_cache and self.config.cache_dir is not None and self.engine == "duckdb":
                from crosscheck.canonical_cache import CanonicalCache

                self._cache = CanonicalCache.of_delivery(Path(self.request.extracts), self.catalog, self.config.cache_dir)
        return self._cache

    def load_database(self):
        """The database file this run loads into (crosscheck.canonical_cache.LoadDatabase):
        a partial cache entry, or with the cache disabled a file in the run's spill folder."""
        if getattr(self, "_load_db", None) is None:
            from crosscheck.canonical_cache import LoadDatabase

            cache = self.canonical_cache()
            self._load_db = cache.new_load() if cache is not None else LoadDatabase(Path(self._spill.name) / "load")
        return self._load_db

    def publish_loaded(self) -> None:
        """Close the load database and read its tables from then on (before the connection is
        locked); it becomes the cache entry only for a delivery fully loaded from its files in
        this run with no failed table."""
        db = getattr(self, "_load_db", None)
        if db is None or not db.active:
            return
        loaded = {load.source for load in self.result.loads}
        keep = (not getattr(self, "_cache_used", False) and loaded == set(self.catalog.connectors)
                and not any(t.status == "failed" for t in self.result.loads))
        db.publish(self.con, self.result.loads, keep)

    def source_failed(self, source: str, message: str) -> list[TableLoad]:
        """Record a source that could not be loaded at all (e.g. after retries)."""
        loads = [
            TableLoad(source=source, table=table, status="failed", reason=message)
            for table in self.catalog.connectors[source].tables
        ]
        self.result.loads.extend(loads)
        return loads

    @property
    def available(self) -> dict[str, str | None]:
        """Canonical table -> None if loaded, else why not."""
        status: dict[str, str | None] = {t: "source not loaded" for t in self.catalog.tables}
        for load in self.result.loads:
            status[load.table] = None if load.status == "loaded" else (load.reason or load.status)
        return status

    def lock_down(self) -> None:
        """Lock the run's DuckDB before any rule runs: no file access (read_csv, COPY,
        ATTACH, INSTALL/LOAD, EXPORT all fail) and no setting can be changed back.
        Spilling to the run's temp_directory keeps working. Idempotent; run_rule calls
        it, so anything that needs files (loading, exporting the canonical tables)
        must happen before the first rule."""
        if not getattr(self, "_locked", False):
            self.publish_loaded()
            store = self.view_store()
            if store is not None:  # views an earlier run on this delivery computed: read, not computed
                self._shared_views.update(store.attach(self.con))
            lock_down(self.con)
            self._locked = True

    def view_store(self):
        """Where the shared views of this delivery are kept (crosscheck.canonical_cache.ViewStore):
        only when every canonical table is read from the delivery's cache entry."""
        cache = self.canonical_cache()
        db = getattr(self, "_load_db", None)
        from_entry = getattr(self, "_cache_used", False) or (db is not None and db.kept)
        if cache is None or not from_entry or not cache.complete:
            return None
        from crosscheck.canonical_cache import ViewStore

        return ViewStore(cache.dir)

    def run_rule(self, rule_id: str) -> RuleOutcome:
        from crosscheck.rules import run_rule

        con = self.rule_engine()
        self.lock_down()
        outcome, findings = run_rule(
            con,
            self.ruleset[rule_id],
            available=self.available,
            as_of=self.request.as_of,
            overrides=self.request.overrides.get(rule_id),
            shared_views=self._shared_views if con is self.con else None,
        )
        self.result.rules.append(outcome)
        if findings.num_rows:
            self._findings.append(findings.cast(FINDINGS_SCHEMA))
        pause("rules")
        return outcome

    def finish(self) -> RunResult:
        """Record the run in the findings store and write every report file, as
        one step: if writing the reports fails, the store keeps nothing of it."""
        from crosscheck.reports import write_reports
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

        def write(recorded) -> None:
            result.findings = self._for_reviewers(recorded.findings)
            result.resolved = recorded.resolved
            result.history = {"counts": recorded.counts, "precision": recorded.precision}
            result.history["overdue"] = self._overdue(store, recorded)
            result.history["overdue_days"] = self.config.alerts.overdue_days
            write_reports(result, out, mask=result.masked)

        if self.request.record:
            with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
                store.record_run(result, suppression_days=self.ruleset.suppression_days, before_commit=write)
        else:
            result.findings = self._for_reviewers(result.findings)
            write_reports(result, out, mask=result.masked)
        return result

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
            result.alerts = send_alerts(result, self.config.alerts, self.request.alerts,
                                        reports_root=self.config.reports_dir)
        except Exception as exc:  # noqa: BLE001 - sending never breaks a run
            result.alerts = [{"channel": "—", "name": "", "kind": "new", "status": "failed", "findings": 0,
                              "tries": 0, "error": f"alerts: {type(exc).__name__}: {exc}"[:300], "reason": ""}]
        if result.alerts:
            try:
                from crosscheck.reports import rewrite_reports

                rewrite_reports(result, Path(result.out_dir), mask=result.masked)
            except Exception as exc:  # noqa: BLE001
                import sys

                print(f"crosscheck: alerts: could not add the alert outcomes to the report: {exc}", file=sys.stderr)
        return result.alerts

    def _for_reviewers(self, findings: pa.Table) -> pa.Table:
        """What reviewers are shown: not suppressed, in the requested districts."""
        import pyarrow.compute as pc

        keep = pa.array([True] * findings.num_rows)
        if "suppressed" in findings.column_names:
            keep = pc.invert(findings["suppressed"])
        if self.request.districts:
            keep = pc.and_(keep, pc.is_in(findings["district"], pa.array(self.request.districts)))
        return findings.filter(keep)

    @property
    def store_path(self) -> Path:
        return Path(self.request.store) if self.request.store else self.config.store

    def rule_engine(self):
        """What rules run on: the run's DuckDB, or (engine spark) a Spark session that the
        loaded canonical tables are published to as Parquet (before the DuckDB is locked)."""
        if self.engine == "duckdb":
            return self.con
        from crosscheck.spark_engine import SparkEngine, SparkUnavailable

        if self._spark is None:
            try:
                self._spark = SparkEngine.start(self.config, self.result.run_id)
            except SparkUnavailable as exc:
                raise RunError(f"--engine spark: {exc}") from exc
        for table, reason in self.available.items():
            if reason is None and table not in self._spark.published:
                self._spark.publish(self.con, table)
        return self._spark

    def close(self) -> None:
        if self._spark is not None:
            self._spark.close()
            self._spark = None
        self.keep_views()
        self.con.close()
        if getattr(self, "_load_db", None) is not None:
            self._load_db.discard()
        self._spill.cleanup()

    def keep_views(self) -> None:
        """Keep the shared views this run computed in the delivery's cache entry, for the
        next run (an ad-hoc run then reads them). Never fails the run."""
        store = self.view_store() if getattr(self, "_locked", False) and self._shared_views else None
        if store is None:
            return
        try:
            store.keep(self.con, self._shared_views)
        except Exception as exc:  # noqa: BLE001 - the next run computes them again
            log.warning("shared views not kept in the canonical cache: %s", exc)

    def execute(self) -> RunResult:
        try:
            for source in self.sources:
                self.load_source(source.source)
            for rule_id in self.selected:
                self.run_rule(rule_id)
            result = self.finish()
        except BaseException:
            self.close()
            raise
        self.send_alerts()  # after the store commit and the reports; never raises
        return result


def execute_run(request: RunRequest, config: ProjectConfig | None = None) -> RunResult:
    return RunSession(request, config).execute()
