"""The Chinese (and English) names of every rule's evidence fields, as the rule files declare
them (``evidence.fields.<name>.label``, `crosscheck.rules.spec.Label`), read once when the
workbench starts: a reviewer reads 死亡日期, not ``death_date``. A field without a label shows
its name; a rule file that cannot be read is left out (the run's lint names its problems)."""
from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from crosscheck.rules.spec import Label
from crosscheck.yamlio import load_yaml

#: rule id -> field -> (Chinese, English)
Labels = dict[str, dict[str, tuple[str, str]]]


def evidence_labels(rules_dir: Path) -> Labels:
    out: Labels = {}
    for path in sorted(Path(rules_dir).rglob("*.yaml")) if Path(rules_dir).is_dir() else ():
        try:
            data, _ = load_yaml(path)
        except Exception:  # noqa: BLE001 - a broken rule file is the lint's to report
            continue
        fields = ((data or {}).get("evidence") or {}).get("fields") if isinstance(data, dict) else None
        if not isinstance(data.get("id"), str) or not isinstance(fields, dict):
            continue
        named = {}
        for name, spec in fields.items():
            raw = spec.get("label") if isinstance(spec, dict) else None
            try:
                label = Label.model_validate(raw) if raw is not None else None
            except ValidationError:
                label = None
            if label is not None:
                named[str(name)] = (label.zh, label.en or str(name).replace("_", " "))
        out[data["id"]] = named
    return out


def label_of(labels: Labels, rule_id: str, field: str) -> tuple[str, str]:
    return labels.get(rule_id, {}).get(field) or (field, field.replace("_", " "))
