"""Run compiled rules on an engine; produce RuleOutcomes and findings.

The runner hands each parsed query to an engine (crosscheck.engines: DuckDB, or
Spark in crosscheck.engines.spark), which asks crosscheck.engines.dialect for its SQL and
binds the parameters; compiling, skipping, binding and rendering evidence are
shared, so both engines give the same findings. Nothing here asks which engine
it is.

One query per rule, so one bad rule never breaks the others (it is "failed",
visibly). A rule reading a table that was not delivered is "skipped" with the
table and the reason, unless the table is declared `optional` by the rule or
a view it uses, in which case an empty stand-in is used and the outcome says so.
"""
from __future__ import annotations

import json
import re
import time
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from crosscheck.engines import dialect
from crosscheck.engines.base import Engine, as_engine
from crosscheck.errors import interrupted

from crosscheck.results import FINDINGS_SCHEMA, RULE_OUTPUT_COLUMNS, RuleOutcome, StandIn
from crosscheck.rules.compiler import EVIDENCE_PREFIX, CompileError
from crosscheck.rules.fuzzy import BlockingCount, BlockingTooLarge
from crosscheck.rules.review import review_candidates, step_kept
from crosscheck.rules.spec import TEMPLATE_SEPARATOR, Evidence

if TYPE_CHECKING:
    from crosscheck.rules.loader import LoadedRule, RuleSet

#: At most this many elements of a list evidence field in the text (JSON keeps them all).
MAX_LIST_ITEMS = 12
NULL_TEXT = "无"
CENT = Decimal("0.01")


# ------------------------------------------------------------------ formatting


def _to_decimal(v: Any) -> Decimal:
    return (v if isinstance(v, Decimal) else Decimal(str(v))).quantize(CENT, rounding=ROUND_HALF_UP)


def format_value(value: Any, fmt: str, item: str = "text") -> str:
    """One evidence value as text: dates YYYY-MM-DD, months YYYY-MM, amounts with two decimals."""
    if value is None:
        return NULL_TEXT
    if fmt == "list" or isinstance(value, (list, tuple)):
        items = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if v is not None]
        if not items:
            return NULL_TEXT
        shown = [format_value(v, item if fmt == "list" else fmt) for v in items[:MAX_LIST_ITEMS]]
        more = f" 等{len(items)}项" if len(items) > MAX_LIST_ITEMS else ""
        return "、".join(shown) + more
    if fmt == "date":
        return value.strftime("%Y-%m-%d") if isinstance(value, (date, datetime)) else str(value)[:10]
    if fmt == "month":
        return value.strftime("%Y-%m") if isinstance(value, (date, datetime)) else str(value)[:7]
    if fmt == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)
    if fmt == "amount":
        return f"{_to_decimal(value):,.2f}".replace(",", "") if not isinstance(value, str) else value
    if fmt == "integer":
        return str(int(value)) if not isinstance(value, str) else value
    if fmt == "number":
        return f"{float(value):.2f}" if not isinstance(value, str) else value
    return str(value)


def json_value(value: Any, fmt: str, item: str = "text") -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [json_value(v, item if fmt == "list" else fmt) for v in value]
    if fmt in {"date", "month", "datetime", "amount"}:
        return format_value(value, fmt)
    if fmt == "integer":
        return int(value)
    if fmt == "number":
        return round(float(value), 4)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _line_key(s: str) -> tuple:
    m = re.match(r"^(.*):(\d+)$", s)
    return (m.group(1), int(m.group(2))) if m else (s, 0)


def format_sources(value: Any) -> str:
    """Every distinct 'file:line' entry, sorted (the reports shorten the list where space is short)."""
    if value is None:
        return ""
    if isinstance(value, str):
        items = [s.strip() for s in value.split(";")]
    else:
        items = []
        for v in value:
            if isinstance(v, (list, tuple)):
                items.extend(str(x) for x in v if x is not None)
            elif v is not None:
                items.append(str(v))
    return "; ".join(sorted({s for s in items if s}, key=_line_key))


def is_present(value: Any) -> bool:
    """What a template part's `when` asks of a value: not null, not zero, not empty text, not an empty list."""
    if value is None or isinstance(value, str) and not value.strip():
        return False
    if isinstance(value, (list, tuple)):
        return any(v is not None for v in value)
    if isinstance(value, (int, float, Decimal)):
        return value != 0
    return True


def render_evidence(evidence: Evidence, texts: dict[str, str], values: dict[str, Any]) -> str:
    """The evidence line: the template's parts shown for these values, joined by TEMPLATE_SEPARATOR."""
    shown = [p.text.format_map(texts) for p in evidence.template if p.when is None or is_present(values.get(p.when))]
    return TEMPLATE_SEPARATOR.join(shown)


def render_findings(rule: "LoadedRule", columns: list[str], rows: list[tuple], params: dict[str, Any], as_of: date) -> pa.Table:
    """Query rows -> FINDINGS_SCHEMA table (evidence text and JSON rendered here)."""
    spec = rule.spec
    fields = spec.evidence.fields
    idx = {c: i for i, c in enumerate(columns)}
    param_text = {k: format_value(v, "date" if isinstance(v, date) else "text") for k, v in params.items()}
    param_text["as_of"] = as_of.isoformat()
    param_values = {**params, "as_of": as_of}
    out: dict[str, list] = {f.name: [] for f in FINDINGS_SCHEMA}
    seen: dict[tuple, int] = {}
    for row in rows:
        subject = row[idx["subject"]]
        disc = row[idx["discriminator"]] or ""
        key = (subject, disc)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            raise RuntimeError(f"more than one finding for subject {subject!r}{' / ' + disc if disc else ''}: the last step must return one row per finding")
        texts, values, js = dict(param_text), dict(param_values), {}
        for name, f in fields.items():
            v = values[name] = row[idx[EVIDENCE_PREFIX + name]]
            texts[name] = format_value(v, f.format, f.item)
            js[name] = json_value(v, f.format, f.item)
        finding = {c: row[idx[c]] for c in RULE_OUTPUT_COLUMNS}
        amount = finding["amount_at_risk"]
        finding.update(rule_id=spec.id, subject=None if subject is None else str(subject), discriminator=disc,
                       amount_at_risk=None if amount is None else _to_decimal(amount),
                       evidence=render_evidence(spec.evidence, texts, values),
                       evidence_json=json.dumps(js, ensure_ascii=False, sort_keys=False),
                       sources=format_sources(finding["sources"]))
        for c in out:
            out[c].append(finding[c])
    bad = sorted({s for s in out["severity"] if s not in {"high", "medium", "low"}}, key=str)
    if bad:
        raise RuntimeError(f"severity must be high, medium or low, got {bad}")
    if any(s is None or s == "" for s in out["subject"]):
        raise RuntimeError("a finding has no subject")
    return pa.table(out, schema=FINDINGS_SCHEMA)


# ------------------------------------------------------------------ running


def _outcome(rule: "LoadedRule", status: str, **kw: Any) -> RuleOutcome:
    s = rule.spec
    return RuleOutcome(
        rule_id=s.id, title_zh=s.title.zh, title_en=s.title.en, severity=s.severity, status=status,  # type: ignore[arg-type]
        version=rule.version, description=s.description.en.strip(), description_zh=s.description.zh.strip(),
        domain=rule.domain, rule_status=s.status, timeline=[m.model_dump(by_alias=True) for m in s.evidence.timeline],
        evidence_fields=evidence_fields(rule), **kw,
    )


def evidence_fields(rule: "LoadedRule") -> list[dict]:
    """The rule's evidence fields as reviewers read them (RuleOutcome.evidence_fields): a field
    without a label is called by its name."""
    out = []
    for name, f in rule.spec.evidence.fields.items():
        en = (f.label.en if f.label is not None else "") or name.replace("_", " ")
        out.append({"name": name, "zh": f.label.zh if f.label is not None else name, "en": en, "format": f.format})
    return out


def _unavailable(available: dict[str, str | None], tables: set[str]) -> dict[str, str]:
    out = {}
    for t in sorted(tables):
        if t not in available:
            out[t] = "not loaded"
        elif available[t] is not None:
            out[t] = available[t] or "not available"
    return out


def count_blocking(con, compiled, binds: dict[str, Any]) -> list[BlockingCount]:
    """Candidate pairs per fuzzy_join step and pass (cheap GROUP BY counts) on `con` (an
    engine, or a DuckDB connection)."""
    engine = as_engine(con)
    out = []
    for g in compiled.fuzzy_guards:
        counts = []
        for label, tree in g.passes:
            _, _, rows = engine.run(tree, {n: binds[n] for n in dialect.parameter_names(tree)}, pretty=False)
            counts.append((label, int(rows[0][0])))
        out.append(BlockingCount(g.step, counts, g.limit(binds)))
    return out


def check_blocking(con, rule_id: str, compiled, binds: dict[str, Any]) -> list[BlockingCount]:
    """Count, then raise BlockingTooLarge naming the rule, step and blocking if over the limit."""
    counts = count_blocking(con, compiled, binds)
    for c in counts:
        if c.total > c.limit:
            raise BlockingTooLarge(
                f"rule {rule_id}, step {c.step}: {c.describe().replace(': ', ' would produce ', 1) if len(c.passes) == 1 else c.describe()}"
                f", over the limit {c.limit:,} (max_candidate_pairs); block on more selective keys"
            )
    return counts


def candidate_pairs(con, rule: "LoadedRule", *, as_of, overrides: dict[str, Any] | None = None) -> list[BlockingCount]:
    """How many candidate pairs each fuzzy_join step of `rule` would score on this connection."""
    binds = {"as_of": as_of, **rule.spec.bind(overrides)}
    return count_blocking(con, rule.compile(), binds)


def view_ctes(view: str, ctes: list) -> list:
    """The CTEs a view's rows come from, in order: its own, those of the views it reads
    and the optional-table stand-ins they read (not other views the rule happens to use)."""
    by_name = {c.name: c for c in ctes if c.origin[0] in ("optional", "view")}
    needed: set[str] = set()
    todo = [c.name for c in ctes if c.origin[0] == "view" and c.origin[1] == view]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += [t.name for t in by_name[name].query.find_all(exp.Table) if t.name in by_name and t.name != name]
    return [c for c in ctes if c.name in needed]


def view_signature(view: str, own_ctes: list) -> str:
    """What a view's rows depend on besides the loaded tables (`view_ctes`' SQL), as one
    hash: the same in every run and process, different once the view is edited."""
    import hashlib

    text = "\n".join([view, *(f"{c.name} AS ({c.query.sql(dialect=dialect.READ_DIALECT)})" for c in own_ctes)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def materialize_views(engine: Engine, compiled, shared: dict):
    """`compiled` with every view it uses read from a table, created on first use.

    `shared` maps (view id, `view_signature`) to the table holding its rows: a temp
    table made here, or one kept from an earlier run on the same delivery (see
    crosscheck.cache.canonical.ViewStore). Views whose steps take parameters are left
    inline. Returns `compiled` itself when nothing was materialised, else a copy with
    the rewritten tree."""
    import dataclasses

    ctes = list(compiled.ctes)
    done: dict[str, str] = {}
    for view in compiled.views:
        own = [c for c in ctes if c.origin[0] == "view" and c.origin[1] == view]
        if not own or any(dialect.parameter_names(c.query) for c in own):
            continue
        needed = view_ctes(view, ctes)
        key = (view, view_signature(view, needed))
        table = shared.get(key)
        if table is None:
            query = exp.select("*").from_(exp.to_table(view))
            for c in needed:
                owner = c.origin[1] if c.origin[0] == "view" else None
                if owner in done:  # views already materialised are read from their tables
                    if c.name == owner:
                        query = query.with_(c.name, as_=exp.select("*").from_(exp.to_table(done[owner], dialect=dialect.READ_DIALECT)), copy=False)
                    continue
                query = query.with_(c.name, as_=c.query.copy(), copy=False)
            table = f"__cc_view_{view}_{len(shared)}"
            try:
                engine.create_table(table, query)
            except Exception:
                continue  # left inline: the rule reports any real problem itself
            shared[key] = table
        done[view] = table
    if not done:
        return compiled
    tree = compiled.tree.copy()
    with_ = tree.args.get("with") or tree.args.get("with_")
    keep = []
    for cte in with_.expressions:
        name = cte.alias_or_name
        owner = next((c.origin[1] for c in ctes if c.name == name and c.origin[0] == "view"), None)
        if owner in done:
            if name == owner:
                keep.append(exp.CTE(this=exp.select("*").from_(exp.to_table(done[owner], dialect=dialect.READ_DIALECT)),
                                    alias=exp.TableAlias(this=exp.to_identifier(name))))
            continue
        keep.append(cte)
    with_.set("expressions", keep)
    return dataclasses.replace(compiled, tree=tree)


def data_years(engine: Engine, rule: "LoadedRule", tables: set[str], as_of: date | None) -> tuple[int, int] | None:
    """The first and last year of every date the rule may read: the dates and times of
    `tables`, and the as-of date when the rule reads it (None: no date at all)."""
    parts = [f"SELECT min(year({c})) AS lo, max(year({c})) AS hi FROM {t}" for t in sorted(tables)
             for c, sql_type in rule.catalog.columns(t).items() if sql_type in ("DATE", "TIMESTAMP")]
    lo = hi = None
    if parts:
        _, _, rows = engine.run(dialect.parse(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(parts)}) y")[0], {},
                                pretty=False)
        lo, hi = rows[0]
    if as_of is not None:
        lo, hi = min(lo or as_of.year, as_of.year), max(hi or as_of.year, as_of.year)
    return None if lo is None else (int(lo), int(hi))


def _beyond_stand_ins(engine: Engine, rule: "LoadedRule", compiled, stand_ins: dict[str, StandIn], as_of: date) -> str:
    """Why the rule cannot run on the rows standing in for tables not delivered ('' when it can):
    the dates it reads reach years the stand-ins do not know."""
    others = compiled.tables - set(stand_ins) - compiled.optional
    years = data_years(engine, rule, others, as_of if "as_of" in compiled.parameters else None)
    if years is None:
        return ""
    return "; ".join(f"needs {s.table}: {s.reason}; the data reaches {years[0]}-{years[1]}, beyond {s.first_year}-{s.last_year}"
                     for s in stand_ins.values() if years[0] < s.first_year or years[1] > s.last_year)
def rule_query(rule: "LoadedRule", available: dict[str, str | None], params: dict[str, Any]):
    """(the rule compiled for the tables available, the notes on optional tables it goes
    without, None), or (None, "", the outcome when it cannot run: skipped or failed)."""
    try:
        full = rule.compile()
    except CompileError as exc:
        return None, "", _outcome(rule, "failed", reason=f"rule does not compile: {exc}", parameters=params)
    missing = _unavailable(available, full.tables)
    required = {t: r for t, r in missing.items() if t not in full.optional}
    if required:
        reason = "; ".join(f"needs {t}: {r}" for t, r in required.items())
        return None, "", _outcome(rule, "skipped", reason=reason, parameters=params, sql=full.sql())
    if not missing:
        return full, "", None
    notes = "; ".join(f"ran without optional {t} ({r})" for t, r in missing.items())
    return rule.compile(set(missing)), notes, None


def run_rule_on_change(con, rule: "LoadedRule", tree: exp.Query, kept: pa.Table, *, available: dict[str, str | None],
                       as_of: date, overrides: dict[str, Any] | None = None) -> tuple[RuleOutcome, pa.Table]:
    """The rule's findings as `run_rule` gives them, from the findings kept of an earlier
    delivery (`kept`, the touched subjects' findings left out) plus the findings of `tree`, the rule run for the touched subjects only
    (crosscheck.rules.incremental.restricted). Raises what the engine raises."""
    engine = as_engine(con)
    params = rule.spec.bind(overrides)
    started = time.perf_counter()
    compiled, notes, stopped = rule_query(rule, available, params)
    if stopped is not None:
        return stopped, FINDINGS_SCHEMA.empty_table()
    binds: dict[str, Any] = {"as_of": as_of, **params}
    _, columns, rows = engine.run(tree, {p: binds[p] for p in dialect.parameter_names(tree)})
    fresh = render_findings(rule, columns, rows, params, as_of)
    table = pa.concat_tables([kept.cast(FINDINGS_SCHEMA), fresh])
    amounts = [a for a in table.column("amount_at_risk").to_pylist() if a is not None]
    return (
        _outcome(rule, "ok", reason=notes, findings=table.num_rows, amount_at_risk=float(sum(amounts, Decimal(0))),
                 parameters=params, sql=compiled.sql(), seconds=round(time.perf_counter() - started, 3),
                 personal=rule.personal().kinds),
        table,
    )


def run_rule(
    con,
    rule: "LoadedRule",
    *,
    available: dict[str, str | None],
    as_of: date,
    overrides: dict[str, Any] | None = None,
    shared_views: dict | None = None,
    stand_ins: dict[str, StandIn] | None = None,
) -> tuple[RuleOutcome, pa.Table]:
    """Run one rule on `con` (an engine, crosscheck.engines, or a DuckDB connection).
    Never raises for a rule problem (the outcome says skipped/failed), except ValueError
    for an unknown parameter or a value of the wrong type.

    `shared_views` (engines that keep views): a dict kept by the caller for one run;
    views the rule uses are then computed once into temp tables (see
    `materialize_views`) and reused by the following rules. The caller must clear it
    (and drop nothing: names are fresh) whenever tables change. `stand_ins`: tables not
    delivered whose rows stand in (crosscheck.connectors.fallbacks): a rule reading one is
    partial, naming it, or skipped when its dates reach years the stand-in does not know."""
    engine = as_engine(con)
    params = rule.spec.bind(overrides)
    started = time.perf_counter()
    empty = FINDINGS_SCHEMA.empty_table()
    compiled, notes, stopped = rule_query(rule, available, params)
    if stopped is not None:
        return stopped, empty
    sql = compiled.sql()
    binds: dict[str, Any] = {"as_of": as_of, **params}
    bound = {p: binds[p] for p in compiled.parameters}
    standing = {t: s for t, s in (stand_ins or {}).items() if t in compiled.tables}
    try:
        beyond = _beyond_stand_ins(engine, rule, compiled, standing, as_of) if standing else ""
        if beyond:
            return _outcome(rule, "skipped", reason=beyond, parameters=params, sql=sql), empty
        notes = "; ".join([n for n in (*(f"{t}: {s.reason}" for t, s in standing.items()), notes) if n])
        if compiled.fuzzy_guards:  # count the blocking's candidate pairs first; refuse an explosion
            blocking = check_blocking(engine, rule.id, compiled, binds)
            notes = "; ".join([n for n in (notes, *(f"{b.step}: {b.describe()}" for b in blocking)) if n])
        run_on = compiled
        if shared_views is not None and engine.keeps_views:
            run_on = materialize_views(engine, compiled, shared_views)
        if compiled.review is not None:
            run_on = step_kept(engine, rule.id, run_on, rule.spec.review.step, bound)
        sql_run, columns, rows = engine.run_compiled(run_on, bound)
        sql = sql_run if run_on is compiled else sql
        table = render_findings(rule, columns, rows, params, as_of)
        review_rows, review = review_candidates(engine, run_on, bound) if compiled.review is not None else ([], {})
    except Exception as exc:  # one bad rule never stops the others
        if interrupted(exc):  # a signal stopped the process, not the rule
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _outcome(rule, "failed", reason=f"{type(exc).__name__}: {msg}", parameters=params, sql=sql,
                        seconds=round(time.perf_counter() - started, 3)), empty
    amounts = [a for a in table.column("amount_at_risk").to_pylist() if a is not None]
    return (
        _outcome(
            rule, "partial" if standing else "ok", reason=notes, findings=table.num_rows, amount_at_risk=float(sum(amounts, Decimal(0))),
            parameters=params, sql=sql, seconds=round(time.perf_counter() - started, 3), personal=rule.personal().kinds,
            review=review, review_rows=review_rows,
        ),
        table,
    )


def run_rules(
    con,
    ruleset: "RuleSet",
    *,
    available: dict[str, str | None],
    as_of: date,
    only: list[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[RuleOutcome], pa.Table]:
    """Run the selected rules (default: all but deprecated ones; see RuleSet.select).

    Unknown rule ids (in `only` or `overrides`), unknown parameters and values of
    the wrong type raise ValueError before anything runs.
    """
    selected = [ruleset[r] for r in ruleset.select(only, overrides)]
    overrides = overrides or {}
    outcomes: list[RuleOutcome] = []
    tables: list[pa.Table] = []
    for r in selected:
        outcome, table = run_rule(con, r, available=available, as_of=as_of, overrides=overrides.get(r.id))
        outcomes.append(outcome)
        tables.append(table)
    findings = pa.concat_tables(tables) if tables else FINDINGS_SCHEMA.empty_table()
    return outcomes, findings
