"""Records a rule cannot decide, listed for a reviewer (待人工核实) instead of becoming findings.

A rule that identifies people by name (the `link_names` step) meets records that could be
more than one person. Such a record is never a finding; the rule says, in its YAML, which
step's rows are its candidates and whether each would make the rule fire::

    review:
      step: candidates              # one row per record and candidate (link_names with rows: candidates)
      subject: contract_no          # the record, as a finding's subject would be
      name_as_delivered: lessee_name_raw
      would_fire: would_fire        # a truth value: this candidate, if they were the person, makes the rule fire

The run lists every record whose status is ambiguous and at least one of whose candidates
would fire, with all its candidates and how each matched (`RuleOutcome.review`, the report's
待人工核实 and review_candidates.csv, masked like the findings), and counts the records by
status (linked, ambiguous, unidentified). This module holds the schema and the SQL text of
the candidates' query; the runner runs it (crosscheck.rules.runner).
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pydantic import Field

from crosscheck.engines import dialect
from crosscheck.names.sql import AMBIGUOUS, LINKED, UNIDENTIFIED
from crosscheck.results import REVIEW_SCHEMA
from crosscheck.yamlio import IDENT, Strict

if TYPE_CHECKING:
    from crosscheck.engines.base import Engine

#: What each review candidate says, in this order (REVIEW_SCHEMA without rule_id; would_fire is 是/否).
REVIEW_COLUMNS = tuple(REVIEW_SCHEMA.names[1:])
#: The personal data each of them holds, whatever the rule's SQL (the subject's is followed by lineage).
REVIEW_KINDS = {"name_as_delivered": "name", "person_id": "identity", "name": "name"}


class Review(Strict):
    """Which step's rows are review candidates (待人工核实), not findings (crosscheck.rules.review)."""

    step: str = Field(pattern=IDENT, description="the step whose rows are the candidates: one row per record and candidate "
                      "(a link_names step with rows: candidates, or a step over one)")
    subject: str = Field(min_length=1, description="SQL: the record, as a finding's subject (合同编号)")
    name_as_delivered: str = Field(min_length=1, description="SQL: the name the record gives, as delivered")
    would_fire: str = Field(min_length=1, description="SQL, true or false: this candidate, were they the record's person, makes the rule fire")
    person_id: str = Field(default="candidate_id", description="SQL: the candidate's identity number")
    name: str = Field(default="candidate_name", description="SQL: the candidate's name in the registry")
    match: str = Field(default="candidate_match", description="SQL: how the candidate matched (一致, 同音, 形近, 缺字)")
    status: str = Field(default="link_status", description="SQL: the record's status (linked, ambiguous, unidentified)")

    def select_sql(self) -> str:
        """The candidates' SELECT over the step (its CTEs are added by the compiler)."""
        cols = {"subject": self.subject, "name_as_delivered": self.name_as_delivered, "person_id": self.person_id,
                "name": self.name, "match": self.match, "status": self.status}
        return (f"SELECT {', '.join(f'CAST({sql} AS VARCHAR) AS {c}' for c, sql in cols.items())}, "
                f"CAST({self.would_fire} AS BOOLEAN) AS would_fire FROM {self.step}")


def listed(columns: list[str], rows: list[tuple]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The candidates listed for review (every candidate of each ambiguous record at least one of
    whose candidates would fire, sorted; would_fire as 是/否) and the records counted by status:
    {records, linked, ambiguous, unidentified, listed}."""
    at = {c: i for i, c in enumerate(columns)}
    status: dict[str, str] = {}
    candidates: dict[tuple[str, str], dict[str, Any]] = {}   # one per record and candidate: fires if any row does
    for row in rows:
        subject = row[at["subject"]]
        status.setdefault(subject, row[at["status"]])
        if row[at["status"]] == AMBIGUOUS:
            seen = candidates.setdefault((subject, row[at["person_id"]] or ""), {c: row[at[c]] for c in REVIEW_COLUMNS})
            seen["would_fire"] = bool(seen["would_fire"]) or bool(row[at["would_fire"]])
    fires = {subject for (subject, _), c in candidates.items() if c["would_fire"]}
    out = [{**c, "would_fire": "是" if c["would_fire"] else "否"} for (subject, _), c in sorted(candidates.items())
           if subject in fires]
    counts = Counter(status.values())
    return out, {"records": len(status), "linked": counts.get(LINKED, 0), "ambiguous": counts.get(AMBIGUOUS, 0),
                 "unidentified": counts.get(UNIDENTIFIED, 0), "listed": len(fires)}


def step_kept(engine: "Engine", rule_id: str, compiled, step: str, bound: dict[str, Any]):
    """`compiled` (and its review query) reading the rows of its step `step` from a table made once
    (engines that keep tables): the rule's findings and its review candidates come from one
    computation of the step (a name linker's, say). `compiled` as it is on other engines."""
    import dataclasses

    if not engine.keeps_views:
        return compiled
    tree = compiled.tree.copy()
    with_ = tree.args.get("with") or tree.args.get("with_")
    ctes = list(with_.expressions)
    k = next(i for i, c in enumerate(ctes) if c.alias_or_name == step)
    query = exp.select("*").from_(exp.to_table(step))
    for c in ctes[: k + 1]:
        query = query.with_(c.alias_or_name, as_=c.this.copy(), copy=False)
    table = f"__cc_kept_{rule_id}__{step}"
    engine.create_table(table, query, {n: bound[n] for n in dialect.parameter_names(query)})
    ctes[k] = exp.CTE(this=exp.select("*").from_(exp.to_table(table, dialect=dialect.READ_DIALECT)),
                      alias=exp.TableAlias(this=exp.to_identifier(step)))
    with_.set("expressions", ctes)
    review = compiled.review.copy()
    review_with = review.args.get("with") or review.args.get("with_")
    review_with.set("expressions", [c.copy() for c in ctes])
    return dataclasses.replace(compiled, tree=tree, review=review)


def review_candidates(engine: "Engine", compiled, bound: dict[str, Any]) -> tuple[list[dict], dict[str, int]]:
    """The review candidates a rule lists (待人工核实) and its records counted by status
    (crosscheck.rules.review)."""
    tree = compiled.review
    _, columns, rows = engine.run(tree, {n: bound[n] for n in dialect.parameter_names(tree)}, pretty=False)
    return listed(columns, rows)
