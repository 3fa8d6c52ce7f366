"""Masking of identity numbers and names, and neutralising of spreadsheet formulas.

Every writer masks through these functions so csv, xlsx and html show the same
masked values. summary.json never carries identity numbers at all
(:func:`mask_ids_in_text` is applied to every string in it, whatever ``mask`` is).
"""
from __future__ import annotations

import json
import re
from typing import Any

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

#: Keys of a delivered row (raw_values, evidence_json) that hold identity numbers or names.
_ID_KEY = re.compile(r"身份|证件|证号|person_id|id_no|id_number|identity|idcard", re.I)
_NAME_KEY = re.compile(r"姓名|名字|name", re.I)

#: Characters that make a spreadsheet cell a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def mask_id(value: str | None) -> str | None:
    """``420202195001011234`` -> ``420202********1234``, ``420202500101123`` -> ``420202*****1123``;
    other lengths mask the middle."""
    if value is None:
        return None
    s = str(value).strip()
    n = len(s)
    if n == 0:
        return s
    if n >= 15:
        return s[:6] + "*" * (n - 10) + s[-4:]
    if n >= 8:
        return s[:2] + "*" * (n - 4) + s[-2:]
    return "*" * n


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


#: Full-width digits and X as delivered (extracts.md), one ASCII character each, so positions hold.
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


def _names_in_json(evidence_json: str | None) -> list[str]:
    if not evidence_json:
        return []
    try:
        obj = json.loads(evidence_json)
    except (ValueError, TypeError):
        return []
    found: list[str] = []

    def walk(o: Any, key: str = "") -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, str(k))
        elif isinstance(o, list):
            for v in o:
                walk(v, key)
        elif isinstance(o, str) and key and _NAME_KEY.search(key) and not _ID_KEY.search(key):
            found.append(o)

    walk(obj)
    return found


def mask_evidence(text: str | None, names: list[str | None] = (), evidence_json: str | None = None) -> str | None:
    """Mask identity numbers, and the given names plus any name-like field of
    ``evidence_json``, wherever they occur in an evidence line."""
    if not text:
        return text
    out = mask_ids_in_text(text)
    candidates = {n.strip() for n in [*names, *_names_in_json(evidence_json)] if n and len(n.strip()) >= 2}
    for name in sorted(candidates, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def mask_raw_values(raw: str | None) -> str | None:
    """Mask a quarantined row's ``raw_values`` (JSON object header -> value)."""
    if not raw:
        return raw
    try:
        obj = json.loads(raw)
    except (ValueError, TypeError):
        return mask_ids_in_text(raw)
    if not isinstance(obj, dict):
        return mask_ids_in_text(raw)
    masked = {}
    for k, v in obj.items():
        if isinstance(v, str):
            if _ID_KEY.search(str(k)):
                v = mask_id(v)
            elif _NAME_KEY.search(str(k)):
                v = mask_name(v)
            else:
                v = mask_ids_in_text(v)
        masked[k] = v
    return json.dumps(masked, ensure_ascii=False)


def mask_deep(obj: Any) -> Any:
    """Mask identity numbers in every string of a JSON-able structure."""
    if isinstance(obj, str):
        return mask_ids_in_text(obj)
    if isinstance(obj, dict):
        return {k: mask_deep(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_deep(v) for v in obj]
    return obj


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Only text is touched: numbers (a negative amount) stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
