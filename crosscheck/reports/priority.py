"""Which finding a reviewer should investigate first: one order for the report's
"investigate first" list, findings.xlsx and the workbench's clue lists.

In order of importance:
1. severity: high, then medium, then low (the rule's judgement of what is at stake);
2. amount at risk, largest first (findings with no amount after those with one);
3. how long it has gone on: the longer known, the earlier (first seen in the history);
4. new before recurring (a recurring finding has been in front of reviewers already);
then rule and subject, so the order is the same in every run and every output.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}

#: The order, as the report and the workbench explain it.
PRIORITY_NOTE = {
    "zh": "排序：风险等级（高→低）；涉及金额（大→小，无金额者在后）；持续时间（首次发现越早越靠前）；新增先于持续。",
    "en": "Order: severity (high to low); amount at risk (largest first, none last); how long it has gone on "
          "(first seen earliest first); new before recurring.",
}


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def priority_key(row: dict) -> tuple:
    """Sort key of one finding (a dict with severity, amount_at_risk, and where known
    first_seen, status, rule_id, subject)."""
    amount = row.get("amount_at_risk")
    amount = None if amount is None or amount == "" else Decimal(str(amount))
    first = _day(row.get("first_seen"))
    return (
        SEVERITY_RANK.get(row.get("severity") or "", 9),
        amount is None,
        -(amount or Decimal(0)),
        first is None,
        first or date.max,
        0 if row.get("status") == "new" else 1,
        row.get("rule_id") or "",
        row.get("subject") or row.get("person_id") or row.get("finding_key") or "",
    )


def in_priority_order(rows: Iterable[dict]) -> list[dict]:
    return sorted(rows, key=priority_key)
