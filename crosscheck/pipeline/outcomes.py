"""How a rule's outcome is decided beyond what the runner sees: a rule whose file (or a view
file it names) does not load fails with the problem; a rule that ran on a table that lost
a file is partial, naming each such file (the outcomes: ok, partial, skipped, failed;
README "Running a check")."""
from __future__ import annotations

import re
from pathlib import Path

from crosscheck.results import RuleOutcome, TableLoad


def broken_rules(ruleset, problems) -> dict[str, str]:
    """Rule id -> why it cannot run, for every rule whose file (or a view file it names) has a
    problem: the rule file's own problems, and 'needs view V: ...' for broken views."""
    by_file: dict[str, list[str]] = {}
    for p in problems:
        by_file.setdefault(str(Path(p.file).resolve()), []).append(str(p))
    rules_dir = Path(ruleset.rules_dir)
    broken: dict[str, str] = {}
    views: dict[str, str] = {}
    for path in sorted(rules_dir.rglob("*.y*ml")):
        found = by_file.get(str(path.resolve()))
        if not found:
            continue
        is_view = any(part.startswith("_") for part in path.relative_to(rules_dir).parts[:-1])
        (views if is_view else broken)[path.stem] = "; ".join(found)
    if views:
        for rule_id, rule in ruleset.rules.items():
            text = rule.path.read_text(encoding="utf-8")
            needs = [f"needs view {v} ({why})" for v, why in views.items() if re.search(rf"\b{re.escape(v)}\b", text)]
            if needs:
                broken[rule_id] = "; ".join(filter(None, [broken.get(rule_id), *needs]))
    return broken


def broken_outcome(rule_id: str, why: str, rule=None) -> RuleOutcome:
    if rule is not None:
        s = rule.spec
        return RuleOutcome(rule_id=rule_id, title_zh=s.title.zh, title_en=s.title.en, severity=s.severity,
                           status="failed", reason=f"rule file does not load: {why}", version=rule.version,
                           description=s.description.en.strip(), description_zh=s.description.zh.strip(),
                           domain=rule.domain, rule_status=s.status)
    return RuleOutcome(rule_id=rule_id, title_zh=rule_id, title_en=rule_id, severity="", status="failed",
                       reason=f"rule file does not load: {why}")


def mark_partial(outcome: RuleOutcome, rule, loads: list[TableLoad]) -> None:
    """A rule that ran on a table that lost a file is partial, and names each such file."""
    try:
        tables = rule.compile().tables
    except Exception:  # noqa: BLE001 - it ran, so it compiles; nothing to add otherwise
        return
    lost = [f"{t.table}: {item}" for t in loads if t.table in tables and t.status == "partial" for item in t.lost]
    if lost:
        outcome.status = "partial"
        outcome.reason = "; ".join(filter(None, ["inputs incomplete: " + "; ".join(lost), outcome.reason]))
