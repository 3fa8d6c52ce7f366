"""The name linker on the project's corruption harness (devtools/names): the targets of docs/names.md
on a small generated county, through the `link-names` command's own path."""
from __future__ import annotations

from typer.testing import CliRunner

from crosscheck.cli import app
from devtools.names.harness import evaluate


def test_the_linker_meets_its_targets_on_the_harness():
    result = evaluate(seed=11, villages=24, people=300, records=2500)
    t = result.linker
    assert t.linked > 2000 and t.answerable > 2000
    assert t.wrong == 0, f"{t.wrong} wrong links"
    assert t.recall >= 0.99, t.recall
    assert result.decoys_linked == 0 and result.kinds["decoy"].records > 30
    assert result.traps > 50 and t.twins_wrong == 0
    # every kind of change the harness makes is there, and each but the misreadings links all but never wrongly
    for kind in ("exact", "spaces", "traditional", "fullwidth", "same_sound", "neighbouring"):
        k = result.kinds[kind]
        assert k.records > 0 and k.wrong == 0 and k.recall >= 0.99, (kind, k)
    # the baselines: an exact match misses most changed names; a whole-name pinyin match links wrong people
    exact, pinyin = result.baselines["exact name in village"], result.baselines["whole-name pinyin"]
    assert exact.recall < 0.5 < pinyin.recall and pinyin.wrong > 0 and pinyin.twins_wrong > 0


def test_eval_names_prints_the_figures():
    out = CliRunner().invoke(app, ["eval-names", "--seed", "2", "--villages", "6", "--people", "120", "--records", "300"])
    assert out.exit_code == 0, out.output
    assert "precision" in out.output and "recall" in out.output and "whole-name pinyin" in out.output
