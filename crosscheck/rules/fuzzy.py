"""The `fuzzy_join` step: blocking passes -> candidate pairs -> field scores -> match score.

A rule step::

    - name: pairs
      fuzzy_join:
        left: roster                 # table, view or earlier step
        right: residents             # omit (or = left) to deduplicate `left`
        id: rec_id                   # record id column (or {left: .., right: ..})
        block_on:                    # passes, unioned (Splink-style): a pair is a candidate
          - [birth_date, district]   #   when every key of some pass is equal
          - [{left: "substr(name_pinyin, 1, 4)", right: "substr(pinyin, 1, 4)"}, birth_year]
        compare:
          - {left: name, scorer: name, weight: 2}
          - {left: address, scorer: token_set, threshold: 0.8}
        keep: [district]             # carried as left_district, right_district
        min_score: $min_score        # weighted mean of the field scores a pair needs
        max_candidate_pairs: $max_pairs

compiles to one SELECT (a CTE like any step) whose rows are the pairs kept:
``left_<id>, right_<id>, blocked_by`` (``id: {left: a, right: b}``: ``left_a, right_b``) (the first pass that produced the pair),
``left_<f>, right_<f>, score_<f>`` per compared field, the kept columns and
``match_score``. Key and compared expressions name columns unqualified; they
are evaluated on each side. A NULL key never blocks; a comparison with a NULL
side is left out of the weighted mean (the other fields decide).

Before the rule runs, the runner counts the candidate pairs of each pass with
a cheap GROUP BY per side (the compiler's `guard_queries`, the runner's
`check_blocking`) and refuses the rule ("failed", `BlockingTooLarge`) when the
sum is over ``max_candidate_pairs``. `runner.candidate_pairs` is the same count
as an API. This module writes SQL only; it runs nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from crosscheck.engines import dialect
from crosscheck.engines.dialect import qualify_expr
from crosscheck.engines.scorers import SCORER_FUNCTIONS
from crosscheck.yamlio import IDENT, Strict


# ------------------------------------------------------------------ the step's schema (crosscheck.rules.spec.Step.fuzzy_join)

class Sides(Strict):
    """A column or SQL expression that differs between the two sides of a fuzzy join."""

    left: str = Field(min_length=1, description="column or SQL on the left record")
    right: str = Field(min_length=1, description="column or SQL on the right record")


#: A value read on both sides: one expression for both, or {left: ..., right: ...}.
SideExpr = str | Sides

FuzzyScorer = Literal["name", "jaro_winkler", "levenshtein", "ratio", "token_set", "token_sort", "date", "exact"]
#: Candidate pairs a fuzzy_join's blocking may produce unless the step says otherwise.
DEFAULT_MAX_CANDIDATE_PAIRS = 5_000_000


class ComparedField(Strict):
    """One compared field of a fuzzy join: a score in [0, 1] per candidate pair."""

    name: str | None = Field(default=None, pattern=IDENT, description="output columns left_<name>, right_<name>, score_<name>; default: the column")
    left: str = Field(min_length=1, description="column or expression on the left record")
    right: str | None = Field(default=None, description="on the right record; default: same as left")
    scorer: FuzzyScorer = Field(description="name (Chinese and pinyin aware), jaro_winkler, levenshtein, ratio, token_set, token_sort, date or exact")
    weight: float = Field(default=1.0, gt=0, description="weight of this field in the pair's match_score")
    threshold: float | None = Field(default=None, ge=0, le=1, description="score becomes 1 at or above, 0 below (an agreement flag)")

    @model_validator(mode="after")
    def _named(self) -> "ComparedField":
        if self.name is None and not re.fullmatch(IDENT, self.left):
            raise ValueError(f"compare on the expression '{self.left}' needs a 'name'")
        return self

    @property
    def out_name(self) -> str:
        return self.name or self.left


class FuzzyJoin(Strict):
    """Candidate pairs from blocking passes, scored field by field (see crosscheck.rules.fuzzy)."""

    left: str = Field(pattern=IDENT, description="table, view or earlier step")
    right: str | None = Field(default=None, pattern=IDENT, description="table, view or step; omitted or equal to left: deduplicate left")
    id: SideExpr = Field(description="column identifying a record; output as left_<id>, right_<id> (or left_<left>, right_<right>)")
    block_on: list[list[SideExpr]] = Field(min_length=1, description="blocking passes (unioned); a pass lists keys that must all be equal")
    compare: list[ComparedField] = Field(min_length=1, description="the fields scored for each candidate pair")
    keep: list[SideExpr] = Field(default_factory=list, description="more columns carried as left_<col>, right_<col>")
    min_score: float | str = Field(description="weighted mean score a pair needs (number or $parameter)")
    max_candidate_pairs: int | str = Field(default=DEFAULT_MAX_CANDIDATE_PAIRS, description="refuse a blocking over this many pairs (integer or $parameter)")

    @field_validator("block_on", mode="before")
    @classmethod
    def _passes(cls, value: Any) -> Any:
        # `block_on: [birth_date, soc_sec_id]` is two passes of one key each
        if isinstance(value, list):
            return [v if isinstance(v, list) else [v] for v in value]
        return value

    @field_validator("min_score", "max_candidate_pairs")
    @classmethod
    def _param_ref(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"\$[a-z][a-z0-9_]*", value):
            raise ValueError(f"expected a number or a $parameter, got {value!r}")
        return value

    @model_validator(mode="after")
    def _columns_unique(self) -> "FuzzyJoin":
        if any(not p for p in self.block_on):
            raise ValueError("a blocking pass needs at least one key")
        names = [self.id_name, *(c.out_name for c in self.compare), *(k if isinstance(k, str) else k.left for k in self.keep)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"output column names repeat: {', '.join(dup)}")
        bad = [n for n in names if not re.fullmatch(IDENT, n)]
        if bad:
            raise ValueError(f"id and keep must be column names: {', '.join(bad)}")
        return self

    @property
    def id_name(self) -> str:
        return self.id if isinstance(self.id, str) else self.id.left

    @property
    def right_id_name(self) -> str:
        return self.id if isinstance(self.id, str) else self.id.right

    @property
    def dedupe(self) -> bool:
        return self.right is None or self.right == self.left

    def parameters(self) -> list[str]:
        return [v[1:] for v in (self.min_score, self.max_candidate_pairs) if isinstance(v, str)]


# ------------------------------------------------------------------ its SQL


class BlockingTooLarge(RuntimeError):
    """A fuzzy_join's blocking would produce more candidate pairs than allowed."""


def _side(value: str | Sides, which: str) -> str:
    if isinstance(value, str):
        return value
    return value.left if which == "l" else value.right


def _key_label(key: str | Sides) -> str:
    return key if isinstance(key, str) else (key.left if key.left == key.right else f"{key.left} = {key.right}")


def pass_label(keys: list) -> str:
    return "(" + ", ".join(_key_label(k) for k in keys) + ")"


def _pass_condition(keys: list) -> str:
    return " AND ".join(f"{qualify_expr(_side(k, 'l'), 'l')} = {qualify_expr(_side(k, 'r'), 'r')}" for k in keys)


def _literal(value: float | int | str) -> str:
    return value if isinstance(value, str) else repr(value)


def fuzzy_join_sql(fj: FuzzyJoin) -> str:
    right = fj.left if fj.dedupe else fj.right
    idn = fj.id_name
    cols = [f"{qualify_expr(_side(fj.id, 'l'), 'l')} AS left_{idn}", f"{qualify_expr(_side(fj.id, 'r'), 'r')} AS right_{fj.right_id_name}"]
    for c in fj.compare:
        cols.append(f"{qualify_expr(c.left, 'l')} AS left_{c.out_name}")
        cols.append(f"{qualify_expr(c.right or c.left, 'r')} AS right_{c.out_name}")
    for k in fj.keep:
        name = k if isinstance(k, str) else k.left
        cols.append(f"{qualify_expr(_side(k, 'l'), 'l')} AS left_{name}")
        cols.append(f"{qualify_expr(_side(k, 'r'), 'r')} AS right_{name}")
    passes = []
    for i, keys in enumerate(fj.block_on):
        where = []
        if fj.dedupe:
            where.append(f"{qualify_expr(_side(fj.id, 'l'), 'l')} < {qualify_expr(_side(fj.id, 'r'), 'r')}")
        where += [f"NOT coalesce({_pass_condition(prev)}, FALSE)" for prev in fj.block_on[:i]]
        passes.append(
            f"SELECT {', '.join(cols)}, {i + 1} AS blocked_by FROM {fj.left} AS l JOIN {right} AS r ON {_pass_condition(keys)}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
        )
    scores = []
    for c in fj.compare:
        a, b = f"p.left_{c.out_name}", f"p.right_{c.out_name}"
        if c.scorer == "exact":
            raw = f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {a} = {b} THEN 1.0 ELSE 0.0 END"
        elif c.scorer == "date":
            raw = f"{SCORER_FUNCTIONS['date']}(CAST({a} AS VARCHAR), CAST({b} AS VARCHAR))"
        else:
            raw = f"{SCORER_FUNCTIONS[c.scorer]}(CAST({a} AS VARCHAR), CAST({b} AS VARCHAR))"
        if c.threshold is not None:
            raw = f"CASE WHEN {raw} >= {c.threshold!r} THEN 1.0 WHEN {raw} IS NULL THEN NULL ELSE 0.0 END"
        scores.append(f"CAST({raw} AS DOUBLE) AS score_{c.out_name}")
    num = " + ".join(f"coalesce({c.weight!r} * s.score_{c.out_name}, 0)" for c in fj.compare)
    den = " + ".join(f"CASE WHEN s.score_{c.out_name} IS NULL THEN 0 ELSE {c.weight!r} END" for c in fj.compare)
    union = "\n    UNION ALL\n    ".join(passes)
    # rounded to 4 decimals half up on the double itself (not round(): Spark rounds the decimal
    # text, DuckDB the binary value, and a tie like 0.40125 would differ between engines)
    return (
        "SELECT m.* FROM (\n"
        f"  SELECT s.*, floor(({num}) / nullif({den}, 0) * 10000 + 0.5) / 10000 AS match_score FROM (\n"
        f"    SELECT p.*, {', '.join(scores)} FROM (\n    {union}\n    ) AS p\n"
        "  ) AS s\n"
        f") AS m WHERE m.match_score >= {_literal(fj.min_score)}"
    )


def union_count_sql(fj: FuzzyJoin) -> str:
    """The exact number of distinct candidate pairs (the passes' union; runs the blocking join, no scoring)."""
    right = fj.left if fj.dedupe else fj.right
    lid, rid = qualify_expr(_side(fj.id, "l"), "l"), qualify_expr(_side(fj.id, "r"), "r")
    passes = [
        f"SELECT {lid} AS a, {rid} AS b FROM {fj.left} AS l JOIN {right} AS r ON {_pass_condition(keys)}"
        + (f" WHERE {lid} < {rid}" if fj.dedupe else "")
        for keys in fj.block_on
    ]
    return "SELECT count(*) FROM (" + " UNION ".join(passes) + ") AS u"


def count_sql(fj: FuzzyJoin, keys: list) -> str:
    """Candidate pairs of one pass: per-side key counts joined (never the pairs themselves)."""
    right = fj.left if fj.dedupe else fj.right

    def grouped(table: str, which: str) -> str:
        ks = [f"{qualify_expr(_side(k, which), which)} AS k{j}" for j, k in enumerate(keys)]
        notnull = " AND ".join(f"k{j} IS NOT NULL" for j in range(len(keys)))
        names = ", ".join(f"k{j}" for j in range(len(keys)))
        return f"(SELECT {names}, count(*) AS n FROM (SELECT {', '.join(ks)} FROM {table} AS {which}) AS t WHERE {notnull} GROUP BY {names})"

    symmetric = fj.dedupe and all(isinstance(k, str) or k.left == k.right for k in keys)
    if symmetric:
        return f"SELECT CAST(coalesce(sum(a.n * (a.n - 1) / 2), 0) AS BIGINT) AS pairs FROM {grouped(fj.left, 'l')} AS a"
    on = " AND ".join(f"a.k{j} = b.k{j}" for j in range(len(keys)))
    return f"SELECT CAST(coalesce(sum(a.n * b.n), 0) AS BIGINT) AS pairs FROM {grouped(fj.left, 'l')} AS a JOIN {grouped(right, 'r')} AS b ON {on}"


@dataclass
class Guard:
    """What the runner counts before running a rule with a fuzzy_join step."""

    step: str
    fuzzy: FuzzyJoin
    passes: list[tuple[str, exp.Query]]   # (label, count query with the CTEs it needs)

    def limit(self, binds: dict[str, Any]) -> int:
        v = self.fuzzy.max_candidate_pairs
        return int(binds[v[1:]]) if isinstance(v, str) else int(v)


@dataclass
class BlockingCount:
    step: str
    passes: list[tuple[str, int]]
    limit: int

    @property
    def total(self) -> int:
        return sum(n for _, n in self.passes)

    def describe(self) -> str:
        if len(self.passes) == 1:
            label, n = self.passes[0]
            return f"blocking on {label}: {n:,} candidate pairs"
        parts = " + ".join(f"{label} {n:,}" for label, n in self.passes)
        return f"blocking on {parts} = at most {self.total:,} candidate pairs"
