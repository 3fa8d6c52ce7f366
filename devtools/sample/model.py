"""The canonical city: integer-keyed tables before any delivery mess is applied.

Tables reference each other by integer row keys (``person``, ``pen``, ``card``);
identity numbers, personal numbers and card numbers are assigned once the
ordinary population and the planted cases are combined (see city.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from .timeutil import day, month_first_day, month_of_date

COLUMNS = {
    "people": ["person", "name", "sex", "birth", "eth", "area", "street", "hh", "rel", "addr",
               "status", "cancel_day", "cancel_reason", "death_col", "death", "name_vary", "planted"],
    "pensioners": ["pen", "person", "name", "scheme", "start_month", "status", "area", "street", "name_vary", "idform"],
    "payments": ["pen", "person", "name", "scheme", "month", "cents", "pay_day", "name_vary", "idform"],
    "cards": ["card", "person", "name", "ctype", "issue_day", "status", "name_vary", "idform"],
    "reviews": ["card", "person", "day", "method", "result", "idform"],
    "taps": ["card", "ts", "route", "vehicle", "fare_cents"],
    "inpatient": ["person", "name", "hosp", "admit_ts", "disch_ts", "disp", "dx", "cents", "name_vary", "idform"],
    "outpatient": ["person", "name", "hosp", "day", "dept", "cents", "settle", "name_vary", "idform"],
}


@dataclass(frozen=True)
class Frame:
    """The dates every part of the generator works from."""
    as_of: dt.date

    @property
    def as_of_day(self) -> int:
        return day(self.as_of)

    @property
    def as_of_month(self) -> int:
        return month_of_date(self.as_of)

    @property
    def first_pay_month(self) -> int:  # 24 paid months: first_pay_month .. as_of_month - 1
        return self.as_of_month - 24

    @property
    def last_pay_month(self) -> int:
        return self.as_of_month - 1

    @property
    def window_start(self) -> int:  # first day covered by activity data
        return month_first_day(self.first_pay_month)

    @property
    def last_activity_day(self) -> int:  # nothing is recorded on or after the as-of date
        return self.as_of_day - 1


@dataclass
class Truth:
    """Ground truth kept by the generator while it plants cases."""
    findings: list = field(default_factory=list)   # (rule_id, person, severity, cents | None)
    planted: dict = field(default_factory=dict)    # rule_id -> {case kind: count}
    decoys: dict = field(default_factory=dict)     # rule_id -> {case kind: count}
    review: list = field(default_factory=list)     # 待人工核实 rows (_truth/review_candidates.csv)
    counts: dict = field(default_factory=dict)     # other figures a run reports (_truth/sample.json)

    def fire(self, rule: str, person: int, severity: str, cents: int | None, kind: str) -> None:
        self.findings.append((rule, person, severity, cents))
        self.planted.setdefault(rule, {}).setdefault(kind, 0)
        self.planted[rule][kind] += 1

    def decoy(self, rule: str, kind: str) -> None:
        self.decoys.setdefault(rule, {}).setdefault(kind, 0)
        self.decoys[rule][kind] += 1


def concat(parts: list[pd.DataFrame], table: str) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: [] for c in COLUMNS[table]})
    return pd.concat([p[COLUMNS[table]] for p in parts], ignore_index=True)
