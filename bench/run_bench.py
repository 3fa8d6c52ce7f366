"""`make bench`: city-scale benchmark of crosscheck against a hand-written baseline.

For each city size (default 1M and 10M residents; the scale generator writes
them once under --work, outside the repository) this times, each in its own
process (wall time; peak RSS of that process from os.wait4):

  (a) `crosscheck run` end to end on the seven core rules: load + validate +
      rules + reports, cold (empty canonical cache; the run writes it);
  (b) bench/baseline.py: the same seven rules in hand-written DuckDB SQL;
  (c) bench/analyst_pandas.py: the pandas merge approach (sizes <= --pandas-max);
  (d) an ad-hoc run of one rule on the already-loaded city (canonical cache hit);
  and the fixed start-up cost (imports of crosscheck, Great Expectations, Prefect);
  (s) for cities of at most --spark-max residents (default 1M), (a) again with
      `--engine spark` in local mode and on a standalone cluster of two workers
      (bench/spark_bench.py), findings compared with (a);
  (i1, c1, i3, c3) the next delivery (one more month, three more months) run on (a)'s
      cache and cold, findings.csv compared byte for byte (bench/incremental.py);
  (k) for cities of at most --catalog-max residents (default 1M), the whole catalog with the
      营商环境 and 公车管理 sources added, and working-day counting on 1M applications
      (bench/catalog_bench.py).

Each run's findings are checked against the city's ground truth. The results
are appended as a dated table to the "City scale" section of BENCHMARKS.md.

    python bench/run_bench.py [--people 50000,1000000,10000000] [--work DIR] [--pandas-max N]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(PY).parent
AS_OF = "2026-11-01"
CORE = ["pension_paid_after_death", "pension_paid_after_hospital_death", "transit_card_used_after_death",
        "medical_visit_after_death", "pension_no_sign_of_life", "pension_duplicate_schemes", "pension_identity_mismatch"]
ADHOC_RULE = "pension_paid_after_death"
MONTHS_ADDED = (1, 3)  # --months: the next deliveries measured (months added)
SPARK_MAX = 1_000_000  # --spark-max: Spark local-mode row for cities up to this size (0: none)
CATALOG_MAX = 1_000_000  # --catalog-max: the whole catalog with the business sources, for cities up to this size
SECTION = "## City scale"


def measure(cmd: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run `cmd`; wall seconds, peak RSS (MB) of the process and its children, exit code."""
    t0 = time.perf_counter()
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if log:
        out.close()
    return {"wall": round(wall, 1), "rss_mb": round(usage.ru_maxrss / 1024), "rc": proc.returncode}


def truth(city: Path) -> set:
    with open(city / "_truth" / "findings.csv", encoding="utf-8") as fh:
        return {(r["rule_id"], r["person_id"]) for r in csv.DictReader(fh)}


def found(path: Path, pid: str = "person_id") -> set:
    with open(path, encoding="utf-8-sig") as fh:
        return {(r["rule_id"], r[pid]) for r in csv.DictReader(fh)}


def meminfo_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def cpu_model() -> str:
    """The processor's name (/proc/cpuinfo): the same script runs 1.3-1.5x apart on two 2-core machines."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def bench_city(people: int, work: Path, pandas_max: int, results: list) -> None:
    city = work / f"city_{people}"
    meta = city / "_truth" / "sample.json"
    row: dict = {"people": people}
    if not (meta.is_file() and json.loads(meta.read_text())["people"] == people):
        print(f"[{people:,}] generating {city}", flush=True)
        row["gen"] = measure([str(BIN / "crosscheck"), "sample", "--scale", "--out", str(city), "--people", str(people)],
                             log=work / f"gen_{people}.log")
    size = sum(p.stat().st_size for p in city.rglob("*") if p.is_file() and "_truth" not in p.parts)
    row["size_gb"] = round(size / 1e9, 2)
    rows = json.loads(meta.read_text()).get("rows", {})
    row["taps"] = rows.get("taps")
    row["payments"] = rows.get("pays")
    want = truth(city)
    cache = work / f"cache_{people}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"CROSSCHECK_CACHE_DIR": str(cache)}
    out_a = work / f"out_a_{people}"
    print(f"[{people:,}] (a) crosscheck run", flush=True)
    row["a"] = measure([str(BIN / "crosscheck"), "run", "--extracts", str(city), "--as-of", AS_OF, "--out", str(out_a),
                        "--no-record", "--no-mask", "--rules", ",".join(CORE)], env, work / f"a_{people}.log")
    row["a_truth"] = row["a"]["rc"] == 0 and found(out_a / "findings.csv") == want
    if people <= SPARK_MAX:
        import spark_bench

        reason = spark_bench.unavailable()
        print(f"[{people:,}] (s) crosscheck run --engine spark" + (f": skipped, {reason}" if reason else ""), flush=True)
        if not reason:
            duck = {**row["a"], "findings": spark_bench._findings(out_a / "findings.csv")}
            row["spark"] = spark_bench.bench_spark(city, AS_OF, work, CORE, duckdb=duck)
            row["spark"]["duckdb"].pop("findings", None)
            row["spark"]["spark"].pop("findings", None)
            row["spark"]["cluster"].pop("findings", None)
    print(f"[{people:,}] (b) hand-written DuckDB SQL", flush=True)
    out_b = work / f"out_b_{people}"
    row["b"] = measure([PY, "bench/baseline.py", str(city), AS_OF, str(out_b), "--memory-limit", memory_limit()],
                       log=work / f"b_{people}.log")
    row["b_truth"] = row["b"]["rc"] == 0 and found(out_b / "findings.csv", "pid") == want
    if people <= pandas_max:
        print(f"[{people:,}] (c) pandas", flush=True)
        out_c = work / f"out_c_{people}"
        row["c"] = measure([PY, "bench/analyst_pandas.py", str(city), AS_OF, str(out_c)], log=work / f"c_{people}.log")
        row["c_truth"] = row["c"]["rc"] == 0 and found(out_c / "findings.csv", "pid") == want
    print(f"[{people:,}] (d) ad-hoc single rule, cached", flush=True)
    out_d = work / f"out_d_{people}"
    row["d"] = measure([str(BIN / "crosscheck"), "run", "--extracts", str(city), "--as-of", AS_OF, "--out", str(out_d),
                        "--no-record", "--no-mask", "--rules", ADHOC_RULE], env, work / f"d_{people}.log")
    row["d_truth"] = row["d"]["rc"] == 0 and found(out_d / "findings.csv") == {t for t in want if t[0] == ADHOC_RULE}
    import incremental

    row["incremental"] = incremental.bench_incremental(city, work, cache, people, measure, str(BIN / "crosscheck"), CORE,
                                                       MONTHS_ADDED)
    if people <= CATALOG_MAX:
        import catalog_bench

        print(f"[{people:,}] (k) the whole catalog with the 营商环境 and 公车管理 sources", flush=True)
        row["catalog"] = catalog_bench.bench_catalog(city, work, people, measure, str(BIN / "crosscheck"))
    row["load"] = os.getloadavg()
    print(json.dumps(row), flush=True)
    results.append(row)


def memory_limit() -> str:
    sys.path.insert(0, str(REPO))
    from crosscheck.config import ProjectConfig

    return ProjectConfig.load(REPO).duckdb_memory_limit


def startup() -> dict:
    probes = {
        "crosscheck --help": [str(BIN / "crosscheck"), "--help"],
        "import crosscheck.pipeline.run + rules + connectors": [PY, "-c", "import crosscheck.pipeline.run, crosscheck.rules, crosscheck.connectors"],
        "import great_expectations": [PY, "-c", "import great_expectations"],
        "import prefect": [PY, "-c", "import prefect"],
    }
    return {name: min((measure(cmd) for _ in range(2)), key=lambda m: m["wall"]) for name, cmd in probes.items()}


def ratio(x: dict | None, y: dict | None) -> str:
    return f"{x['wall'] / y['wall']:.2f}" if x and y and y["wall"] else "—"


def cell(m: dict | None, ok=None) -> str:
    if not m:
        return "—"
    flag = "" if ok is None else (" ✓" if ok else " ✗")
    return f"{m['wall']:.1f} s / {m['rss_mb'] / 1024:.2f} GB{flag}" + ("" if m["rc"] == 0 else f" (exit {m['rc']})")


def report(results: list, start: dict, started: str, load_before) -> str:
    import incremental

    lines = [
        f"### Run of {started} (`make bench`)",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), {meminfo_gb()} GB RAM, {platform.platform()}, Python {platform.python_version()}; "
        f"DuckDB memory limit {memory_limit()} (crosscheck.toml) for (a) and (b). Load average before: "
        f"{' '.join(f'{x:.2f}' for x in load_before)}.",
        "",
        "Each cell: wall time / peak RSS of the process; ✓ = findings equal the ground truth.",
        "",
        "| residents | files | taps / payments rows | generate | (a) crosscheck run | (b) hand-written SQL | (c) pandas | a/b | c/a | (d) ad-hoc 1 rule, cached | load avg after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['people']:,} | {r['size_gb']} GB | {r['taps'] or 0:,} / {r['payments'] or 0:,} | {cell(r.get('gen'))} | "
            f"{cell(r['a'], r['a_truth'])} | {cell(r['b'], r['b_truth'])} | {cell(r.get('c'), r.get('c_truth'))} | "
            f"{ratio(r['a'], r['b'])} | {ratio(r.get('c'), r['a'])} | {cell(r['d'], r['d_truth'])} | {' '.join(f'{x:.2f}' for x in r['load'])} |"
        )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        lines += ["", f"Growth {small['people']:,} → {big['people']:,} residents (×{big['people'] / small['people']:.0f}): "
                      f"(a) ×{big['a']['wall'] / small['a']['wall']:.1f}, (b) ×{big['b']['wall'] / small['b']['wall']:.1f}."]
    lines += ["", "The next delivery (the same files again, a fresh registry snapshot with new deaths, and one or three "
              "more months of payments, outpatient visits and taps; or the first delivery again with the as-of date one "
              "day later): cold (empty cache) and incremental (on the cache of (a)). Each cell: wall time (files parsed / reused; fixed cost to the first file read, loading, "
              "the seven rules, from summary.json).", "", *incremental.HEADER]
    lines += [incremental.line(r["people"], r["incremental"]) for r in results]
    lines += targets(results)
    spark_rows = [r for r in results if r.get("spark")]
    if spark_rows:
        import spark_bench

        lines += ["", "Spark local mode, same seven rules, cold, against (a):", ""]
        lines += [spark_bench.line(r["people"], r["spark"]) for r in spark_rows]
    catalog_rows = [r for r in results if r.get("catalog")]
    if catalog_rows:
        import catalog_bench

        lines += ["", "(k) The whole catalog, cold, on the city with the 营商环境 and 公车管理 sources added "
                  "(bench/catalog_bench.py): wall time / peak RSS, the seven new rules' findings against their truth, "
                  "each new rule's time from summary.json and its share of the run:", "",
                  "| residents | (k) wall | peak RSS | new rules' findings | new rules |", "|---|---|---|---|---|"]
        for r in catalog_rows:
            lines += catalog_bench.line(r["people"], r["catalog"])
    lines += ["", "Fixed start-up cost (best of two):", ""]
    lines += [f"- {name}: {m['wall']:.1f} s, {m['rss_mb']} MB" for name, m in start.items()]
    return "\n".join(lines) + "\n"


def targets(results: list) -> list[str]:
    """Step 8's targets, each with the measured figure (the largest city against the smallest)."""
    if not results:
        return []
    big = results[-1]   # growth is measured over a tenfold city (1M -> 10M) when the run has both
    small = next((r for r in results if r["people"] * 10 == big["people"]), results[0])
    a, b, d = big["a"], big["b"], big["d"]
    checks = [
        (f"(a) within 1.5x of (b) at {big['people']:,}", f"a/b = {a['wall'] / b['wall']:.2f}", a["wall"] <= 1.5 * b["wall"]),
        (f"(a) under 5 minutes at {big['people']:,}", f"{a['wall']:.1f} s", a["wall"] < 300),
        ("peak RSS under 6 GB (DuckDB memory limit set)", f"{a['rss_mb'] / 1024:.2f} GB", a["rss_mb"] < 6 * 1024),
        (f"ad-hoc run of one rule on the loaded {big['people']:,} city under 10 s", f"{d['wall']:.1f} s", d["wall"] < 10),
        ("findings of (a) and (d) equal the ground truth", "", bool(big["a_truth"] and big["d_truth"])),
    ]
    if big is not small:
        growth = a["wall"] / small["a"]["wall"]
        checks.append((f"time from {small['people']:,} to {big['people']:,} grows at most 12x", f"x{growth:.1f}", growth <= 12))
    for r in results:   # Step 17: cold within 1.2x of the baseline; the next delivery at 10% (10M) / 15% (smaller)
        checks.append((f"cold (a) within 1.2x of (b) at {r['people']:,}", f"a/b = {r['a']['wall'] / r['b']['wall']:.2f}",
                       r["a"]["wall"] <= 1.2 * r["b"]["wall"]))
        inc = r["incremental"]   # Step 23: +1 month at 10% (10M), 15% (1M), 30% (smaller); +1 day at 5% (10M)
        limit = 0.10 if r["people"] >= 10_000_000 else 0.15 if r["people"] >= 1_000_000 else 0.30
        for case, what, most in (("1", "next delivery (+1 month)", limit), ("0", "the next day (+1 day of as-of, no new file)", 0.05)):
            if case == "0" and r["people"] < 10_000_000 or f"i{case}" not in inc:
                continue
            if inc[f"i{case}"]["rc"] == inc[f"c{case}"]["rc"] == 0:
                share = inc[f"i{case}"]["wall"] / inc[f"c{case}"]["wall"]
                checks.append((f"{what} incremental at most {most:.0%} of cold at {r['people']:,}",
                               f"{share:.0%}, findings.csv {'equal' if inc[f'same{case}'] else 'DIFFERENT'}",
                               share <= most and inc[f"same{case}"]))
    return ["", "Targets:", ""] + [f"- {'met' if ok else 'MISSED'}: {name}" + (f" ({fig})" if fig else "") for name, fig, ok in checks]


def append(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION not in doc:
        doc = doc.rstrip("\n") + f"\n\n{SECTION}\n\n"
    head, _, rest = doc.partition(SECTION)
    nxt = rest.find("\n## ")
    body, tail = (rest, "") if nxt < 0 else (rest[:nxt], rest[nxt:])
    path.write_text(head + SECTION + body.rstrip("\n") + "\n\n" + text + tail, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", default="50000,1000000,10000000")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_DIR", "/tmp/crosscheck-bench")))
    ap.add_argument("--pandas-max", type=int, default=1_000_000)
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--spark-max", type=int, default=SPARK_MAX, help="Spark local-mode run for cities up to this size (0: none)")
    ap.add_argument("--catalog-max", type=int, default=CATALOG_MAX, help="the whole catalog with the business sources, "
                    "for cities up to this size (0: none)")
    ap.add_argument("--months", default="1,3", help="the next deliveries measured: months added (comma-separated)")
    a = ap.parse_args()
    globals()["SPARK_MAX"] = a.spark_max
    globals()["CATALOG_MAX"] = a.catalog_max
    globals()["MONTHS_ADDED"] = tuple(int(m) for m in a.months.split(","))
    a.work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    load_before = os.getloadavg()
    start = startup()
    results: list = []
    for people in [int(p) for p in a.people.split(",")]:
        bench_city(people, a.work, a.pandas_max, results)
    text = report(results, start, started, load_before)
    print(text)
    if not a.no_append:
        append(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
