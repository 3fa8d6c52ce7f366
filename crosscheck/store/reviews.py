"""Reviewer dispositions: values, suppression, material change, sheet import.

Dispositions
    ``confirmed`` (属实), ``false_positive`` (误报), ``explained`` (已解释),
    each with a note, the reviewer's name and the review date. Reviews are
    append-only; the newest review of a key is its current disposition.

Suppression
    A finding whose current disposition is ``false_positive`` or ``explained``
    is suppressed in a later run while the run's as-of date is before
    ``reviewed_on + days`` (days: the caller's per-rule mapping, default 180)
    and its evidence has not changed materially since the review. Suppressed
    findings are still returned, flagged, and counted per rule.

Material change (the finding is shown again, with the reason)
    Compared with the ``amount_at_risk`` and ``evidence_json`` stored with the
    review:
    1. ``amount_at_risk`` grew (a missing amount counts as 0);
    2. a numeric evidence field grew: JSON numbers (not booleans, not numbers
       written as strings) at the same path in the evidence object (nested
       objects give dotted paths, e.g. ``payments.months``); a numeric field
       that was not there at review time counts as grown; a field that shrank
       or disappeared does not count;
    3. the set of non-numeric evidence values changed: every string, boolean
       and null leaf, and every element of a list (numbers in lists included),
       taken as a set of (path, value) pairs, so order within lists does not
       matter but any added, removed or altered value does (e.g. a new hospital,
       a later last-paid month, a different source of the date of death).
    Evidence that is not a JSON object is compared as one non-numeric value.
    Caveat: a rule whose evidence carries a value that moves every run (e.g.
    "days since") will never stay suppressed; keep such values out of
    evidence_json or make them stable.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

from crosscheck.casework.scope import DISPOSITIONS  # noqa: F401 - the values, re-exported
from crosscheck.reports.review_headers import header_field

SUPPRESSING = ("false_positive", "explained")
DEFAULT_SUPPRESSION_DAYS = 180

DISPOSITION_ZH = {"confirmed": "属实", "false_positive": "误报", "explained": "已解释"}

_VALUE_ALIASES = {
    "confirmed": ["confirmed", "confirm", "确认", "已确认", "属实", "确认属实", "查实", "已查实"],
    "false_positive": ["false_positive", "falsepositive", "false_positives", "fp", "误报", "不属实", "排除", "已排除"],
    "explained": ["explained", "explain", "已解释", "解释", "合理解释", "有合理解释", "已说明", "情况已说明"],
}
_VALUES = {alias: canonical for canonical, aliases in _VALUE_ALIASES.items() for alias in aliases}


class ReviewError(ValueError):
    """A disposition, date or amount a reviewer gave that cannot be used."""


def normalise_disposition(value: object) -> str | None:
    """'误报', 'False positive', 'false-positive', '误报 / false_positive' -> 'false_positive'.

    Returns None for a blank value (no decision); raises ReviewError for an unknown one.
    """
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    found: set[str] = set()
    for part in re.split(r"[/|｜／,，;；()（）]+", text):
        token = re.sub(r"[\s\-]+", "_", part.strip().lower()).strip("_")
        if not token:
            continue
        if token in _VALUES:
            found.add(_VALUES[token])
        elif token.replace("_", "") in _VALUES:
            found.add(_VALUES[token.replace("_", "")])
        else:
            found.add("?")
    if len(found) == 1 and "?" not in found:
        return found.pop()
    raise ReviewError(f"unknown disposition '{text}' (expected confirmed/属实, false_positive/误报 or explained/已解释)")


def parse_day(value: object, what: str = "date") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ReviewError(f"{what} '{text}': expected YYYY-MM-DD")


def parse_amount(value: object, what: str = "amount") -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise ReviewError(f"{what} '{value}': expected a number such as 1234.50") from None
    if not amount.is_finite():
        raise ReviewError(f"{what} '{value}': expected a number such as 1234.50")
    return amount.quantize(Decimal("0.01"))


# -- material change ---------------------------------------------------------------

def _leaves(obj: Any, path: str, in_list: bool, numeric: dict[str, float], other: set[tuple[str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _leaves(v, f"{path}.{k}" if path else str(k), in_list, numeric, other)
    elif isinstance(obj, list):
        for v in obj:
            _leaves(v, f"{path}[]", True, numeric, other)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and not in_list:
        numeric[path] = obj
    else:
        other.add((path, json.dumps(obj, ensure_ascii=False, sort_keys=True)))


def _evidence(text: str | None) -> tuple[dict[str, float], set[tuple[str, str]]]:
    numeric: dict[str, float] = {}
    other: set[tuple[str, str]] = set()
    if text is None or not str(text).strip():
        return numeric, other
    try:
        obj = json.loads(text)
    except ValueError:
        other.add(("", str(text)))
        return numeric, other
    if not isinstance(obj, (dict, list)):
        other.add(("", json.dumps(obj, ensure_ascii=False)))
        return numeric, other
    _leaves(obj, "", False, numeric, other)
    return numeric, other


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def material_change(
    amount_then: Decimal | float | None,
    evidence_then: str | None,
    amount_now: Decimal | float | None,
    evidence_now: str | None,
) -> str | None:
    """Why the finding changed materially since review (see the module docstring), or None."""
    reasons: list[str] = []
    then = Decimal(str(amount_then)) if amount_then is not None else Decimal(0)
    now = Decimal(str(amount_now)) if amount_now is not None else Decimal(0)
    if now > then:
        reasons.append(f"amount_at_risk {then:.2f} -> {now:.2f}")
    num_then, other_then = _evidence(evidence_then)
    num_now, other_now = _evidence(evidence_now)
    for path, value in sorted(num_now.items()):
        if path not in num_then:
            reasons.append(f"{path or 'evidence'} new: {_num(value)}")
        elif value > num_then[path]:
            reasons.append(f"{path or 'evidence'} {_num(num_then[path])} -> {_num(value)}")
    if other_then != other_now:
        added = sorted(other_now - other_then)
        removed = sorted(other_then - other_now)
        bits = [f"{p or 'evidence'}={v}" for p, v in added[:3]]
        bits += [f"{p or 'evidence'}≠{v}" for p, v in removed[:3] if not any(p == q for q, _ in added)]
        reasons.append("evidence values changed" + (f" ({'; '.join(bits)})" if bits else ""))
    return "; ".join(reasons) or None


@dataclass(frozen=True)
class Suppression:
    suppressed: bool
    until: date | None = None
    change: str | None = None      # why a false_positive / explained finding is shown again


def decide_suppression(
    disposition: str | None,
    reviewed_on: date | None,
    amount_then: Decimal | None,
    evidence_then: str | None,
    amount_now: Decimal | None,
    evidence_now: str | None,
    as_of: date,
    days: int,
) -> Suppression:
    if disposition not in SUPPRESSING or reviewed_on is None:
        return Suppression(False)
    until = reviewed_on + timedelta(days=int(days))
    if as_of >= until:
        return Suppression(False, until, f"{disposition} review of {reviewed_on} expired on {until}")
    change = material_change(amount_then, evidence_then, amount_now, evidence_now)
    if change:
        return Suppression(False, until, f"changed since the {disposition} review of {reviewed_on}: {change}")
    return Suppression(True, until, None)


# -- reading a reviewer's sheet -----------------------------------------------------

@dataclass
class SheetRow:
    where: str                         # 'file:line' or 'file[sheet]:row'
    values: dict[str, Any]             # field -> first non-blank value among its columns


@dataclass
class SheetProblem:
    where: str
    problem: str


def _columns(header: list[Any]) -> dict[str, list[int]]:
    cols: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        name = header_field(h)
        if name:
            cols.setdefault(name, []).append(i)
    return cols


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _row_values(row: list[Any], cols: dict[str, list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, idxs in cols.items():
        for i in idxs:
            v = row[i] if i < len(row) else None
            if not _blank(v):
                out[name] = v.strip() if isinstance(v, str) else v
                break
    return out


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReviewError(f"{path.name}: not UTF-8 or GB18030 text")


def read_csv_sheet(path: Path) -> Iterator[SheetRow | SheetProblem]:
    text = _decode(path)
    sample = text[:4096]
    delimiter = ","
    first = sample.splitlines()[0] if sample else ""
    if first.count("\t") > first.count(",") and first.count("\t") > 0:
        delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    cols: dict[str, list[int]] = {}
    last_line = 0
    for row in reader:
        line = last_line + 1
        last_line = reader.line_num
        if header is None:
            header = row
            cols = _columns(header)
            if "finding_key" not in cols:
                yield SheetProblem(f"{path.name}:{line}", "no finding_key column in the header row; nothing imported from this file")
                return
            if "disposition" not in cols:
                yield SheetProblem(f"{path.name}:{line}", "no disposition (处置) column in the header row; nothing imported from this file")
                return
            continue
        if not any(not _blank(v) for v in row):
            continue
        yield SheetRow(f"{path.name}:{line}", _row_values(row, cols))


def read_xlsx_sheets(path: Path) -> Iterator[SheetRow | SheetProblem]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own types
        yield SheetProblem(f"{path.name}", f"cannot read workbook: {exc}")
        return
    for sheet_name in book.sheet_names:
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        header_at = None
        cols: dict[str, list[int]] = {}
        for i, row in enumerate(rows[:10]):
            c = _columns(list(row))
            if "finding_key" in c:
                header_at, cols = i, c
                break
        if header_at is None:
            continue                      # a summary or notes sheet: no findings on it
        if "disposition" not in cols:
            yield SheetProblem(f"{path.name}[{sheet_name}]:{header_at + 1}", "no disposition (处置) column in the header row; nothing imported from this sheet")
            continue
        for i in range(header_at + 1, len(rows)):
            row = [None if v == "" else v for v in rows[i]]
            if all(_blank(v) for v in row):
                continue
            yield SheetRow(f"{path.name}[{sheet_name}]:{i + 1}", _row_values(row, cols))


def read_review_file(path: Path) -> Iterator[SheetRow | SheetProblem]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        yield from read_xlsx_sheets(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        yield from read_csv_sheet(path)
    else:
        raise ReviewError(f"{path.name}: expected a .csv or .xlsx file")


@dataclass
class ImportResult:
    applied: int = 0                   # reviews recorded
    unchanged: int = 0                 # rows repeating the finding's current review
    blank: int = 0                     # rows with no decision
    errors: list[str] = field(default_factory=list)   # 'file:line: problem'

    @property
    def ok(self) -> bool:
        return not self.errors
