"""Rows that stand in for a table a delivery lacks, where its connector declares `fallback:`.

`official_holidays` (calendar/workdays): the official holidays (是否工作日 否) and make-up
working days (是, 调休上班) of the `chinese-calendar` library, a well-kept list of the
国务院办公厅 notices that ships with the package (nothing is downloaded), for the years it
knows. A rule that reads a stand-in is `partial`, naming it, and `skipped` when the data it
reads reaches a year the stand-in does not know (crosscheck.rules.runner); a delivered table
always wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

#: chinese-calendar's holiday names, as the calendar's 备注 says them.
_HOLIDAY_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
               "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
               "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"}


@dataclass(frozen=True)
class Fallback:
    rows: pa.Table          # the table's canonical columns (provenance: the library, line = row number)
    first_year: int
    last_year: int
    reason: str             # what stands in, for the table's load and the rules' outcomes


@lru_cache(maxsize=1)
def official_holidays() -> Fallback:
    from importlib.metadata import version

    from chinese_calendar import constants

    label = f"chinese-calendar {version('chinese-calendar')}"
    days = [(d, "否", _HOLIDAY_ZH.get(str(n), str(n))) for d, n in constants.holidays.items()]
    days += [(d, "是", f"{_HOLIDAY_ZH.get(str(n), str(n))}调休上班") for d, n in constants.workdays.items()]
    days.sort()
    years = sorted({d.year for d, _, _ in days})
    rows = pa.table({
        "calendar_date": pa.array([d for d, _, _ in days], pa.date32()),
        "is_workday": pa.array([w for _, w, _ in days], pa.string()),
        "note": pa.array([n for _, _, n in days], pa.string()),
        "source_file": pa.array([label] * len(days), pa.string()),
        "source_line": pa.array(range(1, len(days) + 1), pa.int64()),
    })
    reason = (f"official holidays of {label} ({years[0]}-{years[-1]}) stand in for the calendar not delivered")
    return Fallback(rows, years[0], years[-1], reason)


#: Fallback name (a table's `fallback:` in the connector YAML) -> its rows.
FALLBACKS = {"official_holidays": official_holidays}


def stand_in(con, connector, table: str, why: str):
    """The table not delivered (`why`), created in the connection's current database with the
    rows of its connector's fallback; its load (crosscheck.results.TableLoad) says so."""
    from crosscheck.results import TableLoad

    spec = connector.tables[table]
    fallback = FALLBACKS[spec.fallback]()
    columns = ", ".join(f'"{c}" {t}' for c, t in spec.canonical_columns().items())
    con.execute(f'CREATE OR REPLACE TABLE "{table}" ({columns})')
    con.register("__cc_stand_in", fallback.rows)
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM __cc_stand_in')
    finally:
        con.unregister("__cc_stand_in")
    return TableLoad(connector.source, table, "loaded", f"{why}; {fallback.reason}", rows=fallback.rows.num_rows,
                     stand_in_years=[fallback.first_year, fallback.last_year])


def signature_of(catalog) -> str:
    """What a delivery's cache entry depends on besides its files and connector YAMLs: the
    stand-in rows' library, when a table of `catalog` may be stood in for ('' when none may)."""
    return signature() if any(t.fallback for t in catalog.tables.values()) else ""


def signature() -> str:
    """What the stand-in rows depend on besides the connector YAMLs (the library's version)."""
    from importlib.metadata import version

    return f"chinese-calendar {version('chinese-calendar')}"
