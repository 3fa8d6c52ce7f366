"""Run the hardening tests and print SECURITY.md's table of figures from that run.

    .venv/bin/python bench/security_figures.py            # runs the tests, writes bench/security_figures.json
    .venv/bin/python bench/security_figures.py --no-run   # table from the last JSON

The tests append one JSON line per case, fault and check to $CROSSCHECK_FIGURES
(tests/hardening/hardening_figures.py, tests/bad_inputs/test_bad_inputs.py);
this script sums them. Nothing here is estimated: a figure is what a test saw.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = ["tests/bad_inputs", "tests/hardening", "tests/test_store_safety.py"]
OUT = REPO / "bench" / "security_figures.json"


def run_tests() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "figures.jsonl"
        junit = Path(tmp) / "junit.xml"
        env = dict(os.environ, CROSSCHECK_FIGURES=str(lines))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *TESTS],
                              cwd=REPO, env=env, capture_output=True, text=True)
        seconds = round(time.monotonic() - started, 1)
        records = [json.loads(x) for x in lines.read_text(encoding="utf-8").splitlines()] if lines.exists() else []
        import xml.etree.ElementTree as ET

        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        tests = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return {"tests": tests, "seconds": seconds, "exit_code": proc.returncode, "records": records,
            "pytest_tail": proc.stdout.strip().splitlines()[-1:] }


def table(data: dict) -> str:
    by = defaultdict(list)
    for r in data["records"]:
        by[r["kind"]].append(r)
    corpus, faults, escapes = by["corpus"], by["fault"], by["escape"]
    props = by["property"]
    corpus_lost = sum(r.get("rows_lost", 0) for r in corpus)
    run = by["run"]
    rows = [
        ("Bad-input corpus (tests/bad_inputs, one connector each)", f"{sum(r.get('rows_read', 0) is not None for r in corpus if 'rows_read' in r)} files",
         ", ".join(f"{n} {s}" for s, n in sorted(_count(r["outcome"] for r in corpus if "rows_read" in r).items())),
         str(sum(r.get("rows_lost", 0) for r in corpus if "rows_read" in r))),
        ("Broken files inside a full run (+1 vanishing between listing and reading)",
         f"{sum('rows_read' not in r for r in corpus)} files",
         "each failed alone naming file (and line); every table and rule still ran",
         str(sum(r.get("rows_lost", 0) for r in run))),
        ("Full run over the messy delivery: rows read = loaded + quarantined + duplicates",
         f"{sum(r.get('rows_read', 0) for r in run):,} rows",
         f"{sum(r.get('rows_loaded', 0) for r in run):,} loaded, {sum(r.get('rows_quarantined', 0) for r in run):,} quarantined, "
         f"{sum(r.get('duplicates', 0) for r in run):,} duplicates", str(sum(r.get("rows_lost", 0) for r in run))),
        ("Property tests (hypothesis): identity numbers, dates, months, amounts, names, whole files",
         f"{sum(r['examples'] for r in props):,} examples", "no exception; a value or a quarantine reason every time", "0"),
    ]
    for r in faults:
        rows.append((f"Fault: {r['name']}", "1", r.get("outcome") or
                     ("store unchanged, no report.html, next run ok" if r.get("store_unchanged") else "ok"),
                     str(r.get("rows_lost", 0))))
    rows.append(("Escapes from a rule (lint and run time)", f"{len(escapes)} attempts",
                 f"{sum(bool(r.get('refused')) for r in escapes)} refused", "—"))
    for r in by["pii"]:
        rows.append((f"PII: {r['name']}", str(r.get("files", "—")), r.get("outcome", ""), "—"))
    t = data["tests"]
    out = ["| What was tried | Inputs | Outcome | Rows lost |", "|---|---:|---|---:|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    out.append(f"Test run: {t['tests']} tests, {t['failures']} failures, {t['errors']} errors, {t['skipped']} skipped, "
               f"{data['seconds']} s (`{' '.join(TESTS)}`). Corpus rows lost: {corpus_lost}.")
    return "\n".join(out)


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args()
    if args.no_run:
        data = json.loads(OUT.read_text(encoding="utf-8"))
    else:
        data = run_tests()
        OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(data))
    sys.exit(0 if data["exit_code"] == 0 else 1)


if __name__ == "__main__":
    main()
