"""Shared preparation for the report writers: sorted, masked rows and totals."""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from crosscheck.checkpoints import Checkpoint, carry_on
from crosscheck.reports.priority import in_priority_order
from crosscheck.reports.figures import RAN, RunFigures, run_figures
from crosscheck.privacy.masking import mask_finding, mask_ids_in_text, mask_quarantine_row, mask_review_row
from crosscheck.results import FINDINGS_SCHEMA, REVIEW_SCHEMA, RuleOutcome, RunResult

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
SEVERITY_EN = {"high": "High", "medium": "Medium", "low": "Low"}
STATUS_ZH = {"ok": "已运行", "partial": "部分数据", "skipped": "已跳过", "failed": "运行失败"}
STATUS_EN = {"ok": "Ran", "partial": "Partial", "skipped": "Skipped", "failed": "Failed"}

#: findings.csv columns, in this order; EXTRA_COLUMNS follow when the findings table has them.
FINDINGS_COLUMNS = ["rule_id", "subject", "person_id", "name", "severity", "amount_at_risk", "evidence", "district", "sources"]
EXTRA_COLUMNS = ["finding_key", "status", "first_seen"]
#: What the findings store says of each finding's current review (shown beside it; never CSV columns
#: of their own: they fill the review columns below).
REVIEW_FIELDS = ["review", "review_note", "reviewer", "reviewed_on", "suppressed_until", "review_change"]
#: Columns for the reviewer's round trip (`crosscheck review import` reads them back, see
#: crosscheck.reports.review_headers.header_field), filled with the current review where there is one;
#: written only when findings carry a finding_key.
REVIEW_COLUMNS = ["处置 / disposition", "备注 / note", "复核人 / reviewer"]
#: Finding status (from the findings store) for people.
FINDING_STATUS_ZH = {"new": "新增", "recurring": "持续"}
FINDING_STATUS_EN = {"new": "New", "recurring": "Recurring"}
QUARANTINE_COLUMNS = ["source", "table", "file", "line", "reason", "raw_values"]
#: review_candidates.csv: the records rules could not decide (待人工核实), one row per candidate.
CANDIDATES_FILE = "review_candidates.csv"
CANDIDATES_COLUMNS = list(REVIEW_SCHEMA.names)

UNKNOWN_DISTRICT = "（未知）"

#: Each rule's findings with their evidence fields, one column per field, and every source record.
EVIDENCE_FILE = "findings_{rule_id}.csv"
#: findings_<rule>.csv columns before the evidence fields (finding_key first when the findings have it).
EVIDENCE_FILE_COLUMNS = ["subject", "person_id", "name", "district", "severity", "amount_at_risk"]
#: Source records shown per finding where space is short (findings.xlsx; report.html shows more): the rest are counted.
SOURCES_SHOWN = 20


@dataclass
class RuleView:
    """One rule as the reports show it: the outcome plus what the findings table says."""

    outcome: RuleOutcome
    findings: list[dict] = field(default_factory=list)
    amount: Decimal = Decimal("0")
    sheet: str = ""                 # its findings.xlsx sheet, if it has one

    @property
    def rule_id(self) -> str:
        return self.outcome.rule_id

    @property
    def ran(self) -> bool:
        """It ran (ok or partial): its findings stand; skipped and failed rules have none."""
        return self.outcome.status in RAN


def figures_of(run: RunResult) -> RunFigures:
    """The run's figures (computed once by the run; from its findings for a run built by hand)."""
    return run.figures or run_figures(run.rules, run.findings, None, run.resolved)


def extra_columns(run: RunResult) -> list[str]:
    names = set(run.findings.column_names)
    return [c for c in EXTRA_COLUMNS if c in names]


def review_columns(extra: list[str]) -> list[str]:
    """The review columns, when the findings can be reviewed (they have a finding_key)."""
    return list(REVIEW_COLUMNS) if "finding_key" in extra else []


#: Dispositions as reviewers write them in the review columns (crosscheck review import reads them back).
DISPOSITION_ZH = {"confirmed": "属实", "false_positive": "误报", "explained": "已解释"}
DISPOSITION_EN = {"confirmed": "Confirmed", "false_positive": "False positive", "explained": "Explained"}


def review_values(row: dict) -> list[str]:
    """The review columns' values for one finding: its current disposition, note and reviewer."""
    return [DISPOSITION_ZH.get(row.get("review") or "", row.get("review") or ""), row.get("review_note") or "",
            row.get("reviewer") or ""]


#: The counts of the change since the previous run, as the reports show them.
CHANGE_KEYS = ("listed", "new", "recurring", "resolved", "suppressed", "outside_districts")


def history_rows(run: RunResult, views: list["RuleView"]) -> list[dict]:
    """Per rule, the change since the previous run (from the run's figures), in view order;
    empty when the run was not recorded in the findings store. ``listed`` is what the
    reports list for the rule; suppressed and outside-district findings are not listed."""
    if not run.history:
        return []
    figures = figures_of(run)
    out = []
    titles = {v.rule_id: v for v in views}
    for rid in [v.rule_id for v in views] + sorted(set(figures.rules) - set(titles)):
        f = figures.of(rid)
        v = titles.get(rid)
        out.append({
            "rule_id": rid,
            "title_zh": (v.outcome.title_zh if v else "") or rid,
            "title_en": (v.outcome.title_en if v else "") or rid,
            "ran": v.ran if v else True,
            "listed": f.findings or 0,
            **{k: getattr(f, k) for k in CHANGE_KEYS if k != "listed"},
        })
    return out


def precision_rows(run: RunResult, views: list["RuleView"]) -> list[dict]:
    """Per rule with reviews, precision = confirmed / reviewed (run.history["precision"])."""
    prec = (run.history or {}).get("precision") or {}
    titles = {v.rule_id: v for v in views}
    out = []
    for rid in [v.rule_id for v in views if v.rule_id in prec] + sorted(set(prec) - set(titles)):
        p = prec[rid]
        v = titles.get(rid)
        reviewed = int(p.get("reviewed", 0) or 0)
        value = p.get("precision")
        out.append({
            "rule_id": rid,
            "title_zh": (v.outcome.title_zh if v else "") or rid,
            "title_en": (v.outcome.title_en if v else "") or rid,
            "reviewed": reviewed,
            "confirmed": int(p.get("confirmed", 0) or 0),
            "false_positive": int(p.get("false_positive", 0) or 0),
            "explained": int(p.get("explained", 0) or 0),
            "precision": float(value) if value is not None else None,
            "recovered": Decimal(str(p.get("recovered") or 0)),
        })
    return out


def resolved_rows(run: RunResult, mask: bool) -> list[dict]:
    """Findings of the previous run that are gone now, masked if asked."""
    table = run.resolved
    if table is None or not table.num_rows:
        return []
    rows = table.to_pylist()
    rows.sort(key=lambda r: (r.get("rule_id") or "", r.get("person_id") or "", r.get("finding_key") or ""))
    return masked_findings(run, rows) if mask else rows


def masked_findings(run: RunResult, rows: list[dict]) -> list[dict]:
    """Findings (dicts) as a masked run shows them, each by its rule's declared kinds."""
    kinds = run.personal_kinds
    return [mask_finding(r, kinds.get(r.get("rule_id") or "", {})) for r in rows]


def finding_rows(run: RunResult, mask: bool, table=None) -> list[dict]:
    """Every finding of `table` (default: the run's findings), by rule, each rule's in priority
    order (crosscheck.reports.priority), with its rank in the run's one priority list (`priority`, 1 is
    first) and its timeline marks (`timeline`); masked if asked.

    Sorting uses the full values, so masked and unmasked reports list findings in the same
    order. Values are plain Python (amount_at_risk a Decimal or None)."""
    table = run.findings if table is None else table
    wanted = [c for c in (*FINDINGS_SCHEMA.names, *EXTRA_COLUMNS, *REVIEW_FIELDS) if c in table.column_names]
    rows = table.select(wanted).to_pylist()
    marks = {o.rule_id: o.timeline for o in run.rules if o.timeline}
    for row in rows:
        amt = row.get("amount_at_risk")
        if amt is not None and not isinstance(amt, Decimal):
            row["amount_at_risk"] = Decimal(str(amt))
        row["timeline"] = timeline_of(marks.get(row.get("rule_id") or ""), row.get("evidence_json"))
    for rank, row in enumerate(in_priority_order(rows), 1):
        row["priority"] = rank
    rows.sort(key=lambda r: (r.get("rule_id") or "", r["priority"]))
    return masked_findings(run, rows) if mask else rows


def timeline_of(marks: list[dict] | None, evidence_json: str | None) -> list[dict]:
    """The marks of a finding's timeline with their dates ('YYYY-MM-DD', a month as its first day),
    from its evidence: dates are not personal data. Marks whose evidence is empty are left out."""
    if not marks or not evidence_json:
        return []
    try:
        evidence = json.loads(evidence_json)
    except ValueError:
        return []

    def day(name):
        value = evidence.get(name) if name else None
        if isinstance(value, list):
            value = min((v for v in value if v), default=None)
        if not value:
            return None
        text = str(value)[:10]
        return text + "-01" if len(text) == 7 else text

    out = []
    for m in marks:
        start, end = (day(m.get("at")), None) if m.get("at") else (day(m.get("from")), day(m.get("to")))
        if start:
            out.append({"zh": m["label"]["zh"], "en": m["label"]["en"], "kind": m.get("kind", "event"),
                        "from": start, "to": end or start})
    return out


def review_rows(run: RunResult, mask: bool) -> list[dict]:
    """Every review candidate of the run (待人工核实), by rule and record; masked if asked, by the
    kinds its rule's lineage gives (RuleOutcome.personal, "review.<column>")."""
    rows = sorted(run.review.to_pylist(), key=lambda r: (r["rule_id"], r["subject"] or "", r["person_id"] or ""))
    if mask:
        kinds = run.personal_kinds
        rows = [mask_review_row(r, kinds.get(r["rule_id"], {})) for r in rows]
    return rows


def quarantine_rows(run: RunResult, mask: bool) -> list[dict]:
    """Every quarantined row; masked if asked, by the declared kinds of its table's headers."""
    rows = run.quarantine.select([c for c in QUARANTINE_COLUMNS if c in run.quarantine.column_names]).to_pylist()
    if mask:
        rows = [mask_quarantine_row(r, run.personal_headers.get(r.get("table") or "")) for r in rows]
    return rows


def mask_run_texts(run: RunResult) -> RunResult:
    """A copy of ``run`` whose free texts (reasons, errors, details, descriptions) have
    identity numbers masked. Findings and quarantine are masked separately."""
    rules = [dataclasses.replace(r, reason=mask_ids_in_text(r.reason), description=mask_ids_in_text(r.description),
                                 description_zh=mask_ids_in_text(r.description_zh))
             for r in run.rules]
    loads = [
        dataclasses.replace(
            t,
            reason=mask_ids_in_text(t.reason),
            files=[dataclasses.replace(f, error=mask_ids_in_text(f.error), file=mask_ids_in_text(f.file)) for f in t.files],
            expectations=[dataclasses.replace(e, detail=mask_ids_in_text(e.detail)) for e in t.expectations],
        )
        for t in run.loads
    ]
    return dataclasses.replace(run, rules=rules, loads=loads, extracts_root=mask_ids_in_text(run.extracts_root))


def rule_views(run: RunResult, rows: list[dict]) -> list[RuleView]:
    """Rules in run order (plus any rule id only the findings table knows), with their findings."""
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_rule[row.get("rule_id") or ""].append(row)
    views = [RuleView(outcome=r) for r in run.rules]
    known = {r.rule_id for r in run.rules}
    for rid in by_rule:
        if rid not in known:
            views.append(RuleView(outcome=RuleOutcome(rule_id=rid, title_zh=rid, title_en=rid, severity="", status="ok")))
    for v in views:
        v.findings = by_rule.get(v.rule_id, [])
        v.amount = sum((f["amount_at_risk"] for f in v.findings if f.get("amount_at_risk") is not None), Decimal("0"))
    return views


def district_totals(rows: list[dict]) -> list[dict]:
    acc: dict[str, dict] = {}
    for row in rows:
        d = row.get("district") or UNKNOWN_DISTRICT
        t = acc.setdefault(d, {"district": d, "findings": 0, "amount": Decimal("0"), "high": 0, "medium": 0, "low": 0})
        t["findings"] += 1
        if row.get("amount_at_risk") is not None:
            t["amount"] += row["amount_at_risk"]
        if row.get("severity") in SEVERITY_RANK:
            t[row["severity"]] += 1
    return sorted(acc.values(), key=lambda t: (-t["findings"], -t["amount"], t["district"]))


def evidence_header(field: dict) -> str:
    """An evidence field's column header: its Chinese label and its name ("死亡日期 / death_date")."""
    return field["name"] if field["zh"] == field["name"] else f"{field['zh']} / {field['name']}"


def evidence_values(row: dict, fields: list[dict]) -> list[str]:
    """The finding's evidence fields as text, in the rule's order (from its evidence_json, masked
    when the row is): a list's items joined by 、 (every item), a missing value empty."""
    try:
        values = json.loads(row.get("evidence_json") or "{}")
    except ValueError:
        values = {}
    out = []
    for f in fields:
        v = values.get(f["name"]) if isinstance(values, dict) else None
        if isinstance(v, list):
            out.append("、".join("" if x is None else str(x) for x in v))
        else:
            out.append("" if v is None else str(v))
    return out


def shown_sources(sources: str | None, limit: int, rule_id: str) -> list[str]:
    """A finding's source records, at most `limit`; the rest counted, with where they all are."""
    items = [s.strip() for s in (sources or "").split(";") if s.strip()]
    if len(items) <= limit:
        return items
    return items[:limit] + [f"…（另 {len(items) - limit} 条，全部见 {EVIDENCE_FILE.format(rule_id=rule_id)}）"]


def fmt_amount(value: Decimal | float | None) -> str:
    """Two decimals, no separators (CSV)."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"


def fmt_money(value: Decimal | float | None) -> str:
    """Two decimals with thousands separators (HTML)."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f}"


@contextmanager
def atomic_path(final: Path, before_rename: Checkpoint = carry_on) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success move it into place with os.replace
    (calling ``before_rename`` with the moment "reports" just before).

    A crash leaves at most a hidden ``.<name>.*.tmp`` file, never a half-written
    file under the final name. Report files hold personal data: they are created
    owner-only (0600) whatever the umask.
    """
    final = Path(final)
    tmp_path = final.parent / f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp_path.touch(mode=0o600, exist_ok=False)
    os.chmod(tmp_path, 0o600)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        before_rename("reports")
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(final: Path, text: str, *, bom: bool = False, before_rename: Checkpoint = carry_on) -> Path:
    with atomic_path(final, before_rename) as tmp:
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
    return Path(final)


def as_float(value: Any) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01")))


def fmt_dt(value, zone: str = "") -> str:
    """A timestamp for people, in the project's time zone (crosscheck.toml `timezone`);
    aware values say their offset. Naive values are taken to be UTC, as the store keeps them."""
    if value is None:
        return ""
    if zone:
        from datetime import timezone as tz
        from zoneinfo import ZoneInfo

        local = (value if value.tzinfo else value.replace(tzinfo=tz.utc)).astimezone(ZoneInfo(zone))
    elif getattr(value, "tzinfo", None) is not None:
        local = value.astimezone()
    else:
        return value.isoformat(sep=" ", timespec="seconds")
    off = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S") + (f" (UTC{off[:3]}:{off[3:]})" if off else "")
