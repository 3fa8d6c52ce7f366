"""Social security: pensioners and their monthly payments, pensioners.csv and pension_payments.csv."""
from __future__ import annotations

from .. import vocab as V
from ..model import Frame
from .files import DeliveryFiles
from .sql import DISTRICT_NAMES, PID, SEX_NAMES, cdf_case, sql_list

#: 个人编号 of pension `x.pen`
PERSON_NO = "'42' || lpad(CAST(20000000 + x.pen * 7 AS VARCHAR), 8, '0')"


def build_pensions(con, fr: Frame, first_pen: int) -> None:
    """Tables `pens` and `pays`: one scheme each, paid monthly up to the month of death (or the month before)."""
    fpm, lpm = fr.first_pay_month, fr.last_pay_month
    lo = "[" + ", ".join(str(r[0] * 100) for r in V.SCHEME_AMOUNT_YUAN) + "]"
    hi = "[" + ", ".join(str(r[1] * 100) for r in V.SCHEME_AMOUNT_YUAN) + "]"
    con.execute(f"""CREATE TEMP TABLE ord_pens AS
      WITH q AS (
        SELECT person, name, birth, death, age, sex, mofd(birth) + (CASE WHEN sex = 0 AND u(person, 30) < 0.5 THEN 55 ELSE 60 END) * 12 + 1 AS start_month,
               CASE WHEN sex = 0 AND u(person, 30) < 0.5 THEN 55 ELSE 60 END AS retire
        FROM ord WHERE age >= 55),
      r AS (
        SELECT *, {cdf_case('u(person, 31)', V.SCHEME_WEIGHTS)} AS scheme FROM q
        WHERE age >= retire AND u(person, 32) < 0.85 AND start_month <= {lpm}
          AND (death IS NULL OR mofd(death) >= start_month))
      SELECT {first_pen} + row_number() OVER (ORDER BY person) - 1 AS pen, person, name, scheme, CAST(start_month AS INTEGER) AS start_month,
             CASE WHEN death IS NOT NULL THEN '终止发放' WHEN u(person, 33) < 0.03 THEN '暂停发放' ELSE '正常发放' END AS status,
             -1 AS idform,
             CAST({lo}[scheme + 1] + floor(u(person, 34) * ({hi}[scheme + 1] - {lo}[scheme + 1])) AS BIGINT) // 10 * 10 AS base,
             CASE WHEN death IS NOT NULL THEN mofd(death) - CAST(u(person, 35) < 0.4 AS INTEGER)
                  WHEN u(person, 33) < 0.03 THEN {fpm} + CAST(floor(u(person, 36) * {lpm - fpm + 1}) AS INTEGER)
                  ELSE {lpm} END AS last_month
      FROM r""")
    con.execute("CREATE TEMP TABLE pens AS SELECT * FROM pl_pens UNION ALL BY NAME SELECT * EXCLUDE (base, last_month) FROM ord_pens")
    con.execute(f"""CREATE TEMP TABLE pays AS
      SELECT * FROM pl_pays UNION ALL BY NAME
      SELECT pen, person, name, scheme, CAST(month AS INTEGER) AS month,
             CAST(round(base * pow(1.03, month // 12 - {fpm // 12})) AS BIGINT) AS cents,
             CAST(datediff('day', DATE '1970-01-01', mdate(month)) + [9, 11, 14][scheme + 1] AS INTEGER) AS pay_day, -1 AS idform
      FROM (SELECT *, unnest(range(greatest(start_month, {fpm}), last_month + 1)) AS month FROM ord_pens)""")
    con.execute("DROP TABLE ord_pens")


def write_pensions(files: DeliveryFiles) -> None:
    streets = "[" + ", ".join(sql_list(d[2]) for d in V.DISTRICTS) + "]"
    schemes = sql_list(V.SCHEMES)
    files.emit("social_security", "pensioners", "pensioners.csv", f"""
        SELECT {PERSON_NO} AS 个人编号, fid({PID}, x.idform, u(x.pen, 100)) AS 公民身份号码,
               CASE WHEN NOT q.planted AND u(x.pen, 101) < 0.01 AND length(x.name) = 3 THEN substr(x.name, 1, 1) || ' ' || substr(x.name, 2) ELSE x.name END AS 姓名,
               {SEX_NAMES}[q.sex + 1] AS 性别, fdate(q.birth, u(x.pen, 102)) AS 出生日期, {schemes}[x.scheme + 1] AS 险种类型,
               fmonth(x.start_month, u(x.pen, 103)) AS 待遇享受开始年月, x.status AS 待遇状态,
               {DISTRICT_NAMES}[q.area + 1] AS 所属区县, CASE WHEN u(x.pen, 104) < 0.03 THEN NULL ELSE {streets}[q.area + 1][q.street + 1] END AS 街道乡镇,
               CAST(x.pen AS DOUBLE) AS __k, NOT q.planted AND q.death IS NULL AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM pens x JOIN people q USING (person) JOIN ids p USING (person)""", "公民身份号码", 3)
    files.lap("write pensioners")
    files.emit("social_security", "pension_payments", "pension_payments.csv", f"""
        SELECT {PERSON_NO} AS 个人编号,
               fid({PID}, x.idform, uu(x.pen, x.month, 110)) AS 公民身份号码, x.name AS 姓名, {schemes}[x.scheme + 1] AS 险种类型,
               fmonth(x.month, uu(x.pen, x.month, 111)) AS 发放年月, famount(x.cents, uu(x.pen, x.month, 112)) AS 发放金额,
               fdate(x.pay_day, uu(x.pen, x.month, 113)) AS 发放日期,
               x.month * 1e9 + x.pen AS __k, false AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM pays x JOIN ids p USING (person)""", None, 500)
    files.lap("write pension_payments")
