"""What a run produces, passed from the engine to the report writers.

Reports read these objects and the findings table only, never raw extracts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa

@dataclass(frozen=True)
class FindingColumn:
    """One column of the findings table: declared here once, read by the rule compiler, the
    runner, the rule tests, the findings store, the casework and every report writer."""

    name: str
    arrow: pa.DataType
    sql: str                    # its type in the findings store (and the cast of a rule's expression)
    from_rule: bool             # written by the rule's `output:` / `amount_at_risk:` (else by the runner)
    about: str


FINDING_COLUMNS: tuple[FindingColumn, ...] = (
    FindingColumn("rule_id", pa.string(), "VARCHAR", False, "the rule's id"),
    FindingColumn("subject", pa.string(), "VARCHAR", True, "person id, or another subject key (e.g. fund|township)"),
    FindingColumn("person_id", pa.string(), "VARCHAR", True, "canonical 18-character identity number, null if no person"),
    FindingColumn("name", pa.string(), "VARCHAR", True, "the person's (or subject's) name"),
    FindingColumn("district", pa.string(), "VARCHAR", True, "district of the finding"),
    FindingColumn("severity", pa.string(), "VARCHAR", True, "high / medium / low"),
    FindingColumn("amount_at_risk", pa.decimal128(18, 2), "DECIMAL(18,2)", True, "yuan, two decimals; null where none"),
    FindingColumn("evidence", pa.string(), "VARCHAR", False, "one readable line, Chinese"),
    FindingColumn("evidence_json", pa.string(), "VARCHAR", False, "the same evidence as a JSON object"),
    FindingColumn("discriminator", pa.string(), "VARCHAR", True, "with rule_id and subject, makes the finding key"),
    FindingColumn("sources", pa.string(), "VARCHAR", True, '"file:line; file:line" of the records it rests on'),
)
#: The findings table every rule produces (full values; reports mask).
FINDINGS_SCHEMA = pa.schema([(c.name, c.arrow) for c in FINDING_COLUMNS])
#: The columns a rule's compiled SELECT gives, in order (the runner adds the others).
RULE_OUTPUT_COLUMNS = [c.name for c in FINDING_COLUMNS if c.from_rule]


def finding_columns_sql(prefix: str = "") -> str:
    """`rule_id VARCHAR, subject VARCHAR, ...` for a table that keeps findings (prefix: a table alias, no types)."""
    if prefix:
        return ", ".join(f"{prefix}.{c.name}" for c in FINDING_COLUMNS)
    return ",\n        ".join(f"{c.name} {c.sql}" for c in FINDING_COLUMNS)


#: The review candidates of a run (待人工核实, crosscheck.rules.review): one row per record a rule
#: could not decide and candidate; review_candidates.csv has these columns (masked like findings.csv).
REVIEW_SCHEMA = pa.schema([(c, pa.string()) for c in
                           ("rule_id", "subject", "name_as_delivered", "person_id", "name", "match", "would_fire")])

#: How a quarantine reason starts when the delivered line could not be split into its
#: columns (its raw_values are then not known to sit under their headers).
MALFORMED_ROW = "malformed CSV row"
#: How the quarantine reason of rows sharing a table's key but differing starts (their
#: conflict depends on the other files: crosscheck.cache.parts keeps them among a file's rows).
CONFLICTING_ROWS = "conflicting rows for "

#: Columns of the quarantine table (every rejected input row).
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("table", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("raw_values", pa.string()),      # JSON object: delivered header -> delivered value
    ]
)


def quarantine_ddl() -> str:
    """`CREATE TABLE IF NOT EXISTS quarantine (...)` with QUARANTINE_SCHEMA's columns."""
    sql = {pa.string(): "VARCHAR", pa.int64(): "BIGINT"}
    return "CREATE TABLE IF NOT EXISTS quarantine (" + ", ".join(f'"{f.name}" {sql[f.type]}' for f in QUARANTINE_SCHEMA) + ")"


@dataclass
class FileAccount:
    """Per input file: rows read = rows loaded + rows quarantined + duplicates dropped."""

    source: str
    table: str
    file: str                      # path relative to the extracts root, forward slashes
    sha256: str
    encoding: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_dropped: int = 0
    status: Literal["loaded", "failed"] = "loaded"
    error: str = ""
    reused: bool = False           # its parsed rows were kept from an earlier run (not parsed again)
    #: lines delivered again unchanged in a new version of the file (a snapshot), taken from the
    #: version delivered before instead of parsed (crosscheck.connectors.load)
    lines_unchanged: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_dropped


@dataclass
class UnreadFile:
    """A file of the delivery that no connector read, and why (see crosscheck.connectors.inventory)."""

    file: str                      # path relative to the extracts root, forward slashes
    reason: str
    looks_like: str = ""           # the table whose name pattern or header it matches ("" if none)
    source: str = ""               # that table's source


@dataclass
class ExpectationResult:
    table: str
    expectation: str               # GX expectation type
    column: str
    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    detail: str = ""               # exception text where GX could not evaluate it


@dataclass(frozen=True)
class StandIn:
    """Rows standing in for a table not delivered (its connector's `fallback`), for the years
    [first_year, last_year]: a rule reading it is partial, or skipped beyond those years."""

    table: str
    reason: str
    first_year: int
    last_year: int


@dataclass
class TableLoad:
    source: str
    table: str
    #: loaded; partial: loaded, but a file of it failed or a file that looks like its data
    #: was not read (`lost`); failed: no file of it loaded; missing: not delivered
    status: Literal["loaded", "partial", "failed", "missing"]
    reason: str = ""               # why partial, failed or missing, naming file and problem
    rows: int = 0
    files: list[FileAccount] = field(default_factory=list)
    expectations: list[ExpectationResult] = field(default_factory=list)
    unread: list[UnreadFile] = field(default_factory=list)  # files that look like its data, not read
    #: where its rows are kept, oldest first (crosscheck.cache.tables); empty: in the load database
    segments: list[str] = field(default_factory=list)
    #: not delivered: rows from its connector's `fallback` stand in (crosscheck.connectors.fallbacks),
    #: for these years [first, last]; `reason` says what stands in
    stand_in_years: list[int] = field(default_factory=list)

    @property
    def stand_in(self) -> StandIn | None:
        if not self.stand_in_years:
            return None
        return StandIn(self.table, self.reason, *self.stand_in_years)

    @property
    def usable(self) -> bool:
        """Rules may read it (a partial table makes their outcome partial)."""
        return self.status in ("loaded", "partial")

    @property
    def lost(self) -> list[str]:
        """Each file the table lost, with why: failed files, then unread files that look like its data."""
        return ([f.error or f"{f.file}: failed" for f in self.files if f.status == "failed"]
                + [f"{u.file}: not read ({u.reason})" for u in self.unread])

    def settle(self) -> None:
        """The status that the table's files and the unread files like it imply."""
        if self.status in ("loaded", "partial"):
            self.status = "partial" if self.lost else "loaded"


#: Key of an evidence field in RuleOutcome.personal (finding columns go by their own name), and
#: of a column of the rule's review candidates (REVIEW_SCHEMA).
EVIDENCE_KEY = "evidence."
REVIEW_KEY = "review."


@dataclass
class RuleOutcome:
    rule_id: str
    title_zh: str
    title_en: str
    severity: str
    #: ok: ran on complete inputs; partial: ran, but a table it reads lost a file (named in
    #: `reason`); skipped: a source it needs is missing or failed; failed: it could not run
    status: Literal["ok", "partial", "skipped", "failed"]
    reason: str = ""               # why partial, skipped or failed
    findings: int = 0
    amount_at_risk: float = 0.0
    version: str = ""              # SHA-256 of the rule file
    sql: str = ""                  # compiled SQL as run
    parameters: dict = field(default_factory=dict)
    description: str = ""          # the rule's description in English (description.en)
    description_zh: str = ""       # the rule's description in Chinese (description.zh), for reviewers
    domain: str = ""
    seconds: float = 0.0
    #: personal data each finding column ("subject", "person_id", "name", ...) and evidence
    #: field ("evidence.<field>") carries: column or field -> kind (crosscheck.rules.lineage)
    personal: dict[str, str] = field(default_factory=dict)
    #: marks of each finding's timeline (crosscheck.rules.spec.TimelineItem as dicts: label, at / from, to, kind)
    timeline: list[dict] = field(default_factory=list)
    #: the rule file's status: draft (runs in shadow: findings recorded and counted, never
    #: listed, alerted or pushed to the workbench), experimental, stable; "" when not known
    rule_status: str = ""
    #: the evidence fields in the rule's order, as reviewers read them: name, zh and en label, format
    evidence_fields: list[dict] = field(default_factory=list)
    #: a rule with `review:` (crosscheck.rules.review): its records by status: records, linked, ambiguous,
    #: unidentified, listed (the ambiguous ones listed for review); empty for other rules
    review: dict = field(default_factory=dict)
    #: the review candidates it listed (REVIEW_SCHEMA's columns but rule_id), until the run keeps them in RunResult.review
    review_rows: list[dict] = field(default_factory=list, repr=False)

    @property
    def draft(self) -> bool:
        return self.rule_status == "draft"


@dataclass
class RunResult:
    run_id: str
    as_of: date
    extracts_root: str
    out_dir: str
    started_at: datetime
    finished_at: datetime | None = None
    masked: bool = True
    started_by: str = ""
    loads: list[TableLoad] = field(default_factory=list)
    unread: list[UnreadFile] = field(default_factory=list)   # every file of the delivery no connector read
    rules: list[RuleOutcome] = field(default_factory=list)
    findings: pa.Table = field(default_factory=lambda: FINDINGS_SCHEMA.empty_table())
    #: the records rules could not decide, with their candidates (待人工核实): full values, reports mask
    review: pa.Table = field(default_factory=lambda: REVIEW_SCHEMA.empty_table())
    quarantine: pa.Table = field(default_factory=lambda: QUARANTINE_SCHEMA.empty_table())
    # Comparison with earlier runs, from the findings store (empty when not recorded):
    # counts: rule_id -> {findings, new, recurring, resolved, suppressed}; precision: rule_id -> {...}
    history: dict = field(default_factory=dict)
    resolved: pa.Table | None = None
    #: findings in the districts asked for that a review suppressed (false positive / explained,
    #: within its suppression period): not listed, but shown collapsed with why and until when
    suppressed_findings: pa.Table | None = None
    # Per canonical table: delivered header (normalised, aliases too) -> kind of personal data
    # it holds (crosscheck.catalog.Catalog.personal_headers): how its quarantined rows are masked.
    personal_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # Alerts sent after the run was recorded (crosscheck.reports.alerts): one dict per channel and
    # digest: {channel (masked), kind (new|overdue|failure|missed), status (sent|failed|skipped), findings, tries, error}
    alerts: list[dict] = field(default_factory=list)
    #: complete (every enabled rule, no district filter, default parameters: it changes the
    #: findings history) or subset (it reads the history, changes nothing in it)
    scope: Literal["complete", "subset"] = "complete"
    request: dict = field(default_factory=dict)      # what was asked: rules, districts, parameters
    warnings: list[str] = field(default_factory=list)  # said on the console and in the report
    error: str = ""                                  # set when the run could not finish
    #: scheduled nightly times since the last complete run finished, in the project's timezone
    missed_schedules: list[str] = field(default_factory=list)
    timezone: str = "UTC"                            # times are shown to people in this zone
    domain_titles: dict = field(default_factory=dict)  # rule domain -> {zh, en} (rules/_domains.yaml)
    #: the run's counts, computed once when it finished (crosscheck.reports.figures.RunFigures)
    figures: Any = None
    #: where the time went: "start_to_first_read" (process start to the first table's load:
    #: the fixed cost), then wall seconds of each step of the pipeline that had ended when
    #: summary.json was written (load-<table>, check-districts, rule-<id>)
    seconds: dict[str, float] = field(default_factory=dict)
    #: how each rule ran: "on the change: ..." or "whole: <why>" (crosscheck.pipeline.incremental)
    on_change: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """failed (could not finish), partial (a rule not ok) or ok."""
        if self.error:
            return "failed"
        return "ok" if all(r.status == "ok" for r in self.rules) else "partial"

    @property
    def personal_kinds(self) -> dict[str, dict[str, str]]:
        """Rule id -> what each finding column and evidence field of its findings holds (RuleOutcome.personal)."""
        return {o.rule_id: o.personal for o in self.rules}

    @property
    def files(self) -> list[FileAccount]:
        return [f for load in self.loads for f in load.files]

    def to_dict(self) -> dict:
        """The JSON-able part (summary.json is built from this)."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "extracts_root": self.extracts_root,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "masked": self.masked,
            "started_by": self.started_by,
            "status": self.status,
            "scope": self.scope,
            "request": self.request,
            "warnings": self.warnings,
            "error": self.error,
            "missed_schedules": self.missed_schedules,
            "timezone": self.timezone,
            "loads": [{k: v for k, v in asdict(t).items() if k != "segments"} for t in self.loads],
            "unread_files": [asdict(u) for u in self.unread],
            "rules": [{k: v for k, v in asdict(r).items() if k != "review_rows"} for r in self.rules],
            "history": self.history,
            "alerts": self.alerts,
            "seconds": self.seconds,
            "on_change": self.on_change,
        }
