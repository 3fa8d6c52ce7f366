"""Identity-number and name normalisation.

Pure functions for single values and vectorised helpers for Arrow arrays.
The identity check is also compiled to DuckDB SQL (`identity_sql_macros`) so
large tables are checked in the engine; both paths share the constants here
and tests prove they agree.

Identity numbers (as delivered in every extract): trim surrounding whitespace (incl. full-width
U+3000), full-width digits/X to ASCII, lowercase x to X; a legacy 15-digit
number becomes 18 digits by inserting '19' before the birth year and appending
the ISO 7064 MOD 11-2 check character. Anything else is rejected with a reason,
never guessed.

Names: see `normalize_name`; the name linker's form: `name_form`. Text keys (所属乡镇, 合同编号,
采购单位...): `text_key`; phone numbers: `phone_number`.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

#: Characters trimmed around every delivered value (same set in SQL and Python).
TRIM_CHARS = " \t\r\n\f\v\u3000\u00a0\ufeff"

_FULLWIDTH_FROM = "０１２３４５６７８９ｘＸx"
_FULLWIDTH_TO = "0123456789XXX"
_ID_TRANSLATION = str.maketrans(_FULLWIDTH_FROM, _FULLWIDTH_TO)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
#: Birth dates encoded in an identity number must lie in [MIN_BIRTH, today].
MIN_BIRTH = date(1880, 1, 1)

_RE_18 = re.compile(r"[0-9]{17}[0-9X]")
_RE_15 = re.compile(r"[0-9]{15}")


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of 17 ASCII digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def _birth_ok(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return MIN_BIRTH <= born <= date.today()


def normalize_identity(value: object) -> tuple[str | None, str | None]:
    """Return (canonical 18-char number, None) or (None, reason)."""
    if value is None:
        return None, "missing identity number"
    s = str(value).strip(TRIM_CHARS).translate(_ID_TRANSLATION)
    if s == "":
        return None, "missing identity number"
    if len(s) not in (15, 18):
        return None, f"wrong length ({len(s)} characters)"
    if len(s) == 15:
        if not _RE_15.fullmatch(s):
            return None, "non-digit characters"
        s17 = s[:6] + "19" + s[6:]
        if not _birth_ok(s17[6:14]):
            return None, "impossible birth date"
        return s17 + check_char(s17), None
    if not _RE_18.fullmatch(s):
        return None, "non-digit characters"
    if not _birth_ok(s[6:14]):
        return None, "impossible birth date"
    if check_char(s[:17]) != s[17]:
        return None, "bad check character"
    return s, None


def identity_sql_macros() -> list[str]:
    """DuckDB TEMP macros implementing `normalize_identity`.

    cc_id_clean(v)  -> trimmed, full-width/lowercase folded text
    cc_id_reason(v) -> NULL when valid, else the same reason text as Python
    cc_id_value(v)  -> canonical 18-character number, NULL when invalid
    """
    trim = TRIM_CHARS.replace("'", "''")
    digit = "(ascii(substr(s, {i}, 1)) - 48)"
    weighted = " + ".join(f"{digit.format(i=i + 1)} * {w}" for i, w in enumerate(ID_WEIGHTS))
    birth = (
        "coalesce(try_strptime(b, '%Y%m%d')::DATE BETWEEN DATE '{min}' AND current_date, false)"
    ).format(min=MIN_BIRTH.isoformat())
    return [
        # fast path: most delivered numbers are already canonical
        f"CREATE OR REPLACE TEMP MACRO cc_id_clean(v) AS CASE WHEN regexp_full_match(v, '[0-9]{{17}}[0-9X]') THEN v "
        f"ELSE translate(trim(v, '{trim}'), '{_FULLWIDTH_FROM}', '{_FULLWIDTH_TO}') END",
        f"CREATE OR REPLACE TEMP MACRO cc_id_check(s) AS substr('{ID_CHECK_CHARS}', (({weighted}) % 11) + 1, 1)",
        f"CREATE OR REPLACE TEMP MACRO cc_id_birth_ok(b) AS {birth}",
        "CREATE OR REPLACE TEMP MACRO cc_id_upgrade(s) AS "
        "CASE WHEN length(s) = 15 THEN substr(s, 1, 6) || '19' || substr(s, 7) ELSE substr(s, 1, 17) END",
        """CREATE OR REPLACE TEMP MACRO cc_id_reason_clean(s) AS CASE
            WHEN s IS NULL OR s = '' THEN 'missing identity number'
            WHEN length(s) NOT IN (15, 18) THEN 'wrong length (' || length(s) || ' characters)'
            WHEN length(s) = 15 AND NOT regexp_full_match(s, '[0-9]{15}') THEN 'non-digit characters'
            WHEN length(s) = 18 AND NOT regexp_full_match(s, '[0-9]{17}[0-9X]') THEN 'non-digit characters'
            WHEN NOT cc_id_birth_ok(substr(cc_id_upgrade(s), 7, 8)) THEN 'impossible birth date'
            WHEN length(s) = 18 AND cc_id_check(s) <> substr(s, 18, 1) THEN 'bad check character'
            ELSE NULL END""",
        "CREATE OR REPLACE TEMP MACRO cc_id_reason(v) AS cc_id_reason_clean(cc_id_clean(v))",
        """CREATE OR REPLACE TEMP MACRO cc_id_value_clean(s) AS
            CASE WHEN cc_id_reason_clean(s) IS NOT NULL THEN NULL
                 WHEN length(s) = 18 THEN s
                 ELSE cc_id_upgrade(s) || cc_id_check(cc_id_upgrade(s)) END""",
        "CREATE OR REPLACE TEMP MACRO cc_id_value(v) AS cc_id_value_clean(cc_id_clean(v))",
    ]


# ---------------------------------------------------------------- names

#: Middle-dot variants unified to U+00B7 in Chinese-script names.
MIDDLE_DOTS = "·•.・‧･∙⋅･．"
_DOT_RE = re.compile("[" + re.escape(MIDDLE_DOTS) + "]")
_SPACE_RE = re.compile(r"\s+")
_CJK_RE = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _prepare(value: str) -> tuple[str, bool]:
    """NFKC, then script-dependent spacing and dots; returns (text, is_chinese)."""
    s = unicodedata.normalize("NFKC", value).strip()
    if _CJK_RE.search(s):
        s = _SPACE_RE.sub("", s)
        s = _DOT_RE.sub("·", s)
        return s, True
    return _SPACE_RE.sub(" ", s).upper(), False


def normalize_name(value: object) -> str:
    """The comparable form of a delivered name.

    Chinese-script names (any CJK ideograph): NFKC (full-width forms to
    half-width), all spaces removed (ASCII and U+3000), middle-dot variants
    (· • . ・ ‧ ･ ．) unified to U+00B7, traditional characters to simplified
    (OpenCC t2s): the name form of `name_form`. Latin-script names: NFKC,
    whitespace collapsed to single spaces, upper-cased (as Chinese documents
    print Latin names), dots kept.
    """
    if value is None:
        return ""
    s, chinese = _prepare(str(value))
    return _t2s().convert(s) if chinese else s


def _form_prepare(value: str) -> str:
    return _DOT_RE.sub("·", _SPACE_RE.sub("", unicodedata.normalize("NFKC", value)))


def name_form(value: object) -> str:
    """The name form the name linker compares (crosscheck.names), whatever the script: NFKC
    (full-width to half-width, `？` to `?`), every whitespace character removed, middle-dot
    variants to U+00B7, traditional characters to simplified (OpenCC t2s). For a name in
    Chinese script it is `normalize_name`'s form; a Latin name keeps its case and loses its spaces."""
    if value is None:
        return ""
    return _t2s().convert(_form_prepare(str(value)))


def name_forms(values: list[str | None]) -> list[str | None]:
    """`name_form` of each value (None stays None); OpenCC runs once over a joined batch."""
    prepared = [None if v is None else _form_prepare(v) for v in values]
    present = [p for p in prepared if p is not None]
    converted = iter(_t2s().convert("\n".join(present)).split("\n")) if present else iter(())
    return [None if p is None else next(converted) for p in prepared]


def _normalize_distinct(values: list[str | None]) -> list[str | None]:
    """Normalise a list of distinct values; OpenCC runs once over a joined batch."""
    prepared = [None if v is None else _prepare(v) for v in values]
    chinese = [p[0] for p in prepared if p is not None and p[1]]
    converted = iter(_t2s().convert("\n".join(chinese)).split("\n")) if chinese else iter(())
    out: list[str | None] = []
    for p in prepared:
        if p is None:
            out.append(None)
        elif p[1]:
            out.append(next(converted))
        else:
            out.append(p[0])
    return out


def normalize_names(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Vectorised `normalize_name` over an Arrow string array (nulls stay null).

    Works on the distinct values only, so cost grows with distinct names.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    encoded = pc.dictionary_encode(array)
    dictionary = encoded.dictionary.to_pylist()
    normalised = pa.array(_normalize_distinct(dictionary), type=pa.string())
    return normalised.take(encoded.indices)


# ---------------------------------------------------------------- text keys and phone numbers


def text_key(value: str | None) -> str | None:
    """A text key as it is compared: NFKC (full-width forms to half-width), every whitespace
    character removed, nothing else (`市 教育局` is `市教育局`); None for None or nothing left."""
    if value is None:
        return None
    return "".join(unicodedata.normalize("NFKC", value).split()) or None


_NOT_DIGIT = re.compile(r"[^0-9]")
_MOBILE = re.compile(r"1[0-9]{10}")


def phone_number(value: str | None) -> str | None:
    """A phone number as it is compared: NFKC, every character but 0-9 removed, then a leading
    ``86`` or ``0086`` removed when what remains is an 11-digit mobile number starting with 1
    (``+86 138-1234-5678`` is ``13812345678``; ``(0714)6251234`` is ``07146251234``); None when
    no digit is left (no phone)."""
    if value is None:
        return None
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", value))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and _MOBILE.fullmatch(digits[len(prefix):]):
            return digits[len(prefix):]
    return digits or None


#: Column types whose values are normalised in Python, once per distinct delivered value
#: (crosscheck.connectors.headers.value_maps), besides names (`normalize_names`).
VALUE_FORMS = {"code": text_key, "phone": phone_number}


def normalize_values(column_type: str, array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The normalised form of each value of a column of `column_type` (name, or one of
    `VALUE_FORMS`), nulls kept null."""
    if column_type == "name":
        return normalize_names(array)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    convert = VALUE_FORMS[column_type]
    return pa.array([convert(v) for v in array.to_pylist()], type=pa.string())
