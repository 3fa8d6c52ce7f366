"""Fund findings (subject <资金文号>|<乡镇>) with the three amounts side by side.

A rule's findings show here when their evidence carries `allocated`, `disbursed`
and `delivered` (the fund rules' `reconcile` step produces them). The amounts
are read from the findings table's evidence JSON, which reports never show
otherwise; they are money totals of a township, not personal data.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import pyarrow as pa

FUND_FIELDS = ("allocated", "disbursed", "delivered")


def _dec(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def fund_rows(findings: pa.Table) -> dict[str, list[dict]]:
    """rule_id -> [{subject, allocated, disbursed, delivered, gap}], largest gap first."""
    out: dict[str, list[dict]] = {}
    if findings is None or "evidence_json" not in findings.column_names:
        return out
    cols = [c for c in ("rule_id", "subject", "amount_at_risk", "evidence_json") if c in findings.column_names]
    for row in findings.select(cols).to_pylist():
        try:
            ev = json.loads(row.get("evidence_json") or "{}")
        except ValueError:
            continue
        if not isinstance(ev, dict) or not all(k in ev for k in FUND_FIELDS):
            continue
        out.setdefault(row.get("rule_id") or "", []).append({
            "subject": row.get("subject") or "",
            **{k: _dec(ev.get(k)) for k in FUND_FIELDS},
            "gap": _dec(row.get("amount_at_risk")),
        })
    for rows in out.values():
        rows.sort(key=lambda r: (-(r["gap"] or 0), r["subject"]))
    return out
