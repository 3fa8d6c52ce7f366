"""One run: load a delivery, run the rules, write the reports.

`crosscheck run`, the nightly flow and the ad-hoc flow all go through
`RunSession`; the flows call its steps as separate tasks, the CLI calls
`execute()`. Nothing here knows about Prefect.
"""
from __future__ import annotations

import getpass
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
        )
        self._spill = tempfile.TemporaryDirectory(prefix="crosscheck-spill-")
        self.con = connect(self.config, Path(self._spill.name))
        self._findings: list[pa.Table] = []

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
        loads = load_source(self.con, Path(self.request.extracts), connector)
        self.result.loads.extend(loads)
        return loads

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

    def run_rule(self, rule_id: str) -> RuleOutcome:
        from crosscheck.rules import run_rule

        outcome, findings = run_rule(
            self.con,
            self.ruleset[rule_id],
            available=self.available,
            as_of=self.request.as_of,
            overrides=self.request.overrides.get(rule_id),
        )
        self.result.rules.append(outcome)
        if findings.num_rows:
            self._findings.append(findings.cast(FINDINGS_SCHEMA))
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
        out.mkdir(parents=True, exist_ok=True)

        def write(recorded) -> None:
            result.findings = self._for_reviewers(recorded.findings)
            result.resolved = recorded.resolved
            result.history = {"counts": recorded.counts, "precision": recorded.precision}
            write_reports(result, out, mask=result.masked)

        if self.request.record:
            with Store.open(self.store_path, lock_timeout=self.config.store_lock_timeout) as store:
                store.record_run(result, suppression_days=self.ruleset.suppression_days, before_commit=write)
        else:
            result.findings = self._for_reviewers(result.findings)
            write_reports(result, out, mask=result.masked)
        return result

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

    def close(self) -> None:
        self.con.close()
        self._spill.cleanup()

    def execute(self) -> RunResult:
        try:
            for source in self.sources:
                self.load_source(source.source)
            for rule_id in self.selected:
                self.run_rule(rule_id)
            return self.finish()
        except BaseException:
            self.close()
            raise


def execute_run(request: RunRequest, config: ProjectConfig | None = None) -> RunResult:
    return RunSession(request, config).execute()
