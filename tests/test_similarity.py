from __future__ import annotations

import pytest

from crosscheck.rules.testing import connect
from crosscheck.engines.similarity import name_similarity, register


def test_identical_and_missing():
    assert name_similarity("张伟", "张伟") == 1.0
    assert name_similarity(None, "张伟") is None


def test_homophone_typo_scores_above_unrelated_name():
    homophone = name_similarity("张伟", "张维")
    unrelated = name_similarity("张伟", "李娜")
    assert homophone >= 0.5 > unrelated
    assert name_similarity("陈明", "陈敏") > name_similarity("陈明", "刘强")


def test_range():
    for a, b in [("张伟", "李娜"), ("阿依古丽·买买提", "阿依古丽"), ("JOHN", "张伟"), ("a", "bbbbbbbb")]:
        assert 0.0 <= name_similarity(a, b) <= 1.0


def test_latin_names_ignore_token_order():
    assert name_similarity("John Smith", "Smith John") == 1.0
    assert name_similarity("JohnSmith", "Smith.John") == 1.0
    assert name_similarity("John Smith", "Maria Garcia") < 0.5


def test_minority_name_parts_in_either_order():
    assert name_similarity("阿依古丽·买买提", "买买提·阿依古丽") == 1.0


def test_chinese_against_pinyin_spelling():
    assert name_similarity("张伟", "ZHANGWEI") > 0.9


def test_duckdb_udf_is_vectorised_and_null_safe():
    con = connect()
    register(con)
    register(con)  # idempotent
    rows = con.execute(
        "SELECT a, b, name_similarity(a, b) FROM (VALUES ('张伟', '张维'), ('张伟', '李娜'), (NULL, '张伟'), ('张伟', '张伟')) t(a, b)"
    ).fetchall()
    got = {(a, b): s for a, b, s in rows}
    assert got[("张伟", "张维")] == pytest.approx(name_similarity("张伟", "张维"))
    assert got[(None, "张伟")] is None
    assert got[("张伟", "张伟")] == 1.0
    con.close()
