"""The README's rule catalog is generated from the rule files and kept current."""
from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.catalog import load_catalog
from crosscheck.rules import load_ruleset
from crosscheck.rules.docs import END, START, catalog_markdown, replace_section

ROOT = Path(__file__).resolve().parent.parent
RULESET = load_ruleset(ROOT / "rules", load_catalog(ROOT / "connectors"))


def test_readme_catalog_is_up_to_date():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert replace_section(text, catalog_markdown(RULESET)) == text, (
        "README.md rule catalog is out of date: run `crosscheck rules catalog --write README.md`")


def test_catalog_has_one_line_per_stable_rule_grouped_by_domain():
    md = catalog_markdown(RULESET)
    lines = [l for l in md.splitlines() if l.startswith("- `")]
    stable = [r for r in RULESET if r.spec.status == "stable"]
    assert len(lines) == len(stable) >= 28  # an experimental rule being written is not in it
    for domain in ("civil_affairs", "agriculture", "funds", "medical", "payroll", "pension", "transit",
                   "business_environment", "official_vehicles"):
        title = RULESET.domains[domain]
        assert f"**{title['zh']}** {title['en']} ({domain}/, " in md   # the Chinese title first, then the folder
    for rule in RULESET:
        assert sum(f"`{rule.id}`" in l for l in lines) == (rule in stable)
        assert rule.spec.title.zh in md or rule not in stable


def test_replace_section_needs_the_markers():
    with pytest.raises(ValueError):
        replace_section("no markers here", "x")
    assert replace_section(f"a\n{START}\nold\n{END}\nb", "new\n") == f"a\n{START}\nnew\n{END}\nb"
