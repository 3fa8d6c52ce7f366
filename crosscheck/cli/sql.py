"""`crosscheck sql`: ask the loaded data a question (crosscheck.pipeline.query).

    crosscheck sql "SELECT cancel_reason, count(*) AS n FROM residents GROUP BY 1"
    crosscheck sql --out paid.xlsx "SELECT ... FROM pension_payments ..."
    crosscheck sql                      # a prompt: one query per `;`, .tables, .quit
    crosscheck sql --tables             # the tables and views, their columns and Chinese headers
"""
from __future__ import annotations

import sys
import time
import unicodedata
from pathlib import Path
from typing import Optional

import typer

from crosscheck.cli.common import fail, log_to_stderr

#: Rows printed on the console (all of them go to --out).
SHOWN = 50
#: Display width of a console cell at most.
CELL = 40
HELP = ("One SELECT per `;` over the canonical tables and the shared views (docs/writing-rules.md, "
        "\"Checking a rule with crosscheck sql\"); .tables lists them; .quit (or Ctrl-D) ends.")


def sql(
    query: Optional[str] = typer.Argument(None, help="One SELECT. Without it: a prompt, one query per `;`."),
    extracts: Optional[Path] = typer.Option(None, "--extracts", help="The delivery. Default: the newest under deliveries_dir (crosscheck.toml)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="$as_of in queries and views (YYYY-MM-DD). Default: the delivery's date, else today."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write every row of the answer to FILE.csv or FILE.xlsx (at the prompt, each answer replaces the last)."),
    tables: bool = typer.Option(False, "--tables", help="List the tables and views, their columns and Chinese headers, and stop."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Show identity numbers, names and other personal data in full."),
    project: Optional[Path] = typer.Option(None, "--project", help="Project folder (connectors/, rules/, crosscheck.toml)."),
) -> None:
    """Ask the delivery's canonical tables a question, read-only, masked like the reports.

    Reads the canonical cache a run kept for the delivery (or loads the delivery as a run does).
    Only one SELECT runs: INSERT, COPY, ATTACH, PRAGMA, SET, file paths and a second statement
    are refused. Exit status 2 for a query refused or bad input."""
    from crosscheck.config import ProjectConfig
    from crosscheck.pipeline.nightly import delivery_date
    from crosscheck.pipeline.query import Delivery, newest_delivery
    from crosscheck.pipeline.run import RunError, parse_as_of

    log_to_stderr(False)
    config = ProjectConfig.load(project)
    if tables:
        typer.echo(tables_text(config))
        return
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"--out {out}: write a .csv or an .xlsx file")
    try:
        delivery = Path(extracts) if extracts else newest_delivery(config)
        day = parse_as_of(as_of, "--as-of") if as_of else (delivery_date(delivery) or parse_as_of(None))
        started = time.perf_counter()
        opened = Delivery.open(config, delivery, day)
    except (RunError, ValueError) as exc:
        fail(str(exc))
    with opened:
        how = "from the canonical cache" if opened.from_cache else f"loaded in {time.perf_counter() - started:.1f} s"
        typer.echo(f"delivery {delivery} ({how}), as-of {day}, "
                   + ("not masked" if no_mask else "masked like the reports (--no-mask shows personal data)"), err=True)
        missing = opened.unavailable
        if missing:
            typer.echo("not loaded: " + "; ".join(f"{t} ({why})" for t, why in missing.items()), err=True)
        if query is not None:
            if not answer(opened, query, not no_mask, out):
                raise typer.Exit(2)
            return
        prompt(opened, not no_mask, out, config)


def answer(delivery, query: str, mask: bool, out: Path | None) -> bool:
    """Run one query and show (or write) its answer; False when it was refused."""
    from crosscheck.pipeline.query import QueryRefused
    from crosscheck.privacy.masking import mask_ids_in_text

    try:
        result = delivery.ask(query, mask=mask)
    except QueryRefused as exc:
        typer.echo(f"crosscheck: {exc}", err=True)
        return False
    except Exception as exc:  # noqa: BLE001 - DuckDB's own words for a query it cannot run (a type, a function)
        typer.echo(f"crosscheck: {mask_ids_in_text(str(exc).splitlines()[0])}", err=True)
        return False
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if out is not None:
        from crosscheck.reports.table_out import write_table

        try:
            n = write_table(out, result.columns, result.batches())
        except ValueError as exc:
            typer.echo(f"crosscheck: {exc}", err=True)
            return False
        typer.echo(f"{n:,} rows written to {out}")
        return True
    shown, more = [], 0
    for rows in result.batches(SHOWN + 1):
        room = SHOWN - len(shown)
        shown += rows[:room]
        more += len(rows[room:])
    typer.echo(render(result.columns, shown))
    n = len(shown) + more
    typer.echo(f"{n:,} row{'' if n == 1 else 's'}" + (f" ({SHOWN} shown; --out FILE.csv writes them all)" if more else ""))
    return True


def prompt(delivery, mask: bool, out: Path | None, config) -> None:
    """Read queries until .quit or the end of input, each ended by `;` (or an empty line)."""
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401 - arrow keys and history at the prompt
        except ImportError:
            pass
        typer.echo(HELP, err=True)
    lines: list[str] = []
    while True:
        try:
            line = input("sql> " if not lines else "...> ") if interactive else sys.stdin.readline()
        except EOFError:
            line = None
        if line is None or (not interactive and line == ""):
            break
        text = line.strip()
        if not lines and text in (".quit", ".exit", "\\q"):
            break
        if not lines and text == ".tables":
            typer.echo(tables_text(config))
            continue
        if not lines and text in (".help", "help"):
            typer.echo(HELP)
            continue
        if text:
            lines.append(line.rstrip("\n"))
        if lines and (text.endswith(";") or not text):
            answer(delivery, "\n".join(lines), mask, out)
            lines = []
    if lines:
        answer(delivery, "\n".join(lines), mask, out)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value) -> str:
    from crosscheck.reports.table_out import cell_text

    text = "NULL" if value is None else cell_text(value).replace("\n", " ")
    if _width(text) <= CELL:
        return text
    while _width(text) > CELL - 1:
        text = text[:-1]
    return text + "…"


def render(columns: list[str], rows: list[tuple]) -> str:
    """Rows as an aligned text table (Chinese characters count twice)."""
    cells = [[_cell(c) for c in columns]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(t + " " * (w - _width(t)) for t, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def tables_text(config) -> str:
    """Every canonical table with its columns (type, Chinese header, personal data), then the
    shared views and their columns: what a query reads."""
    from crosscheck.catalog import DUCKDB_TYPES, PROVENANCE_COLUMNS, load_catalog
    from crosscheck.rules import collect_ruleset
    from crosscheck.rules.lineage import view_columns

    catalog = load_catalog(config.connectors_dir)
    lines = []
    for source in catalog.connectors.values():
        for name, table in source.tables.items():
            lines.append(f"{name}  {table.title.zh} / {table.title.en}  ({source.folder}/{', '.join(table.files)})")
            for c in table.columns:
                personal = f"  [{c.kind}: masked]" if c.kind else ""
                kind = DUCKDB_TYPES[c.type] + (" (month)" if c.type == "month" else "")
                lines.append(f"  {c.name:<26} {kind:<14} {c.header}{personal}")
                if c.type == "name":
                    lines.append(f"  {c.name + '_raw':<26} {'VARCHAR':<14} {c.header}（原样，未规范化）  [name: masked]")
            for c, t in PROVENANCE_COLUMNS.items():
                lines.append(f"  {c:<26} {t:<14} {'来源文件' if c == 'source_file' else '来源行号'}")
            lines.append("")
    ruleset, _ = collect_ruleset(config.rules_dir, catalog, checked=config.cache_dir)
    lines.append("A month column (month) holds the first day of its month. Shared views (rules/_views/; docs/rules.md):")
    for vid, view in sorted(ruleset.views.items()):
        title = f"  {view.spec.title.zh} / {view.spec.title.en}" if view.spec.title else ""
        lines.append(f"{vid}{title}")
        lines.append("  " + ", ".join(view_columns(vid, ruleset.view_specs, catalog)))
    return "\n".join(lines)
