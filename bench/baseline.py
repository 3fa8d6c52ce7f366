"""(b) The hand-written DuckDB baseline: the seven core rules in plain SQL, no framework.

Reads the same delivery files as `crosscheck run` (UTF-8 CSV + taps parquet, as the
scale generator writes them), cleans identity numbers, dates, amounts and names
in SQL, drops rows with invalid identity numbers, removes exact duplicates
(SELECT DISTINCT; taps are not deduplicated, no rule's outcome depends on it),
computes the seven rules and writes one findings CSV. No validation, no
quarantine accounting, no provenance, no evidence text: the practical lower
bound for the same findings on this machine.

    python bench/baseline.py EXTRACTS AS_OF OUT_DIR [--memory-limit 4GB] [--threads N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from devtools.sample.vocab import TRADITIONAL  # noqa: E402  (the character table only)

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def macros() -> list[str]:
    digits = " + ".join(f"(ascii(substr(b, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(WEIGHTS))
    trad, simp = "".join(TRADITIONAL.values()), "".join(TRADITIONAL.keys())
    return [
        f"CREATE MACRO chk(b) AS substr('10X98765432', (({digits}) % 11) + 1, 1)",
        "CREATE MACRO cid(v) AS upper(translate(trim(v, ' \u3000\t'), '０１２３４５６７８９Ｘｘ', '0123456789XX'))",
        "CREATE MACRO up15(s) AS CASE WHEN length(s) = 15 AND regexp_full_match(s, '[0-9]{15}') "
        "THEN substr(s, 1, 6) || '19' || substr(s, 7) || chk(substr(s, 1, 6) || '19' || substr(s, 7)) ELSE s END",
        "CREATE MACRO nid0(s) AS CASE WHEN regexp_full_match(s, '[0-9]{17}[0-9X]') AND chk(s) = substr(s, 18, 1) "
        "AND try_strptime(substr(s, 7, 8), '%Y%m%d') IS NOT NULL THEN s END",
        "CREATE MACRO nid(v) AS nid0(up15(cid(v)))",
        "CREATE MACRO pdate(v) AS CAST(try_strptime(v, ['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d']) AS DATE)",
        "CREATE MACRO pts(v) AS try_strptime(v, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y%m%d'])",
        "CREATE MACRO pmonth(v) AS CAST(try_strptime(v, ['%Y%m', '%Y-%m']) AS DATE)",
        "CREATE MACRO pamt(v) AS TRY_CAST(replace(v, ',', '') AS DECIMAL(18,2))",
        f"CREATE MACRO nname(v) AS CASE WHEN regexp_matches(v, '[\\x{{4e00}}-\\x{{9fff}}]') "
        f"THEN translate(translate(regexp_replace(v, '[\\s\u3000]', '', 'g'), '•・.．‧', '·····'), '{trad}', '{simp}') "
        "ELSE regexp_replace(upper(trim(v)), '\\s+', ' ', 'g') END",
    ]


def csv(root: Path, folder: str, pattern: str) -> str:
    return f"read_csv('{root / folder / pattern}', all_varchar=true, header=true, auto_detect=false, delim=',', quote='\"', escape='\"', union_by_name=true)"


def ids(src: str, col: str) -> str:
    """The source with `pid`, the canonical identity number (NULL when invalid), computed once per row."""
    return f"(SELECT *, nid0(s2) AS pid FROM (SELECT *, up15(s1) AS s2 FROM (SELECT *, cid({col}) AS s1 FROM {src})))"


def load(con, root: Path) -> None:
    con.execute(f"""CREATE TABLE residents AS SELECT DISTINCT pid, nname(姓名) name, 所属区县 district,
        人口状态 status, pdate(注销日期) cancel_date, 注销原因 reason, pdate(死亡日期) death_date
        FROM {ids(csv(root, 'household_registry', 'residents*.csv'), '公民身份号码')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE pensioners AS SELECT DISTINCT pid, nname(姓名) name, 险种类型 scheme,
        pdate(出生日期) birth_date, 所属区县 district
        FROM {ids(csv(root, 'social_security', 'pensioners*.csv'), '公民身份号码')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE payments AS SELECT DISTINCT pid, 险种类型 scheme, pmonth(发放年月) pay_month,
        pamt(发放金额) amount, 个人编号 personal_no, pdate(发放日期) paid_date
        FROM {ids(csv(root, 'social_security', 'pension_payments*.csv'), '公民身份号码')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE inpatient AS SELECT DISTINCT pid, 病案号 case_no, 医疗机构名称 hospital,
        pts(入院日期) admitted, pts(出院日期) discharged, 离院方式 disposition
        FROM {ids(csv(root, 'hospital', 'inpatient*.csv'), '公民身份号码')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE outpatient AS SELECT DISTINCT pid, 就诊流水号 visit_no, pdate(就诊日期) visit_date,
        pamt(结算金额) amount FROM {ids(csv(root, 'hospital', 'outpatient*.csv'), '公民身份号码')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE cards AS SELECT DISTINCT 卡号 card_no, pid
        FROM {ids(csv(root, 'transit_card', 'cards*.csv'), '持卡人身份证号')} WHERE pid IS NOT NULL""")
    con.execute(f"""CREATE TABLE reviews AS SELECT DISTINCT 卡号 card_no, pid, pdate(年审日期) review_date, 年审结果 result
        FROM {ids(csv(root, 'transit_card', 'annual_reviews*.csv'), '持卡人身份证号')} WHERE pid IS NOT NULL""")
    parts = [f"SELECT 卡号 card_no, CAST(交易时间 AS TIMESTAMP) tapped_at FROM read_parquet('{root / 'transit_card' / 'taps*.parquet'}')"]
    if list((root / "transit_card").glob("taps*.csv")):
        parts.append(f"SELECT 卡号, pts(交易时间) FROM {csv(root, 'transit_card', 'taps*.csv')}")
    con.execute("CREATE TABLE taps AS " + " UNION ALL ".join(parts))


RULES = {
    "pension_paid_after_death": """
        SELECT p.pid, 'high' AS severity, sum(p.amount) AS amount FROM payments p JOIN person_death d USING (pid)
        WHERE d.registry_death_date IS NOT NULL AND date_trunc('month', p.pay_month) > date_trunc('month', d.death_date)
        GROUP BY p.pid""",
    "pension_paid_after_hospital_death": """
        WITH h AS (SELECT pid, min(discharged) AS discharged FROM inpatient WHERE disposition = '5' AND discharged IS NOT NULL GROUP BY pid),
             r AS (SELECT DISTINCT pid FROM residents WHERE death_date IS NOT NULL OR reason = '死亡' OR status = '死亡')
        SELECT h.pid, 'high', sum(p.amount) FROM h JOIN payments p USING (pid) ANTI JOIN r USING (pid)
        WHERE date_trunc('month', p.pay_month) > date_trunc('month', h.discharged) GROUP BY h.pid""",
    "transit_card_used_after_death": """
        WITH dc AS (SELECT c.card_no, c.pid, d.death_date FROM cards c JOIN person_death d USING (pid))
        SELECT DISTINCT pid, 'medium', CAST(NULL AS DECIMAL(18,2)) FROM (
          SELECT dc.pid FROM taps t JOIN dc USING (card_no) WHERE CAST(t.tapped_at AS DATE) > dc.death_date
          UNION ALL
          SELECT dc.pid FROM reviews r JOIN dc USING (card_no) WHERE r.result = '通过' AND r.review_date > dc.death_date)""",
    "medical_visit_after_death": """
        SELECT DISTINCT pid, 'high', CAST(NULL AS DECIMAL(18,2)) FROM (
          SELECT o.pid FROM outpatient o JOIN person_death d USING (pid) WHERE o.visit_date > d.death_date
          UNION ALL
          SELECT i.pid FROM inpatient i JOIN person_death d USING (pid) WHERE CAST(i.admitted AS DATE) > d.death_date)""",
    "pension_no_sign_of_life": """
        WITH b AS (SELECT pid, coalesce(min(birth_date), CAST(strptime(substr(pid, 7, 8), '%Y%m%d') AS DATE)) AS birth FROM pensioners GROUP BY pid),
             e AS (SELECT pid, year($as_of) - year(birth) - CASE WHEN month(birth) * 100 + day(birth) > month($as_of) * 100 + day($as_of) THEN 1 ELSE 0 END AS age FROM b),
             c AS (SELECT DISTINCT e.pid FROM e JOIN payments p USING (pid) ANTI JOIN person_death d USING (pid)
                   WHERE e.age >= 80 AND date_trunc('month', p.pay_month) >= date_trunc('month', $as_of) - INTERVAL 3 MONTH
                     AND date_trunc('month', p.pay_month) < date_trunc('month', $as_of)),
             act AS (
               SELECT o.pid, o.visit_date AS d FROM outpatient o SEMI JOIN c USING (pid) WHERE o.visit_date <= $as_of
               UNION ALL SELECT i.pid, least(coalesce(CAST(i.discharged AS DATE), $as_of), $as_of) FROM inpatient i SEMI JOIN c USING (pid)
                 WHERE CAST(i.admitted AS DATE) <= $as_of
               UNION ALL SELECT k.pid, CAST(t.tapped_at AS DATE) FROM taps t JOIN (SELECT card_no, pid FROM cards SEMI JOIN c USING (pid)) k USING (card_no)
                 WHERE CAST(t.tapped_at AS DATE) <= $as_of
               UNION ALL SELECT r.pid, r.review_date FROM reviews r SEMI JOIN c USING (pid) WHERE r.result = '通过' AND r.review_date <= $as_of),
             la AS (SELECT pid, max(d) AS last_any FROM act GROUP BY pid)
        SELECT c.pid, 'low', CAST(NULL AS DECIMAL(18,2)) FROM c LEFT JOIN la USING (pid)
        WHERE la.last_any IS NULL OR la.last_any < $as_of - (365 - 1)""",  # 365 days ending on the as-of date, both included
    "pension_duplicate_schemes": """
        WITH o AS (SELECT pid, date_trunc('month', pay_month) m, sum(amount) - max(amount) AS excess FROM payments
                   GROUP BY pid, date_trunc('month', pay_month) HAVING count(DISTINCT scheme) >= 2)
        SELECT pid, 'high', sum(excess) FROM o GROUP BY pid""",
    "pension_identity_mismatch": """
        SELECT p.pid, CASE WHEN min(1 - levenshtein(p.name, r.name) / greatest(length(p.name), length(r.name))) < 0.5 THEN 'high' ELSE 'low' END,
               CAST(NULL AS DECIMAL(18,2))
        FROM pensioners p JOIN residents r USING (pid) WHERE p.name <> r.name GROUP BY p.pid""",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts", type=Path)
    ap.add_argument("as_of")
    ap.add_argument("out", type=Path)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="baseline-spill-") as spill:
        cfg = {"memory_limit": a.memory_limit, "temp_directory": spill, "preserve_insertion_order": False}
        if a.threads:
            cfg["threads"] = a.threads
        con = duckdb.connect(":memory:", config=cfg)
        for m in macros():
            con.execute(m)
        load(con, a.extracts.resolve())
        t_load = time.perf_counter() - t0
        con.execute("""CREATE TABLE person_death AS
            SELECT pid, min(d) AS death_date, min(d) FILTER (WHERE src = 'r') AS registry_death_date FROM (
              SELECT pid, death_date AS d, 'r' AS src FROM residents WHERE death_date IS NOT NULL
              UNION ALL SELECT pid, cancel_date, 'r' FROM residents
                WHERE cancel_date IS NOT NULL AND (reason = '死亡' OR (status = '死亡' AND death_date IS NULL))
              UNION ALL SELECT pid, CAST(discharged AS DATE), 'h' FROM inpatient WHERE disposition = '5' AND discharged IS NOT NULL)
            GROUP BY pid""")
        union = " UNION ALL ".join(f"SELECT '{rid}' AS rule_id, * FROM ({sql})" for rid, sql in RULES.items())
        con.execute(f"CREATE TABLE findings AS {union}", {"as_of": date.fromisoformat(a.as_of)})
        a.out.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (SELECT * FROM findings ORDER BY rule_id, pid) TO '{a.out / 'findings.csv'}' (HEADER)")
        counts = dict(con.execute("SELECT rule_id, count(*) FROM findings GROUP BY 1 ORDER BY 1").fetchall())
        con.close()
    print({"load_s": round(t_load, 1), "total_s": round(time.perf_counter() - t0, 1), "findings": counts})
    return 0


if __name__ == "__main__":
    sys.exit(main())
