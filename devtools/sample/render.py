"""Turn canonical integers into the strings departments deliver, mess included.

Every function takes a numpy Generator and returns an object array of str; the
variant of each row is drawn from ``weights`` so each file has a dominant style
with a sprinkling of the others.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import ids as idmod
from .timeutil import NONE, to_date
from .vocab import DOT_VARIANTS, GBK_DOT_VARIANTS, MIDDLE_DOT, NULL_TOKENS, TRADITIONAL

DATE_FORMATS = ["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d"]


def _pick(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _by_unique(values: np.ndarray, codes: np.ndarray, formatters) -> np.ndarray:
    """Format each distinct value once per variant, then gather."""
    out = np.empty(len(values), dtype=object)
    uniq, inv = np.unique(values, return_inverse=True)
    for v, fmt in enumerate(formatters):
        mask = codes == v
        if mask.any():
            used = np.unique(inv[mask])
            table = np.empty(len(uniq), dtype=object)
            table[used] = [fmt(int(u)) for u in uniq[used]]
            out[mask] = table[inv[mask]]
    return out


def nulls(rng: np.random.Generator, n: int, weights=(0.55, 0.2, 0.15, 0.1)) -> np.ndarray:
    """Empty values as they arrive: '', NULL, \\N or -."""
    return np.array(NULL_TOKENS, dtype=object)[_pick(rng, n, weights)]


def with_nulls(rng, values: np.ndarray, missing: np.ndarray, weights=(0.55, 0.2, 0.15, 0.1)) -> np.ndarray:
    out = values.astype(object).copy()
    if missing.any():
        out[missing] = nulls(rng, int(missing.sum()), weights)
    return out


def dates(rng, days: np.ndarray, weights=(0.2, 0.7, 0.1)) -> np.ndarray:
    """Day numbers as YYYYMMDD / YYYY-MM-DD / YYYY/MM/DD; NONE becomes an empty token."""
    days = np.asarray(days, dtype=np.int64)
    codes = _pick(rng, len(days), weights)
    missing = days == NONE
    fmts = [lambda d, f=f: to_date(d).strftime(f) for f in DATE_FORMATS]
    out = _by_unique(np.where(missing, 0, days), codes, fmts)
    return with_nulls(rng, out, missing)


def datetimes(rng, seconds: np.ndarray, weights=(0.75, 0.2, 0.05)) -> np.ndarray:
    """Seconds as 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD HH:MM' or a bare date (YYYYMMDD)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    missing = seconds == NONE
    s = np.where(missing, 0, seconds)
    day = s // 86_400
    tod = s % 86_400
    codes = _pick(rng, len(s), weights)
    day_txt = _by_unique(day, np.zeros(len(day), dtype=np.int64), [lambda d: to_date(d).isoformat()])
    hms = np.char.add(np.char.add(np.char.zfill((tod // 3600).astype(str), 2), ":"),
                      np.char.zfill((tod // 60 % 60).astype(str), 2))
    secs = np.char.add(":", np.char.zfill((tod % 60).astype(str), 2))
    out = np.empty(len(s), dtype=object)
    full = codes == 0
    short = codes == 1
    bare = codes == 2
    out[full] = [f"{d} {t}{x}" for d, t, x in zip(day_txt[full], hms[full], secs[full])]
    out[short] = [f"{d} {t}" for d, t in zip(day_txt[short], hms[short])]
    out[bare] = [d.replace("-", "") for d in day_txt[bare]]
    return with_nulls(rng, out, missing)


def months(rng, months_: np.ndarray, weights=(0.6, 0.4)) -> np.ndarray:
    """Month indexes as YYYYMM or YYYY-MM."""
    months_ = np.asarray(months_, dtype=np.int64)
    codes = _pick(rng, len(months_), weights)
    fmts = [lambda m: f"{m // 12:04d}{m % 12 + 1:02d}", lambda m: f"{m // 12:04d}-{m % 12 + 1:02d}"]
    return _by_unique(months_, codes, fmts)


def amounts(rng, cents: np.ndarray, weights=(0.25, 0.6, 0.15)) -> np.ndarray:
    """Cents as 3215.4 / 3215.40 / 3,215.40 (the last one gets quoted by the CSV writer)."""
    cents = np.asarray(cents, dtype=np.int64)
    codes = _pick(rng, len(cents), weights)
    fmts = [lambda c: repr(c / 100), lambda c: f"{c / 100:.2f}", lambda c: f"{c / 100:,.2f}"]
    return _by_unique(cents, codes, fmts)


def identity_numbers(rng, canonical: np.ndarray, forced: np.ndarray | None = None,
                     weights=(0.9, 0.02, 0.03, 0.01, 0.04)) -> np.ndarray:
    """Delivered forms of canonical numbers; ``forced`` (>= 0) overrides the drawn form per row."""
    codes = _pick(rng, len(canonical), weights)
    if forced is not None:
        codes = np.where(forced >= 0, forced, codes)
    out = canonical.astype(object).copy()
    for form in (idmod.LOWER_X, idmod.SPACES, idmod.FULLWIDTH, idmod.LEGACY15):
        mask = codes == form
        if mask.any():
            out[mask] = [idmod.render(c, form) for c in canonical[mask]]
    return out


def name_variant(name: str, kind: int, gbk: bool = False, k: int = 0) -> str:
    """An allowed variant of a canonical name (the same name once normalised).

    kind 1: space inside, 2: full-width space inside, 3: traditional characters,
    4: surrounding spaces, 5: middle-dot variant. Falls back to the name itself.
    """
    if MIDDLE_DOT in name and kind in (1, 2, 3, 5):
        dots = GBK_DOT_VARIANTS if gbk else DOT_VARIANTS
        return name.replace(MIDDLE_DOT, dots[1 + k % (len(dots) - 1)])
    if name.isascii():
        return name.replace(" ", "  ") if kind in (1, 2) else name
    if kind == 1 and len(name) >= 2:
        return name[0] + " " + name[1:]
    if kind == 2 and len(name) >= 2:
        return name[0] + "\u3000" + name[1:]
    if kind == 3:
        trad = "".join(TRADITIONAL.get(c, c) for c in name)
        return trad if trad != name else name[0] + " " + name[1:]
    if kind == 4:
        return " " + name + " "
    return name


def names(rng, canonical: np.ndarray, vary: np.ndarray, rate: float, gbk: bool = False) -> np.ndarray:
    """Apply allowed variants to a fraction ``rate`` of the rows where ``vary`` is true."""
    out = canonical.astype(object).copy()
    hit = vary & (rng.random(len(out)) < rate)
    kinds = rng.integers(1, 6, size=len(out))
    idx = np.flatnonzero(hit)
    out[idx] = [name_variant(canonical[i], int(kinds[i]), gbk, int(i)) for i in idx]
    # minority names: the dot itself varies per source even without other variants
    return out


def dots(names_: np.ndarray, dot: str) -> np.ndarray:
    """Retype the middle dot of every minority name the way this source's system does."""
    if dot == MIDDLE_DOT:
        return names_
    s = pd.Series(names_, dtype=object)
    hit = s.str.contains(MIDDLE_DOT, regex=False).to_numpy(dtype=bool)
    out = names_.copy()
    out[hit] = s[hit].str.replace(MIDDLE_DOT, dot, regex=False).to_numpy(dtype=object)
    return out
