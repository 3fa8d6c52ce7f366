"""Property tests: random and adversarial values through the normalisers and a whole load.

Never an exception; every value is parsed or the row is quarantined with a reason;
read = loaded + quarantined + duplicates for every file, whatever the input.
"""
from __future__ import annotations

import csv
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosscheck.catalog import load_catalog
from crosscheck.connectors import load_source
from crosscheck.connectors.parse import install_macros
from crosscheck.normalize import check_char, normalize_identity, normalize_name, normalize_names

from hardening_figures import record, rows_lost

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "connectors")
SOCIAL = CATALOG.connectors["social_security"]
PAY_HEAD = ["个人编号", "公民身份号码", "姓名", "险种类型", "发放年月", "发放金额", "发放日期"]
SCHEME = "企业职工基本养老保险"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_counts: dict[str, int] = {}


def _count(name: str) -> None:
    _counts[name] = _counts.get(name, 0) + 1


def teardown_module(module) -> None:
    for name, n in _counts.items():
        record("property", name, examples=n)


def _con():
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    install_macros(con)
    return con


CON = _con()


def parse_all(macro: str, values: list[str | None]) -> list:
    CON.register("vals", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    try:
        return [r[0] for r in CON.execute(f"SELECT {macro}(v) FROM vals ORDER BY i").fetchall()]
    finally:
        CON.unregister("vals")


# ----------------------------------------------------------------- adversarial strategies

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=24)
date_like = st.one_of(
    st.from_regex(r"[0-9]{4}[-/][0-9]{1,3}[-/][0-9]{1,3}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True),
    st.from_regex(r"[0-9]{6,14}", fullmatch=True),
    st.text(alphabet="0123456789-/: T.年月日", max_size=25),
)
amount_like = st.one_of(
    st.from_regex(r"[+-]?[0-9,]{1,25}(\.[0-9]{0,6})?", fullmatch=True),
    st.text(alphabet="0123456789,.-+eE ￥元", max_size=25),
    st.sampled_from(["NaN", "inf", "-0", "1e400", "99999999999999999999.99", "0x10", "１２３.４５", "1,2,3", ".5", "5."]),
)
identity_like = st.one_of(
    st.text(alphabet="0123456789xX１２３４５６７８９０ｘＸ \u3000\t", max_size=24),
    DIGITS,
    st.from_regex(r"[1-6][0-9]{5}(19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9Xx]", fullmatch=True),
)
anything = st.text(max_size=30)


# ----------------------------------------------------------------- parse macros


@FAST
@given(st.lists(st.one_of(st.none(), anything, date_like), min_size=1, max_size=40))
def test_date_parsers_never_raise(values):
    _count("dates and months (random and date-like strings)")
    for macro in ("cc_parse_date", "cc_parse_ts", "cc_parse_month"):
        out = parse_all(macro, values)
        assert len(out) == len(values)
        for v, p in zip(values, out):
            if v is None:
                assert p is None
            if macro == "cc_parse_month" and p is not None:
                assert p.day == 1


@FAST
@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)),
       st.sampled_from(["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d 00:00", "%Y-%m-%d 00:00:00", "%Y-%-m-%-d"]))
def test_valid_dates_round_trip(day, fmt):
    _count("valid dates in every delivered form")
    text = day.strftime(fmt) if "%-" not in fmt else f"{day.year:04d}-{day.month}-{day.day}"
    if fmt == "%Y%m%d" and len(text) != 8:
        return
    assert parse_all("cc_parse_date", [text]) == [day]
    assert parse_all("cc_parse_month", [f"{day.year:04d}{day.month:02d}"]) == [day.replace(day=1)]


@FAST
@given(st.lists(st.one_of(st.none(), anything, amount_like), min_size=1, max_size=40))
def test_amount_and_number_parsers_never_raise(values):
    _count("amounts (random and amount-like strings)")
    for macro in ("cc_parse_amount", "cc_parse_integer", "cc_parse_number"):
        out = parse_all(macro, values)
        assert len(out) == len(values)
    for v, p in zip(values, parse_all("cc_parse_amount", values)):
        if p is not None:
            assert isinstance(p, Decimal) and abs(p) < Decimal(10) ** 16, (v, p)


@FAST
@given(st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2, allow_nan=False), st.booleans())
def test_valid_amounts_round_trip(value, thousands):
    _count("valid amounts, with and without thousands separators")
    text = f"{value:,.2f}" if thousands else f"{value:.2f}"
    assert parse_all("cc_parse_amount", [text]) == [value]


# ----------------------------------------------------------------- identity numbers and names


@FAST
@given(st.lists(st.one_of(st.none(), anything, identity_like), min_size=1, max_size=30))
def test_identity_always_value_or_reason(values):
    _count("identity numbers (random, adversarial, plausible)")
    for v in values:
        value, reason = normalize_identity(v)
        assert (value is None) != (reason is None), v
        if value is not None:
            assert len(value) == 18 and value[:17].isdigit() and value[17] == check_char(value[:17])


@FAST
@given(st.lists(st.one_of(st.none(), anything, st.text(alphabet="陈陳大文阿依古丽·•.・ 　\u00a0\t\nAbc-'", max_size=20)), min_size=1, max_size=30))
def test_names_never_raise_and_batch_agrees(values):
    _count("names (random, mixed script, dot and space variants)")
    single = [None if v is None else normalize_name(v) for v in values]
    assert all(isinstance(s, str) for s in single if s is not None)
    assert normalize_names(pa.array(values, pa.string())).to_pylist() == single


# ----------------------------------------------------------------- a whole file through the connector


def _valid_id(seed: int) -> str:
    first17 = f"420202{1930 + seed % 60}{1 + seed % 12:02d}{1 + seed % 28:02d}{seed % 1000:03d}"
    return first17 + check_char(first17)


cell = st.one_of(st.just(""), anything, st.sampled_from(["NULL", "-", "\\N", "　", "=1+1", '"', ",", "\r\n", "\x00"]))
payment_row = st.fixed_dictionaries({
    "个人编号": st.one_of(st.just("P1"), cell),
    "公民身份号码": st.one_of(st.integers(0, 10**6).map(_valid_id), identity_like, cell),
    "姓名": st.one_of(st.just("陈大文"), cell),
    "险种类型": st.one_of(st.just(SCHEME), cell),
    "发放年月": st.one_of(st.just("202301"), date_like, cell),
    "发放金额": st.one_of(st.just("3215.40"), amount_like, cell),
    "发放日期": st.one_of(st.just("2023-01-10"), date_like, cell),
})


@SLOW
@given(st.lists(payment_row, min_size=1, max_size=25), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_any_file_loads_or_quarantines_every_row(rows, encoding, quoting):
    _count("whole pension_payments files of random rows")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "social_security").mkdir()
        path = root / "social_security" / "pension_payments.csv"
        with open(path, "w", encoding=encoding, errors="replace", newline="") as fh:
            # CRLF terminator: a CR or LF inside a value is quoted (a bare CR would end the record)
            w = csv.writer(fh, lineterminator="\r\n", quoting=quoting)
            w.writerow(PAY_HEAD)
            for r in rows:
                w.writerow([r[h] for h in PAY_HEAD])
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        try:
            loads = {t.table: t for t in load_source(con, root, SOCIAL, validate=False)}
            pay = loads["pension_payments"]
            if pay.status == "failed":  # a whole-file problem must say which file and line
                assert all(f.error.startswith("social_security/pension_payments.csv: line ") for f in pay.files), pay.reason
                return
            assert pay.status == "loaded", pay.reason
            (f,) = pay.files
            assert f.balanced and rows_lost(pay.files) == 0, f
            assert f.rows_read == len(rows), (f, rows)
            table = con.execute("SELECT count(*) FROM pension_payments").fetchall()[0][0]
            assert table == f.rows_loaded
            reasons = con.execute("SELECT reason FROM quarantine WHERE \"table\" = 'pension_payments'").fetchall()
            assert len(reasons) == f.rows_quarantined and all(r[0] for r in reasons)
            bad = con.execute(
                "SELECT count(*) FROM pension_payments WHERE person_id IS NULL OR amount IS NULL OR amount < 0 "
                "OR pay_month IS NULL OR day(pay_month) <> 1 OR scheme IS NULL OR length(person_id) <> 18"
            ).fetchall()[0][0]
            assert bad == 0
        finally:
            con.close()
