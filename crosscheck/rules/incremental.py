"""Whether a rule can run on the change, and how: its findings for some subjects only.

A rule is *subject-local* when every finding of a subject is computed from rows that belong
to that subject alone. Then its findings on a new delivery are its findings on the last one,
minus the subjects whose rows changed, plus the rule run for those subjects only
(crosscheck.pipeline.incremental). This module decides it from the compiled rule, never from
a list of rules, by following the query with sqlglot's scopes (the CTEs inlined first, so
each use of a view or step is a reference of its own):

- the *key* is the class of columns the finding's `subject` is equal to: the column it is
  passed from, and every column an equality (`a.x = b.y`, in an ON or a WHERE) ties to it,
  through steps, views, derived tables and UNION branches;
- each reference to a canonical table is *keyed* (one of its columns is in the key: its
  rows belong to that subject) or *linked* (a column of it equals a column of a keyed table,
  as taps reach a person through `cards.card_no`: its rows belong to the subjects of the
  keyed rows they join). Anything else is not traceable;
- every join between keyed relations equates their keys, a linked relation is joined on its
  link; every GROUP BY keeps the key (or the link), every window is partitioned by it; no
  aggregate over every row, no LIMIT, no subquery in an expression that reads a table.

A rule that fails a condition runs whole, and `Locality.reason` says why (`crosscheck rules
show`): a median over a township groups rows of many subjects; a fuzzy join's blocking is
counted over every row; a subject built from two columns is not a column of the rows.
A rule file opts out with `incremental: false`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from crosscheck.engines import dialect
from crosscheck.rules.compiler import catalog_schema

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog
    from crosscheck.rules.compiler import Compiled

#: A CAST to text keeps a key what it is (a person id cast to TEXT is the person id).
TEXT = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR}
#: Where a table reference of the inlined rule was copied from (`exp.Table.meta`).
ORIGIN = "crosscheck_origin"
#: The temporary table holding the subjects a rule is run for (column `key`).
TOUCHED = "__cc_touched"


class NotLocal(Exception):
    """Why a rule's findings cannot be computed for some subjects alone."""


@dataclass(frozen=True)
class Link:
    """Rows of a table reach the subject through another table: `table.column` equals the
    link's column, and the subject is its table's key column."""

    table: str
    column: str
    key: str


@dataclass(frozen=True)
class Restriction:
    """Which rows of one reference to a canonical table a subject's findings read: those whose
    `column` is the subject (no `links`), or equals a linked table's column for the subject."""

    table: str
    column: str
    links: tuple[Link, ...] = ()


@dataclass
class Locality:
    """What `analyse` found: the restriction of each table reference (in `exp.Table` order
    of `tree`), or why the rule runs whole."""

    reason: str | None = None
    tree: exp.Query | None = None                        # the rule, inlined and qualified
    restrictions: list[Restriction] = field(default_factory=list)
    key_type: str = "VARCHAR"
    uses_as_of: bool = False
    source: exp.Query | None = None                      # the compiled rule, its table references numbered

    @property
    def incremental(self) -> bool:
        return self.reason is None


def analyse(compiled: "Compiled", catalog: "Catalog", *, opted_out: bool = False) -> Locality:
    """Whether the compiled rule is subject-local (see the module docstring), and how to restrict it."""
    uses_as_of = "as_of" in compiled.parameters
    if opted_out:
        return Locality("the rule file says incremental: false", uses_as_of=uses_as_of)
    if compiled.review is not None:
        return Locality("its review candidates (待人工核实) are listed from every record", uses_as_of=uses_as_of)
    if compiled.fuzzy_guards:
        return Locality("a fuzzy_join step: its blocking is counted over every row", uses_as_of=uses_as_of)
    source = compiled.tree.copy()
    for number, table in enumerate(source.find_all(exp.Table)):
        table.meta[ORIGIN] = number   # each inlined copy remembers the reference it was copied from
    try:
        tree = qualify(inline(source), schema=catalog_schema(catalog), dialect=dialect.READ_DIALECT,
                       validate_qualify_columns=False, quote_identifiers=False)
        out = _Analysis(tree, catalog).run()
        out.source = source
    except NotLocal as exc:
        return Locality(str(exc), uses_as_of=uses_as_of)
    except (SqlglotError, ValueError, KeyError) as exc:
        return Locality(f"cannot follow the rule's SQL: {exc}", uses_as_of=uses_as_of)
    out.uses_as_of = uses_as_of
    return out


def inline(tree: exp.Query) -> exp.Query:
    """The query with every CTE reference replaced by its SELECT (recursively), so that each
    use of a step or view has table references of its own."""
    tree = tree.copy()
    key = "with_" if "with_" in type(tree).arg_types else "with"
    with_ = tree.args.get(key)
    bodies: dict[str, exp.Query] = {}
    for cte in with_.expressions if with_ is not None else []:
        bodies[cte.alias_or_name] = _inline_into(cte.this.copy(), bodies)
    tree.set(key, None)
    return _inline_into(tree, bodies)


def _inline_into(query: exp.Query, bodies: dict[str, exp.Query]) -> exp.Query:
    if any(True for _ in query.find_all(exp.With)):
        raise NotLocal("a step has a WITH of its own")
    for table in list(query.find_all(exp.Table)):
        if not table.args.get("db") and table.name in bodies:
            sub = exp.Subquery(this=bodies[table.name].copy(),
                               alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name)))
            if table is query:
                return sub.this
            table.replace(sub)
    return query


Node = tuple  # ("ref", id(table node), column) or ("out", id(scope expression), name)


class _Analysis:
    def __init__(self, tree: exp.Query, catalog: "Catalog"):
        self.tree, self.catalog = tree, catalog
        self.scopes = traverse_scope(tree)
        self.parent: dict[Node, Node] = {}
        self.refs = [t for t in tree.find_all(exp.Table) if t.name in catalog.tables and not t.args.get("db")]
        self.ref_ids = {id(t): t for t in self.refs}
        self.kinds: dict[int, tuple[str, Node | None]] = {}   # scope expression / table node -> (kind, class)
        self.coalesced: dict[Node, list[Node]] = {}             # coalesce(...) of columns -> their nodes

    # -- classes of equal columns -------------------------------------------------------
    def find(self, node: Node) -> Node:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: Node | None, b: Node | None) -> None:
        if a is not None and b is not None:
            self.parent[self.find(a)] = self.find(b)

    def resolve(self, scope: Scope, column: exp.Expression) -> Node | None:
        """The node a plain column reference reads (None: not a plain column)."""
        while isinstance(column, exp.Paren) or (isinstance(column, (exp.Cast, exp.TryCast)) and column.to.this in TEXT):
            column = column.this
        if isinstance(column, exp.Coalesce):   # one of its columns: a member of their class, if they share one
            args = [self.resolve(scope, a) for a in [column.this, *column.expressions]]
            if any(a is None for a in args):
                return None
            node = ("coalesce", id(column))
            self.coalesced[node] = args
            return node
        if not isinstance(column, exp.Column):
            return None
        source = scope.sources.get(column.table)
        if isinstance(source, Scope):
            return ("out", id(source.expression), column.name)
        if isinstance(source, exp.Table) and id(source) in self.ref_ids:
            return ("ref", id(source), column.name)
        return None

    def _equalities(self, scope: Scope) -> list[tuple[Node, Node, exp.Expression]]:
        query = scope.expression
        conditions = [j.args.get("on") for j in query.args.get("joins") or []]
        where = query.args.get("where")
        conditions.append(where.this if where is not None else None)
        found = []
        for condition in conditions:
            for conjunct in condition.flatten() if isinstance(condition, exp.And) else [condition]:
                if isinstance(conjunct, exp.EQ):
                    a, b = self.resolve(scope, conjunct.this), self.resolve(scope, conjunct.expression)
                    if a is not None and b is not None:
                        found.append((a, b, conjunct))
        return found

    def _outputs(self, scope: Scope) -> list[tuple[str, exp.Expression]]:
        query = scope.expression
        return [(p.alias_or_name, p.unalias()) for p in query.selects] if isinstance(query, exp.Select) else []

    def build_classes(self) -> None:
        for scope in self.scopes:
            query = scope.expression
            if isinstance(query, exp.SetOperation):
                for branch in _sides(query):
                    for position, name in enumerate(query.named_selects):
                        self.union(("out", id(query), name), self._branch_out(branch, position))
                continue
            if not isinstance(query, exp.Select):
                continue
            for a, b, _ in self._equalities(scope):
                self.union(a, b)
            for name, value in self._outputs(scope):
                node = ("out", id(query), name)
                self.union(node, self.resolve(scope, value))
        changed = True
        while changed:   # coalesce(a, b) of columns of one class is in that class
            changed = False
            for node, args in self.coalesced.items():
                classes = {self.find(a) for a in args}
                if len(classes) == 1 and self.find(node) != next(iter(classes)):
                    self.union(node, next(iter(classes)))
                    changed = True

    @staticmethod
    def _branch_out(query: exp.Expression, position: int) -> Node | None:
        if isinstance(query, exp.SetOperation):
            name = query.named_selects[position] if position < len(query.named_selects) else None
            return ("out", id(query), name) if name else None
        selects = query.selects if isinstance(query, exp.Select) else []
        return ("out", id(query), selects[position].alias_or_name) if position < len(selects) else None

    # -- the analysis ---------------------------------------------------------------------
    def run(self) -> Locality:
        root = self.scopes[-1]
        if "subject" not in root.expression.named_selects:
            raise NotLocal("the rule has no subject column")
        self.build_classes()
        self.key = self.find(("out", id(root.expression), "subject"))
        if not any(n[0] == "ref" and self.find(n) == self.key for n in list(self.parent)):
            raise NotLocal("the subject is computed, not a column of a table the rule reads")
        restrictions = self.classify_refs()
        for scope in self.scopes:
            self.kinds[id(scope.expression)] = self.classify(scope)
        kind, _ = self.kinds[id(root.expression)]
        if kind != "keyed":
            raise NotLocal("the findings are not rows of the subject")
        return Locality(None, self.tree, restrictions, self.key_type)

    def columns_of(self, table: exp.Table) -> list[str]:
        return list(self.catalog.columns(table.name))

    def classify_refs(self) -> list[Restriction]:
        keyed: dict[int, str] = {}
        for t in self.refs:
            cols = [c for c in self.columns_of(t) if self.find(("ref", id(t), c)) == self.key]
            if len(cols) > 1:
                raise NotLocal(f"{t.name} ({t.alias_or_name}) is tied to the subject by two columns: {', '.join(cols)}")
            if cols:
                keyed[id(t)] = cols[0]
        self.key_type = "VARCHAR"
        if keyed:
            first = next(t for t in self.refs if id(t) in keyed)
            self.key_type = self.catalog.columns(first.name)[keyed[id(first)]]
        out: list[Restriction] = []
        for t in self.refs:
            if id(t) in keyed:
                self.kinds[id(t)] = ("keyed", self.key)
                out.append(Restriction(t.name, keyed[id(t)]))
                continue
            found = None
            for c in self.columns_of(t):
                cls = self.find(("ref", id(t), c))
                links = tuple(sorted({Link(u.name, d, keyed[id(u)]) for u in self.refs if id(u) in keyed
                                      for d in self.columns_of(u) if self.find(("ref", id(u), d)) == cls}))
                if links and ("ref", id(t), c) in self.parent:
                    found = (c, cls, links)
                    break
            if found is None:
                raise NotLocal(f"{t.name} ({t.alias_or_name}) is not joined to the subject by equal columns")
            self.kinds[id(t)] = ("linked", found[1])
            out.append(Restriction(t.name, found[0], found[2]))
        return out

    def classify(self, scope: Scope) -> tuple[str, Node | None]:
        query = scope.expression
        if isinstance(query, exp.SetOperation):
            kinds = {self.kinds[id(b)] for b in _sides(query)}
            if len(kinds) != 1:
                raise NotLocal("a UNION mixes rows of the subject with other rows")
            return next(iter(kinds))
        if not isinstance(query, exp.Select):
            raise NotLocal(f"a {type(query).__name__} is not followed")
        if query.args.get("limit") or query.args.get("offset"):
            raise NotLocal("a LIMIT keeps rows by their order over every subject")
        for sub in scope.subquery_scopes:
            if self.kinds.get(id(sub.expression), ("const", None))[0] != "const":
                raise NotLocal("a subquery in an expression reads a table")
        sources: dict[int, tuple[str, Node | None]] = {}   # id of each relation read -> its kind
        for source in scope.sources.values():
            if isinstance(source, Scope):
                if source.is_udtf:
                    raise NotLocal("a table function (UNNEST) is not followed")
                sources[id(source.expression)] = self.kinds[id(source.expression)]
            elif isinstance(source, exp.Table):
                if id(source) not in self.ref_ids:
                    raise NotLocal(f"reads {source.name}, which is not a canonical table")
                sources[id(source)] = self.kinds[id(source)]
        keyed = [a for a, (k, _) in sources.items() if k == "keyed"]
        linked = {a: c for a, (k, c) in sources.items() if k == "linked"}
        edges = [(x, y, self.find(a)) for a, b, _ in self._equalities(scope) for x in self._ends(a) for y in self._ends(b)]
        joined = {x for x, _, _ in edges} | {y for _, y, _ in edges}
        # keyed relations joined on the key, each linked one on its link
        reached = set(keyed[:1])
        grew = True
        while grew:
            grew = False
            for x, y, cls in edges:
                if cls == self.key and (x in reached) != (y in reached) and {x, y} <= set(keyed):
                    reached |= {x, y}
                    grew = True
        if set(keyed) - reached:
            raise NotLocal(f"rows of different subjects are joined, not on the subject ({self._named(query)})")
        for alias, cls in linked.items():
            if not any(c == cls and alias in (x, y) and (x != y) for x, y, c in edges) or alias not in joined:
                if keyed or len(linked) > 1:
                    raise NotLocal(f"a relation is joined to the subject's rows on another column than its link ({self._named(query)})")
        if keyed:
            kind: tuple[str, Node | None] = ("keyed", self.key)
        elif linked:
            if len(set(linked.values())) > 1:
                raise NotLocal("rows linked to the subject through different columns are joined")
            kind = ("linked", next(iter(linked.values())))
        else:
            return ("const", None)
        cls = kind[1]
        group = query.args.get("group")
        aggregates = [a for p in query.selects for a in p.find_all(exp.AggFunc) if not a.find_ancestor(exp.Window)]
        if group is not None:
            if not any(self._in(scope, g, cls) for g in group.expressions):
                raise NotLocal(f"a GROUP BY mixes rows of different subjects ({group.sql(dialect=dialect.READ_DIALECT)})")
        elif aggregates:
            raise NotLocal(f"an aggregate over every row ({aggregates[0].sql(dialect=dialect.READ_DIALECT)})")
        for window in query.find_all(exp.Window):
            if window.find_ancestor(exp.Select) is not query:
                continue
            if not any(self._in(scope, p, cls) for p in window.args.get("partition_by") or []):
                raise NotLocal(f"a window over rows of different subjects ({window.sql(dialect=dialect.READ_DIALECT)[:80]})")
        if not any(self.find(("out", id(query), n)) == cls for n, _ in self._outputs(scope)):
            raise NotLocal("a step drops the column that ties its rows to the subject")
        return kind

    def _ends(self, node: Node) -> list[int]:
        """The relations a node reads (a coalesce reads those of its columns)."""
        if node[0] == "coalesce":
            return [e for arg in self.coalesced[node] for e in self._ends(arg)]
        return [node[1]]

    def _in(self, scope: Scope, expression: exp.Expression, cls: Node | None) -> bool:
        node = self.resolve(scope, expression)
        return node is not None and self.find(node) == cls

    @staticmethod
    def _named(query: exp.Select) -> str:
        """The relations a SELECT reads, by their aliases."""
        names = [j.this.alias_or_name for j in query.args.get("joins") or []]
        first = query.args.get("from") or query.args.get("from_")
        return ", ".join([first.this.alias_or_name if first is not None else "", *names])


def _sides(query: exp.SetOperation) -> list[exp.Expression]:
    """The two queries of a set operation, unwrapped."""
    out = []
    for side in (query.this, query.expression):
        while isinstance(side, (exp.Paren, exp.Subquery)):
            side = side.this
        out.append(side)
    return out


def _touched_keys() -> exp.Select:
    return exp.select("key").from_(TOUCHED)


def rows_for_touched(r: Restriction) -> exp.Select:
    """The rows of `r.table` a touched subject's findings read."""
    if not r.links:
        keys: exp.Query = _touched_keys()
    else:
        linked = [exp.select(exp.column(link.column)).from_(exp.to_table(link.table))
                  .where(exp.column(link.key).isin(query=_touched_keys())) for link in r.links]
        keys = linked[0]
        for more in linked[1:]:
            keys = exp.union(keys, more, distinct=False)
    return exp.select("*").from_(exp.to_table(r.table)).where(exp.column(r.column).isin(query=keys))


def restricted(locality: Locality) -> exp.Query:
    """The rule run for the subjects in TOUCHED only: every table reference reads the rows of
    those subjects (or linked to them), and only their findings are kept. Where every use of
    a step or view restricts its tables alike, the compiled rule keeps its steps (a view is
    computed once, for the touched subjects); else the inlined rule is restricted."""
    names = {r.table for r in locality.restrictions}
    inlined = [t for t in locality.tree.find_all(exp.Table) if not t.args.get("db") and t.name in names]
    if len(inlined) != len(locality.restrictions):
        raise ValueError("the rule's table references changed")
    by_origin: dict = {}
    for table, r in zip(inlined, locality.restrictions):
        by_origin.setdefault(table.meta.get(ORIGIN), set()).add(r)
    alike = locality.source is not None and None not in by_origin and all(len(rs) == 1 for rs in by_origin.values())
    if alike:
        tree = locality.source.copy()
        pairs = [(t, next(iter(by_origin[t.meta.get(ORIGIN)]))) for t in tree.find_all(exp.Table)
                 if t.meta.get(ORIGIN) in by_origin]
    else:
        tree = locality.tree.copy()
        pairs = list(zip([t for t in tree.find_all(exp.Table) if not t.args.get("db") and t.name in names],
                         locality.restrictions))
    for table, r in pairs:
        table.replace(exp.Subquery(this=rows_for_touched(r), alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))
    return (exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("__cc_rule"))))
            .where(exp.column("subject").isin(query=exp.select(exp.cast(exp.column("key"), "VARCHAR")).from_(TOUCHED))))


def touched_sql(restriction: Restriction, changed: str) -> exp.Select:
    """The subjects whose findings may change because rows of `restriction.table` changed:
    `changed` is a relation of those rows (old and new), with the restriction's column."""
    values = exp.select(exp.column(restriction.column)).from_(changed)
    if not restriction.links:
        return exp.select(exp.alias_(exp.column(restriction.column), "key")).from_(changed)
    queries = [exp.select(exp.alias_(exp.column(link.key), "key")).from_(exp.to_table(link.table))
               .where(exp.column(link.column).isin(query=values.copy())) for link in restriction.links]
    out = queries[0]
    for more in queries[1:]:
        out = exp.union(out, more, distinct=False)
    return out


#: Bump when `analyse` or `restricted` decide otherwise: plans kept by an older version are unused.
ANALYSIS = "crosscheck-rules-on-change-1"


@dataclass
class Plan:
    """What a run needs of `analyse` to run a rule on the change, kept beside its findings (JSON):
    why it runs whole, or its restrictions and the SQL of the rule for the touched subjects."""

    reason: str | None
    uses_as_of: bool
    key_type: str = "VARCHAR"
    restrictions: list[Restriction] = field(default_factory=list)
    sql: str | None = None

    @classmethod
    def of(cls, locality: Locality) -> "Plan":
        if not locality.incremental:
            return cls(locality.reason, locality.uses_as_of)
        return cls(None, locality.uses_as_of, locality.key_type, list(dict.fromkeys(locality.restrictions)),
                   restricted(locality).sql(dialect=dialect.READ_DIALECT))

    def to_json(self) -> dict:
        return {"reason": self.reason, "uses_as_of": self.uses_as_of, "key_type": self.key_type, "sql": self.sql,
                "restrictions": [[r.table, r.column, [[x.table, x.column, x.key] for x in r.links]] for r in self.restrictions]}

    @classmethod
    def from_json(cls, data: dict) -> "Plan":
        restrictions = [Restriction(t, c, tuple(Link(*x) for x in links)) for t, c, links in data["restrictions"]]
        return cls(data["reason"], data["uses_as_of"], data["key_type"], restrictions, data["sql"])

    def tree(self) -> exp.Query:
        return dialect.parse(self.sql)[0]

    def reads(self) -> dict[str, set[str]]:
        """Table -> the columns whose changed values name touched subjects."""
        out: dict[str, set[str]] = {}
        for r in self.restrictions:
            out.setdefault(r.table, set()).add(r.column)
        return out
