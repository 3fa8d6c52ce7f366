"""A run's plan: what was asked (`RunRequest`), checked before anything is opened.

`RunPlan.make(request, config)` reads the connectors and the rule files, checks that the
extracts folder is a delivery, that the rules and parameters asked for exist and are
selected and that the engine can run, lists the delivery's files (read, or unread and why)
and starts the run's `RunResult`. Bad input is a `RunError` naming the file, folder or value;
nothing has been opened or written yet.
"""
from __future__ import annotations

import getpass
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from crosscheck.catalog import Catalog, load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.engines import unavailable_reason
from crosscheck.errors import CrosscheckError
from crosscheck.pipeline.outcomes import broken_rules
from crosscheck.results import RunResult


class RunError(CrosscheckError, ValueError):
    """The run cannot start: bad input. The message names the file, folder or value and the problem."""


@dataclass(frozen=True)
class RunRequest:
    extracts: Path
    as_of: date
    out: Path | None = None
    rules: list[str] | None = None            # None: every enabled rule
    districts: list[str] | None = None        # None: findings in every district
    mask: bool = True
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    store: Path | None = None                 # None: the project's store
    record: bool = True                       # False: compare with nothing, record nothing
    alerts: list[str] = field(default_factory=list)  # Apprise URLs alerted besides crosscheck.toml's [alerts]
    engine: str | None = None                 # where rules run: duckdb or spark; None: crosscheck.toml's engine
    domains: list[str] | None = None          # the rules of these domains (folders or titles); None: every domain
    verify: bool = False                      # hash every file, not only those whose size or mtime changed


def parse_as_of(value: str | date | None, option: str = "--as-of") -> date:
    """The as-of date from YYYY-MM-DD (today when not given); RunError otherwise."""
    if value is None or value == "":
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RunError(f"{option} '{value}': expected a date as YYYY-MM-DD") from None


def parse_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """`rule.param=value` strings -> {rule: {param: value}} (values typed later by the rule)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        rule_id, dot, param = key.strip().partition(".")
        if not sep or not dot or not rule_id or not param:
            raise RunError(f"--param '{item}': expected RULE_ID.PARAMETER=VALUE")
        out.setdefault(rule_id, {})[param] = value.strip()
    return out


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def check_delivery(extracts: Path, catalog: Catalog) -> None:
    """``extracts`` is one delivery: a folder holding at least one source folder. A folder of
    deliveries (or any other folder) is refused, naming the folders expected and, where
    one of its sub-folders is a delivery, suggesting it."""
    if not extracts.is_dir():
        raise RunError(f"{extracts}: extracts folder not found")
    known = sorted({c.folder for c in catalog.connectors.values()})
    try:
        children = sorted(p for p in extracts.iterdir() if p.is_dir())
    except OSError as exc:
        raise RunError(f"{extracts}: cannot list the extracts folder: {exc.strerror or exc}") from None
    if any(p.name in known for p in children):
        return
    deliveries = [p for p in children if any((p / k).is_dir() for k in known)]
    hint = ""
    if deliveries:
        names = ", ".join(p.name for p in deliveries[-5:])
        hint = (f"; it holds {len(deliveries)} deliver{'y' if len(deliveries) == 1 else 'ies'} ({names}):"
                f" did you mean --extracts {deliveries[-1]}?")
    raise RunError(f"{extracts}: not a delivery: it has none of the source folders {', '.join(known)}{hint}")


@dataclass
class RunPlan:
    """What a run will do: its catalog, rules (and the files that do not load), the rules
    selected, the engine, the delivery's inventory, and the result it starts."""

    request: RunRequest
    config: ProjectConfig
    catalog: Catalog
    ruleset: Any                        # crosscheck.rules.loader.RuleSet
    broken: dict[str, str]              # rule id -> why it cannot run (file:line: problem)
    selected: list[str]
    engine: str
    inventory: Any                      # crosscheck.connectors.inventory.Inventory
    result: RunResult

    @classmethod
    def make(cls, request: RunRequest, config: ProjectConfig) -> "RunPlan":
        from crosscheck.connectors.inventory import take_inventory
        from crosscheck.rules.loader import collect_ruleset
        from crosscheck.yamlio import ConfigError

        extracts = Path(request.extracts)
        try:
            catalog = load_catalog(config.connectors_dir)
        except ConfigError as exc:
            raise RunError(str(exc)) from exc
        check_delivery(extracts, catalog)
        ruleset, problems = collect_ruleset(config.rules_dir, catalog, checked=config.cache_dir)
        broken = broken_rules(ruleset, problems)
        selected = select_rules(request, ruleset, broken)
        engine = request.engine or config.engine   # its name; the engine opens before the first rule
        try:
            reason = unavailable_reason(engine, config)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        if reason:
            raise RunError(f"--engine {engine}: {reason}")
        inventory = take_inventory(extracts, catalog)
        result = _start_result(request, config, catalog, ruleset, broken, selected, engine, inventory)
        if problems:
            result.warnings.append(f"{len(problems)} problem(s) in rule files; rules that need them cannot run: "
                                   + "; ".join(str(p) for p in problems))
        return cls(request, config, catalog, ruleset, broken, selected, engine, inventory, result)

    @property
    def tables(self) -> list[str]:
        """Canonical tables in load order (connector by connector)."""
        return [t for c in self.catalog.connectors.values() for t in c.tables]

    def rule_versions(self) -> dict[str, str]:
        """Selected rule id -> version (SHA-256 of its file; '' for a file that does not load)."""
        return {r: self.ruleset.rules[r].version if r in self.ruleset.rules else "" for r in self.selected}


def _start_result(request: RunRequest, config: ProjectConfig, catalog: Catalog, ruleset, broken: dict[str, str],
                  selected: list[str], engine: str, inventory) -> RunResult:
    """The run's result as it starts: its id, scope (complete: every enabled rule, no district,
    no parameter), where it writes, and what the delivery holds unread."""
    started = datetime.now(timezone.utc)
    run_id = new_run_id(started)
    out = Path(request.out) if request.out else config.reports_dir / run_id
    enabled = [r for r, rule in ruleset.rules.items() if rule.spec.status != "deprecated"] + [
        r for r in broken if r not in ruleset.rules]
    complete = set(selected) == set(enabled) and not (request.districts or request.overrides or request.domains)
    result = RunResult(
        run_id=run_id,
        as_of=request.as_of,
        extracts_root=str(Path(request.extracts).resolve()),
        out_dir=str(out.resolve()),
        started_at=started,
        masked=request.mask,
        started_by=getpass.getuser(),
        unread=list(inventory.unread),
        scope="complete" if complete else "subset",
        request={"rules": request.rules, "districts": request.districts, "parameters": request.overrides,
                 "engine": engine, "record": request.record, "domains": request.domains},
        timezone=config.timezone,
        domain_titles=dict(ruleset.domains),
        personal_headers=catalog.personal_headers(),
    )
    today = config.today()  # in the project's timezone, not the machine's
    if request.as_of > today:
        result.warnings.append(f"as-of {request.as_of} is after today ({today}, {config.timezone}): "
                               "windows that end on the as-of date reach into the future")
    return result


def select_rules(request: RunRequest, ruleset, broken: dict[str, str]) -> list[str]:
    """Rule ids to run, in the order asked (default: every enabled rule, and every rule file
    that does not load, which then fails visibly). RunError for unknown ids, a parameter of a
    rule not selected or of a broken rule, a value of the wrong type, or only broken rules."""
    only = list(dict.fromkeys(request.rules)) if request.rules else None
    if request.domains:  # a domain's rules (a subset: the history is read, never changed)
        try:
            only = ruleset.in_domains(request.domains, rules=only)
        except ValueError as exc:
            raise RunError(f"--domains: {exc}") from None
    for r in request.overrides:
        if r in broken:
            raise RunError(f"--param {r}: rule {r} cannot run: {broken[r]}")
    runnable = [r for r in only if r not in broken] if only else None
    if only and not runnable:
        raise RunError("; ".join(f"rule {r} cannot run: {broken[r]}" for r in only))
    try:
        ids = ruleset.select(runnable, request.overrides)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    ids = only or ids + [r for r in broken if r not in ruleset.rules]
    unselected = sorted(set(request.overrides) - set(ids))
    if unselected:
        raise RunError(f"--param for rule(s) not selected in this run: {', '.join(unselected)} "
                       f"(selected: {', '.join(ids)})")
    return ids
