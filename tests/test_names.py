"""Name normalisation: the variants of one name compare equal."""
from __future__ import annotations

import pyarrow as pa
import pytest

from crosscheck.normalize import normalize_name, normalize_names


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("陈大文", "陈大文"),
        (" 陈 大文 ", "陈大文"),
        ("陈\u3000大文", "陈大文"),
        ("陳大文", "陈大文"),                          # traditional -> simplified
        ("張偉", "张伟"),
        ("ｗａｎｇ", "WANG"),                          # full-width Latin -> half-width
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽‧买买提", "阿依古丽·买买提"),
        ("阿依古丽･买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("  John   Smith ", "JOHN SMITH"),              # Latin: spacing collapsed, upper case
        ("Mary-Ann  O'Neil", "MARY-ANN O'NEIL"),
        ("J. R. Smith", "J. R. SMITH"),                # Latin dots are kept
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_name(delivered, expected):
    assert normalize_name(delivered) == expected


def test_normalize_names_vectorised_matches_scalar_and_keeps_nulls():
    values = ["陳大文", None, " 陈 大文", "阿依古丽•买买提", "john smith", "陳大文"]
    out = normalize_names(pa.array(values))
    assert out.to_pylist() == [None if v is None else normalize_name(v) for v in values]
    chunked = normalize_names(pa.chunked_array([values[:3], values[3:]]))
    assert chunked.to_pylist() == out.to_pylist()


def test_normalize_names_empty_array():
    assert normalize_names(pa.array([], pa.string())).to_pylist() == []
