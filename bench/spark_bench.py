"""The cost of the distributed path on one machine: `crosscheck run --engine spark`, in local
mode (local[*]) and on a standalone cluster of two workers on 127.0.0.1 (pyspark's own
launcher, tests/sparkcluster.py; one core and WORKER_MEMORY each, `spark_master` in the
project's crosscheck.toml as the README shows), next to DuckDB.

Used by bench/run_bench.py (`make bench` adds the Spark lines for cities of at most
--spark-max residents, default 1M), or on its own:

    python bench/spark_bench.py EXTRACTS [--as-of 2026-11-01] [--work DIR] [--rules ID,ID] [--engines duckdb,spark]

Each engine runs in its own process, cold (its own empty canonical cache), on the
same rules; wall time and peak RSS (the Spark JVM included: it is a child process)
are measured, and the two runs' findings.csv are compared row for row.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CORE = ["pension_paid_after_death", "pension_paid_after_hospital_death", "transit_card_used_after_death",
        "medical_visit_after_death", "pension_no_sign_of_life", "pension_duplicate_schemes", "pension_identity_mismatch"]


def unavailable() -> str | None:
    """Why Spark cannot run here (None: it can)."""
    sys.path.insert(0, str(REPO))
    from crosscheck.config import ProjectConfig
    from crosscheck.engines.spark import unavailable_reason

    return unavailable_reason(ProjectConfig.load(REPO))


def _measure(cmd: list[str], env: dict, log: Path) -> dict:
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return {"wall": round(time.perf_counter() - t0, 1), "rss_mb": round(usage.ru_maxrss / 1024),
            "rc": os.waitstatus_to_exitcode(status)}


def _findings(path: Path) -> list[tuple]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig") as fh:
        return sorted(tuple(r.values()) for r in csv.DictReader(fh))


#: Each cluster worker's memory, and its executor's (the city's tables are cached in executors).
WORKER_MEMORY, EXECUTOR_MEMORY = "5g", "4g"


def run_engine(engine: str, extracts: Path, as_of: str, work: Path, rules: list[str], project: Path | None = None) -> dict:
    """One cold `crosscheck run --engine ENGINE` (or with the engine of `project`'s
    crosscheck.toml): wall, peak RSS (MB), exit code, findings rows."""
    tag = f"{engine if project is None else 'cluster'}_{extracts.name}"
    cache, out = work / f"spark_bench_cache_{tag}", work / f"spark_bench_out_{tag}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    where = ["--engine", engine] if project is None else ["--project", str(project)]
    m = _measure([str(BIN / "crosscheck"), "run", *where, "--extracts", str(extracts), "--as-of", as_of,
                  "--out", str(out), "--no-record", "--no-mask", "--rules", ",".join(rules)],
                 {"CROSSCHECK_CACHE_DIR": str(cache), "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"},
                 work / f"spark_bench_{tag}.log")
    m["findings"] = _findings(out / "findings.csv")
    shutil.rmtree(cache, ignore_errors=True)
    return m


def run_on_cluster(extracts: Path, as_of: str, work: Path, rules: list[str]) -> dict:
    """A cold run on a standalone cluster started for it (its start-up not counted)."""
    sys.path.insert(0, str(REPO / "tests"))
    from sparkcluster import cluster_project, standalone_cluster

    base = work / "cluster"
    shutil.rmtree(base, ignore_errors=True)
    (base / "handover").mkdir(parents=True)
    t0 = time.perf_counter()
    with standalone_cluster(base, workers=2, cores=1, memory=WORKER_MEMORY) as url:
        started = round(time.perf_counter() - t0, 1)
        project = cluster_project(base / "project", REPO, url, base / "handover", EXECUTOR_MEMORY)
        m = run_engine("spark", extracts, as_of, work, rules, project=project)
    m["cluster_start"] = started
    return m


def bench_spark(extracts: Path, as_of: str, work: Path, rules: list[str] | None = None, duckdb: dict | None = None) -> dict:
    """Spark in local mode and on a cluster on `extracts` (and DuckDB too unless its measurement is given)."""
    rules = rules or CORE
    result = {"spark": run_engine("spark", extracts, as_of, work, rules),
              "cluster": run_on_cluster(extracts, as_of, work, rules)}
    result["duckdb"] = duckdb if duckdb is not None else run_engine("duckdb", extracts, as_of, work, rules)
    d = result["duckdb"]
    for kind in ("spark", "cluster"):
        s = result[kind]
        result[f"same_{kind}"] = bool(s["rc"] == 0 and d.get("rc") == 0 and d.get("findings") is not None
                                      and s["findings"] == d["findings"])
    result["same"] = result["same_spark"] and result["same_cluster"]
    return result


def line(people: int | str, r: dict) -> str:
    d = r["duckdb"]
    where = f"{people:,} residents" if isinstance(people, int) else str(people)
    out = []
    for kind, name in (("spark", "local mode (`--engine spark`, local[*])"),
                       ("cluster", f"standalone cluster (2 workers × 1 core, {WORKER_MEMORY} each; started in "
                                   f"{r['cluster'].get('cluster_start', 0):.0f} s, not counted)")):
        s = r[kind]
        ratio = f"×{s['wall'] / d['wall']:.1f}" if d.get("wall") else "—"
        same = "same findings ✓" if r[f"same_{kind}"] else "findings differ ✗" if s["rc"] == 0 else f"exit {s['rc']} ✗"
        out.append(f"- Spark {name} on {where}: {s['wall']:.1f} s / {s['rss_mb'] / 1024:.2f} GB of the driver "
                   f"(DuckDB {d['wall']:.1f} s: {ratio}); {same}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("extracts", type=Path)
    ap.add_argument("--as-of", default="2026-11-01")
    ap.add_argument("--work", type=Path, default=Path("/tmp/crosscheck-spark-bench"))
    ap.add_argument("--rules", default=",".join(CORE))
    a = ap.parse_args()
    reason = unavailable()
    if reason:
        print(f"Spark bench skipped: {reason}")
        return 0
    a.work.mkdir(parents=True, exist_ok=True)
    r = bench_spark(a.extracts, a.as_of, a.work, a.rules.split(","))
    print(line(str(a.extracts), r))
    return 0 if r["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
