"""Evidence templates as a list of parts: a part with `when:` is shown only where that value is present."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from crosscheck.cli.rules import rules_app
from crosscheck.rules.spec import Evidence
from crosscheck.rules.runner import is_present, render_evidence

ROOT = Path(__file__).resolve().parent.parent

TRANSIT_LIKE = Evidence.model_validate({
    "fields": {"cards": {"format": "list"}, "taps": "integer", "reviews": "integer"},
    "template": [
        "卡号 {cards}",
        {"text": "死亡后刷卡 {taps} 次", "when": "taps"},
        {"text": "死亡后年审通过 {reviews} 次", "when": "reviews"},
    ],
})


@pytest.mark.parametrize("value", [None, 0, 0.0, Decimal("0.00"), False, "", "  ", [], [None], ()])
def test_absent_values(value):
    assert not is_present(value)


@pytest.mark.parametrize("value", [1, -2, 0.5, Decimal("0.01"), "无效", [None, "C1"], date(2024, 5, 1)])
def test_present_values(value):
    assert is_present(value)


def test_only_the_parts_whose_value_is_present_are_joined():
    texts = {"cards": "C001", "taps": "0", "reviews": "1"}
    assert render_evidence(TRANSIT_LIKE, texts, {"cards": ["C001"], "taps": 0, "reviews": 1}) == "卡号 C001，死亡后年审通过 1 次"
    texts = {"cards": "C001", "taps": "3", "reviews": "0"}
    assert render_evidence(TRANSIT_LIKE, texts, {"cards": ["C001"], "taps": 3, "reviews": None}) == "卡号 C001，死亡后刷卡 3 次"


def test_when_may_name_a_parameter():
    ev = Evidence.model_validate({"fields": {"n": "integer"}, "template": ["{n} 次", {"text": "下限 {floor}", "when": "floor"}]})
    assert render_evidence(ev, {"n": "2", "floor": "5"}, {"n": 2, "floor": 5}) == "2 次，下限 5"
    assert render_evidence(ev, {"n": "2", "floor": "0"}, {"n": 2, "floor": 0}) == "2 次"


def test_a_plain_string_template_is_one_part_rendered_as_before():
    ev = Evidence.model_validate({"fields": {"n": "integer"}, "template": "共 {n} 次，（{as_of}）"})
    assert [(p.text, p.when) for p in ev.template] == [("共 {n} 次，（{as_of}）", None)]
    assert render_evidence(ev, {"n": "0", "as_of": "2024-07-01"}, {"n": 0}) == "共 0 次，（2024-07-01）"


def test_a_template_with_every_part_conditional_is_rejected():
    with pytest.raises(ValidationError, match="at least one part without 'when'"):
        Evidence.model_validate({"fields": {"n": "integer"}, "template": [{"text": "{n} 次", "when": "n"}]})


def test_show_prints_each_part_and_its_condition():
    args = ["--rules-dir", str(ROOT / "rules"), "--connectors-dir", str(ROOT / "connectors")]
    shown = CliRunner().invoke(rules_app, ["show", "transit_card_used_after_death", *args])
    assert shown.exit_code == 0, shown.output
    assert "evidence (parts shown joined by '，'):\n  持卡人死亡日期 {death_date}（{death_source}），卡号 {cards}\n" in shown.output
    assert "  死亡后刷卡 {taps} 次（{first_tap} 至 {last_tap}）    [when taps]\n" in shown.output
    plain = CliRunner().invoke(rules_app, ["show", "pension_paid_after_death", *args])
    assert "evidence: 死亡日期 {death_date}（{death_source}），死亡后发放 {months} 个月" in plain.output
