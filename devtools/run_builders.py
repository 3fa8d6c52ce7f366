"""Small RunResult builders for the store's tests and safety subprocesses (no engine needed)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

import pyarrow as pa

from crosscheck.results import FINDINGS_SCHEMA, FileAccount, RuleOutcome, RunResult, TableLoad


def finding(rule_id: str, person_id: str, *, amount: float | str | None = None, evidence: dict | None = None,
            discriminator: str = "", subject: str | None = None, name: str = "张三", district: str = "江岸区",
            severity: str = "high") -> dict[str, Any]:
    ev = evidence or {}
    return {
        "rule_id": rule_id,
        "subject": subject if subject is not None else person_id,
        "person_id": person_id,
        "name": name,
        "district": district,
        "severity": severity,
        "amount_at_risk": Decimal(str(amount)).quantize(Decimal("0.01")) if amount is not None else None,
        "evidence": "；".join(f"{k}={v}" for k, v in ev.items()),
        "evidence_json": json.dumps(ev, ensure_ascii=False),
        "discriminator": discriminator,
        "sources": "pensions/p.csv:2",
    }


def make_run(run_id: str, as_of: date, findings: Iterable[dict], *, rules: dict[str, str] | None = None,
             started_by: str = "tester", masked: bool = True) -> RunResult:
    """A RunResult with these findings; ``rules`` maps rule_id -> status (default: every
    rule named by a finding, status ok)."""
    rows = list(findings)
    statuses = dict(rules or {})
    for row in rows:
        statuses.setdefault(row["rule_id"], "ok")
    outcomes = [
        RuleOutcome(
            rule_id=rid, title_zh=rid, title_en=rid, severity="high", status=status,
            reason="" if status == "ok" else "table deaths not loaded",
            findings=sum(1 for r in rows if r["rule_id"] == rid),
            version="ab" * 32, sql=f"SELECT * FROM x -- {rid}", parameters={"window_days": 365},
        )
        for rid, status in statuses.items()
    ]
    started = datetime(as_of.year, as_of.month, as_of.day, 2, 0, tzinfo=timezone.utc)
    loads = [
        TableLoad(source="pensions", table="pension_payments", status="loaded", rows=10,
                  files=[FileAccount(source="pensions", table="pension_payments", file="pensions/payments.csv",
                                     sha256="cd" * 32, encoding="utf-8", rows_read=10, rows_loaded=10)]),
    ]
    return RunResult(
        run_id=run_id, as_of=as_of, extracts_root="/data/deliveries/x", out_dir=f"/reports/{run_id}",
        started_at=started, finished_at=started, masked=masked, started_by=started_by, loads=loads,
        rules=outcomes,
        findings=pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA) if rows else FINDINGS_SCHEMA.empty_table(),
    )
