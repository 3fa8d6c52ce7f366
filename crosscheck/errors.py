"""The root of every error crosscheck raises, and the nearest names its messages suggest.

Every exception the project defines derives from `CrosscheckError`, so a caller (the CLI,
the flows, the workbench) can tell the project's own refusals from a bug. Messages that say
"did you mean ...?" (a mistyped key, column, function, setting) take their names from
`closest` / `did_you_mean` here.
"""
from __future__ import annotations

import difflib
from typing import Iterable

#: How alike two names must be (difflib's ratio) for one to be suggested for the other.
CUTOFF = 0.6


class CrosscheckError(Exception):
    """An error of crosscheck's own: bad input, a setting, a rule file, a busy store, a refused action."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates most like `name`, closest first (none alike enough: empty)."""
    pool = list(dict.fromkeys(candidates))
    by_case = {c.lower(): c for c in pool}
    return [by_case[c] for c in difflib.get_close_matches(name.lower(), list(by_case), n=n, cutoff=CUTOFF)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean amount?' for the closest candidate, or '' when none is alike."""
    found = closest(name, candidates, n=1)
    return f"; did you mean {found[0]}?" if found else ""


def closest_first(name: str, candidates: Iterable[str]) -> list[str]:
    """Every candidate once: the ones most like `name` first, then the others in their order."""
    pool = list(dict.fromkeys(candidates))
    near = closest(name, pool)
    return near + [c for c in pool if c not in near]
