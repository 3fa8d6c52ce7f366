"""What the name linker knows of one character: its reading and its shape.

- **Reading** (同音): the toneless pinyin pypinyin's ``lazy_pinyin`` gives for the character
  alone (default style, ``ü`` as ``v``); a character it has no reading for (``?``, ``□``,
  punctuation, Latin letters) has none, so no same-sound partner.
- **Shape** (形近): the character's four corners, the first four digits of its four-corner code
  (四角号码) as the ``four-corner-method`` package ships them (about 74,000 characters, from
  the 四角号码检字表); the fifth digit (附角) is left out. Two characters look alike when their
  four corners are equal: 己/已, 未/末, 士/土, 日/曰, 人/入, 金/全, 戊/戌/成/戍, 英/荚, 超/起.
  A rule may pass its own table of look-alike pairs instead (`parse_lookalikes`).

Both are SQL functions on DuckDB (Arrow UDFs) and Spark (pandas UDFs), computed once per
distinct character of a batch: ``name_char_reading(c)`` and ``name_char_shape(c)``.
"""
from __future__ import annotations

import re
from functools import lru_cache

#: What an exporting system writes for a character it could not encode (缺字).
LOST_CHARACTERS = ("?", "□")


@lru_cache(maxsize=1)
def _four_corner() -> dict[str, str]:
    from four_corner_method import FourCornerMethod

    return FourCornerMethod().data


@lru_cache(maxsize=65536)
def reading(ch: str) -> str | None:
    """The toneless reading of one character, None when it has none."""
    if len(ch) != 1:
        return None
    from pypinyin import lazy_pinyin

    out = lazy_pinyin(ch)
    value = out[0] if len(out) == 1 else ""
    return value if value and value != ch and value.isascii() and value.isalpha() else None


def shape(ch: str) -> str | None:
    """The four corners of one character (four digits), None when the table lacks it."""
    code = _four_corner().get(ch) if len(ch) == 1 else None
    return code[:4] if code and len(code) >= 4 else None


def _per_distinct(fn, values):
    """`fn` of each distinct value of an Arrow string array, spread back over the array."""
    import pyarrow as pa  # here, not at import: rule files are read by every command
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    encoded = pc.dictionary_encode(values)
    table = pa.array([None if v is None else fn(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return table.take(encoded.indices)


#: SQL function name -> kernel over an Arrow string array (one character per value).
KERNELS = {
    "name_char_reading": lambda values: _per_distinct(reading, values),
    "name_char_shape": lambda values: _per_distinct(shape, values),
}


def compute(sql_name: str, values):
    """Run a character function on an Arrow array (what both engines' UDFs call)."""
    return KERNELS[sql_name](values)


def register(con) -> None:
    """Register the character functions on a DuckDB connection; idempotent."""
    for name, kernel in KERNELS.items():
        try:
            con.remove_function(name)
        except Exception:  # not registered yet
            pass
        con.create_function(name, kernel, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")


_PAIR_SEPARATORS = re.compile(r"[\s,，、;；]+")


def parse_lookalikes(text: str) -> list[tuple[str, str]]:
    """A look-alike table written as pairs of two characters separated by spaces (or commas):
    ``"天夭 军车 力刀"``. ValueError naming the first entry that is not two different characters."""
    pairs = []
    for entry in _PAIR_SEPARATORS.split(text.strip()):
        if not entry:
            continue
        if len(entry) != 2 or entry[0] == entry[1]:
            raise ValueError(f"look-alike table: '{entry}' is not a pair of two different characters (write pairs like 天夭 军车)")
        pairs.append((entry[0], entry[1]))
    return pairs
