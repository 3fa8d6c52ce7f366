"""`crosscheck rules ...`: list, lint, show, test. Mounted by the main CLI as `rules_app`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from crosscheck.yamlio import ConfigError

rules_app = typer.Typer(help="Inspect, lint and test the rule files.", no_args_is_help=True)

RulesDir = typer.Option(Path("rules"), "--rules-dir", help="folder of rule YAML files")
ConnectorsDir = typer.Option(Path("connectors"), "--connectors-dir", help="folder of connector YAML files (the catalog)")


def _catalog(connectors_dir: Path):
    from crosscheck.catalog import load_catalog

    try:
        return load_catalog(connectors_dir)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)


def _load(rules_dir: Path, connectors_dir: Path):
    from crosscheck.rules import load_ruleset

    catalog = _catalog(connectors_dir)
    try:
        return load_ruleset(rules_dir, catalog)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); run `crosscheck rules lint` for all checks", err=True)
        raise typer.Exit(1)


@rules_app.command("list")
def list_rules(rules_dir: Path = RulesDir, connectors_dir: Path = ConnectorsDir) -> None:
    """The rules by domain (its Chinese title and folder), one line per rule: id, status, severity, title, tables."""
    ruleset = _load(rules_dir, connectors_dir)
    domain = None
    for r in sorted(ruleset, key=lambda r: (r.domain, r.id)):
        if r.domain != domain:
            domain = r.domain
            rules = sum(1 for x in ruleset if x.domain == domain)
            typer.echo(f"{ruleset.domains.get(domain, {}).get('zh', domain)} ({domain}/, {rules} rule{'s' if rules > 1 else ''})")
        tables = ",".join(sorted(r.compile().tables))
        typer.echo(f"  {r.id:<36} {r.spec.status:<12} {r.spec.severity:<6} {r.spec.title.zh}  [{tables}]")
    if ruleset.views:
        typer.echo("views: " + ", ".join(sorted(ruleset.views)))


@rules_app.command("lint")
def lint(
    rules_dir: Path = RulesDir,
    connectors_dir: Path = ConnectorsDir,
    engine: Optional[str] = typer.Option(None, "--engine", help="check for this engine only: duckdb or spark (default: both)"),
) -> None:
    """Schema, unique ids, file name = id, SQL and column references, tests present, Spark-portable."""
    from crosscheck.engines import NAMES
    from crosscheck.rules import collect_ruleset

    if engine is not None and engine not in NAMES:
        typer.echo(f"--engine '{engine}': expected {' or '.join(NAMES)}", err=True)
        raise typer.Exit(2)
    catalog = _catalog(connectors_dir)
    ruleset, problems = collect_ruleset(rules_dir, catalog, lint=True, engine=engine)
    for p in problems:
        typer.echo(str(p), err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {rules_dir}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {len(ruleset.rules)} rules, {len(ruleset.views)} views")


@rules_app.command("show")
def show(
    rule_id: str = typer.Argument(..., help="rule id"),
    sql: bool = typer.Option(False, "--sql", help="print the compiled SQL"),
    engine: str = typer.Option("duckdb", "--engine", help="SQL dialect for --sql: duckdb or spark"),
    rules_dir: Path = RulesDir,
    connectors_dir: Path = ConnectorsDir,
) -> None:
    """A rule's metadata, parameters, evidence template and (with --sql) the compiled SQL."""
    from crosscheck.rules.spec import TEMPLATE_SEPARATOR

    ruleset = _load(rules_dir, connectors_dir)
    if rule_id not in ruleset:
        typer.echo(f"unknown rule id '{rule_id}' (known: {', '.join(sorted(ruleset.ids))})", err=True)
        raise typer.Exit(1)
    r = ruleset[rule_id]
    s = r.spec
    compiled = r.compile()
    typer.echo(f"{s.id}  {s.title.zh} / {s.title.en}")
    typer.echo(f"file: {r.path}  sha256: {r.version}")
    typer.echo(f"status: {s.status}  severity: {s.severity}  owner: {s.owner}  tags: {', '.join(s.tags)}")
    typer.echo(f"tables: {', '.join(sorted(compiled.tables))}" + (f"  (optional: {', '.join(sorted(compiled.optional))})" if compiled.optional else ""))
    if compiled.views:
        typer.echo(f"views: {', '.join(compiled.views)}")
    typer.echo(_on_change(r, compiled, ruleset.catalog))
    for text in (s.description.zh, s.description.en):
        if text.strip():
            typer.echo(text.strip())
    for name, p in s.parameters.items():
        typer.echo(f"  ${name} ({p.type}) = {p.default!r}  {p.description}")
    parts = s.evidence.template
    if len(parts) == 1:
        typer.echo(f"evidence: {parts[0].text}")
    else:
        typer.echo(f"evidence (parts shown joined by '{TEMPLATE_SEPARATOR}'):")
        for part in parts:
            typer.echo(f"  {part.text}" + (f"    [when {part.when}]" if part.when else ""))
    typer.echo(f"tests: {len(s.tests)}")
    if sql:
        typer.echo("")
        typer.echo(compiled.sql(engine))


def _on_change(rule, compiled, catalog) -> str:
    """How a new delivery runs the rule (crosscheck.rules.incremental): for the subjects it touches, or whole and why."""
    from crosscheck.rules.incremental import analyse

    locality = analyse(compiled, catalog, opted_out=not rule.spec.incremental)
    if not locality.incremental:
        return f"on a new delivery: runs whole ({locality.reason})"
    reads = ", ".join(sorted({f"{r.table}.{r.column}" + (f" -> {'/'.join(f'{x.table}.{x.key}' for x in r.links)}" if r.links else "")
                              for r in locality.restrictions}))
    date = "; when the as-of date moves: runs whole (it reads the as-of date)" if locality.uses_as_of else ""
    return f"on a new delivery: runs for the subjects whose rows changed ({reads}){date}"


@rules_app.command("test")
def test(
    rule_ids: Optional[list[str]] = typer.Argument(None, help="rule ids (default: all)"),
    rules_dir: Path = RulesDir,
    connectors_dir: Path = ConnectorsDir,
) -> None:
    """Run the rules' embedded tests; exit 1 if any fails."""
    from crosscheck.rules.testing import run_tests

    ruleset = _load(rules_dir, connectors_dir)
    unknown = [i for i in rule_ids or [] if i not in ruleset]
    if unknown:
        typer.echo(f"unknown rule id(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(1)
    results = run_tests(ruleset, rule_ids or None)
    for res in results:
        typer.echo(str(res) if res.passed else f"{res}\n    at {res.file}:{res.line}")
    failed = [r for r in results if not r.passed]
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("catalog")
def catalog(
    markdown: bool = typer.Option(True, "--markdown/--no-markdown", help="print the catalog as Markdown"),
    write: Optional[Path] = typer.Option(None, "--write", help="refresh the generated sections of this file (README.md, docs/rules.md, docs/writing-rules.md)"),
    check: bool = typer.Option(False, "--check", help="with --write: exit 1 if the file is not up to date, change nothing"),
    rules_dir: Path = RulesDir,
    connectors_dir: Path = ConnectorsDir,
) -> None:
    """The rule catalog by domain, one line per rule; --write FILE refreshes FILE's generated sections.

    The sections are generated from the rule files and the schema: README.md's catalog,
    docs/rules.md's reference of every rule, docs/writing-rules.md's list of keys."""
    from crosscheck.rules.docs import catalog_markdown, refresh, write_catalog

    ruleset = _load(rules_dir, connectors_dir)
    if write is None:
        if markdown:
            typer.echo(catalog_markdown(ruleset), nl=False)
        return
    try:
        if check:
            text = write.read_text(encoding="utf-8")
            if refresh(text, ruleset) != text:
                typer.echo(f"{write}: generated sections are out of date; run `crosscheck rules catalog --write {write}`", err=True)
                raise typer.Exit(1)
            typer.echo(f"{write}: generated sections up to date")
            return
        changed = write_catalog(write, ruleset)
    except ValueError as exc:
        typer.echo(f"{write}: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{write}: generated sections {'updated' if changed else 'already up to date'}")
