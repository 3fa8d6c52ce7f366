"""Rows of a keyed table that share its key but differ: a conflict, quarantined.

A table's `key:` (connectors/<source>.yaml) names the columns that identify a row. Rows equal
in every column are one row (exact copies are dropped before, crosscheck.connectors.load);
rows that share the key but differ in any column are a conflict: every one of them goes to
quarantine ("conflicting rows for 办件编号 'BJ…': 2 rows differ"), with its delivered values,
and the key is absent from the table. A row quarantined for its own fault (a bad date, a bad
code) was removed before and takes no part in a conflict.
"""
from __future__ import annotations

from crosscheck.catalog import TableSpec
from crosscheck.connectors.parse import lit
from crosscheck.results import CONFLICTING_ROWS


def quarantine_conflicts(con, connector, table, spec: TableSpec, kept_apart: list[str], in_segment: bool) -> dict[int, int]:
    """Rows sharing the table's key but differing in another column (exact copies are gone by
    now): every one of them to quarantine, the key absent from the table. Rows per file."""
    keys = ", ".join(f'"{k}"' for k in spec.key)
    shown = " || '|' || ".join(f'CAST(t."{k}" AS VARCHAR)' for k in spec.key)
    present = " AND ".join(f'"{k}" IS NOT NULL' for k in spec.key)
    found = f"__cc_conflicts_{table}"
    reason = f"{lit(CONFLICTING_ROWS + spec.key_headers() + ' ')} || chr(39) || {shown} || chr(39) || ': ' || c.n || ' rows differ'"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {found} AS SELECT t.rowid AS __rid, t.__file_idx, {reason} AS reason "
        f'FROM "{table}" t JOIN (SELECT {keys}, count(*) AS n FROM "{table}" WHERE {present} '
        f"GROUP BY {keys} HAVING count(*) > 1) c USING ({keys})")
    counts = dict(con.execute(f"SELECT __file_idx, count(*) FROM {found} GROUP BY 1").fetchall())
    if counts:
        con.execute(
            f"INSERT INTO quarantine SELECT {lit(connector.source)}, {lit(table)}, t.source_file, t.source_line, f.reason, "
            f't.__raw FROM "{table}" t JOIN {found} f ON f.__rid = t.rowid ORDER BY t.__file_idx, t.source_line')
        if in_segment:  # still rows of their files' parts (they may not conflict in another delivery)
            con.execute(f'CREATE TABLE conflicts AS SELECT * EXCLUDE ({", ".join(kept_apart)}) FROM "{table}" '
                        f"WHERE rowid IN (SELECT __rid FROM {found})")
        con.execute(f'DELETE FROM "{table}" WHERE rowid IN (SELECT __rid FROM {found})')
    con.execute(f"DROP TABLE IF EXISTS {found}")
    return counts
