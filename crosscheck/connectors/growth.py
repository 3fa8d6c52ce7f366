"""Growing a table by its new files: the rows of the new files that copy rows of the kept
state are dropped (crosscheck.cache.tables keeps the states), and a snapshot delivered again
takes its unchanged lines' parsed rows from the version delivered before."""
from __future__ import annotations

from crosscheck.cache.layout import sql_literal
from crosscheck.cache.tables import HASH, State

class EarlierCopies(Exception):
    """A new file holds copies of rows of a kept file it comes before."""


def drop_copies_of(con, table: str, keys: list[str], base: State, dups: str, base_first: bool) -> None:
    """Add to `dups` the rows that copy a row of the kept state `base` (its files come first;
    else EarlierCopies when there is a copy). Only the hash column of the state is read,
    unless hashes collide. `dups` holds (__rid, __file_idx) of the rows to drop."""
    h = HASH
    shared = f"__cc_shared_{table}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {shared} AS SELECT DISTINCT {h} FROM ({base.rows_sql(con, table, h)}) "
                f'WHERE {h} IN (SELECT {h} FROM "{table}")')
    if con.execute(f"SELECT count(*) FROM {shared}").fetchall()[0][0]:
        if not base_first:
            con.execute(f"DROP TABLE IF EXISTS {shared}")
            raise EarlierCopies(table)
        same = " AND ".join(f'b."{c}" IS NOT DISTINCT FROM t."{c}"' for c in keys)
        con.execute(
            f"INSERT INTO {dups} SELECT t.rowid, t.__file_idx FROM \"{table}\" t "
            f"WHERE t.{h} IN (SELECT {h} FROM {shared}) AND t.rowid NOT IN (SELECT __rid FROM {dups}) "
            f"AND EXISTS (SELECT 1 FROM ({base.rows_sql(con, table)}) b WHERE b.{h} = t.{h} AND {same})")
    con.execute(f"DROP TABLE IF EXISTS {shared}")


def take_unchanged(con, table: str, staged, earlier, index: int, rel: str, rest: str):
    """Insert, for each staged line whose delivered values equal a line of the version
    delivered before (its part, crosscheck.cache.parts), that line's parsed row (at the
    new line number); the staging of the other lines (`rest`), to be parsed. A line that stood
    twice in the version before, or was quarantined, is parsed."""
    from crosscheck.connectors.parse import raw_hash
    from crosscheck.connectors.readers import Staged

    old = f"({earlier.rows_sql(con, table)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE __cc_rh AS SELECT __line, {raw_hash(len(staged.headers))} AS __rh "
                f"FROM {staged.name}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __cc_rh_twice AS SELECT __rh FROM {old} GROUP BY __rh HAVING count(*) > 1")
    con.execute(
        f'INSERT INTO "{table}" BY NAME SELECT o.* EXCLUDE (source_line), n.__line AS source_line, {index} AS __file_idx, '
        f"{sql_literal(rel)} AS source_file FROM __cc_rh n JOIN {old} AS o ON o.__rh = n.__rh "
        f"WHERE n.__rh NOT IN (SELECT __rh FROM __cc_rh_twice)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rest} AS SELECT * FROM {staged.name} "
                f'WHERE __line NOT IN (SELECT source_line FROM "{table}" WHERE __file_idx = {index})')
    for temp in ("__cc_rh", "__cc_rh_twice"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    count = con.execute(f"SELECT count(*) FROM {rest}").fetchall()[0][0]
    return Staged(rest, staged.headers, count, staged.rejects, staged.types)
