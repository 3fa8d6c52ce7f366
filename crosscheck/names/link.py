"""`crosscheck link-names`: link each record of a CSV to the registry (docs/names.md).

The files are read and checked by `crosscheck.names.files`, the linking is the linker's one
SELECT (`crosscheck.names.sql`) in DuckDB, with at most `MEMORY_LIMIT` of memory (it spills
to a temporary folder beyond).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from crosscheck.engines import characters
from crosscheck.names.files import RECORD_HEADERS, REGISTRY_HEADERS, BadRows, bad_rows, prepare, stage, write_links
from crosscheck.names.sql import AMBIGUOUS, LINKED, NEIGHBOURING, UNIDENTIFIED, LinkQuery, Side, link_sql

MEMORY_LIMIT = "3GB"
#: 方式 of a record that is not linked.
NOT_LINKED = {AMBIGUOUS: "待人工核实", UNIDENTIFIED: "未识别"}
BAD_RECORD = "无效记录"


@dataclass
class LinkSummary:
    records: int
    linked: int
    ambiguous: int
    unidentified: int
    bad: list[BadRows]

    def lines(self) -> list[str]:
        out = [f"{self.records} records: {self.linked} linked, {self.ambiguous} ambiguous (待人工核实), "
               f"{self.unidentified} not identified"]
        for b in self.bad:
            out += b.lines()
        return out


def connect(workdir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(workdir / "spill"),
                                 "preserve_insertion_order": False})
    characters.register(con)
    return con


def way_sql(prefix: str = "link") -> str:
    """方式 of a linked record: ``一致``, ``同音 健→建``, ``缺字``, ``邻村 东湾村 一致``."""
    m, f, t, v = (f"{prefix}_{c}" for c in ("match", "from", "to", "village"))
    return (f"CASE WHEN {v} IS NOT NULL THEN '{NEIGHBOURING} ' || {v} || ' ' ELSE '' END || {m} "
            f"|| CASE WHEN {f} IS NOT NULL THEN ' ' || {f} || '→' || {t} ELSE '' END")


def link_query(neighbouring: bool, lookalikes: str | None = None) -> str:
    """The linker over the prepared tables `registry_rows` and `records_rows` (`lookalikes`: a
    look-alike table replacing the four corners, "天夭 军车 ...")."""
    records = Side("(SELECT * FROM records_rows WHERE bad = '')", "r.rid", "r.name", "r.town", "r.vill", "r.sex", "r.yr")
    registry = Side("(SELECT * FROM registry_rows WHERE bad = '')", "p.pid", "p.name", "p.town", "p.vill", "p.sex", "p.yr")
    table = None if lookalikes is None else "'" + lookalikes.replace("'", "''") + "'"
    return link_sql(LinkQuery(records, registry, neighbouring=neighbouring, lookalikes=table))


def link_files(registry: Path, records: Path, out: Path, *, neighbouring: bool = False, lookalikes: str | None = None) -> LinkSummary:
    """Link `records` to `registry`, write `out`; LinkInputError for a file that cannot be used."""
    with tempfile.TemporaryDirectory(prefix="crosscheck-names-") as tmp:
        con = connect(Path(tmp))
        try:
            prepare(con, "registry", *stage(con, registry, "registry", REGISTRY_HEADERS, Path(tmp)), registry=True)
            prepare(con, "records", *stage(con, records, "records", RECORD_HEADERS, Path(tmp)), registry=False)
            con.execute(f"CREATE TEMP TABLE links AS {link_query(neighbouring, lookalikes)}")
            query = (f"SELECT rid, link_person_id, CASE WHEN link_status = '{LINKED}' THEN {way_sql()} "
                     f"ELSE CASE link_status {' '.join(f'WHEN {k!r} THEN {v!r}' for k, v in NOT_LINKED.items())} END END, "
                     "array_to_string(link_candidates, ';'), line FROM links "
                     f"UNION ALL SELECT rid, NULL, '{BAD_RECORD}：' || bad, NULL, line FROM records_rows WHERE bad <> '' ORDER BY 5")
            write_links(con, f"SELECT * EXCLUDE (line) FROM ({query})", out)
            counts = dict(con.execute("SELECT link_status, count(*) FROM links GROUP BY ALL").fetchall())
            bad = [bad_rows(con, "registry", str(registry)), bad_rows(con, "records", str(records))]
        finally:
            con.close()
    return LinkSummary(records=sum(counts.values()) + bad[1].count, linked=counts.get(LINKED, 0),
                       ambiguous=counts.get(AMBIGUOUS, 0), unidentified=counts.get(UNIDENTIFIED, 0), bad=bad)
