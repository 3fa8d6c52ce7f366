"""The population and the household registry: residents, their identity numbers, residents.csv."""
from __future__ import annotations

from .. import vocab as V
from ..model import Frame
from .files import DeliveryFiles
from .sql import DISTRICT_NAMES, PID, SEX_NAMES, YEAR, cdf_case, sql_list


def people_sql(fr: Frame, first: int, n_total: int) -> str:
    """The ordinary residents `first` .. `n_total - 1` (with their age, dropped from `people`)."""
    a = fr.as_of_day
    age_u = "u(i, 1) * 78.9"
    age = (f"LEAST(97, CAST(CASE WHEN x < 70 THEN floor(x) WHEN x < 76 THEN 70 + floor((x - 70) / 0.6) "
           f"WHEN x < 78.5 THEN 80 + floor((x - 76) / 0.25) ELSE 90 + floor((x - 78.5) / 0.05) END AS INTEGER))")
    streets = "[" + ", ".join(str(len(d[2])) for d in V.DISTRICTS) + "]"
    roads = sql_list(V.ROADS)
    sur, gm, gf = sql_list(V.SURNAMES), sql_list(V.GIVEN_MALE), sql_list(V.GIVEN_FEMALE)
    mg, mf, lat = sql_list(V.MINORITY_GIVEN), sql_list(V.MINORITY_FATHER), sql_list(V.LATIN_NAMES)
    rel = sql_list(V.RELATIONS_OTHER)
    pdead = "CASE WHEN age < 60 THEN 0.004 WHEN age < 70 THEN 0.03 WHEN age < 80 THEN 0.07 WHEN age < 90 THEN 0.16 ELSE 0.35 END"
    ws, la = fr.window_start, fr.last_activity_day

    def pick(lst: str, n: int, k: int) -> str:
        return f"{lst}[1 + CAST(floor(u(i, {k}) * {n}) AS INTEGER)]"

    return f"""
    WITH b AS (
      SELECT i, {age_u} AS x, CAST(u(i, 3) < 0.5 AS INTEGER) AS sex,
             {cdf_case('u(i, 4)', V.DISTRICT_WEIGHTS)} AS area,
             {cdf_case('u(i, 5)', V.ETHNICITY_WEIGHTS)} AS eth
      FROM range({first}, {n_total}) r(i)),
    c AS (
      SELECT *, {age} AS age FROM b),
    e AS (
      SELECT *, CAST({a} - age * {YEAR} - 1 - floor(u(i, 2) * 364) AS INTEGER) AS birth,
             u(i, 20) < {pdead} AS dead0,
             CAST({ws - 1000} + floor(u(i, 21) * {la + 1 - (ws - 1000)}) AS INTEGER) AS dday,
             {cdf_case('u(i, 22)', [0.7, 0.2, 0.05, 0.05])} AS how,
             1 + CAST(floor(u(i, 23) * 40) AS INTEGER) AS lag
      FROM c),
    f AS (
      SELECT *, dead0 AND dday > birth + 400 AS dead,
             CASE WHEN how = 0 AND dday + lag > {la} THEN 3 ELSE how END AS how2
      FROM e)
    SELECT CAST(i AS BIGINT) AS person,
      CASE WHEN eth = {V.UYGHUR} THEN {pick(mg, len(V.MINORITY_GIVEN), 6)} || '{V.MIDDLE_DOT}' || {pick(mf, len(V.MINORITY_FATHER), 7)}
           WHEN eth = {V.OTHER_ETHNICITY} THEN {pick(lat, len(V.LATIN_NAMES), 6)}
           ELSE {pick(sur, len(V.SURNAMES), 6)}
             || CASE WHEN sex = 1 THEN {pick(gm, len(V.GIVEN_MALE), 7)} ELSE {pick(gf, len(V.GIVEN_FEMALE), 7)} END
             || CASE WHEN u(i, 8) < 0.7 THEN CASE WHEN sex = 1 THEN {pick(gm, len(V.GIVEN_MALE), 9)} ELSE {pick(gf, len(V.GIVEN_FEMALE), 9)} END ELSE '' END
      END AS name,
      sex, birth, eth, area,
      CAST(floor(u(i, 10) * 100) AS INTEGER) % {streets}[area + 1] AS street,
      CAST(i // 3 AS BIGINT) AS hh,
      CASE WHEN i % 3 = 0 THEN '户主' ELSE {pick(rel, len(V.RELATIONS_OTHER), 11)} END AS rel,
      {DISTRICT_NAMES}[area + 1] || {pick(roads, len(V.ROADS), 12)} || CAST(1 + (i // 3) % 397 AS VARCHAR) || '号'
        || CASE WHEN (i // 3) % 50 = 7 THEN ', 附' || CAST((i // 3) % 29 + 1 AS VARCHAR) || '室' ELSE '' END AS addr,
      CASE WHEN dead THEN '死亡' WHEN age < 60 AND u(i, 24) < 0.01 THEN '迁出'
           WHEN age < 60 AND u(i, 24) < 0.013 THEN '其他注销' ELSE '正常' END AS status,
      CASE WHEN dead AND how2 = 0 THEN dday + lag WHEN dead AND how2 IN (1, 2) THEN dday
           WHEN NOT dead AND age < 60 AND u(i, 24) < 0.013 THEN CAST({ws - 1000} + floor(u(i, 25) * {la + 1 - (ws - 1000)}) AS INTEGER)
      END AS cancel_day,
      CASE WHEN dead AND how2 IN (0, 1) THEN '死亡' WHEN dead THEN NULL
           WHEN age < 60 AND u(i, 24) < 0.01 THEN '迁出'
           WHEN age < 60 AND u(i, 24) < 0.013 THEN ['出国', '服兵役', '其他'][1 + CAST(floor(u(i, 26) * 3) AS INTEGER)] END AS cancel_reason,
      CASE WHEN dead AND how2 IN (0, 3) THEN dday END AS death_col,
      CASE WHEN dead THEN dday END AS death,
      false AS planted, age
    FROM f"""


def ids_sql() -> str:
    """Identity numbers: district, birth date, a sequence per (district, birth, sex), check character."""
    codes = "[" + ", ".join(d[0] for d in V.DISTRICTS) + "]"
    return f"""
    WITH k AS (
      SELECT person, area, sex, {codes}[area + 1] AS acode, CAST(strftime(d(birth), '%Y%m%d') AS BIGINT) AS ymd,
             row_number() OVER (PARTITION BY area, birth, sex ORDER BY person) - 1 AS rk
      FROM people),
    s AS (
      SELECT person, lpad(CAST(acode * 100000000000 + ymd * 1000
             + 2 * (rk + (acode * 37 + ymd * 11) % 200) + CASE WHEN sex = 1 THEN 1 ELSE 2 END AS VARCHAR), 17, '0') AS body, rk
      FROM k)
    SELECT person, body || id_check(body) AS pid, rk FROM s"""


def build_people(con, fr: Frame, people: int, first_person: int) -> None:
    """Tables `ord` (ordinary residents, with age; dropped once every source is built),
    `people` (planted and ordinary) and `ids` (their identity numbers)."""
    con.execute(f"CREATE TEMP TABLE ord AS {people_sql(fr, first_person, people)}")
    con.execute("CREATE TEMP TABLE people AS SELECT * FROM pl_people UNION ALL BY NAME SELECT * EXCLUDE (age) FROM ord")
    con.execute(f"CREATE TEMP TABLE ids AS {ids_sql()}")
    bad = con.execute("SELECT max(rk) FROM ids").fetchall()[0][0]
    assert bad < 300, "too many people born on one day in one district"


def write_residents(files: DeliveryFiles) -> None:
    files.emit("household_registry", "residents", "residents.csv", f"""
        SELECT fid({PID}, -1, u(q.person, 120)) AS 公民身份号码,
               CASE WHEN NOT q.planted AND u(q.person, 121) < 0.01 AND length(q.name) = 3 THEN substr(q.name, 1, 1) || '　' || substr(q.name, 2) ELSE q.name END AS 姓名,
               {SEX_NAMES}[q.sex + 1] AS 性别, fdate(q.birth, u(q.person, 122)) AS 出生日期, {sql_list(V.ETHNICITIES)}[q.eth + 1] AS 民族,
               {sql_list(d[0] for d in V.DISTRICTS)}[q.area + 1] || lpad(CAST(q.hh AS VARCHAR), 8, '0') AS 户号, q.rel AS 与户主关系,
               q.addr AS 户籍地址, {DISTRICT_NAMES}[q.area + 1] AS 所属区县, q.status AS 人口状态,
               fdate(q.cancel_day, u(q.person, 123)) AS 注销日期, q.cancel_reason AS 注销原因, fdate(q.death_col, u(q.person, 124)) AS 死亡日期,
               CAST(q.person AS DOUBLE) AS __k, NOT q.planted AND q.death IS NULL AS __ok, {PID} AS __pid, CAST(NULL AS VARCHAR) AS __junk
        FROM people q JOIN ids p USING (person)""", "公民身份号码", 0)
    files.lap("write residents")
