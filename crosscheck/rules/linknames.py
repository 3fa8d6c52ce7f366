"""The `link_names` step: who a record names, from a name and a place (crosscheck.names).

A rule step::

    - name: lessee
      link_names:
        records: asset_contracts        # table, view or earlier step
        name: lessee_name               # name form (a `type: name` column is one)
        township: township              # text keys
        village: village
        identity: lessee_id_no          # optional: a record with one links by it (身份证号)
        lookalikes: $lookalikes         # optional: the rule's own look-alike pairs ("天夭 军车 ...")
        registry: {table: residents}    # default: residents with its own columns

compiles to one SELECT (a CTE like any step) whose rows are the records' own columns plus
``link_person_id``, ``link_name``, ``link_match``, ``link_way``, ``link_status`` (linked /
ambiguous / unidentified) and ``link_candidates`` (the candidates' identity numbers when
ambiguous); with ``rows: candidates``, one row per record and candidate instead (what a
review list needs: ``candidate_id``, ``candidate_name``, ``candidate_match``,
``candidate_way``). An ambiguous record has no ``link_person_id``: a join on it never
makes it a finding. This module writes SQL only; it runs nothing.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator
from sqlglot import exp

from crosscheck.engines.dialect import qualify_expr
from crosscheck.engines.characters import parse_lookalikes
from crosscheck.names.sql import LinkQuery, Side, link_sql
from crosscheck.yamlio import IDENT, Strict

_PARAM = re.compile(r"\$[a-z][a-z0-9_]*")


class RegistryColumns(Strict):
    """Where the registry's people are read and which of its columns are the link keys."""

    table: str = Field(default="residents", pattern=IDENT, description="table, view or step holding the registry's people")
    id: str = Field(default="person_id", description="column or SQL: the person's identity number")
    name: str = Field(default="name", description="column or SQL: the person's name form")
    township: str = Field(default="township", description="column or SQL: township of the registered address (text key)")
    village: str = Field(default="village", description="column or SQL: village of the registered address (text key)")
    sex: str | None = Field(default="gender", description="column or SQL compared with the record's sex; null: not compared")
    birth_year: str | None = Field(default="year(birth_date)", description="column or SQL compared with the record's birth year; null: not compared")


class LinkNames(Strict):
    """Link each record to the one registry person its name and place name (docs/names.md)."""

    records: str = Field(pattern=IDENT, description="table, view or earlier step holding the records")
    name: str = Field(min_length=1, description="column or SQL: the name as a name form (a `type: name` column is one)")
    township: str = Field(min_length=1, description="column or SQL: the record's township (text key)")
    village: str = Field(min_length=1, description="column or SQL: the record's village (text key)")
    sex: str | None = Field(default=None, description="column or SQL: the record's sex, where given (candidates of the other sex are left out)")
    birth_year: str | None = Field(default=None, description="column or SQL: the record's birth year, where given (candidates born another year are left out)")
    identity: str | None = Field(default=None, description="column or SQL: the record's identity number; where given, the record is that person (身份证号)")
    registry: RegistryColumns = Field(default_factory=RegistryColumns, description="the registry's table and key columns (default: residents)")
    lookalikes: str | None = Field(default=None, description="the rule's look-alike pairs, replacing the four-corner resource: "
                                   "a text $parameter or the pairs themselves ('天夭 军车 力刀')")
    neighbouring: bool = Field(default=False, description="a record with no candidate in its village is looked for in the rest of its township (邻村)")
    rows: Literal["records", "candidates"] = Field(default="records", description="records: one row per record; candidates: one row per record and candidate")

    @field_validator("lookalikes")
    @classmethod
    def _pairs(cls, value: str | None) -> str | None:
        if value is not None and not _PARAM.fullmatch(value):
            parse_lookalikes(value)
        return value

    def parameters(self) -> list[str]:
        return [self.lookalikes[1:]] if self.lookalikes and _PARAM.fullmatch(self.lookalikes) else []


def link_names_sql(step: LinkNames) -> str:
    """The step's SELECT (DuckDB SQL), expressions read from ``r`` (records) and ``p`` (registry)."""
    def q(expr: str | None, alias: str) -> str | None:
        return None if expr is None else qualify_expr(expr, alias)

    g = step.registry
    records = Side(step.records, None, q(step.name, "r"), q(step.township, "r"), q(step.village, "r"),
                   q(step.sex, "r"), q(step.birth_year, "r"))
    registry = Side(g.table, q(g.id, "p"), q(g.name, "p"), q(g.township, "p"), q(g.village, "p"), q(g.sex, "p"), q(g.birth_year, "p"))
    table = step.lookalikes
    if table is not None and not _PARAM.fullmatch(table):
        table = exp.Literal.string(table).sql()
    return link_sql(LinkQuery(records, registry, identity=q(step.identity, "r"), lookalikes=table,
                              neighbouring=step.neighbouring, rows=step.rows))
