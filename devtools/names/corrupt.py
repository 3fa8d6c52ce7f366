"""What a name goes through on its way into a clerk's list: one function per kind of change,
each returning the name as delivered, or None when the name offers no such change."""
from __future__ import annotations

import random
from collections import defaultdict
from functools import lru_cache

from crosscheck.engines.characters import reading
from devtools.names import vocab as V


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


@lru_cache(maxsize=1)
def homophones() -> dict[str, list[str]]:
    """Reading -> the common characters (GB2312 level 1, 3,755) that have it."""
    pool: dict[str, list[str]] = defaultdict(list)
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            r = reading(ch)
            if r:
                pool[r].append(ch)
    return dict(pool)


_NAME_CHARS = set(V.GIVEN_MALE) | set(V.GIVEN_FEMALE) | {c for s in V.SURNAMES for c in s}


def sound_alike(rng: random.Random, ch: str) -> str | None:
    """A character an input method offers for `ch`'s sound (name characters come up first)."""
    options = [c for c in homophones().get(reading(ch) or "", []) if c != ch]
    if not options:
        return None
    return rng.choices(options, weights=[5.0 if c in _NAME_CHARS else 1.0 for c in options])[0]


@lru_cache(maxsize=1)
def _look_partners() -> dict[str, list[str]]:
    partners: dict[str, list[str]] = defaultdict(list)
    for a, b in V.LOOKALIKES:
        if reading(a) != reading(b):  # a same-sound pair is a same-sound slip, not a misreading
            partners[a].append(b)
            partners[b].append(a)
    return dict(partners)


def _positions(name: str) -> list[int]:
    return [i for i, c in enumerate(name) if c != "·"]


def same_sound(rng: random.Random, name: str) -> str | None:
    for i in rng.sample(_positions(name), len(_positions(name))):
        other = sound_alike(rng, name[i])
        if other:
            return name[:i] + other + name[i + 1:]
    return None


def lookalike(rng: random.Random, name: str) -> str | None:
    spots = [i for i in _positions(name) if name[i] in _look_partners()]
    if not spots:
        return None
    i = rng.choice(spots)
    return name[:i] + rng.choice(_look_partners()[name[i]]) + name[i + 1:]


def spaces(rng: random.Random, name: str) -> str | None:
    if "·" in name:
        return name.replace("·", rng.choice([" · ", "· "]))
    cut = 2 if name[:2] in V.SURNAMES else 1
    gap = rng.choice([" ", "  ", "\u3000"])
    return name[:cut] + gap + name[cut:] if len(name) > 2 else name[0] + gap + name[1:]


def traditional(rng: random.Random, name: str) -> str | None:
    out = _s2t().convert(name)
    return out if out != name else None


def fullwidth(rng: random.Random, name: str) -> str | None:
    if "·" in name:
        return name.replace("·", "．")
    return name[0] + "\u3000" + name[1:] + rng.choice(["", "\u3000"])


def dots(rng: random.Random, name: str) -> str | None:
    """A minority name's middle dot as another system types it (None: not a minority name)."""
    return name.replace("·", rng.choice(V.DOT_VARIANTS)) if "·" in name else None


def lost(rng: random.Random, name: str) -> str | None:
    """The rare character a GBK export could not carry, as ? or □."""
    for ch in V.RARE:
        if ch in name:
            return name.replace(ch, rng.choice(["?", "?", "？", "□"]))
    return None


KINDS = {"spaces": spaces, "traditional": traditional, "fullwidth": fullwidth, "same_sound": same_sound, "lookalike": lookalike}
