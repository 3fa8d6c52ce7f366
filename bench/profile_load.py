"""Profile loading a delivery table by table and phase by phase (no rules).

    python bench/profile_load.py EXTRACTS [--no-validate] [--fingerprint OUT.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from crosscheck.catalog import load_catalog  # noqa: E402
from crosscheck.connectors import load as loadmod  # noqa: E402

CORE = ["household_registry", "social_security", "hospital", "transit_card"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts")
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--fingerprint")
    ap.add_argument("--memory-limit", default="4GB")
    args = ap.parse_args()
    catalog = load_catalog(Path(__file__).resolve().parents[1] / "connectors")
    spill = tempfile.mkdtemp(prefix="ccprof-")
    con = duckdb.connect(":memory:", config={"memory_limit": args.memory_limit, "temp_directory": spill,
                                             "autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    total0 = time.perf_counter()
    loads = []
    for source in CORE:
        t0 = time.perf_counter()
        got = loadmod.load_source(con, Path(args.extracts), catalog.connectors[source], validate=not args.no_validate)
        loads += got
        print(f"{source}: {time.perf_counter() - t0:.1f} s", flush=True)
        for load in got:
            phases = {p: s for (t, p), s in loadmod.PHASE_SECONDS.items() if t == load.table}
            print(f"  {load.table:20s} {load.status:7s} rows={load.rows:>9,} "
                  + "  ".join(f"{p}={s:.1f}" for p, s in phases.items()), flush=True)
    print(f"total load: {time.perf_counter() - total0:.1f} s")
    print("  scan:", round(loadmod.PHASE_SECONDS.get(("*", "scan (hash, encoding, lines)"), 0), 1))
    agg: dict[str, float] = {}
    for (t, p), s in loadmod.PHASE_SECONDS.items():
        agg[p] = agg.get(p, 0) + s
    print("  by phase:", {p: round(s, 1) for p, s in agg.items()})
    if args.fingerprint:
        t0 = time.perf_counter()
        fp = {"files": [], "tables": {}, "quarantine": None}
        for load in loads:
            for f in load.files:
                fp["files"].append([f.file, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_dropped, f.error])
            if load.status == "loaded":
                cols = [r[0] for r in con.execute(f'DESCRIBE "{load.table}"').fetchall()]
                fp["tables"][load.table] = con.execute(
                    f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{load.table}"').fetchall()[0]
                fp["tables"][load.table] = [str(x) for x in fp["tables"][load.table]] + [cols]
                fp["tables"][load.table].append(str(con.execute(
                    f'SELECT sum(hash(rowid, source_file, source_line)) FROM "{load.table}"').fetchall()[0][0]))
        fp["quarantine"] = [str(x) for x in con.execute(
            "SELECT count(*), sum(hash(COLUMNS(*))) FROM quarantine").fetchall()[0]]
        fp["quarantine_ordered"] = str(con.execute(
            "SELECT sum(hash(rowid, file, line, reason)) FROM quarantine").fetchall()[0][0])
        Path(args.fingerprint).write_text(json.dumps(fp, indent=1, ensure_ascii=False))
        print(f"fingerprint: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
