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
import unicodedata
from functools import lru_cache
from typing import NamedTuple

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
    score = max(fuzz.token_sort_ratio(" ".join(ta), " ".join(tb)), fuzz.ratio("".join(ta), "".join(tb))) / 100.0
    if _has_initial(ta) or _has_initial(tb):
        score = _initials(ta, tb, score)
    return score


#: Factor on a Latin-name score reached by expanding initials (J. SMITH / JOHN SMITH = 0.95).
INITIAL_FACTOR = 0.95
#: Factor on the score when an initial fits no token of the other name (J. SMITH / MARY SMITH).
INITIAL_CONFLICT = 0.8


def _has_initial(tokens) -> bool:
    return any(len(t) == 1 for t in tokens) and len(tokens) > 1


def _initials(ta: list[str], tb: list[str], base: float) -> float:
    """Latin score once one-letter tokens are expanded into an unused full token of the
    other name with that initial; `base` lowered if some initial fits no such token."""

    def expand(short: list[str], full: list[str]) -> list[str] | None:
        free = [t for t in full if len(t) > 1 and t not in short]
        out = []
        for t in short:
            if len(t) == 1:
                hit = next((f for f in free if f[0] == t), None)
                if hit is None:
                    return None
                free.remove(hit)
                out.append(hit)
            else:
                out.append(t)
        return out

    ea = expand(ta, tb) if _has_initial(ta) else ta
    eb = expand(tb, ea or ta) if _has_initial(tb) else tb
    if ea is None or eb is None:
        return base * INITIAL_CONFLICT
    return max(base, INITIAL_FACTOR * fuzz.token_sort_ratio(" ".join(ea), " ".join(eb)) / 100.0)


def _mixed(a: str, b: str) -> float:
    def letters(s: str) -> str:
        return "".join(_pinyin(s)) if _has_cjk(s) else "".join(_tokens(s))

    return fuzz.ratio(letters(a), letters(b)) / 100.0


def fold(value: str) -> str:
    """Fold a name the way the connectors do, so raw values compare too (張偉 -> 张伟).

    Chinese-script names get `normalize.normalize_name`; Latin names only NFKC and
    collapsed spaces (their case is kept: it marks token boundaries in ``JohnSmith``).
    Idempotent on names the connectors already normalised.
    """
    if _has_cjk(value):
        from crosscheck.normalize import normalize_name

        return normalize_name(value)
    return " ".join(unicodedata.normalize("NFKC", value).split())


def _score_one(a: str, b: str) -> float:
    """The scalar reference implementation (both names folded, non-empty, different)."""
    cjk_a, cjk_b = _has_cjk(a), _has_cjk(b)
    if cjk_a and cjk_b:
        return _chinese(a, b)
    if not cjk_a and not cjk_b:
        return _latin(a, b)
    return _mixed(a, b)


def name_similarity(a: str | None, b: str | None) -> float | None:
    """Similarity of two names in [0, 1]; None if either is missing.

    Computed by the same vectorised path as the DuckDB UDF (`name_similarity_arrow`).
    """
    if a is None or b is None:
        return None
    return name_similarity_many([a], [b])[0]


def name_similarity_many(left: list, right: list) -> list:
    import pyarrow as pa

    out = name_similarity_arrow(pa.array(left, type=pa.string()), pa.array(right, type=pa.string()))
    return out.to_pylist()


# ---------------------------------------------------------------- vectorised path

class _Features(NamedTuple):
    kind: int            # 0 empty, 1 Chinese script, 2 Latin
    text: str            # folded name
    chars: str           # Chinese: characters without separators
    parts: str           # Chinese: parts (split on dots/spaces) sorted and joined
    multi: bool          # Chinese: more than one part
    syllables: str       # Chinese: pinyin syllables, one private-use character each
    letters: str         # pinyin letters (Chinese) or tokens joined (Latin)
    sorted_tokens: str   # Latin: tokens sorted, space-joined (token_sort_ratio's form)
    initials: bool       # Latin: a one-letter token among several


_SYLLABLE_CODES: dict[str, str] = {}


def _encode_syllables(syllables) -> str:
    out = []
    for s in syllables:
        code = _SYLLABLE_CODES.get(s)
        if code is None:
            n = len(_SYLLABLE_CODES)
            code = chr(0xE000 + n) if n < 6400 else chr(0xF0000 + n - 6400)
            _SYLLABLE_CODES[s] = code
        out.append(code)
    return "".join(out)


_NULL_FEATURES = _Features(-1, "", "", "", False, "", "", "", False)


@lru_cache(maxsize=262144)
def _features(value: str) -> _Features:
    s = fold(value).strip()
    if not s:
        return _Features(0, "", "", "", False, "", "", "", False)
    if _has_cjk(s):
        parts = _SEPARATORS.split(s)
        chars = "".join(t for t in parts if t)
        syl = _pinyin(chars)
        return _Features(1, s, chars, "".join(sorted(parts)), len(parts) > 1, _encode_syllables(syl), "".join(syl), "", False)
    tokens = _tokens(s)
    return _Features(2, s, "", "", False, "", "".join(tokens), " ".join(sorted(tokens)), _has_initial(tokens))


def _cp(left, right, scorer) -> "np.ndarray":
    import numpy as np
    from rapidfuzz import process

    if len(left) == 0:
        return np.zeros(0)
    return process.cpdist(list(left), list(right), scorer=scorer, dtype=np.float64, workers=-1 if len(left) > 20000 else 1) / 100.0


def name_similarity_arrow(a, b):
    """Vectorised `name_similarity` over two aligned Arrow string arrays -> DOUBLE array.

    Each distinct name is analysed once (folding, pinyin, tokens); the pairs are then
    scored with rapidfuzz `process.cpdist` (C++, aligned pairs) per script class.
    Only Latin pairs where a name carries an initial (J. SMITH) take a Python step.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if isinstance(b, pa.ChunkedArray):
        b = b.combine_chunks()
    n = len(a)
    if n == 0:
        return pa.array([], type=pa.float64())

    def side(arr):
        enc = pc.dictionary_encode(arr.cast(pa.string()))
        feats = [_features(v) for v in enc.dictionary.to_pylist()] + [_NULL_FEATURES]
        idx = enc.indices.fill_null(len(feats) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
        return feats, idx

    fa, ia = side(a)
    fb, ib = side(b)

    def col(feats, idx, field):
        return np.array([getattr(f, field) for f in feats], dtype=object)[idx]

    ka = np.array([f.kind for f in fa])[ia]
    kb = np.array([f.kind for f in fb])[ib]
    out = np.full(n, np.nan)
    valid = (ka >= 0) & (kb >= 0)
    empty_a, empty_b = ka == 0, kb == 0
    out[valid & empty_a & empty_b] = 1.0
    out[valid & (empty_a ^ empty_b)] = 0.0
    both = valid & ~empty_a & ~empty_b
    ta, tb = col(fa, ia, "text"), col(fb, ib, "text")
    same = both & (ta == tb)
    out[same] = 1.0
    todo = both & ~same

    m = todo & (ka == 1) & (kb == 1)  # Chinese
    if m.any():
        chars = _cp(col(fa, ia, "chars")[m], col(fb, ib, "chars")[m], fuzz.ratio)
        sound = (_cp(col(fa, ia, "syllables")[m], col(fb, ib, "syllables")[m], fuzz.ratio)
                 + _cp(col(fa, ia, "letters")[m], col(fb, ib, "letters")[m], fuzz.ratio)) / 2.0
        multi = (col(fa, ia, "multi")[m] | col(fb, ib, "multi")[m]).astype(bool)
        if multi.any():
            parts = _cp(col(fa, ia, "parts")[m][multi], col(fb, ib, "parts")[m][multi], fuzz.ratio)
            chars[multi] = np.maximum(chars[multi], parts)
        out[m] = np.maximum(chars, (1 - PINYIN_WEIGHT) * chars + PINYIN_WEIGHT * sound)

    m = todo & (ka == 2) & (kb == 2)  # Latin
    if m.any():
        la, lb = col(fa, ia, "letters")[m], col(fb, ib, "letters")[m]
        score = np.maximum(_cp(col(fa, ia, "sorted_tokens")[m], col(fb, ib, "sorted_tokens")[m], fuzz.ratio), _cp(la, lb, fuzz.ratio))
        score[(la == "") | (lb == "")] = 0.0
        init = (col(fa, ia, "initials")[m] | col(fb, ib, "initials")[m]).astype(bool)
        if init.any():
            xa, xb = ta[m][init], tb[m][init]
            score[init] = [_initials(_tokens(x), _tokens(y), base) for x, y, base in zip(xa, xb, score[init])]
        out[m] = score

    m = todo & (ka != kb) & (ka > 0) & (kb > 0)  # Chinese against Latin: pinyin letters
    if m.any():
        out[m] = _cp(col(fa, ia, "letters")[m], col(fb, ib, "letters")[m], fuzz.ratio)

    out = np.round(np.clip(out, 0.0, 1.0), 4)
    return pa.array(out, type=pa.float64(), mask=np.isnan(out))


def _arrow_udf(a, b):
    return name_similarity_arrow(a, b)


def register(con) -> None:
    """Register ``name_similarity(VARCHAR, VARCHAR) -> DOUBLE`` on a DuckDB connection (idempotent)."""
    try:
        con.remove_function(UDF_NAME)
    except Exception:  # not registered yet
        pass
    con.create_function(UDF_NAME, _arrow_udf, ["VARCHAR", "VARCHAR"], "DOUBLE", type="arrow")
