"""Read every rule and view file under a rules directory, collecting all problems.

Layout::

    rules/<domain>/<rule id>.yaml      one rule per file, file name = id
    rules/_views/<view id>.yaml        shared derived views (any folder starting with '_')

`load_ruleset` raises `ConfigError` listing every problem (file:line: field:
message), pySigma-style, after reading all files. `collect_ruleset` returns the
rule set and the problems for `rules lint`, which also runs the lint-only
checks (test coverage, Spark portability).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from crosscheck.rules.compiler import CompileError, Compiled, compile_logic
from crosscheck.rules.spec import Rule, View
from crosscheck.yamlio import ConfigError, Locator, Problem, load_yaml, validate, without_unknown_keys

if TYPE_CHECKING:
    from crosscheck.catalog import Catalog
    from crosscheck.rules.lineage import Personal


@dataclass
class LoadedView:
    spec: View
    path: Path
    locator: Locator
    version: str

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class LoadedRule:
    spec: Rule
    path: Path
    locator: Locator
    version: str                      # SHA-256 of the rule file
    domain: str                       # first folder under the rules directory
    ruleset: "RuleSet" = field(repr=False)
    #: compile() results by unavailable tables: a rule is compiled once per run, not once per check.
    _compiled: dict = field(default_factory=dict, repr=False, compare=False)
    _personal: "Personal | None" = field(default=None, repr=False, compare=False)
    _column_issues: list | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def catalog(self) -> "Catalog":
        return self.ruleset.catalog

    def compile(self, unavailable: set[str] | frozenset[str] = frozenset()) -> Compiled:
        """The compiled rule (callers copy the tree before changing it); raises CompileError."""
        key = frozenset(unavailable)
        if key not in self._compiled:
            try:
                self._compiled[key] = compile_logic(self.spec, self.ruleset.view_specs, self.ruleset.catalog, key)
            except CompileError as exc:
                self._compiled[key] = exc
        outcome = self._compiled[key]
        if isinstance(outcome, CompileError):
            raise outcome
        return outcome

    def personal(self) -> "Personal":
        """The personal data of the findings' columns and evidence fields, followed from the
        catalog through the compiled rule (crosscheck.rules.lineage); raises CompileError."""
        if self._personal is None:
            from crosscheck.rules.lineage import trace_personal

            self._personal = trace_personal(self.compile(), self.catalog, list(self.spec.evidence.fields))
        return self._personal

    def column_issues(self) -> list:
        """Column references that do not resolve (crosscheck.rules.columns); raises CompileError."""
        if self._column_issues is None:
            from crosscheck.rules.columns import column_problems

            self._column_issues = column_problems(self.compile(), self.catalog)
        return self._column_issues

    def problem(self, loc: tuple, message: str) -> Problem:
        return self.locator.problem(loc, message)


@dataclass
class RuleSet:
    catalog: "Catalog"
    rules_dir: Path
    rules: dict[str, LoadedRule] = field(default_factory=dict)
    views: dict[str, LoadedView] = field(default_factory=dict)
    #: domain (first folder under rules/) -> its title {zh, en}, from rules/_domains.yaml
    domains: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def view_specs(self) -> dict[str, View]:
        return {k: v.spec for k, v in self.views.items()}

    def __iter__(self) -> Iterator[LoadedRule]:
        return iter(self.rules.values())

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> LoadedRule:
        return self.rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules

    @property
    def ids(self) -> list[str]:
        return list(self.rules)

    @property
    def suppression_days(self) -> dict[str, int]:
        """Rule id -> days a reviewed finding stays suppressed, for rules that set it (others: store default)."""
        return {r: rule.spec.suppression_days for r, rule in self.rules.items() if rule.spec.suppression_days is not None}

    def in_domains(self, names: list[str], rules: list[str] | None = None) -> list[str]:
        """The rules (not deprecated) of these domains, each named by its folder (business_environment)
        or its title (营商环境, Business environment); ValueError naming the domains there are, or
        when `rules` are also asked for (one way to choose a subset)."""
        if rules:
            raise ValueError("give --rules or --domains, not both")
        titles = {d: {d.lower(), *(t.lower() for t in self.domains.get(d, {}).values())} for d in {r.domain for r in self}}
        unknown = [n for n in names if not any(n.strip().lower() in t for t in titles.values())]
        if unknown:
            known = ", ".join(f"{self.domains.get(d, {}).get('zh', d)} ({d})" for d in sorted(titles))
            raise ValueError(f"unknown domain(s): {', '.join(unknown)} (domains: {known})")
        wanted = {d for d, t in titles.items() for n in names if n.strip().lower() in t}
        return [r.id for r in self if r.domain in wanted and r.spec.status != "deprecated"]

    def select(self, only: list[str] | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Rule ids to run: `only` (in that order), else every rule not deprecated.

        Raises ValueError, before anything runs, for an unknown rule id (in `only`
        or `overrides`), an unknown parameter or a value of the wrong type.
        """
        if only:
            unknown = [r for r in only if r not in self.rules]
            if unknown:
                raise ValueError(f"unknown rule id(s): {', '.join(unknown)} (known: {', '.join(sorted(self.rules))})")
            ids = list(dict.fromkeys(only))
        else:
            ids = [r for r, rule in self.rules.items() if rule.spec.status != "deprecated"]
        overrides = overrides or {}
        unknown = [r for r in overrides if r not in self.rules]
        if unknown:
            raise ValueError(f"parameter overrides for unknown rule id(s): {', '.join(unknown)}")
        for r, values in overrides.items():
            self.rules[r].spec.bind(values)
        return ids


def _is_view_path(rel: Path) -> bool:
    return any(part.startswith("_") for part in rel.parts[:-1])


def _read(path: Path, model: type, problems: list[Problem], lint: bool = False) -> tuple[Any, Locator | None]:
    """The file's spec (None when it does not read) and where its keys are. For lint, a file whose
    only problems are unknown keys is read without them, so its other checks run too."""
    try:
        data, locator = load_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None, None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), 1, "", "a rule file must be a YAML mapping"))
        return None, locator
    try:
        return validate(model, data, locator), locator
    except ConfigError as exc:
        problems.extend(exc.problems)
        return (without_unknown_keys(model, data) if lint else None), locator


def collect_ruleset(rules_dir: Path, catalog: "Catalog", *, lint: bool = False, engine: str | None = None,
                    checked: Path | None = None) -> tuple[RuleSet, list[Problem]]:
    """Read all files; return what loaded and every problem found (lint adds the lint-only checks;
    `engine` limits engine-specific ones, such as Spark portability, to that engine; None: every engine).
    `checked`: a folder where the checks' outcome is kept per content of the rule files, the
    catalog and the checking code (a run then does not check the same rules again)."""
    from crosscheck.rules import validators

    rules_dir = Path(rules_dir)
    ruleset = RuleSet(catalog=catalog, rules_dir=rules_dir)
    problems: list[Problem] = []
    if not rules_dir.is_dir():
        return ruleset, [Problem(str(rules_dir), None, "", "rules directory not found")]
    files = sorted(p for p in rules_dir.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()
                   and p != rules_dir / DOMAINS_FILE)
    ruleset.domains = _read_domains(rules_dir / DOMAINS_FILE, problems)
    first_seen: dict[str, Path] = {}
    for path in files:
        rel = path.relative_to(rules_dir)
        is_view = _is_view_path(rel)
        spec, locator = _read(path, View if is_view else Rule, problems, lint)
        if spec is None:
            continue
        version = hashlib.sha256(path.read_bytes()).hexdigest()
        if spec.id != path.stem:
            problems.append(locator.problem(("id",), f"id '{spec.id}' must equal the file name '{path.stem}'"))
        if spec.id in first_seen:
            problems.append(locator.problem(("id",), f"id '{spec.id}' is already used by {first_seen[spec.id]}"))
            continue
        if spec.id in catalog.tables:
            problems.append(locator.problem(("id",), f"id '{spec.id}' is the name of a canonical table"))
            continue
        first_seen[spec.id] = path
        if is_view:
            ruleset.views[spec.id] = LoadedView(spec, path, locator, version)
        else:
            domain = rel.parts[0] if len(rel.parts) > 1 else ""
            ruleset.rules[spec.id] = LoadedRule(spec, path, locator, version, domain, ruleset)
    kept = _kept_checks(checked, rules_dir, files, catalog) if checked is not None and not lint else None
    if kept is not None and kept.is_file():
        problems.extend(_restore_checks(kept, ruleset))
    else:
        found = validators.run_checks(ruleset, lint=lint, engine=engine)
        problems.extend(found)
        if kept is not None:
            _keep_checks(kept, ruleset, found)
    if lint and (rules_dir / DOMAINS_FILE).is_file():  # without the file, reports show the folder names
        for domain in sorted({r.domain for r in ruleset} - set(ruleset.domains) - {""}):
            problems.append(Problem(str(rules_dir / DOMAINS_FILE), None, domain,
                                    f"the rules of {domain}/ have no domain title: add `{domain}: {{zh: ..., en: ...}}`"))
    if lint and not problems:  # the documents generated from the rules (README.md's catalog, docs/rules.md)
        from crosscheck.rules.docs import stale_documents

        problems.extend(Problem(str(path), None, "", message) for path, message in stale_documents(ruleset))
    return ruleset, problems


def _kept_checks(folder: Path, rules_dir: Path, files: list[Path], catalog: "Catalog") -> Path:
    """Where the checks' outcome for exactly these rule files, catalog and checking code is kept."""
    import crosscheck

    digest = hashlib.sha256()
    code = Path(crosscheck.__file__).parent  # every module of the package: what checks a rule may change with any of them
    for path in [*files, *(Path(f) for f in sorted(catalog.files.values())), *sorted(code.rglob("*.py"))]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return Path(folder) / f"rules-checked-{digest.hexdigest()[:32]}.json"


def _keep_checks(path: Path, ruleset: RuleSet, problems: list[Problem]) -> None:
    """Keep the problems found and the personal data each rule's findings carry; never fails."""
    import json
    import os

    data = {"problems": [[p.file, p.line, p.field, p.message] for p in problems],
            "personal": {r: rule._personal.kinds for r, rule in ruleset.rules.items()
                         if rule._personal is not None and not rule._personal.problems}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _restore_checks(path: Path, ruleset: RuleSet) -> list[Problem]:
    import json

    from crosscheck.rules.lineage import Personal

    data = json.loads(path.read_text(encoding="utf-8"))
    for rule_id, kinds in data["personal"].items():
        if rule_id in ruleset.rules:
            ruleset.rules[rule_id]._personal = Personal(kinds=kinds)
    return [Problem(*p) for p in data["problems"]]


#: The rule domains' titles (reviewers read Chinese): folder -> {zh: ..., en: ...}.
DOMAINS_FILE = "_domains.yaml"


def _read_domains(path: Path, problems: list[Problem]) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    from crosscheck.rules.spec import Bilingual

    try:
        data, locator = load_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(str(path), 1, "", "expected a mapping: domain folder -> {zh: ..., en: ...}"))
        return {}
    out = {}
    for domain, title in data.items():
        try:
            out[str(domain)] = validate(Bilingual, title, Locator(str(path), {(): locator.line_of((domain,))})).model_dump()
        except ConfigError as exc:
            problems.extend(exc.problems)
    return out


def load_ruleset(rules_dir: Path, catalog: "Catalog") -> RuleSet:
    """Load and check every rule and view; raise ConfigError listing all problems."""
    ruleset, problems = collect_ruleset(rules_dir, catalog, lint=False)
    if problems:
        raise ConfigError(problems)
    return ruleset
