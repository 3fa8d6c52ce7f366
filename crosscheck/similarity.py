"""Name similarity for identity checks (0 = unrelated, 1 = the same name).

Names arrive normalised by the connectors (spaces removed, full-width folded,
middle dots unified, traditional -> simplified), so two equal strings are the
same name and score 1.0. Otherwise:

- Chinese names are compared on characters *and* on toneless pinyin syllables
  (`pypinyin.lazy_pinyin`), so a homophone typo (张伟 / 张维) scores well above
  an unrelated name (张伟 / 李娜);
- Latin names are compared token-order-insensitively (``SMITH JOHN`` =
  ``John Smith``); tokens are split on spaces, dots, hyphens, commas and
  case changes (``JohnSmith``), because the connectors remove spaces;
- a Chinese name against a Latin one is compared on pinyin letters
  (张伟 / ZHANGWEI).

`register(con)` makes it available in DuckDB as the vectorised Arrow UDF
``name_similarity(a VARCHAR, b VARCHAR) -> DOUBLE`` (NULL in, NULL out). Rules
call it on candidate pairs only (names that differ after normalisation).
"""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

UDF_NAME = "name_similarity"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_DOTS = "·•・.．‧"
_SEPARATORS = re.compile(r"[\s" + re.escape(_DOTS) + r",，\-_/'’]+")
_CASE_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")

#: Weight of the pinyin (sound) score against the character score for Chinese names.
PINYIN_WEIGHT = 0.6


def _has_cjk(s: str) -> bool:
    return bool(_CJK.search(s))


@lru_cache(maxsize=65536)
def _pinyin(s: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin  # import cost paid only when Chinese names differ

    return tuple(p.lower() for p in lazy_pinyin(s) if p.strip() and not _SEPARATORS.fullmatch(p))


def _tokens(s: str) -> list[str]:
    s = _CASE_BOUNDARY.sub(" ", s)
    return [t for t in _SEPARATORS.split(s.lower()) if t]


def _chinese(a: str, b: str) -> float:
    ca = "".join(t for t in _SEPARATORS.split(a) if t)
    cb = "".join(t for t in _SEPARATORS.split(b) if t)
    chars = fuzz.ratio(ca, cb) / 100.0
    pa, pb = _pinyin(ca), _pinyin(cb)
    # syllables catch homophones (维/伟); letters catch near-homophones (敏/明: min/ming)
    sound = (fuzz.ratio(list(pa), list(pb)) + fuzz.ratio("".join(pa), "".join(pb))) / 200.0
    # minority names: the parts of 阿依古丽·买买提 may come in either order
    parts_a, parts_b = sorted(_SEPARATORS.split(a)), sorted(_SEPARATORS.split(b))
    if len(parts_a) > 1 or len(parts_b) > 1:
        chars = max(chars, fuzz.ratio("".join(parts_a), "".join(parts_b)) / 100.0)
    return max(chars, (1 - PINYIN_WEIGHT) * chars + PINYIN_WEIGHT * sound)


def _latin(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return max(fuzz.token_sort_ratio(" ".join(ta), " ".join(tb)), fuzz.ratio("".join(ta), "".join(tb))) / 100.0


def _mixed(a: str, b: str) -> float:
    def letters(s: str) -> str:
        return "".join(_pinyin(s)) if _has_cjk(s) else "".join(_tokens(s))

    return fuzz.ratio(letters(a), letters(b)) / 100.0


def name_similarity(a: str | None, b: str | None) -> float | None:
    """Similarity of two normalised names in [0, 1]; None if either is missing."""
    if a is None or b is None:
        return None
    a, b = a.strip(), b.strip()
    if not a or not b:
        return 0.0 if (a or b) else 1.0
    if a == b:
        return 1.0
    cjk_a, cjk_b = _has_cjk(a), _has_cjk(b)
    if cjk_a and cjk_b:
        score = _chinese(a, b)
    elif not cjk_a and not cjk_b:
        score = _latin(a, b)
    else:
        score = _mixed(a, b)
    return round(min(1.0, max(0.0, score)), 4)


def _arrow_udf(a, b):
    import pyarrow as pa

    left, right = a.to_pylist(), b.to_pylist()
    return pa.array([name_similarity(x, y) for x, y in zip(left, right)], type=pa.float64())


def register(con) -> None:
    """Register ``name_similarity(VARCHAR, VARCHAR) -> DOUBLE`` on a DuckDB connection (idempotent)."""
    try:
        con.remove_function(UDF_NAME)
    except Exception:  # not registered yet
        pass
    con.create_function(UDF_NAME, _arrow_udf, ["VARCHAR", "VARCHAR"], "DOUBLE", type="arrow")
