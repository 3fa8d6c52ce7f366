"""Declarative building blocks a rule step uses by name instead of repeating SQL.

Each concept is a closed YAML shape that compiles to plain SQL text, which the
compiler then parses, checks and transpiles like any other step (so `rules
lint`, column checks and Spark portability apply unchanged):

- ``held`` on a join (`HeldInMonth`): the joined row's interval holds in a
  calendar month: it started on or before the month's last day and did not
  end before its first day (a vehicle or enterprise held, a term of office
  covering a month, ...).
- ``pairs`` step (`Pairs`): a self-join within a time window: every pair
  (``a``, ``b``) of rows of one relation with equal ``same`` columns,
  different ``differ`` columns, ``b`` later than ``a`` and at most
  ``within_days`` days after it (same exam within 7 days, readmission within
  14 days of a discharge, overlapping stays).
- ``reconcile`` step (`Reconcile`): aggregate comparison of two or three
  sums per key with a tolerance (allocated vs disbursed vs delivered).
- ``window`` step (`Window`): windows of days anchored at each row: the
  rows of one partition whose date lies from the anchor's date through
  ``within_days`` days later, aggregated per window (3 departments within 30
  days, contracts of one buyer and supplier within 30 days summing over a
  threshold).
- ``periods`` step (`Periods`): the periods of each row anchored at its start
  date, every ``months`` months, that start strictly before its end (the
  contract years of a lease: year i starts on the i-th anniversary).

Month-held intervals and household links through the registry's 户号 are
also available as shared views (``rules/_views/``).
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from crosscheck.yamlio import IDENT, Strict

def as_list(value: Any) -> Any:
    """A one-item list for a single string (YAML lets `by: person_id` stand for `by: [person_id]`)."""
    return [value] if isinstance(value, str) else value


def column_names(cols: list[str]) -> list[str]:
    """`cols` when each is a column name, else the ValueError naming those that are not."""
    bad = [c for c in cols if not re.fullmatch(IDENT, c)]
    if bad:
        raise ValueError(f"column names expected: {', '.join(bad)}")
    return cols


# ------------------------------------------------------------------ month-held intervals


class HeldInMonth(Strict):
    """`start`..`end` (SQL over the joined rows) holds in the month of `month`.

    Held = started on or before the last day of the month, and not ended
    before its first day; a NULL end means still held.
    """

    month: str = Field(description="SQL: any date in the calendar month (usually a month column)")
    start: str = Field(description="SQL: first day held (registered, established, term start)")
    end: str | None = Field(default=None, description="SQL: last day held (deregistered, closed, term end); NULL = still held")

    def predicate(self) -> str:
        first = f"CAST(date_trunc('month', {self.month}) AS DATE)"
        out = f"{self.start} <= last_day({self.month})"
        if self.end is not None:
            out += f" AND ({self.end} IS NULL OR {self.end} >= {first})"
        return out


# ------------------------------------------------------------------ self-join within a time window


class Pairs(Strict):
    """Pairs (a, b) of rows of `table`: same `same`, different `differ`, b not before a.

    With `later` left out, a and b are ordered by `earlier` (ties broken by
    the rows' source file and line, so each unordered pair appears once) and
    `within_days` bounds the days from a's to b's time. With `later` given
    (e.g. a's discharge, b's admission), b's `later` is 0..`within_days` days
    after a's `earlier` and a row never pairs with itself.
    """

    table: str = Field(description="table, view or earlier step")
    same: list[str] = Field(default_factory=list, description="columns equal in a and b")
    differ: list[str] = Field(default_factory=list, description="columns different in a and b")
    earlier: str = Field(description="time column of the earlier row a")
    later: str | None = Field(default=None, description="time column of the later row b; default: the same column")
    within_days: int | str | None = Field(default=None, description="days from a.earlier to b.later, at most (a number or $parameter)")

    _lists = field_validator("same", "differ", mode="before")(as_list)

    @field_validator("same", "differ")
    @classmethod
    def _idents(cls, cols: list[str]) -> list[str]:
        return column_names(cols)

    @field_validator("earlier", "later")
    @classmethod
    def _ident(cls, col: str | None) -> str | None:
        if col is not None and not re.fullmatch(IDENT, col):
            raise ValueError(f"a column name expected, got {col!r}")
        return col

    @field_validator("within_days")
    @classmethod
    def _days(cls, v: int | str | None) -> int | str | None:
        if isinstance(v, str) and not re.fullmatch(r"\$[a-z][a-z0-9_]*", v.strip()):
            raise ValueError(f"within_days is a number of days or a $parameter, got {v!r}")
        return v

    def from_sql(self) -> tuple[str, list[str]]:
        """(FROM ... JOIN ... ON ... text, conditions) of the pair join."""
        conds = [f"a.{c} = b.{c}" for c in self.same]
        conds += [f"a.{c} <> b.{c}" for c in self.differ]
        t_a = f"a.{self.earlier}"
        t_b = f"b.{self.later or self.earlier}"
        if self.later is None:
            conds.append(
                f"({t_a} < {t_b} OR ({t_a} = {t_b} AND (a.source_file < b.source_file"
                f" OR (a.source_file = b.source_file AND a.source_line < b.source_line))))"
            )
        else:
            conds.append("NOT (a.source_file = b.source_file AND a.source_line = b.source_line)")
        if self.within_days is not None:
            days = f"date_diff('day', CAST({t_a} AS DATE), CAST({t_b} AS DATE))"
            lo = "0" if self.later is not None else None
            conds.append(f"{days} <= {str(self.within_days).strip()}")
            if lo is not None:
                conds.append(f"{days} >= {lo}")
        return f"FROM {self.table} a\nJOIN {self.table} b ON " + "\n  AND ".join(conds or ["TRUE"]), conds


# ------------------------------------------------------------------ windows of days anchored at each row


class Window(Strict):
    """Windows anchored at each row of `table`: the window of an anchor holds the rows `w` of
    its partition (equal `partition_by`) whose `time` (its date) lies from the anchor's date
    through `within_days` days later, both days included. Anchors of one partition on one day
    make one window: the step gives one row per window, grouped by the partition columns and
    `window_start` (the anchor's date), which `select` reads as `a.<column>` and
    `a.window_start`, with aggregates over `w`; `having` keeps the windows that count.
    Windows overlap; every set of rows whose dates span at most `within_days` days lies in the
    window of its earliest row.
    """

    table: str = Field(description="table, view or earlier step whose rows are anchors and window members")
    partition_by: list[str] = Field(min_length=1, description="columns equal in the anchor and the rows of its window")
    time: str = Field(description="date or datetime column; its date places a row")
    within_days: int | str = Field(
        description="days after the anchor's date the window reaches, both days included: a number, a $parameter "
        "or arithmetic on them ($window_days - 1)")

    _lists = field_validator("partition_by", mode="before")(as_list)

    @field_validator("partition_by")
    @classmethod
    def _idents(cls, cols: list[str]) -> list[str]:
        return column_names(cols)

    @field_validator("time")
    @classmethod
    def _ident(cls, col: str) -> str:
        if not re.fullmatch(IDENT, col):
            raise ValueError(f"a column name expected, got {col!r}")
        return col

    @field_validator("within_days")
    @classmethod
    def _days(cls, v: int | str) -> int | str:
        if isinstance(v, str) and not re.fullmatch(r"\s*(\$[a-z][a-z0-9_]*|[0-9]+)(\s*[-+*]\s*(\$[a-z][a-z0-9_]*|[0-9]+))*\s*", v):
            raise ValueError(f"within_days is a number of days, a $parameter or arithmetic on them, got {v!r}")
        return v

    def from_sql(self) -> str:
        """FROM (the distinct anchors) a JOIN (the rows) w ON ...: the window's rows."""
        keys = ", ".join(self.partition_by)
        on = [f"w.{c} = a.{c}" for c in self.partition_by]
        days = f"date_diff('day', a.window_start, CAST(w.{self.time} AS DATE))"
        on.append(f"{days} BETWEEN 0 AND ({str(self.within_days).strip()})")
        return (f"FROM (SELECT DISTINCT {keys}, CAST({self.time} AS DATE) AS window_start FROM {self.table} "
                f"WHERE {self.time} IS NOT NULL) a\nJOIN {self.table} w ON " + "\n  AND ".join(on))

    def group_by(self) -> list[str]:
        return [f"a.{c}" for c in self.partition_by] + ["a.window_start"]


# ------------------------------------------------------------------ periods anchored at a start date

_PARAM_OR_NUMBER = r"\s*(\$[a-z][a-z0-9_]*|[0-9]+)\s*"


class Periods(Strict):
    """The periods of each row of `table` anchored at its `start`: period i (0, 1, 2, …) starts
    i × `months` months after `start`, on the same day of the month (a day the month lacks is its
    last day: with 12 months, 29 February becomes 28 February in a year without it, every period
    counted from `start` itself), and a row has the periods whose start is strictly before its
    `before`. One row per row of `table` and period: the row's columns, `period_no` (i) and
    `period_start`. A row whose `start` or `before` is NULL has none.
    """

    table: str = Field(description="table, view or earlier step whose rows have periods")
    start: str = Field(description="date column: period 0 starts on it")
    before: str = Field(description="date column: the periods whose start is strictly before it")
    months: int | str = Field(default=12, description="months from one period's start to the next (a number or $parameter)")

    @field_validator("table", "start", "before")
    @classmethod
    def _ident(cls, col: str) -> str:
        if not re.fullmatch(IDENT, col):
            raise ValueError(f"a name expected, got {col!r}")
        return col

    @field_validator("months")
    @classmethod
    def _months(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1 or isinstance(v, str) and not re.fullmatch(_PARAM_OR_NUMBER, v):
            raise ValueError(f"months is a whole number of months (1 or more) or a $parameter, got {v!r}")
        return v

    def to_sql(self) -> str:
        """The rows and their periods (DuckDB SQL; `add_months` is written per engine by sqlglot)."""
        step = f"CAST(({str(self.months).strip()}) AS INTEGER)"
        first = lambda a: f"CAST(add_months({a}.{self.start}, CAST({a}.period_no AS INTEGER) * {step}) AS DATE)"  # noqa: E731
        # a bound on the periods: the months from start's month to before's month, in periods
        months_apart = (f"(year(r.{self.before}) - year(r.{self.start})) * 12 + month(r.{self.before}) - month(r.{self.start})")
        return (f"SELECT o.*, {first('o')} AS period_start\n"
                f"FROM (SELECT r.*, unnest(range(0, CAST(floor(({months_apart}) / {step}) AS BIGINT) + 1)) AS period_no "
                f"FROM {self.table} AS r) AS o\n"
                f"WHERE {first('o')} < o.{self.before}")


# ------------------------------------------------------------------ aggregate comparison


class SumOf(Strict):
    """One sum per key: `value` summed over `from`'s rows (optionally filtered)."""

    from_: str = Field(alias="from", description="table, view or earlier step")
    value: str = Field(description="SQL summed")
    key: list[str] | None = Field(default=None, description="SQL per reconcile key, in order; default: the key names")
    where: list[str] = Field(default_factory=list, description="conditions on the rows summed (AND)")
    also: dict[str, str] = Field(default_factory=dict, description="more aggregate columns: name -> aggregate SQL")

    _lists = field_validator("where", "key", mode="before")(as_list)


class ReconcileCompare(Strict):
    """Keep keys where `left` − `right` exceeds `tolerance` × `left` (adds the column `gap`)."""

    left: str = Field(description="the sum expected to be the larger (a name under sums)")
    right: str = Field(description="the sum compared with it (a name under sums)")
    tolerance: float | str = Field(description="fraction of left (a number or $parameter)")


class Reconcile(Strict):
    """Two or three sums side by side per key, compared with a tolerance.

    Output columns: the key columns; per sum `<name>` (0 where nothing),
    `<name>_rows` (rows summed) and `<name>_sources` ('file:line' list), its
    `also` columns; `gap` when `compare` is given.
    """

    key: list[str] = Field(min_length=1, description="names of the key columns the sums are compared by")
    sums: dict[str, SumOf] = Field(min_length=2, max_length=3, description="two or three named sums; each becomes a column of that name")
    driver: str | None = Field(default=None, description="the sum whose keys are compared; default: keys of any sum")
    compare: ReconcileCompare | None = Field(default=None, description="keep only keys where left − right exceeds the tolerance (adds gap)")

    _lists = field_validator("key", mode="before")(as_list)

    @model_validator(mode="after")
    def _names(self) -> "Reconcile":
        names = list(self.key) + list(self.sums)
        for n in names:
            if not re.fullmatch(IDENT, n):
                raise ValueError(f"'{n}' must be snake_case")
        for name, s in self.sums.items():
            if s.key is not None and len(s.key) != len(self.key):
                raise ValueError(f"sums.{name}.key: {len(s.key)} expressions for {len(self.key)} key columns")
            for a in s.also:
                if not re.fullmatch(IDENT, a):
                    raise ValueError(f"sums.{name}.also: '{a}' must be snake_case")
        if self.driver is not None and self.driver not in self.sums:
            raise ValueError(f"driver '{self.driver}' is not one of the sums ({', '.join(self.sums)})")
        if self.compare is not None:
            for side in (self.compare.left, self.compare.right):
                if side not in self.sums:
                    raise ValueError(f"compare: '{side}' is not one of the sums ({', '.join(self.sums)})")
        return self

    def to_sql(self) -> str:
        subs: dict[str, str] = {}
        for name, s in self.sums.items():
            exprs = s.key or self.key
            keys = ", ".join(f"{e} AS {k}" for e, k in zip(exprs, self.key))
            also = "".join(f", {sql} AS {a}" for a, sql in s.also.items())
            where = (" WHERE " + " AND ".join(f"({w})" for w in s.where)) if s.where else ""
            subs[name] = (
                f"SELECT {keys}, sum({s.value}) AS total, count(*) AS n_rows, "
                f"list(source_file || ':' || source_line) AS sources{also} "
                f"FROM {s.from_}{where} GROUP BY {', '.join(str(i + 1) for i in range(len(self.key)))}"
            )
        if self.driver is not None:
            keys_sql = f"SELECT DISTINCT {', '.join(self.key)} FROM ({subs[self.driver]}) d"
        else:
            keys_sql = " UNION ".join(f"SELECT {', '.join(self.key)} FROM ({q}) u_{n}" for n, q in subs.items())
        cols = [f"k.{k}" for k in self.key]
        joins = []
        for name, s in self.sums.items():
            cols += [f"coalesce(s_{name}.total, 0) AS {name}", f"coalesce(s_{name}.n_rows, 0) AS {name}_rows",
                     f"s_{name}.sources AS {name}_sources"]
            cols += [f"s_{name}.{a} AS {a}" for a in s.also]
            on = " AND ".join(f"s_{name}.{k} = k.{k}" for k in self.key)
            joins.append(f"LEFT JOIN ({subs[name]}) s_{name} ON {on}")
        if self.compare is not None:
            left, right = f"coalesce(s_{self.compare.left}.total, 0)", f"coalesce(s_{self.compare.right}.total, 0)"
            cols.append(f"{left} - {right} AS gap")
        sql = f"SELECT {', '.join(cols)}\nFROM ({keys_sql}) k\n" + "\n".join(joins)
        if self.compare is not None:
            tol = str(self.compare.tolerance).strip()
            sql += f"\nWHERE {left} - {right} > CAST({tol} AS DECIMAL(9,4)) * {left}"
        return sql
