"""The nightly run as departments deliver: the same files again plus one (or three) more
months, or the same files the next day. Part of `make bench` (bench/run_bench.py); measures,
on a city already run cold:

  (i1) the run of the second delivery (first + one month) on the first run's cache, and
  (c1) a cold run of the same second delivery (empty cache): findings.csv byte for byte equal;
  (i3, c3) the same with three more months;
  (i0, c0) the first delivery again, its as-of date one day later, no file changed.

The second delivery is a folder of hard links to the first's files, except the registry
(a fresh snapshot in which some pensioners paid last month have died) and the new month
files: the last delivered month of payments, outpatient visits and transit taps, moved on
by one month (and by two and three).

    python bench/incremental.py CITY WORK [1,3]   # one city, prints its figures (months added: 1 and 3)
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

LAST_MONTH = dt.date(2026, 10, 1)
AS_OF = "2026-11-01"


def _month(first: dt.date, k: int) -> dt.date:
    y, m = divmod(first.month - 1 + k, 12)
    return dt.date(first.year + y, m + 1, 1)


def _copy(con, select: str, path: Path) -> None:
    con.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')")


def _csv(path: Path) -> str:
    return f"read_csv('{path}', all_varchar = true, header = true, delim = ',', quote = '\"')"


def next_delivery(first: Path, out: Path, months: int) -> str:
    """Write the delivery after `first` with `months` more months under `out`; its as-of date."""
    shutil.rmtree(out, ignore_errors=True)
    registry = Path("household_registry") / "residents.csv"
    for path in first.rglob("*"):
        rel = path.relative_to(first)
        if path.is_file() and rel.parts[0] != "_truth" and rel != registry:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, out / rel)
    (out / registry).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    last = LAST_MONTH.strftime("%Y-%m")
    payments = _csv(first / "social_security" / "pension_payments.csv")
    visits = _csv(first / "hospital" / "outpatient.csv")
    taps = _csv(first / "transit_card" / "taps_recent.csv")
    for k in range(1, months + 1):
        m = _month(LAST_MONTH, k)
        ym, y_m = m.strftime("%Y%m"), m.strftime("%Y-%m")
        _copy(con, f"""SELECT * REPLACE ('{ym}' AS 发放年月, '{y_m}' || substr(发放日期, 8) AS 发放日期)
                       FROM {payments} WHERE 发放年月 = '{last.replace('-', '')}'""",
              out / "social_security" / f"pension_payments_{ym}.csv")
        _copy(con, f"""SELECT * REPLACE (就诊流水号 || 'M{k}' AS 就诊流水号, '{y_m}' || substr(就诊日期, 8) AS 就诊日期)
                       FROM {visits} WHERE 就诊日期 LIKE '{last}-%' AND substr(就诊日期, 9, 2) <= '28'""",
              out / "hospital" / f"outpatient_{ym}.csv")
        _copy(con, f"""SELECT * REPLACE ('{y_m}' || substr(交易时间, 8) AS 交易时间)
                       FROM {taps} WHERE 交易时间 LIKE '{last}-%' AND substr(交易时间, 9, 2) <= '28'""",
              out / "transit_card" / f"taps_{ym}.csv")
    # the registry's fresh snapshot: one in 500 of those paid last month died on the 15th of it
    died_on = LAST_MONTH.replace(day=15).isoformat()
    _copy(con, f"""SELECT r.* REPLACE (
                     CASE WHEN d.pid IS NOT NULL THEN '死亡' ELSE r.人口状态 END AS 人口状态,
                     CASE WHEN d.pid IS NOT NULL THEN '{died_on}' ELSE r.死亡日期 END AS 死亡日期)
                   FROM {_csv(first / registry)} r
                   LEFT JOIN (SELECT DISTINCT 公民身份号码 AS pid FROM {payments}
                              WHERE 发放年月 = '{last.replace('-', '')}' AND hash(公民身份号码) % 500 = 0) d
                     ON d.pid = r.公民身份号码 AND r.人口状态 = '正常'""", out / registry)
    con.close()
    return _month(LAST_MONTH, months + 1).isoformat()


def _figures(out: Path) -> dict:
    """Files parsed and reused, and where the time went, from the run's summary.json."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    files = [f for load in summary["loads"] for f in load["files"]]
    seconds = summary.get("seconds", {})
    return {"parsed": sum(1 for f in files if not f.get("reused")), "reused": sum(1 for f in files if f.get("reused")),
            "fixed": seconds.get("start_to_first_read"),
            "load": round(sum(v for k, v in seconds.items() if k.startswith("load-")), 1),
            "rules": round(sum(v for k, v in seconds.items() if k.startswith("rule-")), 1)}


def bench_incremental(city: Path, work: Path, cache: Path, people: int, measure, crosscheck: str, rules: list[str],
                      months_added: tuple[int, ...] = (1, 3)) -> dict:
    """(i1, c1, i3, c3) for the city whose cold run filled `cache`, and (i0, c0): the same
    delivery the next day (as-of + 1, no new file); `measure(cmd, env, log)` times a command."""
    row: dict = {}
    for months in (0, *months_added):
        second = work / f"city_{people}_plus{months}"
        as_of = next_delivery(city, second, months) if months else \
            (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=1)).isoformat()
        if not months:
            second = city
        warm = work / f"cache_{people}_plus{months}_warm"
        shutil.rmtree(warm, ignore_errors=True)
        shutil.copytree(cache, warm, copy_function=os.link)   # the first run's cache, as the nightly run finds it
        cold = work / f"cache_{people}_plus{months}_cold"
        outs = {}
        for kind, cache_dir in (("i", warm), ("c", cold)):
            shutil.rmtree(cache_dir, ignore_errors=True) if kind == "c" else None
            out = work / f"out_{kind}{months}_{people}"
            print(f"[{people:,}] ({kind}{months}) {'incremental' if kind == 'i' else 'cold'} run, {months} more month(s)", flush=True)
            m = measure([crosscheck, "run", "--extracts", str(second), "--as-of", as_of, "--out", str(out), "--no-record",
                         "--no-mask", "--rules", ",".join(rules)], {"CROSSCHECK_CACHE_DIR": str(cache_dir)},
                        work / f"{kind}{months}_{people}.log")
            if m["rc"] == 0:
                m.update(_figures(out))
            row[f"{kind}{months}"] = m
            outs[kind] = out / "findings.csv"
        same = all(p.is_file() for p in outs.values()) and outs["i"].read_bytes() == outs["c"].read_bytes()
        row[f"same{months}"] = same
        row[f"findings{months}"] = max(0, len(outs["c"].read_bytes().splitlines()) - 1) if outs["c"].is_file() else 0
        for path in (warm, cold, second) if months else (warm, cold):
            shutil.rmtree(path, ignore_errors=True)
    return row


def line(people: int, r: dict) -> str:
    """One row of the incremental table."""
    def cell(m: dict | None) -> str:
        if m is None:
            return "not run"
        if m["rc"] != 0:
            return f"exit {m['rc']}"
        return f"{m['wall']:.1f} s ({m['parsed']} parsed, {m['reused']} reused; fixed {m['fixed']:.1f} s, load {m['load']:.1f} s, rules {m['rules']:.1f} s)"

    def share(months: int) -> str:
        if f"i{months}" not in r:
            return "—"
        i, c = r[f"i{months}"], r[f"c{months}"]
        return f"{100 * i['wall'] / c['wall']:.0f}%" if i["rc"] == c["rc"] == 0 else "—"

    def same(months: int) -> str:
        if f"same{months}" not in r:
            return "—"
        return f"{'✓' if r[f'same{months}'] else '✗'} {r[f'findings{months}']:,}"

    return (f"| {people:,} | {cell(r.get('c1'))} | {cell(r.get('i1'))} | **{share(1)}** | {same(1)} | "
            f"{cell(r.get('c3'))} | {cell(r.get('i3'))} | **{share(3)}** | {same(3)} | "
            f"{cell(r.get('c0'))} | {cell(r.get('i0'))} | **{share(0)}** | {same(0)} |")


HEADER = [
    "| residents | (c1) cold, +1 month | (i1) incremental, +1 month | i1/c1 | findings.csv equal | (c3) cold, +3 months | (i3) incremental, +3 months | i3/c3 | findings.csv equal | (c0) cold, +1 day as-of, no new file | (i0) incremental, +1 day | i0/c0 | findings.csv equal |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run_bench import BIN, CORE, measure

    city, work = Path(sys.argv[1]), Path(sys.argv[2])
    months_added = tuple(int(m) for m in (sys.argv[3] if len(sys.argv) > 3 else "1,3").split(","))
    people = json.loads((city / "_truth" / "sample.json").read_text())["people"]
    cache = work / f"cache_{people}"
    if not cache.is_dir():
        print(f"[{people:,}] cold run of the first delivery (fills {cache})", flush=True)
        first = measure([str(BIN / "crosscheck"), "run", "--extracts", str(city), "--as-of", AS_OF, "--out",
                         str(work / f"out_a_{people}"), "--no-record", "--no-mask", "--rules", ",".join(CORE)],
                        {"CROSSCHECK_CACHE_DIR": str(cache)}, work / f"a_{people}.log")
        print(f"[{people:,}] cold run of the first delivery: {first}", flush=True)
    row = bench_incremental(city, work, cache, people, measure, str(BIN / "crosscheck"), CORE, months_added)
    print("\n".join([*HEADER, line(people, row)]))
