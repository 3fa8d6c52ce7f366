"""Writing the delivery's files with `COPY ... TO`, and the ledger of what went into them."""
from __future__ import annotations

import csv
from pathlib import Path

from ..deliver import Ledger


class DeliveryFiles:
    """The files of one delivery under `out`, written from the tables of `con` and accounted
    in `ledger` for `_truth/`; `lap(name)` times each step."""

    def __init__(self, con, out: Path, ledger: Ledger, lap):
        self.con = con
        self.out = out
        self.ledger = ledger
        self.lap = lap

    def emit(self, source: str, table: str, name: str, select: str, id_col: str | None, n_dups: int) -> None:
        """Write one CSV: the rows of `select` (with __k, a sort key, and __ok, rows that may be
        copied into junk rows), plus junk rows with invalid identity numbers in `id_col`
        and `n_dups` exact duplicates."""
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP TABLE f AS {select}")
        n = con.execute("SELECT count(*) FROM f").fetchall()[0][0]
        n_junk = 0 if id_col is None or n == 0 else max(2, min(n // 2000, 60))
        if n_junk:
            con.execute(f"""INSERT INTO f SELECT * EXCLUDE (__j) REPLACE (
                  CASE WHEN __j % 2 = 0 THEN substr(__pid, 1, 17)
                       ELSE substr(__pid, 1, 17) || CASE WHEN substr(__pid, 18, 1) = '0' THEN '1' ELSE '0' END END AS "{id_col}",
                  __k + 0.25 AS __k, CASE WHEN __j % 2 = 0 THEN 'invalid_id_length' ELSE 'invalid_id_check' END AS __junk)
                FROM (SELECT *, row_number() OVER (ORDER BY hash(__k, 'junk')) AS __j FROM f WHERE __ok
                      ORDER BY hash(__k, 'junk') LIMIT {n_junk})""")
        if n_dups:
            con.execute(f"""INSERT INTO f SELECT * REPLACE (__k + 0.5 AS __k, 'dup' AS __junk)
                FROM f WHERE __junk IS NULL ORDER BY hash(__k, 'dup') LIMIT {n_dups}""")
        path = self.out / source / name
        rel = f"{source}/{name}"
        if n_junk:
            for line, reason in con.execute(
                    "SELECT line, __junk FROM (SELECT __junk, row_number() OVER (ORDER BY __k) + 1 AS line FROM f) WHERE __junk LIKE 'invalid%'"
            ).fetchall():
                self.ledger.quarantine.append((source, table, rel, int(line), reason))
        con.execute(f"COPY (SELECT * EXCLUDE (__k, __ok, __pid, __junk) FROM f ORDER BY __k) TO '{path}' "
                    "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')")
        dups = con.execute("SELECT count(*) FILTER (WHERE __junk = 'dup') FROM f").fetchall()[0][0]
        self.ledger.files.append((source, table, rel, n + n_junk + dups, n_junk, dups))
        con.execute("DROP TABLE f")


def write_rows(path: Path, header: list[str], rows) -> None:
    """UTF-8 CSV with `header`, LF line ends (the `_truth/` tables)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
