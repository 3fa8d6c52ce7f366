"""Mapping and parsing in DuckDB SQL: staging (all VARCHAR) -> typed canonical rows.

Each canonical column becomes a parsed value and an error text; a row whose
errors are not all NULL is quarantined with every error joined by '; '.
Macros are TEMP so nothing is persisted in a database file.
"""
from __future__ import annotations

from typing import Callable

import duckdb

from crosscheck.catalog import DUCKDB_TYPES, ColumnSpec
from crosscheck.normalize import MIN_BIRTH, TRIM_CHARS, identity_sql_macros, text_key

_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
_DATE_SEP = rf"[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}{_TIME}|[0-9]{{4}}/[0-9]{{1,2}}/[0-9]{{1,2}}{_TIME}"
#: A number shown by Excel in scientific notation: digits already lost.
_EXCEL_NUMBER = r"[0-9](?:\.[0-9]+)?E\+[0-9]+"
_AMOUNT = r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2}0*)?"
#: Full-width forms of the printable ASCII characters (U+FF01..U+FF5E), and ASCII itself.
_FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_HALF = "".join(chr(c) for c in range(0x21, 0x7F))
#: GB 32100: 18 characters, digits and capital letters but I, O, S, V, Z.
CREDIT_CODE = "[0-9A-HJ-NP-RTUWXY]{18}"
#: The first character of a plate: a province's abbreviation.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
#: A time of day in a delivered date-time (or the 14-digit YYYYMMDDHHMMSS form).
_HAS_TIME = r"^[0-9]{14}$|[ T][0-9]{1,2}:[0-9]{2}"

PARSE_MACROS = [
    # year 0 and before ('000001', '00000101') is no date: NULL, not a date BC
    "CREATE OR REPLACE TEMP MACRO cc_ad(t) AS CASE WHEN t >= TIMESTAMP '0001-01-01' THEN t END",
    # one format, chosen by the time's parts (a list of formats is tried one by one: slow)
    """CREATE OR REPLACE TEMP MACRO cc_parse_sep(w) AS CASE
        WHEN NOT contains(w, ':') THEN try_strptime(w, '%Y-%m-%d')
        WHEN length(w) - length(replace(w, ':', '')) = 1 THEN try_strptime(w, '%Y-%m-%d %H:%M')
        WHEN contains(w, '.') THEN try_strptime(w, '%Y-%m-%d %H:%M:%S.%f')
        ELSE try_strptime(w, '%Y-%m-%d %H:%M:%S') END""",
    f"""CREATE OR REPLACE TEMP MACRO cc_parse_ts_any(v) AS CASE
        WHEN regexp_full_match(v, '[0-9]{{8}}') THEN try_strptime(v, '%Y%m%d')
        WHEN regexp_full_match(v, '[0-9]{{14}}') THEN try_strptime(v, '%Y%m%d%H%M%S')
        WHEN regexp_full_match(v, '{_DATE_SEP}') THEN cc_parse_sep(replace(replace(v, '/', '-'), 'T', ' '))
        END""",
    "CREATE OR REPLACE TEMP MACRO cc_parse_ts_full(v) AS cc_ad(cc_parse_ts_any(v))",
    # Fast paths: a value that is exactly DuckDB's own text of the cast result
    # ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS', the usual delivered forms) is matched by
    # the full parser too and gives the same value there; anything else takes the full parser.
    """CREATE OR REPLACE TEMP MACRO cc_parse_ts(v) AS CASE
        WHEN length(v) = 19 AND CAST(TRY_CAST(v AS TIMESTAMP) AS VARCHAR) = v THEN TRY_CAST(v AS TIMESTAMP)
        ELSE cc_parse_ts_full(v) END""",
    """CREATE OR REPLACE TEMP MACRO cc_parse_date(v) AS CASE
        WHEN length(v) = 10 AND CAST(TRY_CAST(v AS DATE) AS VARCHAR) = v THEN TRY_CAST(v AS DATE)
        WHEN length(v) = 19 AND CAST(TRY_CAST(v AS TIMESTAMP) AS VARCHAR) = v THEN CAST(TRY_CAST(v AS TIMESTAMP) AS DATE)
        ELSE CAST(cc_parse_ts_full(v) AS DATE) END""",
    """CREATE OR REPLACE TEMP MACRO cc_parse_month(v) AS CASE
        WHEN regexp_full_match(v, '[0-9]{6}') THEN CAST(cc_ad(try_strptime(v, '%Y%m')) AS DATE)
        WHEN regexp_full_match(v, '[0-9]{4}[-/][0-9]{1,2}') THEN CAST(cc_ad(try_strptime(replace(v, '/', '-'), '%Y-%m')) AS DATE)
        WHEN day(cc_parse_ts(v)) = 1 AND cc_parse_ts(v) = date_trunc('day', cc_parse_ts(v)) THEN CAST(cc_parse_ts(v) AS DATE)
        END""",
    f"""CREATE OR REPLACE TEMP MACRO cc_parse_amount(v) AS CASE
        WHEN regexp_full_match(v, '{_AMOUNT}') THEN TRY_CAST(replace(v, ',', '') AS DECIMAL(18,2)) END""",
    r"""CREATE OR REPLACE TEMP MACRO cc_parse_integer(v) AS CASE
        WHEN regexp_full_match(v, '[+-]?[0-9]+(?:\.0+)?') THEN TRY_CAST(regexp_replace(v, '\.0+$', '') AS BIGINT) END""",
    "CREATE OR REPLACE TEMP MACRO cc_parse_number(v) AS TRY_CAST(replace(v, ',', '') AS DOUBLE)",
    # translate() is costly per call: only values holding a full-width character take it
    f"CREATE OR REPLACE TEMP MACRO cc_halfwidth(v) AS CASE WHEN regexp_matches(v, '[\\x{{ff01}}-\\x{{ff5e}}]') "
    f"THEN translate(v, '{_FULL}', '{_HALF.replace(chr(39), chr(39) * 2)}') ELSE v END",
    # codes (a delivered value's text key is made in Python, crosscheck.normalize.text_key; this
    # is for a column's `if_empty`): half-width, no spaces; a code Excel stored as a number has lost digits (NULL)
    f"""CREATE OR REPLACE TEMP MACRO cc_code(v) AS CASE WHEN NOT regexp_full_match(v, '{_EXCEL_NUMBER}')
        THEN regexp_replace(cc_halfwidth(v), '[\\s\\x{{3000}}]', '', 'g') END""",
    "CREATE OR REPLACE TEMP MACRO cc_code_upper(v) AS upper(cc_code(v))",
    # a credit code is a text key (no whitespace anywhere), upper-cased, of GB 32100's form
    "CREATE OR REPLACE TEMP MACRO cc_credit_text(v) AS upper(regexp_replace(cc_halfwidth(v), '[\\s\\x{3000}\\x{a0}]', '', 'g'))",
    f"""CREATE OR REPLACE TEMP MACRO cc_credit_code(v) AS CASE
        WHEN regexp_full_match(cc_credit_text(v), '{CREDIT_CODE}') THEN cc_credit_text(v) END""",
    "CREATE OR REPLACE TEMP MACRO cc_plate_text(v) AS upper(regexp_replace(cc_halfwidth(v), '[\\s\u00b7\u2022\u30fb\\.\\-]', '', 'g'))",
    f"""CREATE OR REPLACE TEMP MACRO cc_plate(v) AS CASE WHEN length(cc_plate_text(v)) IN (7, 8)
        AND regexp_full_match(cc_plate_text(v), '[{PROVINCES}][A-Z].*') THEN cc_plate_text(v) END""",
]

PARSERS = {
    "date": "cc_parse_date",
    "datetime": "cc_parse_ts",
    "month": "cc_parse_month",
    "amount": "cc_parse_amount",
    "integer": "cc_parse_integer",
    "number": "cc_parse_number",
    "credit_code": "cc_credit_code",
    "plate": "cc_plate",
    "code": "cc_code",
}


def parser(col: ColumnSpec) -> str:
    """The macro parsing (or normalising) a cleaned value of `col` (its type in PARSERS)."""
    return "cc_code_upper" if col.type == "code" and col.upper else PARSERS[col.type]


#: What an error says of a value its type's parser refuses.
_REFUSED = {"credit_code": "invalid credit code", "plate": "invalid plate",
            "code": "code stored as an Excel number (digits lost)"}


#: Trim only values that start or end with a trimmed character (a regex test is
#: about twice as cheap as trim() with a custom character set).
_EDGE = "[\\s\\x{0b}\\x{3000}\\x{a0}\\x{feff}]"
TRIM_MACRO = (
    f"CREATE OR REPLACE TEMP MACRO cc_trim(x) AS CASE WHEN regexp_matches(x, '^{_EDGE}|{_EDGE}$') "
    f"THEN trim(x, {'%s'}) ELSE x END"
)


#: Created after the others: a connection that has it has them all.
_INSTALLED = "CREATE OR REPLACE TEMP MACRO cc_macros_installed() AS true"


def install_macros(con) -> None:
    """The parsing macros, once per connection (each table's load calls this)."""
    try:
        con.execute("SELECT cc_macros_installed()")
        return
    except duckdb.CatalogException:
        pass
    con.execute(TRIM_MACRO % lit(TRIM_CHARS))
    for sql in identity_sql_macros() + PARSE_MACROS + [_INSTALLED]:
        con.execute(sql)


def raw_hash(width: int) -> str:
    """The hash of a staged row's delivered values (c0..c{width-1}): a line delivered again
    unchanged has the same hash, and parses to the same row."""
    return f"hash({', '.join(f'c{i}' for i in range(width))})"


def lit(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def cleaned(raw: str, null_markers: list[str]) -> str:
    """Trimmed value, NULL for an empty marker."""
    trimmed = f"cc_trim({raw})"
    return null_marked(trimmed, null_markers)


def null_marked(trimmed: str, null_markers: list[str]) -> str:
    """NULL for an empty marker, else the (already trimmed) value."""
    markers = ", ".join(lit(m.strip(TRIM_CHARS)) for m in null_markers) or "NULL"
    return f"CASE WHEN {trimmed} IN ({markers}) THEN NULL ELSE {trimmed} END"


def _quoted(v: str) -> str:
    return f"'''' || CAST({v} AS VARCHAR) || ''''"


#: Native (typed parquet) column types taken as they are for a canonical type; any
#: other pairing is read as text and parsed like a CSV value.
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
_TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")


def typed_parse(col: ColumnSpec, native: str, c: str) -> str | None:
    """SQL parsing typed column `c` (DuckDB type `native`) into `col`'s type, or None to read it as text.

    Amounts keep the text path's rule: more than two decimals is an error (NULL here)."""
    base = native.split("(")[0]
    if col.type in ("date", "datetime") and base in _TEMPORAL:
        return f"CAST({c} AS {'DATE' if col.type == 'date' else 'TIMESTAMP'})"
    if col.type == "amount" and base in _NUMERIC:
        return f"CASE WHEN round({c}, 2) = {c} THEN TRY_CAST({c} AS DECIMAL(18,2)) END"
    if col.type == "integer" and base in _NUMERIC:
        return f"CASE WHEN round({c}) = {c} THEN TRY_CAST({c} AS BIGINT) END"
    if col.type == "number" and base in _NUMERIC:
        return f"CAST({c} AS DOUBLE)"
    return None


def identity_lookup(col: ColumnSpec, values: str, null_markers: list[str]) -> str:
    """CTE body checking each DISTINCT delivered identity value once (numbers repeat
    across rows): raw -> cleaned text v, canonical number x, error e. `values`: a
    SELECT of the distinct values as `raw`."""
    header = col.header
    error = (
        f"CASE WHEN regexp_full_match(v, '{_EXCEL_NUMBER}') THEN "
        f"{lit(f'invalid identity number in {header}: stored as an Excel number, digits lost: ')} || {_quoted('v')} "
        f"WHEN cc_id_reason(v) IS NOT NULL THEN "
        f"{lit(f'invalid identity number in {header}: ')} || cc_id_reason(v) || ': ' || {_quoted('v')} END"
    )
    return (f"SELECT raw, v, cc_id_value(v) AS x, CASE WHEN v IS NOT NULL THEN {error} END AS e "
            f"FROM (SELECT raw, {cleaned('raw', null_markers)} AS v FROM ({values}))")


def name_values_sql(values: str, null_markers: list[str]) -> str:
    """Each DISTINCT delivered value of a name, code or phone column (`values`: a SELECT of them
    as `raw`) with its cleaned text v (NULL: empty or a null marker); the loader adds the
    normalised form (crosscheck.normalize.normalize_values) and joins it back."""
    return f"SELECT raw, {cleaned('raw', null_markers)} AS v FROM ({values})"


def value_and_error(col: ColumnSpec, v: str, parsed: str | None = None) -> tuple[str, str | None]:
    """(SQL for the parsed value, SQL for its error text or None) from cleaned value `v`.

    `parsed`, when given, names a column already holding the parser's result for `v`
    (so the parser runs once per value, not once per reference)."""
    header = col.header
    checks: list[tuple[str, str]] = []     # (condition, message) on a value that is present
    if col.type in ("text", "name", "identity"):
        parsed = v
    else:
        parsed = parsed or f"{parser(col)}({v})"
        checks.append((f"{parsed} IS NULL", _REFUSED.get(col.type, f"unparseable {col.type}")))
    if col.synonyms:
        parsed = _synonyms(col, parsed)
    if col.type == "amount":
        checks.append((f"{parsed} < 0", "negative amount"))
    if col.min is not None:
        checks.append((f"{parsed} < {col.min!r}", f"below the minimum {col.min:g}"))
    if col.values is not None:
        checks.append((f"{parsed} NOT IN ({', '.join(lit(x) for x in col.values)})", "value not allowed"))
    if col.with_time:
        checks.append((f"NOT regexp_matches({v}, '{_HAS_TIME}')", "no time of day"))
    if col.name == "birth_date":
        checks.append((f"{parsed} > current_date OR {parsed} < DATE '{MIN_BIRTH.isoformat()}'", "impossible birth date"))
    if not checks:
        return parsed, None
    allowed = f" || {lit(' (allowed: ' + ', '.join(col.values) + ')')}" if col.values is not None else ""
    whens = " ".join(f"WHEN {cond} THEN {lit(f'{what} in {header}: ')} || {_quoted(v)}"
                     + (allowed if what == "value not allowed" else "") for cond, what in checks)
    return parsed, f"CASE WHEN {v} IS NULL THEN NULL {whens} END"


def _synonyms(col: ColumnSpec, parsed: str) -> str:
    """`parsed` with each other spelling of an enumeration value (`synonyms`) read as that value,
    the spellings compared as the column's values are (a code's as text keys)."""
    def form(spelling: str) -> str:
        if col.type != "code":
            return spelling.strip(TRIM_CHARS)
        key = text_key(spelling) or ""
        return key.upper() if col.upper else key

    whens = " ".join(f"WHEN {parsed} IN ({', '.join(lit(form(x)) for x in spellings)}) THEN {lit(value)}"
                     for value, spellings in col.synonyms.items())
    return f"CASE {whens} ELSE {parsed} END"


def _mapped(col: ColumnSpec, m: str) -> tuple[str, str]:
    """(cleaned value, parsed value) of a column normalised in Python, from its map `m` (raw, v,
    norm): a name is its form; a code its text key (NULL, refused, when Excel stored it as a
    number), upper-cased if asked; a phone its digits. A value nothing is left of is empty."""
    if col.type == "name":
        return f"{m}.v", f"{m}.norm"
    norm = f"upper({m}.norm)" if col.upper else f"{m}.norm"
    if col.type == "code":
        norm = f"CASE WHEN NOT regexp_full_match({m}.v, '{_EXCEL_NUMBER}') THEN {norm} END"
    return f"CASE WHEN {m}.norm IS NOT NULL THEN {m}.v END", norm


def parse_select(
    columns: list[ColumnSpec],
    positions: dict[str, int | None],
    headers: list[str],
    null_markers: list[str],
    staging: str,
    source_file: str,
    file_index: int,
    *,
    types: list[str] | None = None,
    value_maps: dict[str, str] | None = None,
    distinct: Callable[[int], str] | None = None,
    lookups: list[str] = (),
    raw_always: bool = False,
) -> str:
    """SELECT producing canonical columns, `<name>_raw`, provenance, __file_idx, __reason, __raw,
    __rh (`raw_hash`). `__raw` (the delivered values as JSON) is built for quarantined rows,
    or for every row with `raw_always` (a keyed table: a row may yet conflict with another).

    `types`: the staged columns' DuckDB types (default all VARCHAR); `value_maps`: name, code
    and phone column -> relation (raw, v, norm) over its distinct delivered values; `distinct`:
    position -> SELECT of that column's distinct values as `raw` (default: from the staging);
    `lookups`: other columns to clean and parse once per distinct value (they repeat a lot).

    Layered so that every per-value function runs once per value: identity numbers
    and names through lookups over their DISTINCT delivered values, typed columns
    as they are; `t` trims the other delivered columns used, `v` applies the null
    markers, `x` parses and joins the lookups, the outer SELECT casts and gathers
    the error texts."""
    types = types or ["VARCHAR"] * len(headers)
    value_maps = value_maps or {}
    text = {i: f"c{i}" if types[i] == "VARCHAR" else f"CAST(c{i} AS VARCHAR)" for i in range(len(headers))}
    distinct = distinct or (lambda pos: f"SELECT DISTINCT {text[pos]} AS raw FROM {staging} WHERE c{pos} IS NOT NULL")
    lookup_cols = set(lookups)
    lookups, joins, cleaned_cols, parsed_cols, outputs, errors = [], [], [], [], [], []
    trims: dict[int, str] = {}
    for col in columns:
        own_error = None        # the identity lookup's error text of this column
        pos = positions.get(col.name)
        typed = typed_parse(col, types[pos], f"c{pos}") if pos is not None and types[pos] != "VARCHAR" else None
        parsed = None
        if pos is None:
            cleaned_cols.append(f"CAST(NULL AS VARCHAR) AS v_{col.name}")
            if col.type in ("identity", "name", "phone") or col.name in value_maps:
                parsed_cols.append(f"CAST(NULL AS VARCHAR) AS x_{col.name}")
                parsed = f"x_{col.name}"
        elif col.type == "identity":
            lookups.append(f"id_{col.name} AS ({identity_lookup(col, distinct(pos), null_markers)})")
            joins.append(f"LEFT JOIN id_{col.name} ON {text[pos].replace(f'c{pos}', f'v.c{pos}', 1)} = id_{col.name}.raw")
            parsed_cols.append(f"id_{col.name}.v AS v_{col.name}, id_{col.name}.x AS x_{col.name}, id_{col.name}.e AS e_{col.name}")
            parsed = f"x_{col.name}"
            own_error = f"e_{col.name}"
        elif col.name in value_maps:
            joins.append(f"LEFT JOIN {value_maps[col.name]} AS nm_{col.name} ON {text[pos].replace(f'c{pos}', f'v.c{pos}', 1)} = nm_{col.name}.raw")
            cleaned_v, norm = _mapped(col, f"nm_{col.name}")
            parsed_cols.append(f"{cleaned_v} AS v_{col.name}, {norm} AS x_{col.name}")
            parsed = f"x_{col.name}"
        elif col.name in lookup_cols and typed is None and col.type not in ("identity", "name"):
            lk = f"lk_{col.name}"
            x = f", {parser(col)}(v) AS x" if col.type in PARSERS else ""
            lookups.append(f"{lk} AS (SELECT raw, v{x} FROM (SELECT raw, {cleaned('raw', null_markers)} AS v FROM ({distinct(pos)})))")
            joins.append(f"LEFT JOIN {lk} ON {text[pos].replace(f'c{pos}', f'v.c{pos}', 1)} = {lk}.raw")
            parsed_cols.append(f"{lk}.v AS v_{col.name}" + (f", {lk}.x AS x_{col.name}" if x else ""))
            parsed = f"x_{col.name}" if x else None
        elif typed is not None:
            cleaned_cols.append(f"c{pos} AS v_{col.name}")
            parsed_cols.append(f"{typed} AS x_{col.name}")
            parsed = f"x_{col.name}"
        else:
            trims[pos] = f"cc_trim({text[pos]}) AS t{pos}"
            cleaned_cols.append(f"{null_marked(f't{pos}', null_markers)} AS v_{col.name}")
            if col.type in PARSERS:
                parsed_cols.append(f"{parser(col)}(v.v_{col.name}) AS x_{col.name}")
                parsed = f"x_{col.name}"
        value, error = value_and_error(col, f"v_{col.name}", parsed)
        if col.type in ("identity", "name") and parsed:
            value = parsed
        if col.if_empty is not None:
            empty = f"{parser(col)}({lit(col.if_empty)})" if col.type in PARSERS else lit(col.if_empty)
            value = f"coalesce({value}, {empty})"
        # `when`: the column holds its value, and is checked, only on the rows its condition names
        applies = " OR ".join(f"v_{other} IN ({', '.join(lit(x) for x in allowed)})"
                              for other, allowed in (col.when or {}).items())
        only = (lambda sql: f"CASE WHEN {applies} THEN {sql} END") if applies else (lambda sql: sql)
        outputs.append(f"CAST({only(value)} AS {DUCKDB_TYPES[col.type]}) AS {col.name}")
        if col.type == "name":
            raw = f"c{pos}" if pos is not None else "NULL"
            outputs.append(f"{only(f'CASE WHEN v_{col.name} IS NULL THEN NULL ELSE CAST({raw} AS VARCHAR) END')} AS {col.name}_raw")
        if not col.nullable and col.if_empty is None:
            errors.append(only(f"CASE WHEN v_{col.name} IS NULL THEN {lit(f'missing value in {col.header}')} END"))
        errors.extend(only(e) for e in (own_error, error) if e)
    # the raw values' JSON is built only for quarantined rows (CASE evaluates it for those rows alone)
    raw_json = "json_object(" + ", ".join(f"{lit(h)}, {text[i]}" for i, h in enumerate(headers)) + ")"
    reason = f"NULLIF(concat_ws('; ', {', '.join(errors)}), '')" if errors else "CAST(NULL AS VARCHAR)"
    raw_cols = ", ".join(f"c{i}" for i in range(len(headers)))
    ctes = [
        *lookups,
        f"t AS NOT MATERIALIZED (SELECT {raw_cols}, __line{''.join(', ' + t for t in trims.values())} FROM {staging})",
        f"v AS NOT MATERIALIZED (SELECT *{''.join(', ' + c for c in cleaned_cols)} FROM t)",
        f"x AS NOT MATERIALIZED (SELECT v.*{''.join(', ' + p for p in parsed_cols)} FROM v {' '.join(joins)})",
        f"p AS NOT MATERIALIZED (SELECT {', '.join(outputs)}, __line, {reason} AS __reason, {raw_cols}, "
        f"{raw_hash(len(headers))} AS __rh FROM x)",
    ]
    return f"""
        WITH {(',' + chr(10) + '        ').join(ctes)}
        SELECT * EXCLUDE (__line, {raw_cols}), {lit(source_file)} AS source_file, __line AS source_line,
               {file_index} AS __file_idx, CASE WHEN {'true' if raw_always else '__reason IS NOT NULL'} THEN CAST({raw_json} AS VARCHAR) END AS __raw
        FROM p"""
