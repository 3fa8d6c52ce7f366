"""Transit cards: cards, annual reviews and taps; cards.csv, annual_reviews.csv, taps (parquet + CSV)."""
from __future__ import annotations

from .. import vocab as V
from ..model import Frame
from .files import DeliveryFiles
from .sql import PID, YEAR, cdf_case, sql_list


def card_no(card: str) -> str:
    """SQL for the 卡号 of card key `card`."""
    return f"'3120' || lpad(CAST(1000000 + {card} * 13 + hash({card}, 'card') % 13 AS VARCHAR), 12, '0')"


def build_transit(con, fr: Frame, first_card: int) -> None:
    """Tables `cards`, `taps` and `reviews`: elderly cards for most 60+, ordinary cards for a few adults;
    valid until death (exclusive)."""
    a, ws = fr.as_of_day, fr.window_start
    con.execute(f"""CREATE TEMP TABLE ord_cards AS
      WITH q AS (
        SELECT person, name, birth, death, age, coalesce(death, {a}) AS vend,
               age >= 60 AND u(person, 40) < 0.8 AS elder,
               age >= 20 AND age < 60 AND u(person, 41) < 0.02 AS adult
        FROM ord WHERE age >= 20),
      r AS (
        SELECT *, CAST(CASE WHEN adult THEN {ws} - floor(u(person, 42) * 1500)
                       ELSE greatest(birth + {int(60 * YEAR)}, {ws - 1500}) + floor(u(person, 43) * 400) END AS INTEGER) AS issue
        FROM q WHERE elder OR adult)
      SELECT {first_card} + row_number() OVER (ORDER BY person) - 1 AS card, person, name,
             CASE WHEN adult THEN 2 WHEN (issue - birth) / {YEAR} >= 70 THEN 1 ELSE 0 END AS ctype,
             issue AS issue_day,
             CASE WHEN death IS NULL OR u(person, 44) < 0.6 THEN '正常' ELSE '注销' END AS status, -1 AS idform,
             greatest(issue, {ws}) AS vfrom, vend AS vto
      FROM r WHERE issue < least(vend, {a - 90})""")
    con.execute("CREATE TEMP TABLE cards AS SELECT * FROM pl_cards UNION ALL BY NAME SELECT * EXCLUDE (vfrom, vto) FROM ord_cards")
    # ~20 taps a year per elderly card (5 on ordinary cards), strictly before the day of death
    con.execute(f"""CREATE TEMP TABLE taps AS
      SELECT * FROM pl_taps UNION ALL BY NAME
      SELECT card, CAST((vfrom + floor(uu(card, k, 51) * (vto - vfrom))) * 86400 + 21600 + floor(uu(card, k, 52) * 54000) AS BIGINT) AS ts,
             CAST(floor(uu(card, k, 53) * {len(V.ROUTES)}) AS INTEGER) AS route,
             10000 + CAST(floor(uu(card, k, 54) * 89999) AS INTEGER) AS vehicle,
             CASE WHEN ctype = 2 THEN 200 WHEN ctype = 0 AND uu(card, k, 55) < 0.3 THEN 100 ELSE 0 END AS fare_cents
      FROM (SELECT card, ctype, vfrom, vto,
                   unnest(range(CAST(floor((CASE WHEN ctype = 2 THEN 5.0 ELSE 20.0 END) / 365 * greatest(vto - vfrom, 0) + u(card, 50)) AS BIGINT))) AS k
            FROM ord_cards)""")
    # annual reviews on the issue anniversary while the card is valid
    con.execute(f"""CREATE TEMP TABLE reviews AS
      SELECT * FROM pl_reviews UNION ALL BY NAME
      SELECT card, person, day, {cdf_case('uu(card, k, 61)', [0.6, 0.25, 0.15])} AS method,
             CAST(uu(card, k, 62) < 0.04 AS INTEGER) AS result, -1 AS idform
      FROM (SELECT card, person, k, CAST(issue_day + round(k * {YEAR}) AS INTEGER) AS day, vto
            FROM (SELECT *, unnest(range(1, 20)) AS k FROM ord_cards WHERE ctype < 2))
      WHERE day >= {ws} AND day < vto""")
    con.execute("DROP TABLE ord_cards")


def write_transit(files: DeliveryFiles, fr: Frame) -> None:
    files.emit("transit_card", "cards", "cards.csv", f"""
        SELECT {card_no('x.card')} AS 卡号, {sql_list(V.CARD_TYPES)}[x.ctype + 1] AS 卡类型,
               fid({PID}, x.idform, u(x.card, 150)) AS 持卡人身份证号, x.name AS 持卡人姓名, fdate(x.issue_day, u(x.card, 151)) AS 办卡日期,
               x.status AS 卡状态, CAST(x.card AS DOUBLE) AS __k, NOT q.planted AND q.death IS NULL AS __ok, {PID} AS __pid,
               CAST(NULL AS VARCHAR) AS __junk
        FROM cards x JOIN people q USING (person) JOIN ids p USING (person)""", "持卡人身份证号", 0)
    files.lap("write cards")
    files.emit("transit_card", "annual_reviews", "annual_reviews.csv", f"""
        SELECT {card_no('x.card')} AS 卡号, fid({PID}, x.idform, uu(x.card, x.day, 160)) AS 持卡人身份证号,
               fdate(x.day, uu(x.card, x.day, 161)) AS 年审日期, {sql_list(V.REVIEW_METHODS)}[x.method + 1] AS 年审方式,
               {sql_list(V.REVIEW_RESULTS)}[x.result + 1] AS 年审结果,
               x.day * 1e9 + x.card + x.result * 0.1 AS __k, false AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM reviews x JOIN ids p USING (person)""", None, 20)
    files.lap("write annual_reviews")
    # taps: older months as one parquet file per year (natural types), the last two months as CSV
    cut = f"datediff('day', DATE '1970-01-01', mdate({fr.as_of_month - 2})) * 86400"
    _write_tap_years(files, cut)
    files.lap("write taps parquet")
    files.emit("transit_card", "taps", "taps_recent.csv", f"""
        SELECT {card_no('card')} AS 卡号, fts(ts, uu(card, ts, 170)) AS 交易时间, {sql_list(V.ROUTES)}[route + 1] AS 线路编号,
               CAST(vehicle AS VARCHAR) AS 车辆编号, famount(fare_cents, uu(card, ts, 171)) AS 交易金额,
               ts * 1e7 + card AS __k, false AS __ok, '' AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM taps WHERE ts >= {cut}""", None, 50)
    files.lap("write taps csv")


def _write_tap_years(files: DeliveryFiles, cut: str) -> None:
    """taps_<year>.parquet for the taps before `cut`, each with its share of exact duplicates."""
    con, folder = files.con, files.out / "transit_card"
    n_tap_dups = con.execute(f"SELECT count(*) // 20000 + 1 FROM taps WHERE ts < {cut}").fetchall()[0][0]
    years = [r[0] for r in con.execute(f"SELECT DISTINCT year(ts(ts)) FROM taps WHERE ts < {cut} ORDER BY 1").fetchall()]
    for year in years:
        name = f"taps_{year}.parquet"
        sel = f"""SELECT {card_no('card')} AS 卡号, CAST(ts(ts) AS TIMESTAMP_S) AS 交易时间, {sql_list(V.ROUTES)}[route + 1] AS 线路编号,
                   CAST(vehicle AS VARCHAR) AS 车辆编号, fare_cents / 100.0 AS 交易金额
            FROM taps WHERE ts < {cut} AND year(ts(ts)) = {year}"""
        dups = max(1, n_tap_dups // len(years))
        con.execute(f"""COPY (SELECT * FROM ({sel}) UNION ALL SELECT * FROM (SELECT * FROM ({sel}) ORDER BY hash(卡号, 交易时间) LIMIT {dups}))
                        TO '{folder / name}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000000)""")
        n = con.execute(f"SELECT count(*) FROM read_parquet('{folder / name}')").fetchall()[0][0]
        files.ledger.files.append(("transit_card", "taps", f"transit_card/{name}", n, 0, dups))
