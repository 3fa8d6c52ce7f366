"""The rule engine: YAML rules -> checked model -> SQL (named CTEs) -> findings.

Public API (thin re-exports; the modules hold the details):

    ruleset = load_ruleset(rules_dir, catalog)            # ConfigError listing all problems
    outcomes, findings = run_rules(con, ruleset, available=..., as_of=..., only=..., overrides=...)
    outcome, findings = run_rule(con, ruleset["pension_paid_after_death"], available=..., as_of=...)
"""
from crosscheck.rules.loader import LoadedRule, LoadedView, RuleSet, collect_ruleset, load_ruleset
from crosscheck.rules.runner import run_rule, run_rules

__all__ = [
    "LoadedRule",
    "LoadedView",
    "RuleSet",
    "collect_ruleset",
    "load_ruleset",
    "run_rule",
    "run_rules",
]
