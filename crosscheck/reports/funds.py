"""Fund findings (subject <资金文号>|<乡镇>) with the three amounts side by side.

A rule's findings show here when their evidence carries `allocated`, `disbursed`
and `delivered` (the fund rules' `reconcile` step produces them). The amounts
are read from the findings' evidence JSON (as `finding_rows` gives them: masked
in a masked run), which reports never show otherwise; they are money totals of a
township, not personal data.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

FUND_FIELDS = ("allocated", "disbursed", "delivered")


def _dec(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def fund_rows(findings: list[dict]) -> dict[str, list[dict]]:
    """rule_id -> [{subject, allocated, disbursed, delivered, gap}], largest gap first,
    from `finding_rows`."""
    out: dict[str, list[dict]] = {}
    for row in findings:
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
