"""A run's provenance: its ``runs`` row (with the code version and counts), rules, loads and files."""
from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from crosscheck.results import RunResult
from crosscheck.store.db import as_utc, next_id, utc_now


@lru_cache(maxsize=1)
def code_version() -> tuple[str, str]:
    """(crosscheck version, `git describe --always --dirty` of the checkout or '')."""
    import crosscheck

    version = getattr(crosscheck, "__version__", "") or ""
    if not version:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("crosscheck")
        except Exception:  # noqa: BLE001
            version = ""
    describe = ""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(crosscheck.__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
        if out.returncode == 0:
            describe = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        describe = ""
    return version, describe


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def insert_provenance(con: duckdb.DuckDBPyConnection, run: RunResult, findings: pa.Table,
                      counts: dict[str, dict[str, int]]) -> None:
    """Write the run's rows in runs, run_rules, run_loads and run_files.

    ``findings`` needs only an amount_at_risk column; ``counts`` is rule_id ->
    {new, recurring, resolved, suppressed, ...} (empty for a failed run)."""
    _insert_run(con, run, findings, counts)
    if run.rules:
        con.executemany(
            """INSERT INTO run_rules (run_id, rule_id, title_zh, title_en, severity, status, reason, findings,
                                      amount_at_risk, version, sql, parameters, description, domain, seconds,
                                      personal, rule_status)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                [run.run_id, r.rule_id, r.title_zh, r.title_en, r.severity, r.status, r.reason, r.findings,
                 float(r.amount_at_risk or 0), r.version, r.sql, _json(r.parameters),
                 r.description, r.domain, float(r.seconds or 0), _json(r.personal or {}), r.rule_status or None]
                for r in run.rules
            ],
        )
    if run.loads:
        con.executemany(
            "INSERT INTO run_loads VALUES (?, ?, ?, ?, ?, ?)",
            [[run.run_id, t.source, t.table, t.status, t.reason, t.rows] for t in run.loads],
        )
    files = [[run.run_id, f.source, f.table, f.file, f.sha256, f.encoding, f.rows_read, f.rows_loaded,
              f.rows_quarantined, f.duplicates_dropped, f.status, f.error] for f in run.files]
    files += [[run.run_id, u.source, u.looks_like, u.file, "", "", 0, 0, 0, 0, "unread", u.reason] for u in run.unread]
    if files:
        con.executemany("INSERT INTO run_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", files)


def _insert_run(con: duckdb.DuckDBPyConnection, run: RunResult, findings: pa.Table,
                counts: dict[str, dict[str, int]]) -> None:
    version, describe = code_version()
    amounts = [a for a in findings.column("amount_at_risk").to_pylist() if a is not None]

    def total(what: str) -> int:
        return sum(c[what] for c in counts.values())

    con.execute(
        """INSERT INTO runs (seq, run_id, as_of, extracts_root, out_dir, started_at, finished_at, recorded_at,
                             started_by, masked, code_version, git_describe, status, findings, new, recurring,
                             resolved, suppressed, amount_at_risk, scope, request, error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            next_id(con, "seq", "runs"), run.run_id, run.as_of, run.extracts_root, run.out_dir,
            as_utc(run.started_at), as_utc(run.finished_at), utc_now(), run.started_by, bool(run.masked),
            version, describe, run.status, findings.num_rows,
            total("new"), total("recurring"), total("resolved"), total("suppressed"),
            sum(amounts, Decimal(0)), run.scope, _json(run.request), run.error or None,
        ],
    )
