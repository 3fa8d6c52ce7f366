"""Identity-number normalisation: Python and the DuckDB macros agree."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosscheck.normalize import check_char, identity_sql_macros, normalize_identity

VALID = "11010519491231002X"          # the textbook example, check character X


def make(region: str, born: date, seq: str) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + check_char(first17)


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for sql in identity_sql_macros():
        con.execute(sql)
    return con


def sql_normalize(con, values: list[str | None]) -> list[tuple[str | None, str | None]]:
    con.register("ids", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    rows = con.execute("SELECT cc_id_value(v), cc_id_reason(v) FROM ids ORDER BY i").fetchall()
    con.unregister("ids")
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    "delivered",
    [VALID, "11010519491231002x", f"  {VALID}\t", f"\u3000{VALID}\u3000", "１１０１０５１９４９１２３１００２Ｘ", "１１０１０５１９４９１２３１００２ｘ"],
)
def test_valid_forms_normalise_to_canonical(con, delivered):
    assert normalize_identity(delivered) == (VALID, None)
    assert sql_normalize(con, [delivered]) == [(VALID, None)]


def test_check_digit_numeric():
    number = make("420202", date(1955, 12, 17), "123")
    assert normalize_identity(number) == (number, None)
    assert number[-1] == check_char(number[:17])


def test_legacy_15_digit_converts_to_18(con):
    assert normalize_identity("110105491231002") == (VALID, None)
    assert sql_normalize(con, ["110105491231002"]) == [(VALID, None)]


@pytest.mark.parametrize(
    ("delivered", "reason"),
    [
        ("11010519491231002", "wrong length (17 characters)"),
        ("1101051949123100211", "wrong length (19 characters)"),
        ("110105194912310021", "bad check character"),
        ("11010519491331002X", "impossible birth date"),          # month 13
        ("11010518791231002X", "impossible birth date"),          # before 1880
        (make("110105", date.today() + timedelta(days=400), "002"), "impossible birth date"),
        ("110105491331002", "impossible birth date"),             # 15-digit, month 13
        ("1101051949123100A2", "non-digit characters"),
        ("11010519491231 02X", "non-digit characters"),           # inner space is not trimmed
        ("11010549123100X", "non-digit characters"),              # 15 characters never carry X
        ("", "missing identity number"),
        (None, "missing identity number"),
    ],
)
def test_invalid_numbers_rejected_with_reason(con, delivered, reason):
    assert normalize_identity(delivered) == (None, reason)
    assert sql_normalize(con, [delivered]) == [(None, reason)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=22), st.text(alphabet="0123456789xX１２３ ", max_size=20)), min_size=1, max_size=30))
def test_random_strings_never_raise_and_sql_agrees(con, values):
    python = [normalize_identity(v) for v in values]
    for value, reason in python:
        assert (value is None) != (reason is None)
    assert sql_normalize(con, values) == python


births = st.dates(min_value=date(1900, 1, 1), max_value=date.today())


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), births, st.from_regex(r"[0-9]{3}", fullmatch=True), st.booleans())
def test_valid_numbers_round_trip(con, region, born, seq, lower):
    number = make(region, born, seq)
    delivered = number.lower() if lower else number
    assert normalize_identity(delivered) == (number, None)
    assert sql_normalize(con, [delivered]) == [(number, None)]


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
       st.from_regex(r"[0-9]{3}", fullmatch=True))
def test_15_to_18_conversion_is_the_same_person(con, region, born, seq):
    legacy = f"{region}{born:%y%m%d}{seq}"
    assert normalize_identity(legacy) == (make(region, born, seq), None)
    assert sql_normalize(con, [legacy]) == [(make(region, born, seq), None)]
