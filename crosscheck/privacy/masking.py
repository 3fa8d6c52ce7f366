"""Masking of personal data, and neutralising of spreadsheet formulas.

What a value is comes from its declaration in the catalog, never from a field's
or a header's name (crosscheck.catalog: ``type: identity``, ``type: name``,
``personal: card | plate | phone | address | account | document``):

- a finding's columns and evidence fields carry the kinds the rule's lineage
  found (``RuleOutcome.personal``, crosscheck.rules.lineage): `mask_finding`;
- a quarantined row's values carry the kinds of their delivered headers
  (``RunResult.personal_headers``): `mask_quarantine_row`. A line that could not
  be split into columns (reason `MALFORMED_ROW`) has every value masked by
  `mask_shape`: which value is which is not known.

Each kind has one mask (`MASKS`). Every declared value is masked where it stands
and wherever it appears in the finding's or row's texts (`ValueMasker`); identity
numbers are masked in every free text too (`mask_ids_in_text`). summary.json never
carries identity numbers at all (`mask_deep` is applied to every string in it,
whatever ``mask`` is). Every writer masks through these functions, so csv, xlsx,
html, alerts and logs show the same masked values.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from crosscheck.catalog import normalize_header
from crosscheck.normalize import TRIM_CHARS
from crosscheck.results import EVIDENCE_KEY, MALFORMED_ROW, REVIEW_KEY

#: An identity number anywhere in a text: 18 characters, or a legacy 15-digit number whose
#: birth-date part (YYMMDD, characters 7-12) is a plausible date. Neither may be part of a
#: longer run of ASCII letters and digits, so a SHA-256 in hex is never taken for one.
ID_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]"
    r"|[1-9][0-9]{5}[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3})(?![0-9A-Za-z])"
)

#: Separators inside a name: middle-dot variants and whitespace (kept as delivered).
_NAME_SEPARATORS = re.compile(r"([·•‧・∙⋅．.\u00b7\u30fb\uff65\s\-]+)")
_DOTS = re.compile(r"[·•‧・∙⋅．.\u00b7\u30fb\uff65]")
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z\s.'\-]*")

#: Characters that make a spreadsheet cell a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Values shorter than this are masked where they stand but not searched for in texts.
MIN_SEARCHED = 2


def _keep_ends(value: str | None, shapes: tuple[tuple[int, int, int], ...]) -> str | None:
    """Star the middle of a value: the first (min length, head, tail) that fits its length, else all of it."""
    if value is None:
        return None
    s = str(value).strip()
    n = len(s)
    for at_least, head, tail in shapes:
        if n >= at_least:
            return s[:head] + "*" * (n - head - tail) + s[n - tail:]
    return "*" * n


def mask_id(value: str | None) -> str | None:
    """``420202195001011234`` -> ``420202********1234``, ``420202500101123`` -> ``420202*****1123``;
    other lengths mask the middle."""
    return _keep_ends(value, ((15, 6, 4), (8, 2, 2)))


def mask_card(value: str | None) -> str | None:
    """``3120000001007953`` -> ``3120********7953``; shorter numbers keep two digits each end."""
    return _keep_ends(value, ((12, 4, 4), (6, 2, 2)))


def mask_account(value: str | None) -> str | None:
    """``4220000054`` -> ``42******54``."""
    return _keep_ends(value, ((8, 2, 2),))


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; ``87654321`` -> ``87****21``."""
    return _keep_ends(value, ((11, 3, 4), (7, 2, 2)))


def mask_document(value: str | None) -> str | None:
    """A passport or permit number: ``E12345678`` -> ``E1*****78``."""
    return _keep_ends(value, ((8, 2, 2), (4, 1, 1)))


def mask_plate(value: str | None) -> str | None:
    """``鄂BE1844`` -> ``鄂B***44``."""
    return _keep_ends(value, ((6, 2, 2), (2, 1, 0)))


#: The leading administrative divisions of an address, at most four: province, city, district
#: or county, township or street office (Chinese characters ending in the division's suffix;
#: neither they nor the character after them one of a road, building or neighbourhood:
#: 广州路 is a road).
_NOT_ADMIN = "路街巷道号弄栋楼室村组院社小场"
_ADMIN_PART = re.compile(
    rf"(?:(?:(?![{_NOT_ADMIN}])[\u4e00-\u9fff]){{1,9}}?"
    rf"(?:自治区|自治州|特别行政区|省|市|州|盟|地区|区|县|旗|街道|镇|乡)(?![{_NOT_ADMIN}])){{1,4}}")


def mask_address(value: str | None) -> str | None:
    """``黄石港区颐阳路123号5栋`` -> ``黄石港区***``: only the leading administrative part is kept."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return s
    m = _ADMIN_PART.match(s)
    return (m.group() if m else "") + "***"


def _mask_token(token: str, latin: bool) -> str:
    n = len(token)
    if n == 0:
        return token
    if latin:
        return token[0] + "*" * (n - 1)
    if n == 1:
        return "*"
    if n == 2:
        return token[0] + "*"
    return token[0] + "*" * (n - 2) + token[-1]


def mask_name(value: str | None) -> str | None:
    """``张三`` -> ``张*``, ``张小明`` -> ``张*明``, ``欧阳小华`` -> ``欧**华``,
    ``阿卜杜·艾尼`` -> ``阿*杜·艾*``, ``John Smith`` -> ``J*** S****``."""
    if value is None:
        return None
    s = str(value)
    if not s.strip():
        return s
    latin = bool(_LATIN_NAME.fullmatch(s.strip()))
    if not latin and not _DOTS.search(s):
        s = re.sub(r"\s+", "", s)  # "张 三" is one name, not two
    parts = _NAME_SEPARATORS.split(s)
    if len([p for p in parts if p and not _NAME_SEPARATORS.fullmatch(p)]) <= 1:
        # a single token (possibly with surrounding spaces): the whole name
        core = s.strip()
        return s.replace(core, _mask_token(core, latin), 1)
    return "".join(p if (not p or _NAME_SEPARATORS.fullmatch(p)) else _mask_token(p, latin) for p in parts)


_SHAPE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def mask_shape(value: str | None) -> str | None:
    """Every letter, digit and Chinese character starred, punctuation and spaces kept:
    ``张三,42020219500101123`` -> ``**,*****************``. For values whose kind is not
    known (a line that could not be split into its columns)."""
    return None if value is None else _SHAPE.sub("*", str(value))


#: Kind of personal data (crosscheck.catalog.PERSONAL_KINDS, plus "shape") -> its mask.
MASKS: dict[str, Callable[[str | None], str | None]] = {
    "identity": mask_id, "name": mask_name, "card": mask_card, "plate": mask_plate,
    "phone": mask_phone, "address": mask_address, "account": mask_account, "document": mask_document,
    "shape": mask_shape,
}

#: Full-width digits and X as delivered in the extracts, one ASCII character each, so positions hold.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def mask_ids_in_text(text: str | None) -> str | None:
    """Mask every identity number (18-character or legacy 15-digit, ASCII or full-width
    digits) inside free text."""
    if not text:
        return text
    spans = [m.span() for m in ID_PATTERN.finditer(text.translate(_FULL_WIDTH))]
    for start, end in reversed(spans):
        text = text[:start] + mask_id(text[start:end]) + text[end:]
    return text


def mask_deep(obj: Any, mask_text: Callable[[str], str | None] = mask_ids_in_text) -> Any:
    """``mask_text`` (default: identity numbers masked) applied to every string of a JSON-able structure."""
    if isinstance(obj, str):
        return mask_text(obj)
    if isinstance(obj, dict):
        return {k: mask_deep(v, mask_text) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_deep(v, mask_text) for v in obj]
    return obj


class ValueMasker:
    """Masks declared values (`mask`), then finds them again in texts (`text`)."""

    def __init__(self) -> None:
        self.masks: dict[str, str] = {}          # full value -> its mask
        self._pattern: re.Pattern | None = None

    def mask(self, kind: str | None, value: Any) -> Any:
        """``value`` masked as ``kind`` (element-wise for a list; None and kind None unchanged)."""
        if kind is None or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [self.mask(kind, v) for v in value]
        text = value if isinstance(value, str) else str(value)
        for form in {text, text.strip(TRIM_CHARS)}:  # reasons quote the trimmed value
            masked = MASKS[kind](form)
            if len(form) >= MIN_SEARCHED and form != masked and form not in self.masks:
                self.masks[form] = masked
                self._pattern = None
        return MASKS[kind](text)

    def text(self, text: str | None) -> str | None:
        """Every value masked so far replaced by its mask wherever it appears; identity numbers masked."""
        if not text:
            return text
        if self.masks:
            if self._pattern is None:
                self._pattern = re.compile("|".join(_searched(v) for v in sorted(self.masks, key=len, reverse=True)))
            text = self._pattern.sub(lambda m: self.masks[m.group()], text)
        return mask_ids_in_text(text)


def _searched(value: str) -> str:
    """A value as a pattern; one that starts or ends with an ASCII letter or digit is not taken
    from inside a longer run of them ("12" is not in "2024", an identity number not in a hash)."""
    head = r"(?<![0-9A-Za-z])" if re.match(r"[0-9A-Za-z]", value) else ""
    tail = r"(?![0-9A-Za-z])" if re.search(r"[0-9A-Za-z]$", value) else ""
    return head + re.escape(value) + tail


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except (TypeError, ValueError):
        return None


def mask_value(kind: str | None, value: Any) -> Any:
    """A value of an analyst's query (crosscheck sql) as a masked session shows it: masked as its
    kind (one of MASKS, "shape" included), each item of a list or mapping alike; identity numbers
    masked in any other text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [mask_value(kind, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(kind, v) for k, v in value.items()}
    if kind is not None:
        return MASKS[kind](value if isinstance(value, str) else str(value))
    return mask_ids_in_text(value) if isinstance(value, str) else value


def mask_finding(row: dict, kinds: Mapping[str, str]) -> dict:
    """A finding as a masked run shows it: ``kinds`` (RuleOutcome.personal) says what each
    column and evidence field holds; its values are masked there and in every text of the
    finding (evidence, evidence_json, subject, sources). Only the keys ``row`` has are touched."""
    m = ValueMasker()
    out = dict(row)
    pid, subject = row.get("person_id"), row.get("subject")
    if "person_id" in row:
        out["person_id"] = m.mask("identity", pid)
    if "name" in row:  # shown in full only on a finding about no person whose rule's lineage finds no personal name
        about_no_person = "person_id" in row and not pid and not kinds.get("name")
        out["name"] = m.mask(None if about_no_person else "name", row.get("name"))
    evidence = _json(row.get("evidence_json"))
    if isinstance(evidence, dict):
        evidence = {k: m.mask(kinds.get(EVIDENCE_KEY + k), v) for k, v in evidence.items()}
    if "subject" in row:
        if kinds.get("subject"):
            out["subject"] = m.mask(kinds["subject"], subject)
        elif subject and pid and subject.strip() == pid.strip():
            out["subject"] = out["person_id"]
        else:
            out["subject"] = m.text(subject)
    for key in ("evidence", "sources"):
        if key in row:
            out[key] = m.text(row.get(key))
    if "evidence_json" in row:
        out["evidence_json"] = None if evidence is None else json.dumps(mask_deep(evidence, m.text), ensure_ascii=False)
    return out


def mask_review_row(row: dict, kinds: Mapping[str, str]) -> dict:
    """A review candidate (待人工核实) as a masked run shows it: ``kinds`` (RuleOutcome.personal,
    its "review.<column>" keys) says what each column holds; any other text has its identity
    numbers masked."""
    m = ValueMasker()
    return {c: m.mask(kinds[REVIEW_KEY + c], v) if kinds.get(REVIEW_KEY + c) else
            (mask_ids_in_text(v) if isinstance(v, str) else v) for c, v in row.items()}


def mask_quarantine_row(row: dict, headers: Mapping[str, str] | None) -> dict:
    """A quarantined row as a masked run shows it: each raw value masked by the kind its
    delivered header declares (``headers``: RunResult.personal_headers of its table, None when
    not known), and wherever it appears in the reason. A line that could not be split into
    columns, or a table whose headers are not known, has every value masked by `mask_shape`."""
    m = ValueMasker()
    out = dict(row)
    unsplit = headers is None or (row.get("reason") or "").startswith(MALFORMED_ROW)
    raw = _json(row.get("raw_values"))
    if isinstance(raw, dict):
        values = {h: m.mask("shape" if unsplit else headers.get(normalize_header(h)), v) for h, v in raw.items()}
        out["raw_values"] = json.dumps(mask_deep(values, m.text), ensure_ascii=False)
    elif row.get("raw_values"):
        out["raw_values"] = m.mask("shape", row["raw_values"])
    out["reason"] = m.text(row.get("reason"))
    out["file"] = mask_ids_in_text(row.get("file"))
    return out


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Only text is touched: numbers (a negative amount) stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
