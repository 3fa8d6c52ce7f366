"""Which delivered column feeds each canonical column, and how each is parsed: matched by
header (NFKC, trimmed, BOM-free, aliases allowed), and checked once per DISTINCT delivered
value or row by row."""
from __future__ import annotations

from crosscheck.catalog import TableSpec
from crosscheck.connectors.parse import name_values_sql
from crosscheck.connectors.readers import Staged, distinct_sql, normalize_header
from crosscheck.normalize import VALUE_FORMS, normalize_values


def match_headers(spec: TableSpec, headers: list[str]) -> tuple[dict[str, int | None], list[str], list[str]]:
    """canonical column -> delivered position; plus missing required and missing optional headers."""
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        seen.setdefault(normalize_header(h), i)
    positions: dict[str, int | None] = {}
    missing, absent = [], []
    for col in spec.columns:
        pos = next((seen[normalize_header(h)] for h in col.headers if normalize_header(h) in seen), None)
        positions[col.name] = pos
        if pos is None:
            (absent if col.nullable else missing).append(f"{col.header} ({col.name})")
    return positions, missing, absent


#: Column types normalised in Python once per DISTINCT delivered value (`value_maps`).
MAPPED_TYPES = ("name", *VALUE_FORMS)
#: Column types checked once per DISTINCT delivered value (readers collect them while staging).
LOOKUP_TYPES = ("identity", *MAPPED_TYPES)


#: A column is parsed once per DISTINCT value when a sample of its rows holds at most this
#: share of distinct values (dates, months, codes); else row by row (serial numbers, times).
LOOKUP_SHARE = 0.02
LOOKUP_SAMPLE = 20_000


def lookup_positions(con, spec: TableSpec, positions: dict[str, int | None], staged: Staged) -> dict[str, int]:
    """Canonical column -> delivered position, for the columns checked once per DISTINCT value:
    identity numbers and names always, other text columns when they repeat a lot."""
    out = {c.name: positions[c.name] for c in spec.columns if c.type in LOOKUP_TYPES and positions[c.name] is not None}
    candidates = {c.name: positions[c.name] for c in spec.columns
                  if c.name not in out and positions[c.name] is not None and staged.types[positions[c.name]] == "VARCHAR"}
    if candidates and staged.rows >= LOOKUP_SAMPLE:
        names = list(candidates)
        percent = min(100.0, 200.0 * LOOKUP_SAMPLE / staged.rows)  # about 2 x LOOKUP_SAMPLE rows, whole vectors
        sampled, *counts = con.execute(
            "SELECT count(*), " + ", ".join(f"approx_count_distinct(c{candidates[n]})" for n in names)
            + f" FROM {staged.name} USING SAMPLE {percent:.6f} PERCENT (system, 7)"
        ).fetchall()[0]
        out.update({n: candidates[n] for n, k in zip(names, counts) if sampled and k <= LOOKUP_SHARE * sampled})
    return out


def value_maps(con, spec: TableSpec, positions: dict[str, int | None], staged: Staged, null_markers: list[str]) -> dict[str, str]:
    """Register, per column of a type normalised in Python (names, text keys, phone numbers:
    `MAPPED_TYPES`), its DISTINCT delivered values -> cleaned and normalised form (raw, v, norm)."""
    maps: dict[str, str] = {}
    for col in spec.columns:
        pos = positions.get(col.name)
        if col.type not in MAPPED_TYPES or pos is None:
            continue
        values = con.sql(name_values_sql(distinct_sql(staged, pos), null_markers)).to_arrow_table()
        view = f"__cc_values_{col.name}"
        con.register(view, values.append_column("norm", normalize_values(col.type, values["v"])))
        maps[col.name] = view
    return maps
