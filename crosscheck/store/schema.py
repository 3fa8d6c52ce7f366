"""Tables of the findings history store (DuckDB).

Times are stored as UTC ``TIMESTAMP`` values; dates (as-of, first seen,
reviewed on) as ``DATE``. Identity numbers are stored in full: the store is
the system of record, reports mask.

runs          one row per recorded run (provenance + counts); scope complete (every
              enabled rule, no district filter, default parameters: it changes the
              history) or subset (it only reads it); status ok | partial | failed
run_rules     per run and rule: status, reason, version (SHA-256 of the rule
              file), compiled SQL, parameters (JSON), findings, amount
run_loads     per run and canonical table: status, reason, rows
run_files     per run and input file: SHA-256, encoding, row accounting; files of the
              delivery no connector read have status 'unread' and the reason as error
findings      every finding of every run, with its key, new/recurring status,
              first_seen, and whether a review suppressed it in that run
finding_keys  one row per key ever seen: first and last appearance
resolved      per run: findings of the rule's previous run that stopped appearing
reviews       retired in schema 3: dispositions live in the casework database beside the
outcomes      store (crosscheck.casework: one place for a clue's status, written by the workbench
              and `crosscheck review` alike, never locked by a run). Opening a schema-2 store
              for writing moves them there (ids kept); the tables stay, empty
meta          schema_version; reviews_to_move while a schema-2 store's reviews are being moved
"""
from __future__ import annotations

import duckdb

from crosscheck.results import finding_columns_sql

SCHEMA_VERSION = 3

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        seq BIGINT NOT NULL,               -- recording order (1, 2, ...)
        run_id VARCHAR NOT NULL,
        as_of DATE NOT NULL,
        extracts_root VARCHAR,
        out_dir VARCHAR,
        started_at TIMESTAMP,              -- UTC
        finished_at TIMESTAMP,             -- UTC
        recorded_at TIMESTAMP,             -- UTC
        started_by VARCHAR,
        masked BOOLEAN,
        code_version VARCHAR,              -- crosscheck version
        git_describe VARCHAR,              -- `git describe --always --dirty`, '' if unknown
        status VARCHAR,                    -- ok | partial | failed
        findings INTEGER,
        new INTEGER,
        recurring INTEGER,
        resolved INTEGER,
        suppressed INTEGER,
        amount_at_risk DECIMAL(18,2),
        scope VARCHAR,                     -- complete | subset
        request VARCHAR,                   -- JSON: rules, districts, parameters asked for
        error VARCHAR                      -- why a failed run could not finish
    )""",
    """CREATE TABLE IF NOT EXISTS run_rules (
        run_id VARCHAR NOT NULL,
        rule_id VARCHAR NOT NULL,
        title_zh VARCHAR,
        title_en VARCHAR,
        severity VARCHAR,
        status VARCHAR,                    -- ok | partial | skipped | failed
        reason VARCHAR,
        findings INTEGER,
        amount_at_risk DOUBLE,
        version VARCHAR,                   -- SHA-256 of the rule file
        sql VARCHAR,
        parameters VARCHAR,                -- JSON object
        description VARCHAR,
        domain VARCHAR,
        seconds DOUBLE,
        personal VARCHAR,                  -- JSON: finding column / evidence field -> personal kind
        rule_status VARCHAR                -- the rule file's status: draft (shadow) | experimental | stable
    )""",
    """CREATE TABLE IF NOT EXISTS run_loads (
        run_id VARCHAR NOT NULL,
        source VARCHAR,
        table_name VARCHAR,
        status VARCHAR,
        reason VARCHAR,
        rows BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS run_files (
        run_id VARCHAR NOT NULL,
        source VARCHAR,
        table_name VARCHAR,
        file VARCHAR,
        sha256 VARCHAR,
        encoding VARCHAR,
        rows_read BIGINT,
        rows_loaded BIGINT,
        rows_quarantined BIGINT,
        duplicates_dropped BIGINT,
        status VARCHAR,
        error VARCHAR
    )""",
    f"""CREATE TABLE IF NOT EXISTS findings (
        run_id VARCHAR NOT NULL,
        finding_key VARCHAR NOT NULL,
        {finding_columns_sql()},
        status VARCHAR,                    -- new | recurring
        first_seen DATE,
        suppressed BOOLEAN,
        review_id BIGINT,                  -- the review current when the run was recorded
        review VARCHAR,                    -- its disposition
        suppressed_until DATE,             -- reviewed_on + suppression days (false_positive / explained)
        review_change VARCHAR              -- why a false_positive / explained finding is shown again
    )""",
    """CREATE TABLE IF NOT EXISTS finding_keys (
        finding_key VARCHAR NOT NULL,
        rule_id VARCHAR,
        subject VARCHAR,
        person_id VARCHAR,
        discriminator VARCHAR,
        first_seen DATE,
        first_run_id VARCHAR,
        last_seen DATE,
        last_run_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS resolved (
        run_id VARCHAR NOT NULL,           -- the run in which the finding stopped appearing
        finding_key VARCHAR NOT NULL,
        rule_id VARCHAR,
        subject VARCHAR,
        person_id VARCHAR,
        last_seen DATE,                    -- as-of of the last run that had it
        last_run_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS reviews (
        review_id BIGINT NOT NULL,
        finding_key VARCHAR NOT NULL,
        rule_id VARCHAR,
        disposition VARCHAR NOT NULL,      -- confirmed | false_positive | explained
        note VARCHAR,
        reviewer VARCHAR NOT NULL,
        reviewed_on DATE NOT NULL,
        recorded_at TIMESTAMP,             -- UTC
        source VARCHAR,                    -- 'cli' or 'file:line' of an imported sheet
        run_id VARCHAR,                    -- run whose finding was reviewed (its latest appearance)
        amount_at_risk DECIMAL(18,2),      -- as at review time
        evidence_json VARCHAR              -- as at review time
    )""",
    """CREATE TABLE IF NOT EXISTS outcomes (
        outcome_id BIGINT NOT NULL,
        finding_key VARCHAR NOT NULL,
        rule_id VARCHAR,
        recovered DECIMAL(18,2),
        recovered_on DATE,
        note VARCHAR,
        recorded_by VARCHAR,
        recorded_at TIMESTAMP              -- UTC
    )""",
]


#: Statements that bring a store of each earlier schema version up to the next one.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "ALTER TABLE runs ADD COLUMN scope VARCHAR",
        "ALTER TABLE runs ADD COLUMN request VARCHAR",
        "ALTER TABLE runs ADD COLUMN error VARCHAR",
        "UPDATE runs SET scope = 'complete', status = CASE status WHEN 'complete' THEN 'ok' ELSE status END",
        "UPDATE run_rules SET status = 'failed' WHERE status = 'errored'",
    ],
    2: [
        "ALTER TABLE run_rules ADD COLUMN personal VARCHAR",
        "ALTER TABLE run_rules ADD COLUMN rule_status VARCHAR",
        "INSERT INTO meta VALUES ('reviews_to_move', 'yes')",  # Store.open moves them to the casework database
    ],
}


class SchemaError(Exception):
    pass


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables of a new store; refuse a store written by a newer version."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    if "meta" in tables:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        version = int(rows[0][0]) if rows else 0
        if version > SCHEMA_VERSION:
            raise SchemaError(f"store schema version {version} is newer than this crosscheck understands ({SCHEMA_VERSION})")
        if version == SCHEMA_VERSION:
            return
        if version in MIGRATIONS:
            _migrate(con, version)
            return
    elif tables:
        raise SchemaError(f"not a crosscheck store (it has tables {', '.join(sorted(tables))} but no meta table)")
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in DDL:
            con.execute(statement)
        con.execute("DELETE FROM meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    return "meta" in tables


def needs_upgrade(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a store must first be opened for writing (older schema, or reviews not yet moved)."""
    version = con.execute("SELECT max(value) FROM meta WHERE key = 'schema_version'").fetchall()[0][0]
    moving = con.execute("SELECT count(*) FROM meta WHERE key = 'reviews_to_move'").fetchall()[0][0]
    return int(version or 0) < SCHEMA_VERSION or bool(moving)


def _migrate(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Bring a store from ``version`` up to SCHEMA_VERSION, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            version += 1
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
