"""A run's figures, computed once: every output (console, summary.json, report.html,
findings.xlsx, the Prefect artifact, the alerts) reads them from here, so no two of them
can disagree.

A finding is *listed* when reviewers are shown it: in the districts asked for (all when
none were) and not suppressed by a review (false positive / explained, within its
suppression period). `findings` and `amount` count listed findings only; `new` and
`recurring` split them; `suppressed` and `outside_districts` count the others, which no
file lists; `resolved` counts findings of the previous complete run that are gone.
A rule that did not run (skipped, failed) has `findings` None: never "zero findings".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from crosscheck.results import RuleOutcome

OUTCOMES = ("ok", "partial", "skipped", "failed")
RAN = ("ok", "partial")


def listed_mask(findings: pa.Table, districts: list[str] | None) -> pa.Array:
    """True for each finding reviewers are shown (see the module docstring)."""
    keep = pa.array([True] * findings.num_rows, pa.bool_())
    if "suppressed" in findings.column_names:
        keep = pc.and_(keep, pc.invert(pc.fill_null(findings["suppressed"], False)))
    if districts:
        keep = pc.and_(keep, pc.fill_null(pc.is_in(findings["district"], pa.array(districts, pa.string())), False))
    return keep


def suppressed_in(findings: pa.Table, districts: list[str] | None) -> pa.Table | None:
    """The findings in the districts asked for that a review suppressed (None when not recorded)."""
    if "suppressed" not in findings.column_names:
        return None
    inside = listed_mask(findings.drop_columns(["suppressed"]), districts)
    return findings.filter(pc.and_(inside, pc.fill_null(findings["suppressed"], False)))


@dataclass
class Figures:
    """The counts of one rule, or of the whole run."""

    findings: int | None = 0
    amount: Decimal = Decimal("0")
    by_severity: dict[str, int] = field(default_factory=dict)
    new: int = 0
    recurring: int = 0
    suppressed: int = 0
    outside_districts: int = 0
    resolved: int = 0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["amount"] = float(self.amount.quantize(Decimal("0.01"))) if self.findings is not None else None
        return d


@dataclass
class RunFigures:
    rules: dict[str, Figures]
    totals: Figures
    outcomes: dict[str, int]          # rule outcome -> number of rules

    def of(self, rule_id: str) -> Figures:
        return self.rules.get(rule_id) or Figures()


def run_figures(rules: list[RuleOutcome], findings: pa.Table, districts: list[str] | None,
                resolved: pa.Table | None = None) -> RunFigures:
    """Figures of the run from every finding its rules produced (with the store's columns
    `status` and `suppressed` when it was recorded) and the resolved findings."""
    listed = listed_mask(findings, districts).to_pylist()
    in_districts = (listed_mask(findings.drop_columns(["suppressed"]) if "suppressed" in findings.column_names
                                else findings, districts).to_pylist())
    cols = {c: findings[c].to_pylist() for c in ("rule_id", "severity", "amount_at_risk")}
    status = findings["status"].to_pylist() if "status" in findings.column_names else [None] * findings.num_rows
    per: dict[str, Figures] = {r.rule_id: Figures(findings=0 if r.status in RAN else None) for r in rules}
    for i, rule_id in enumerate(cols["rule_id"]):
        f = per.setdefault(rule_id, Figures())
        if not in_districts[i]:
            f.outside_districts += 1
        elif not listed[i]:
            f.suppressed += 1
        else:
            f.findings = (f.findings or 0) + 1
            if cols["amount_at_risk"][i] is not None:
                f.amount += Decimal(str(cols["amount_at_risk"][i]))
            f.by_severity[cols["severity"][i]] = f.by_severity.get(cols["severity"][i], 0) + 1
            if status[i] in ("new", "recurring"):
                setattr(f, status[i], getattr(f, status[i]) + 1)
    for rule_id in (resolved["rule_id"].to_pylist() if resolved is not None and resolved.num_rows else []):
        per.setdefault(rule_id, Figures()).resolved += 1
    totals = Figures(findings=sum(f.findings or 0 for f in per.values()),
                     amount=sum((f.amount for f in per.values()), Decimal("0")),
                     by_severity=dict(sum((Counter(f.by_severity) for f in per.values()), Counter())))
    for name in ("new", "recurring", "suppressed", "outside_districts", "resolved"):
        setattr(totals, name, sum(getattr(f, name) for f in per.values()))
    outcomes = {o: sum(r.status == o for r in rules) for o in OUTCOMES}
    return RunFigures(rules=per, totals=totals, outcomes=outcomes)


def without_rules(table: pa.Table | None, rule_ids: set[str]) -> pa.Table | None:
    """``table`` without the rows of these rules (the draft rules of the run)."""
    if table is None or not rule_ids or not table.num_rows:
        return table
    return table.filter(pc.invert(pc.is_in(table["rule_id"], pa.array(sorted(rule_ids), pa.string()))))
