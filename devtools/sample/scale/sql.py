"""SQL shared by the scale generator: literals, the random and formatting macros, the planted tables."""
from __future__ import annotations

import numpy as np

from .. import vocab as V
from ..ids import WEIGHTS as ID_WEIGHTS, CHECK_CHARS
from ..timeutil import NONE

YEAR = 365.2425
#: Column of the identity number, from `JOIN ids p USING (person)`.
PID = "p.pid"
SEX_NAMES = "['女', '男']"


def sql_list(values) -> str:
    """A DuckDB list literal of `values` as strings."""
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


DISTRICT_NAMES = sql_list(d[1] for d in V.DISTRICTS)


def cdf_case(u: str, weights) -> str:
    """SQL CASE turning uniform `u` into an index drawn with `weights` (0-based)."""
    w = np.asarray(weights, dtype=float)
    c = np.cumsum(w / w.sum())
    parts = " ".join(f"WHEN {u} < {float(c[i])!r} THEN {i}" for i in range(len(c) - 1))
    return f"(CASE {parts} ELSE {len(c) - 1} END)"


def define_macros(con, seed: int) -> None:
    """Temp macros: seeded uniforms, day and month arithmetic, delivered date/amount/identity forms."""
    digits = " + ".join(f"(ascii(substr(b, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(ID_WEIGHTS.tolist()))
    for macro in [
        # uniform [0, 1) from (row key, stream)
        f"CREATE OR REPLACE TEMP MACRO u(i, k) AS (hash(i, k, {seed}) >> 11) / 9007199254740992.0",
        f"CREATE OR REPLACE TEMP MACRO uu(i, j, k) AS (hash(i, j, k, {seed}) >> 11) / 9007199254740992.0",
        f"CREATE OR REPLACE TEMP MACRO id_check(b) AS substr('{CHECK_CHARS}', (({digits}) % 11) + 1, 1)",
        "CREATE OR REPLACE TEMP MACRO d(x) AS DATE '1970-01-01' + CAST(x AS INTEGER)",
        "CREATE OR REPLACE TEMP MACRO ts(x) AS make_timestamp(CAST(x AS BIGINT) * 1000000)",
        "CREATE OR REPLACE TEMP MACRO mdate(m) AS make_date(CAST(m // 12 AS BIGINT), CAST(m % 12 + 1 AS BIGINT), 1)",
        "CREATE OR REPLACE TEMP MACRO mofd(x) AS year(d(x)) * 12 + month(d(x)) - 1",
        # delivered forms
        "CREATE OR REPLACE TEMP MACRO fdate(x, r) AS CASE WHEN x IS NULL THEN NULL WHEN r < 0.2 THEN strftime(d(x), '%Y%m%d') "
        "WHEN r < 0.9 THEN strftime(d(x), '%Y-%m-%d') ELSE strftime(d(x), '%Y/%m/%d') END",
        "CREATE OR REPLACE TEMP MACRO fts(x, r) AS CASE WHEN x IS NULL THEN NULL WHEN r < 0.85 THEN strftime(ts(x), '%Y-%m-%d %H:%M:%S') "
        "ELSE strftime(ts(x), '%Y-%m-%d %H:%M') END",
        "CREATE OR REPLACE TEMP MACRO fmonth(m, r) AS CASE WHEN r < 0.5 THEN strftime(mdate(m), '%Y%m') ELSE strftime(mdate(m), '%Y-%m') END",
        "CREATE OR REPLACE TEMP MACRO famount(c, r) AS CASE WHEN r < 0.7 THEN printf('%.2f', c / 100.0) "
        "WHEN r < 0.9 THEN CAST(c / 100.0 AS VARCHAR) ELSE format('{:,.2f}', c / 100.0) END",
        # identity number forms: 0 canonical, 1 lower x, 2 spaces, 3 full width, 4 legacy 15 digits
        "CREATE OR REPLACE TEMP MACRO fid(pid, form, r) AS CASE coalesce(CASE WHEN form >= 0 THEN form END, "
        "CASE WHEN r < 0.9 THEN 0 WHEN r < 0.92 THEN 1 WHEN r < 0.95 THEN 2 WHEN r < 0.96 THEN 3 ELSE 4 END) "
        "WHEN 1 THEN lower(pid) WHEN 2 THEN ' ' || pid || '  ' "
        "WHEN 3 THEN translate(pid, '0123456789X', '０１２３４５６７８９Ｘ') "
        "WHEN 4 THEN CASE WHEN substr(pid, 7, 2) = '19' THEN substr(pid, 1, 6) || substr(pid, 9, 9) ELSE pid END "
        "ELSE pid END",
    ]:
        con.execute(macro)


def register_planted(con, frames: dict) -> None:
    """Register the planter's frames as DuckDB tables pl_* (NONE sentinels -> NULL)."""
    for name, df in frames.items():
        con.register(f"__pl_{name}", df)
    nn = lambda c: f"NULLIF({c}, {NONE})"  # noqa: E731
    con.execute(f"""CREATE TEMP TABLE pl_people AS SELECT CAST(person AS BIGINT) person, name, CAST(sex AS INTEGER) sex,
        CAST(birth AS INTEGER) birth, CAST(eth AS INTEGER) eth, CAST(area AS INTEGER) area, CAST(street AS INTEGER) street,
        CAST(hh AS BIGINT) hh, rel, addr, status, CAST({nn('cancel_day')} AS INTEGER) cancel_day, NULLIF(cancel_reason, '') cancel_reason,
        CAST({nn('death_col')} AS INTEGER) death_col, CAST({nn('death')} AS INTEGER) death, true AS planted FROM __pl_people""")
    con.execute("""CREATE TEMP TABLE pl_pens AS SELECT CAST(pen AS BIGINT) pen, CAST(person AS BIGINT) person, name,
        CAST(scheme AS INTEGER) scheme, CAST(start_month AS INTEGER) start_month, status, CAST(idform AS INTEGER) idform FROM __pl_pensioners""")
    con.execute("""CREATE TEMP TABLE pl_pays AS SELECT CAST(pen AS BIGINT) pen, CAST(person AS BIGINT) person, name,
        CAST(scheme AS INTEGER) scheme, CAST(month AS INTEGER) AS month, CAST(cents AS BIGINT) cents, CAST(pay_day AS INTEGER) pay_day,
        CAST(idform AS INTEGER) idform FROM __pl_payments""")
    con.execute("""CREATE TEMP TABLE pl_cards AS SELECT CAST(card AS BIGINT) card, CAST(person AS BIGINT) person, name,
        CAST(ctype AS INTEGER) ctype, CAST(issue_day AS INTEGER) issue_day, status, CAST(idform AS INTEGER) idform FROM __pl_cards""")
    con.execute("""CREATE TEMP TABLE pl_reviews AS SELECT CAST(card AS BIGINT) card, CAST(person AS BIGINT) person,
        CAST(day AS INTEGER) AS day, CAST(method AS INTEGER) method, CAST(result AS INTEGER) result, CAST(idform AS INTEGER) idform FROM __pl_reviews""")
    con.execute("""CREATE TEMP TABLE pl_taps AS SELECT CAST(card AS BIGINT) card, CAST(ts AS BIGINT) ts, CAST(route AS INTEGER) route,
        CAST(vehicle AS INTEGER) vehicle, CAST(fare_cents AS INTEGER) fare_cents FROM __pl_taps""")
    con.execute("""CREATE TEMP TABLE pl_inp AS SELECT CAST(person AS BIGINT) person, name, CAST(hosp AS INTEGER) hosp,
        CAST(admit_ts AS BIGINT) admit_ts, CAST(disch_ts AS BIGINT) disch_ts, disp, CAST(dx AS INTEGER) dx, CAST(cents AS BIGINT) cents,
        CAST(idform AS INTEGER) idform FROM __pl_inpatient""")
    con.execute("""CREATE TEMP TABLE pl_outp AS SELECT CAST(person AS BIGINT) person, name, CAST(hosp AS INTEGER) hosp,
        CAST(day AS INTEGER) AS day, CAST(dept AS INTEGER) dept, CAST(cents AS BIGINT) cents, CAST(settle AS INTEGER) settle,
        CAST(idform AS INTEGER) idform FROM __pl_outpatient""")
    for name in frames:
        con.unregister(f"__pl_{name}")
