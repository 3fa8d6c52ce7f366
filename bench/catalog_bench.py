"""The whole catalog on a city with the 营商环境 and 公车管理 sources, and working-day counting.
Part of `make bench` (bench/run_bench.py, for cities of at most --catalog-max residents):

  (k) `crosscheck run` of every rule, cold (empty canonical cache), on a copy of the city (hard
      links) with the calendar, government-service, inspection, enterprise-subsidy and
      official-vehicle sources of a city of its size added (devtools.sample.domains.add_business):
      wall time, each new rule's time from summary.json and its share of the run, findings
      against the added sources' truth;
  (w) W(受理日期, 办结日期 or the as-of date) for 1,000,000 applications through the
      `working_days` view, in DuckDB: its time.

    python bench/catalog_bench.py CITY WORK [PEOPLE]   # prints the figures as JSON
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-01"
NEW_RULES = ["approval_overdue", "approval_repeated_return", "licence_without_application", "enterprise_over_inspected",
             "subsidy_to_closed_enterprise", "vehicle_off_duty_unapproved", "fuel_without_trip"]
#: no new rule may take more than this share of the cold run
MAX_SHARE = 0.10


def catalog_city(city: Path, work: Path, people: int) -> tuple[Path, set]:
    """`city` (hard links) with the new sources added; the (rule, subject) they must give."""
    sys.path.insert(0, str(REPO))
    from devtools.sample.domains import add_business

    out = work / f"catalog_{people}"
    shutil.rmtree(out, ignore_errors=True)
    for path in city.rglob("*"):
        if path.is_file():
            target = out / path.relative_to(city)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    residents = []
    with open(city / "household_registry" / "residents.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            residents.append((row["公民身份号码"].strip(), row["姓名"].strip()))
            if len(residents) == 5000:
                break
    truth = add_business(out, people, 7, AS_OF, residents)
    return out, {(rule, subject) for rule, subject, _, _ in truth.findings}


def bench_catalog(city: Path, work: Path, people: int, measure, crosscheck: str) -> dict:
    started = time.perf_counter()
    catalog, want = catalog_city(city, work, people)
    row: dict = {"add_seconds": round(time.perf_counter() - started, 1)}
    cache = work / f"cache_catalog_{people}"
    shutil.rmtree(cache, ignore_errors=True)
    out = work / f"out_k_{people}"
    row["k"] = measure([crosscheck, "run", "--extracts", str(catalog), "--as-of", AS_OF, "--out", str(out), "--no-record",
                        "--no-mask"], {"CROSSCHECK_CACHE_DIR": str(cache)}, work / f"k_{people}.log")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    seconds = summary["seconds"]
    row["rules"] = {r: seconds.get(f"rule-{r}") for r in NEW_RULES}
    row["loads"] = {t: seconds.get(f"load-{t}") for t in ("applications", "licences", "service_items", "workdays", "inspections",
                                                           "enterprise_subsidies", "trips", "fuel")}
    row["status"] = {r["rule_id"]: r["status"] for r in summary["rules"] if r["rule_id"] in NEW_RULES}
    row["findings"] = {r["rule_id"]: r["findings"] for r in summary["rules"] if r["rule_id"] in NEW_RULES}
    with open(out / "findings.csv", encoding="utf-8-sig") as fh:
        found = {(r["rule_id"], r["subject"]) for r in csv.DictReader(fh) if r["rule_id"] in NEW_RULES}
    row["truth"] = found == want
    row["rows"] = {t["table"]: t["rows"] for t in summary["loads"] if t["table"] in row["loads"]}
    row["w"] = bench_working_days(1_000_000)
    shutil.rmtree(cache, ignore_errors=True)
    return row


def bench_working_days(n: int) -> dict:
    """Seconds to count W for `n` applications (two joins to the working_days view, itself built
    from a calendar of three years' exceptions) in a fresh DuckDB; the checksum of the counts."""
    import duckdb

    from crosscheck.catalog import load_catalog
    from crosscheck.rules import load_ruleset
    from crosscheck.rules.compiler import compile_view
    from devtools.sample.domains.workcal import official

    catalog = load_catalog(REPO / "connectors")
    view = compile_view("working_days", load_ruleset(REPO / "rules", catalog).view_specs, catalog).sql()
    con = duckdb.connect()
    con.execute("CREATE TABLE workdays (calendar_date DATE, is_workday VARCHAR, note VARCHAR)")
    con.executemany("INSERT INTO workdays VALUES (?, ?, ?)",
                    [(d, "是" if w else "否", note) for y in (2024, 2025, 2026) for d, (w, note) in official(y).items()])
    con.execute(f"""CREATE TABLE applications AS SELECT DATE '2024-06-01' + CAST(hash(i, 'a') % 800 AS INTEGER) AS accepted_date,
        CASE WHEN hash(i, 'o') % 20 = 0 THEN NULL ELSE DATE '2024-06-01' + CAST(hash(i, 'a') % 800 + hash(i, 'f') % 40 AS INTEGER)
        END AS finished_date FROM range({n}) t(i)""")
    started = time.perf_counter()
    total = con.execute(f"""WITH working_days AS ({view})
        SELECT count(*), sum(greatest(e.workday_no - s.workday_no, 0)) FROM applications a
        JOIN working_days s ON s.calendar_date = a.accepted_date
        JOIN working_days e ON e.calendar_date = coalesce(a.finished_date, DATE '{AS_OF}')""").fetchall()[0]
    seconds = time.perf_counter() - started
    con.close()
    return {"applications": int(total[0]), "seconds": round(seconds, 2), "working_days_total": int(total[1])}


def line(people: int, row: dict) -> list[str]:
    """The catalog row and its checks, as Markdown."""
    wall = row["k"]["wall"]
    share = {r: (s or 0) / wall for r, s in row["rules"].items()}
    rules = ", ".join(f"`{r}` {row['rules'][r]:.2f} s ({share[r]:.1%})" for r in NEW_RULES if row["rules"][r] is not None)
    worst = max(share.values())
    rows = ", ".join(f"{t} {n:,}" for t, n in row["rows"].items())
    return [
        f"| {people:,} | {wall:.1f} s | {row['k']['rss_mb']:,} MB | {'equal' if row['truth'] else 'DIFFERENT'} | {rules} |",
        "",
        f"Rows of the new sources: {rows}. Load of the new tables: "
        + ", ".join(f"{t} {s:.2f} s" for t, s in row["loads"].items() if s is not None) + ".",
        f"- no new rule over {MAX_SHARE:.0%} of the cold run: {'met' if worst <= MAX_SHARE else 'NOT MET'} (largest {worst:.1%})",
        f"- working-day counting on {row['w']['applications']:,} applications under 5 s: "
        f"{'met' if row['w']['seconds'] < 5 else 'NOT MET'} ({row['w']['seconds']:.2f} s)",
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    from run_bench import measure

    city_arg, work_arg = Path(sys.argv[1]), Path(sys.argv[2])
    people_arg = int(sys.argv[3]) if len(sys.argv) > 3 else json.loads((city_arg / "_truth" / "sample.json").read_text())["people"]
    result = bench_catalog(city_arg, work_arg, people_arg, measure, str(Path(sys.executable).parent / "crosscheck"))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print("\n".join(line(people_arg, result)))
