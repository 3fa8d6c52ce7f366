"""Hospitals: outpatient visits and inpatient stays, outpatient.csv and inpatient.csv."""
from __future__ import annotations

from .. import vocab as V
from ..model import Frame
from .files import DeliveryFiles
from .sql import PID, SEX_NAMES, cdf_case, sql_list


def build_hospital(con, fr: Frame) -> None:
    """Tables `outp`: visits before death (+ a sure visit in the last year for the 75+ alive), and `inp`:
    at most one stay ending 40+ days before death; 30% of deaths in the window happen in hospital."""
    a, ws = fr.as_of_day, fr.window_start
    hw = V.HOSPITAL_WEIGHTS
    con.execute(f"""CREATE TEMP TABLE outp AS
      SELECT * FROM pl_outp UNION ALL BY NAME
      SELECT person, name, {cdf_case('uu(person, k, 71)', hw)} AS hosp, day,
             CAST(floor(uu(person, k, 72) * {len(V.DEPARTMENTS)}) AS INTEGER) AS dept,
             1500 + CAST(floor(uu(person, k, 73) * 78500) AS BIGINT) AS cents,
             CAST(uu(person, k, 74) < 0.15 AS INTEGER) AS settle, -1 AS idform
      FROM (
        SELECT person, name, k, CAST({ws} + floor(uu(person, k, 70) * span) AS INTEGER) AS day
        FROM (SELECT person, name, span, unnest(range(CAST(floor(rate / 365 * span + u(person, 75)) AS BIGINT))) AS k
              FROM (SELECT person, name, greatest(coalesce(death, {a}) - {ws}, 0) AS span,
                           CASE WHEN age < 60 THEN 0.3 WHEN age < 75 THEN 1.5 ELSE 3.0 END AS rate FROM ord))
        UNION ALL
        SELECT person, name, -1 AS k, {a} - 30 - CAST(floor(u(person, 76) * 270) AS INTEGER) AS day
        FROM ord WHERE death IS NULL AND age >= 75)""")
    disp = sql_list(V.DISPOSITIONS_ALIVE)
    con.execute(f"""CREATE TEMP TABLE inp AS
      SELECT * FROM pl_inp UNION ALL BY NAME
      SELECT person, name, {cdf_case('u(person, 81)', hw)} AS hosp,
             admit * 86400 + 28800 + CAST(floor(u(person, 82) * 43200) AS BIGINT) AS admit_ts,
             (admit + los) * 86400 + 32400 + CAST(floor(u(person, 83) * 28800) AS BIGINT) AS disch_ts,
             {disp}[1 + {cdf_case('u(person, 84)', V.DISPOSITION_WEIGHTS)}] AS disp,
             CAST(floor(u(person, 85) * {len(V.DIAGNOSES)}) AS INTEGER) AS dx,
             300000 + CAST(floor(u(person, 86) * 5700000) AS BIGINT) AS cents, -1 AS idform
      FROM (SELECT person, name, CAST({ws} + floor(u(person, 87) * (span2 - 25)) AS BIGINT) AS admit,
                   1 + CAST(floor(u(person, 88) * 20) AS BIGINT) AS los
            FROM (SELECT person, name, age, coalesce(death - 40, {a - 1}) - {ws} AS span2 FROM ord) q
            WHERE span2 >= 90 AND u(person, 80) < (CASE WHEN age < 60 THEN 0.02 WHEN age < 75 THEN 0.08 ELSE 0.15 END) / 365 * span2)
      UNION ALL
      SELECT person, name, {cdf_case('u(person, 91)', hw)} AS hosp,
             (death - CAST(floor(u(person, 92) * 15) AS BIGINT)) * 86400 + 28800 AS admit_ts,
             CAST(death AS BIGINT) * 86400 + 28800 + CAST(floor(u(person, 93) * 50000) AS BIGINT) AS disch_ts,
             '{V.DEATH_DISPOSITION}' AS disp, CAST(floor(u(person, 94) * {len(V.DIAGNOSES)}) AS INTEGER) AS dx,
             300000 + CAST(floor(u(person, 95) * 5700000) AS BIGINT) AS cents, -1 AS idform
      FROM ord WHERE death IS NOT NULL AND death >= {ws + 30} AND u(person, 90) < 0.3""")


def write_hospital(files: DeliveryFiles) -> None:
    hosp_code, hosp_name = sql_list(h[0] for h in V.HOSPITALS), sql_list(h[1] for h in V.HOSPITALS)
    files.emit("hospital", "inpatient", "inpatient.csv", f"""
        SELECT 'ZY' || lpad(CAST(row_number() OVER (ORDER BY x.disch_ts, x.person) AS VARCHAR), 10, '0') AS 病案号,
               {hosp_code}[x.hosp + 1] AS 医疗机构代码, {hosp_name}[x.hosp + 1] AS 医疗机构名称,
               fid({PID}, x.idform, u(x.admit_ts, 130)) AS 公民身份号码, x.name AS 姓名, {SEX_NAMES}[q.sex + 1] AS 性别,
               fdate(q.birth, u(x.admit_ts, 131)) AS 出生日期, fts(x.admit_ts, u(x.admit_ts, 132)) AS 入院日期,
               fts(x.disch_ts, u(x.admit_ts, 133)) AS 出院日期, x.disp AS 离院方式, {sql_list(V.DIAGNOSES)}[x.dx + 1] AS 主要诊断编码,
               famount(x.cents, u(x.admit_ts, 134)) AS 医保结算金额,
               CAST(row_number() OVER (ORDER BY x.disch_ts, x.person) AS DOUBLE) AS __k,
               NOT q.planted AND q.death IS NULL AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM inp x JOIN people q USING (person) JOIN ids p USING (person)""", "公民身份号码", 0)
    files.lap("write inpatient")
    files.emit("hospital", "outpatient", "outpatient.csv", f"""
        SELECT 'MZ' || lpad(CAST(row_number() OVER (ORDER BY x.day, x.person, x.hosp, x.cents) AS VARCHAR), 12, '0') AS 就诊流水号,
               {hosp_name}[x.hosp + 1] AS 医疗机构名称, fid({PID}, x.idform, uu(x.person, x.day, 140)) AS 公民身份号码, x.name AS 姓名,
               fdate(x.day, uu(x.person, x.day, 141)) AS 就诊日期, {sql_list(V.DEPARTMENTS)}[x.dept + 1] AS 科室,
               famount(x.cents, uu(x.person, x.day, 142)) AS 结算金额, ['医保', '自费'][x.settle + 1] AS 结算类型,
               CAST(row_number() OVER (ORDER BY x.day, x.person, x.hosp, x.cents) AS DOUBLE) AS __k,
               NOT q.planted AND q.death IS NULL AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM outp x JOIN people q USING (person) JOIN ids p USING (person)""", "公民身份号码", 200)
    files.lap("write outpatient")
