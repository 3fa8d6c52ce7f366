"""Identifying a lessee as the 三资 contract defines it (承租方识别): by identity number, else by
name within the village: one same name, else one one-character variant (同音 / 形近 / 缺字).

Written from the contract alone, so the sample city's truth does not lean on the rule it checks.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: the lease rule's default look-alike table (pairs, either way round)
LOOKALIKES = ("天夭 军车 力刀 金全 永水 平乎 英荚 娜挪 春舂 华毕 国固 超起 波泼 志忘 成戍 佳住 洋详 涛祷 海诲 梅悔 荣劳 雪雷 "
              "士土 未末 己已 日曰 人入 戊戌").split()
LOOKALIKE_PAIRS = {frozenset(p) for p in LOOKALIKES}
LOST = ("?", "□")
_DOTS = re.compile("[•.・∙]")
_SPACE = re.compile(r"\s+")

SAME, SOUND, LOOK, MISSING = "一致", "同音", "形近", "缺字"


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def name_form(value: str | None) -> str:
    """NFKC, middle-dot variants to ·, no whitespace, traditional to simplified (t2s)."""
    if value is None:
        return ""
    return _t2s().convert(_DOTS.sub("·", _SPACE.sub("", unicodedata.normalize("NFKC", value))))


@lru_cache(maxsize=None)
def reading(ch: str) -> str | None:
    """The toneless reading pypinyin's lazy_pinyin gives the character alone; None when it has none."""
    from pypinyin import lazy_pinyin

    r = lazy_pinyin(ch)
    return r[0] if len(r) == 1 and r[0].isascii() and r[0].isalpha() else None


def variant_class(a: str, b: str) -> str | None:
    """How the contract's character `a` may stand for the registry's `b` (a != b), if at all."""
    if a in LOST:
        return MISSING
    ra = reading(a)
    if ra is not None and ra == reading(b):
        return SOUND
    if frozenset((a, b)) in LOOKALIKE_PAIRS:
        return LOOK
    return None


def candidates(delivered: str, village: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(person, match) of the village's registry persons ((person, name form)) the delivered name may
    be: the same name, else the one-character variants. One row: the lessee; more: ambiguous."""
    form = name_form(delivered)
    if not form:
        return []
    same = [(p, SAME) for p, n in village if n == form]
    if same:
        return same
    out = []
    for p, n in village:
        if len(n) != len(form):
            continue
        diff = [(a, b) for a, b in zip(form, n) if a != b]
        if len(diff) == 1:
            how = variant_class(*diff[0])
            if how:
                out.append((p, how))
    return out


def homophone(ch: str, pool: str) -> str | None:
    """A character of `pool` with the reading of `ch` (not `ch`, not its look-alike)."""
    r = reading(ch)
    for c in pool:
        if c != ch and r is not None and reading(c) == r and frozenset((c, ch)) not in LOOKALIKE_PAIRS:
            return c
    return None


def lookalike(ch: str) -> str | None:
    """The look-alike partner of `ch` in the table, when it does not also sound the same."""
    for pair in LOOKALIKES:
        if ch in pair:
            other = pair.replace(ch, "")
            if reading(other) != reading(ch):
                return other
    return None


def stranger(ch: str, pool: str) -> str | None:
    """A character of `pool` that is neither the sound nor a look-alike of `ch`."""
    return next((c for c in pool if c != ch and variant_class(c, ch) is None and c not in LOST), None)
