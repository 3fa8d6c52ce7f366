"""Resident identity numbers (公民身份号码): canonical, messy and invalid forms."""
from __future__ import annotations

import datetime as dt

import numpy as np

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))

# delivered form codes (per row)
CANONICAL, LOWER_X, SPACES, FULLWIDTH, LEGACY15 = range(5)


def check_char(body17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(body17, WEIGHTS)) % 11]


def make_ids(area: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Vectorised canonical 18-character numbers from area code (int), birth (int) and sequence."""
    body = area.astype(np.int64) * 10**11 + birth_yyyymmdd.astype(np.int64) * 1000 + seq.astype(np.int64)
    digits = (body[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    checks = np.array(list(CHECK_CHARS))[(digits * WEIGHTS).sum(axis=1) % 11]
    bodies = np.char.zfill(body.astype(str), 17)
    return np.char.add(bodies, checks).astype(object)


def is_valid(text: str) -> bool:
    """Whether a canonical 18-character number is well formed (used by tests/self-checks)."""
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        return False
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return check_char(text[:17]) == text[17]


def normalise(raw: str) -> str | None:
    """Canonical form of any valid delivered form, else None (reference implementation)."""
    import unicodedata
    s = unicodedata.normalize("NFKC", raw).strip().upper()
    if len(s) == 15 and s.isdigit():
        body = s[:6] + "19" + s[6:]
        s = body + check_char(body)
    return s if is_valid(s) else None


def to_legacy15(canonical: str) -> str:
    return canonical[:6] + canonical[8:17]


def render(canonical: str, form: int) -> str:
    """One delivered form of a canonical number (falls back to canonical when not applicable)."""
    if form == LOWER_X:
        return canonical.lower()
    if form == SPACES:
        return " " + canonical + "  "
    if form == FULLWIDTH:
        return canonical.translate(FULL_WIDTH)
    if form == LEGACY15 and canonical[6:8] == "19":
        return to_legacy15(canonical)
    return canonical


# invalid numbers for junk rows, each invalid in exactly one way
def bad_length(canonical: str, k: int) -> str:
    return canonical[:17] if k % 2 == 0 else canonical + "1"


def bad_check(canonical: str) -> str:
    good = canonical[17]
    return canonical[:17] + ("0" if good != "0" else "1")


def bad_birthdate(canonical: str, k: int) -> str:
    """Same area and sequence, an impossible birth date, correct check character."""
    year = canonical[6:10]
    mmdd = ["0230", "0431", "1301", "0229" if int(year) % 4 else "0230", "0000"][k % 5]
    body = canonical[:6] + year + mmdd + canonical[14:17]
    return body + check_char(body)
