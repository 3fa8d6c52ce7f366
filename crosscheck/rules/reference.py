"""docs/rules.md's reference of every rule and shared view, generated from the rule files.

What each rule finds (its description in Chinese, then English), what it reads, its
parameters, amount at risk and evidence; `crosscheck rules catalog --write docs/rules.md`
writes it between the markers of crosscheck.rules.docs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from crosscheck.rules.spec import TEMPLATE_SEPARATOR

if TYPE_CHECKING:
    from crosscheck.rules.loader import LoadedRule, RuleSet

#: The statuses of the rules the reference lists (crosscheck.rules.key_docs.RULE_STATUSES): a rule
#: being written (draft, experimental) never makes it out of date.
DOCUMENTED = ("stable", "deprecated")


def _link(ref: str) -> str:
    """A reference as a link from docs/rules.md."""
    if ref.startswith("docs/rules.md#"):
        target = ref[len("docs/rules.md"):]
    elif ref.startswith("docs/"):
        target = ref[len("docs/"):]
    elif "://" in ref:
        target = ref
    else:
        target = f"../{ref}"
    return f"[{ref}]({target})"


def _paragraph(text: str) -> str:
    """The lines of a description as one paragraph (Chinese lines are joined without a space)."""
    out = ""
    for line in (x.strip() for x in text.strip().splitlines()):
        out += ("" if not out or (out[-1] > "\u2e7f" and line[:1] > "\u2e7f") else " ") + line
    return out


def _rule(r: "LoadedRule") -> list[str]:
    s = r.spec
    compiled = r.compile()
    needs = ", ".join(f"`{t}`" for t in sorted(compiled.tables - compiled.optional))
    optional = ", ".join(f"`{t}`" for t in sorted(compiled.optional))
    lines = [f'<a id="{s.id}"></a>', f"#### `{s.id}` {s.title.zh} — {s.title.en}", ""]
    if s.description.zh.strip():
        lines += [_paragraph(s.description.zh), ""]
    if s.description.en.strip():
        lines += [_paragraph(s.description.en), ""]
    lines.append(f"- severity **{s.severity}**, status {s.status}" + (f", owner {s.owner}" if s.owner else ""))
    lines.append(f"- reads {needs}" + (f"; also, when delivered, {optional}" if optional else ""))
    if compiled.views:
        lines.append("- shared views: " + ", ".join(f"[`{v}`](#{v})" for v in compiled.views))
    for name, p in s.parameters.items():
        lines.append(f"- parameter `${name}` ({p.type}, default {p.default}): {p.description}")
    lines.append(f"- amount at risk: `{s.amount_at_risk}`" if s.amount_at_risk else "- amount at risk: none defined")
    if s.suppression_days is not None:
        lines.append(f"- a reviewed finding stays suppressed {s.suppression_days} days")
    parts = s.evidence.template
    shown = TEMPLATE_SEPARATOR.join(p.text if p.when is None else f"[{p.text}]" for p in parts)
    lines.append(f"- evidence: {shown}" + ("  (a part in [ ] only when its value is present)" if len(parts) > 1 else ""))
    if s.references:
        lines.append("- see " + ", ".join(_link(ref) for ref in s.references))
    return lines + [""]


def domain_heading(ruleset: "RuleSet", domain: str, rules: int | None = None) -> str:
    """A domain as the catalogs name it: its Chinese and English titles (rules/_domains.yaml), its
    folder (and, given `rules`, how many: the README's catalog, in bold)."""
    title = ruleset.domains.get(domain)
    where = f"{domain}/" + (f", {rules}" if rules is not None else "")
    if not title:
        return f"**{domain}/** ({rules})" if rules is not None else f"{domain}/"
    return f"{'**' + title['zh'] + '**' if rules is not None else title['zh']} {title['en']} ({where})"


def reference_markdown(ruleset: "RuleSet") -> str:
    """One section per domain folder, one entry per stable rule (deprecated ones included, marked),
    then the views."""
    lines: list[str] = []
    by_domain: dict[str, list] = {}
    for r in (r for r in ruleset if r.spec.status in DOCUMENTED):
        by_domain.setdefault(r.domain or "(top level)", []).append(r)
    for domain in sorted(by_domain):
        lines += [f"### {domain_heading(ruleset, domain)}", ""]
        for r in sorted(by_domain[domain], key=lambda r: r.id):
            lines += _rule(r)
    lines += ["### Shared views (rules/_views/)", ""]
    for vid in sorted(ruleset.views):
        v = ruleset.views[vid].spec
        title = f" {v.title.zh} — {v.title.en}" if v.title else ""
        lines += [f'<a id="{vid}"></a>', f"#### `{vid}`{title}", ""]
        for text in (v.description.zh, v.description.en):
            if text.strip():
                lines += [_paragraph(text), ""]
    return "\n".join(lines).rstrip() + "\n"
