"""`crosscheck review ...` and `crosscheck runs ...` (mounted by crosscheck.cli).

    crosscheck review mark KEY --as false_positive --note "..." --reviewer NAME [--date YYYY-MM-DD]
    crosscheck review import FILE --reviewer NAME
    crosscheck review outcome KEY --recovered 1234.50 [--date D] [--note ...]
    crosscheck review show KEY
    crosscheck review precision
    crosscheck runs list
    crosscheck runs show RUN
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import typer

review_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Record reviewers' dispositions and outcomes.")
runs_app = typer.Typer(no_args_is_help=True, add_completion=False, help="List recorded runs and show their provenance.")

STORE_HELP = "Findings store file. Default: the project's store (crosscheck.duckdb in the project folder)."
PROJECT_HELP = "Project folder (connectors/, rules/, crosscheck.toml)."
TIMEOUT_HELP = "Seconds to wait while another run holds the store."

_store_opt = typer.Option(None, "--store", help=STORE_HELP)
_project_opt = typer.Option(None, "--project", help=PROJECT_HELP)
_timeout_opt = typer.Option(600.0, "--lock-timeout", help=TIMEOUT_HELP)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"crosscheck: {message}", err=True)
    raise typer.Exit(code)


def store_path(store: Path | None, project: Path | None) -> Path:
    """--store, else the project's configured store, else <project>/crosscheck.duckdb."""
    if store is not None:
        return Path(store)
    from crosscheck.config import ProjectConfig
    from crosscheck.store.store import DEFAULT_STORE_NAME

    try:
        config = ProjectConfig.load(project)
    except ValueError as exc:
        _fail(str(exc))
    configured = getattr(config, "store", None)
    if configured:
        p = Path(configured)
        return p if p.is_absolute() else config.project_dir / p
    return config.project_dir / DEFAULT_STORE_NAME


def _open(store: Path | None, project: Path | None, timeout: float, *, read_only: bool = False, purpose: str | None = None):
    from crosscheck.store import Store, StoreBusy, StoreError

    try:
        return Store.open(store_path(store, project), lock_timeout=timeout, read_only=read_only, purpose=purpose)
    except (StoreBusy, StoreError) as exc:
        _fail(str(exc))


def _open_for_feedback(store: Path | None, project: Path | None, timeout: float, purpose: str):
    """The store, or while a run holds it, the casework database alone (`ReviewDesk`): a
    disposition never waits for a run."""
    from crosscheck.casework import Casework, CaseworkError, casework_path
    from crosscheck.store import Store, StoreBusy, StoreError
    from crosscheck.store.feedback import ReviewDesk

    path = store_path(store, project)
    try:
        return Store.open(path, lock_timeout=0, purpose=purpose, notify=None)
    except StoreBusy:
        pass
    except StoreError as exc:
        _fail(str(exc))
    cw_path = casework_path(path)
    if cw_path.exists():
        try:
            casework = Casework.open(cw_path)
        except CaseworkError as exc:
            _fail(str(exc))
        if casework.meta("moved_from_store") == "yes":
            return ReviewDesk(casework)
        casework.close()
    return _open(store, project, timeout, purpose=purpose)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} '{value}': expected a date as YYYY-MM-DD")


def _ts(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else ""


def _money(value: Any) -> str:
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    from unicodedata import east_asian_width

    def width(s: str) -> int:
        return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in s)

    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- review -------------------------------------------------------------------------

@review_app.command("mark")
def review_mark(
    key: str = typer.Argument(..., help="The finding's key (finding_key column of findings.csv)."),
    disposition: str = typer.Option(..., "--as", help="confirmed | false_positive | explained (确认 / 误报 / 已解释)."),
    note: str = typer.Option("", "--note", help="Why: what the reviewer checked and found."),
    reviewer: str = typer.Option(..., "--reviewer", help="Reviewer's name."),
    on: Optional[str] = typer.Option(None, "--date", help="Review date (YYYY-MM-DD). Default: today."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Record a reviewer's disposition of one finding."""
    from crosscheck.store import StoreError

    day = _day(on, "--date")
    with _open_for_feedback(store, project, lock_timeout, purpose=f"review mark by {reviewer}") as st:
        try:
            st.mark(key, disposition, note=note, reviewer=reviewer, on=day)
        except StoreError as exc:
            _fail(str(exc))
        current = st.finding(key)["reviews"][-1]
    typer.echo(f"{current['finding_key']} ({current['rule_id']}): {current['disposition']} by {current['reviewer']} on {current['reviewed_on']}")


@review_app.command("import")
def review_import(
    file: Path = typer.Argument(..., help="The reviewer's edited findings.csv or findings.xlsx."),
    reviewer: str = typer.Option(..., "--reviewer", help="Reviewer's name (used where a row has no 复核人 / reviewer)."),
    on: Optional[str] = typer.Option(None, "--date", help="Review date where a row has none (YYYY-MM-DD). Default: today."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Import dispositions from a findings file a reviewer filled in (处置 / disposition column)."""
    from crosscheck.store import StoreError

    day = _day(on, "--date")
    with _open_for_feedback(store, project, lock_timeout, purpose=f"review import by {reviewer}") as st:
        try:
            result = st.import_reviews(file, reviewer=reviewer, on=day)
        except StoreError as exc:
            _fail(str(exc))
    typer.echo(f"{file}: {result.applied} reviews recorded, {result.unchanged} unchanged, {result.blank} without a decision, {len(result.errors)} problems")
    for err in result.errors:
        typer.echo(f"  {err}", err=True)
    if result.errors:
        raise typer.Exit(1)


@review_app.command("outcome")
def review_outcome(
    key: str = typer.Argument(..., help="The confirmed finding's key."),
    recovered: str = typer.Option(..., "--recovered", help="Amount recovered, yuan (e.g. 1234.50)."),
    on: Optional[str] = typer.Option(None, "--date", help="Date of recovery (YYYY-MM-DD). Default: today."),
    note: str = typer.Option("", "--note", help="Note (e.g. voucher number)."),
    by: Optional[str] = typer.Option(None, "--by", help="Who records it. Default: the current user."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Record money recovered on a confirmed finding."""
    from crosscheck.store import StoreError

    day = _day(on, "--date")
    with _open_for_feedback(store, project, lock_timeout, purpose="review outcome") as st:
        try:
            st.record_outcome(key, recovered, on=day, note=note, recorded_by=by)
        except StoreError as exc:
            _fail(str(exc))
        outcomes = st.finding(key)["outcomes"]
    total = sum((o["recovered"] for o in outcomes), Decimal(0))
    typer.echo(f"{key}: recovered {_money(outcomes[-1]['recovered'])} recorded (total {_money(total)})")


@review_app.command("show")
def review_show(
    key: str = typer.Argument(..., help="Finding key."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """A finding's history: runs it appeared in, reviews, outcomes. Shows full identity numbers."""
    from crosscheck.store import StoreError

    with _open(store, project, lock_timeout, read_only=True) as st:
        try:
            h = st.finding(key)
        except StoreError as exc:
            _fail(str(exc))
    k = h["key"]
    lines = [f"finding {k['finding_key']}  rule {k['rule_id']}  subject {k['subject']}",
             f"first seen {k['first_seen']} ({k['first_run_id']}), last seen {k['last_seen']} ({k['last_run_id']})",
             "", "appearances:"]
    lines.append(_table(["run", "as-of", "status", "suppressed", "review", "amount", "note"],
                        [[a["run_id"], a["as_of"], a["status"], "yes" if a["suppressed"] else "", a["review"] or "",
                          _money(a["amount_at_risk"]), a["review_change"] or ""] for a in h["appearances"]]))
    for r in h["resolved"]:
        lines.append(f"resolved in run {r['run_id']} (last seen {r['last_seen']})")
    lines += ["", "reviews:"]
    lines.append(_table(["#", "date", "disposition", "reviewer", "note", "source"],
                        [[r["review_id"], r["reviewed_on"], r["disposition"], r["reviewer"], r["note"], r["source"]] for r in h["reviews"]])
                 if h["reviews"] else "  (none)")
    if h["outcomes"]:
        lines += ["", "outcomes:"]
        lines.append(_table(["date", "recovered", "by", "note"],
                            [[o["recovered_on"], _money(o["recovered"]), o["recorded_by"], o["note"]] for o in h["outcomes"]]))
    typer.echo("\n".join(lines))


@review_app.command("precision")
def review_precision(
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per-rule precision: confirmed / (confirmed + false_positive + explained)."""
    with _open(store, project, lock_timeout, read_only=True) as st:
        prec = st.precision()
    if as_json:
        typer.echo(json.dumps(prec, default=str, ensure_ascii=False, indent=2))
        return
    rows = [[rid, p["reviewed"], p["confirmed"], p["false_positive"], p["explained"],
             f"{p['precision']:.1%}" if p["precision"] is not None else "", _money(p["recovered"])]
            for rid, p in prec.items()]
    typer.echo(_table(["rule", "reviewed", "confirmed", "false_positive", "explained", "precision", "recovered"], rows)
               if rows else "no reviews recorded")


# -- runs ---------------------------------------------------------------------------

@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(50, "--limit", help="Newest N runs (0: all)."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """Recorded runs, newest first; runs still going (or that ended without finishing) first;
    and when the last complete run finished."""
    from crosscheck.store.journal import ENDED, RunJournal

    path = store_path(store, project)
    journal = RunJournal(path).entries()
    if not path.exists() and not journal:
        typer.echo("no runs recorded")
        return
    runs, last = [], None
    if path.exists():
        with _open(store, project, lock_timeout, read_only=True) as st:
            runs = st.runs(limit or None)
            last = st.last_complete_run()
    typer.echo(f"last complete run: {last['run_id']}, as-of {last['as_of']}, finished {_ts(last['finished_at'])}"
               if last else "last complete run: none yet")
    rows = [[e["run_id"], e.get("as_of", ""), e.get("started_at", "")[:19].replace("T", " ") + "Z", e.get("started_by", ""),
             "", "running" if e["state"] == "running" else f"failed ({ENDED.split(':')[0]}, recorded by the next run)",
             e.get("scope", "")] for e in reversed(journal)]
    rows += [[r["run_id"], r["as_of"], _ts(r["started_at"]), r["started_by"],
              "" if r["status"] == "failed" else
              f"{r['findings']}" + (f" ({r['suppressed']} suppressed)" if r["suppressed"] else ""),
              r["status"] + (f": {r['error']}" if r.get("error") else ""), r.get("scope") or ""]
             for r in runs]
    if not rows:
        typer.echo("no runs recorded")
        return
    typer.echo(_table(["run id", "as-of", "started", "who", "findings", "status", "scope"], rows))


def render_run_detail(d: dict) -> str:
    r = d["run"]
    code = r["code_version"] + (f" ({r['git_describe']})" if r["git_describe"] else "")
    lines = [
        f"run {r['run_id']}",
        f"  as-of          {r['as_of']}",
        f"  extracts       {r['extracts_root']}",
        f"  reports        {r['out_dir']}",
        f"  started        {_ts(r['started_at'])}",
        f"  finished       {_ts(r['finished_at'])}",
        f"  recorded       {_ts(r['recorded_at'])}",
        f"  who            {r['started_by']}",
        f"  masked         {'yes' if r['masked'] else 'no'}",
        f"  code           {code}",
        f"  status         {r['status']}" + (f": {r['error']}" if r.get("error") else ""),
        f"  scope          {r.get('scope') or ''}" + (f" (asked: {r['request']})" if r.get("request") else ""),
        f"  findings       {r['findings']} (new {r['new']}, recurring {r['recurring']}, suppressed {r['suppressed']}); "
        f"resolved {r['resolved']}; amount at risk {_money(r['amount_at_risk'])}",
        "",
        "rules:",
    ]
    rows = []
    for rule in d["rules"]:
        c = d["counts"].get(rule["rule_id"], {})
        rows.append([rule["rule_id"], rule["status"], c.get("findings", 0), c.get("new", 0), c.get("recurring", 0),
                     c.get("resolved", 0), c.get("suppressed", 0), (rule["version"] or "")[:16], rule["reason"] or ""])
    lines.append(_table(["rule", "status", "findings", "new", "recurring", "resolved", "suppressed", "version", "reason"], rows))
    lines += ["", "rule versions (SHA-256) and parameters:"]
    for rule in d["rules"]:
        params = json.dumps(rule["parameters"], ensure_ascii=False, sort_keys=True) if rule["parameters"] else "{}"
        lines.append(f"  {rule['rule_id']}: {rule['version'] or '-'}  {params}")
    lines += ["", "input files (SHA-256):"]
    if d["files"]:
        lines.append(_table(["source", "table", "file", "sha256", "read", "loaded", "quarantined", "status"],
                            [[f["source"], f["table_name"], f["file"], f["sha256"], f["rows_read"], f["rows_loaded"],
                              f["rows_quarantined"], f["status"] + (f": {f['error']}" if f["error"] else "")] for f in d["files"]]))
    else:
        lines.append("  (none)")
    failed = [ld for ld in d["loads"] if ld["status"] != "loaded"]
    if failed:
        lines += ["", "tables not loaded:"]
        lines += [f"  {ld['source']}.{ld['table_name']}: {ld['status']} {ld['reason'] or ''}".rstrip() for ld in failed]
    return "\n".join(lines)


def render_sql(d: dict) -> str:
    out = []
    for rule in d["rules"]:
        out.append(f"-- {rule['rule_id']} ({rule['status']}, version {rule['version'] or '-'})")
        out.append((rule["sql"] or "-- (no SQL recorded)").rstrip() + "\n")
    return "\n".join(out)


@runs_app.command("show")
def runs_show(
    run: str = typer.Argument(..., help="Run id, a unique prefix of one, or 'latest'."),
    sql: bool = typer.Option(True, "--sql/--no-sql", help="Print every rule's compiled SQL (default) or leave it out."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    lock_timeout: float = _timeout_opt,
) -> None:
    """A run's provenance: inputs and their hashes, rule versions, parameters, code version, counts."""
    from crosscheck.store import StoreError

    with _open(store, project, lock_timeout, read_only=True) as st:
        try:
            d = st.run_detail(run)
        except StoreError as exc:
            _fail(str(exc))
    typer.echo(render_run_detail(d))
    if sql:
        typer.echo("\ncompiled SQL:\n" + render_sql(d))
