"""Load benchmark of the workbench: 20 simulated reviewers at once on a store of 100,000 clues
while a nightly run records 100,000 findings (and then publishes them).

    python bench/workbench_bench.py [--clues 100000] [--reviewers 20] [--seconds 60] [--write]

Each reviewer logs in and loops: its clue list (GET /api/clues?limit=100), a search (GET
/api/clues?q=: a name or a clue number), one clue's page (GET /clues/{key}), a disposition
(POST /api/clues/{key}/disposition) and, every third clue, an attachment (POST
/api/clues/{key}/attachments, a 200 KB PDF). One supervisor lists the whole pool with filters
meanwhile. Prints requests per second and p50/p95 per kind,
and checks that every disposition answered 200 is in the casework database (zero lost).
`--write` puts the table into BENCHMARKS.md ("Workbench under load"). Not a test: nothing
here fails on a slow machine; it measures.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crosscheck.casework import Casework, Settings, casework_path  # noqa: E402
from crosscheck.store import Store  # noqa: E402
from devtools.run_builders import finding, make_run  # noqa: E402

PASSWORD = "bench password 1"
DISTRICTS = ["大冶市", "阳新县", "黄石港区", "西塞山区", "下陆区", "铁山区"]
RULES = ["pension_paid_after_death", "dibao_paid_after_head_death", "transit_card_used_after_death",
         "medical_visit_after_death", "payroll_paid_after_death"]
START, END = "<!-- workbench-bench:start -->", "<!-- workbench-bench:end -->"

RECORD = textwrap.dedent("""
    import sys, time
    from datetime import date
    sys.path.insert(0, sys.argv[3])
    from workbench_bench import rows
    from crosscheck.store import Store
    from devtools.run_builders import make_run
    t = time.monotonic()
    with Store.open(sys.argv[1], lock_timeout=600) as st:
        st.record_run(make_run("night-2", date(2026, 11, 1), rows(int(sys.argv[2]), shift=1)))
    print(f"{time.monotonic() - t:.1f}")
""")


def rows(n: int, shift: int = 0) -> list[dict]:
    rnd = random.Random(7 + shift)
    return [finding(RULES[i % len(RULES)], f"4202021950{i:08d}", amount=round(rnd.uniform(50, 50000), 2),
                    district=DISTRICTS[i % len(DISTRICTS)], name=f"张{i % 97:02d}明",
                    severity=("high", "medium", "low")[i % 3], evidence={"months": 1 + (i + shift) % 12})
            for i in range(n)]


def run_of(run_id: str, as_of: date, found: list[dict]):
    run = make_run(run_id, as_of, found)
    for o in run.rules:
        o.domain, o.rule_status = o.rule_id.split("_")[0], "stable"
    return run


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clues", type=int, default=100_000)
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=1, help="server processes (crosscheck workbench --workers)")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary store (printed) afterwards")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crosscheck-wb-bench-"))
    store = folder / "crosscheck.duckdb"

    load_before = "{:.1f}".format(os.getloadavg()[0])
    t = time.monotonic()
    with Store.open(store) as st:
        st.record_run(run_of("night-1", date(2026, 10, 1), rows(args.clues)))
    setup = time.monotonic() - t
    names = [f"rev{i:02d}" for i in range(args.reviewers)]
    deadline = (Settings().today() + timedelta(days=10)).isoformat()
    with Casework.open(casework_path(store)) as cw:
        cw.add_user("boss", "supervisor", PASSWORD)
        for name in names:
            cw.add_user(name, "reviewer", PASSWORD)
        boss = cw.user("boss")
        keys = [r["finding_key"] for r in cw.rows("SELECT finding_key FROM clues ORDER BY priority")]
        work = {name: keys[i * 500:(i + 1) * 500] for i, name in enumerate(names)}
        for name, mine in work.items():
            cw.workflow.bulk_assign(boss, mine, name, deadline)
    print(f"store of {len(keys):,} clues ready in {setup:.1f} s ({folder})", flush=True)

    port = 18000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    log = open(folder / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "crosscheck.cli", "workbench", "--store", str(store), "--port",
                               str(port), "--workers", str(args.workers)], cwd=str(REPO), stdout=log, stderr=log)
    lat: dict[str, list[float]] = {"list": [], "search": [], "page": [], "disposition": [], "upload": [],
                                   "pool list": []}
    pdf = b"%PDF-1.4\n" + bytes(random.Random(3).getrandbits(8) for _ in range(200_000)) + b"\n%%EOF\n"
    errors: list[str] = []
    answered: list[str] = []
    lock = threading.Lock()
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        script = folder / "record.py"
        script.write_text(RECORD)
        recording = subprocess.Popen([sys.executable, str(script), str(store), str(args.clues), str(REPO / "bench")],
                                     cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stop = time.monotonic() + args.seconds

        def timed(kind: str, fn):
            t0 = time.monotonic()
            r = fn()
            with lock:
                lat[kind].append(time.monotonic() - t0)
                if r.status_code != 200:
                    errors.append(f"{kind} {r.status_code} {r.text[:200]}")
            return r

        def reviewer(name: str) -> None:
            c = httpx.Client(base_url=url, timeout=60)
            csrf = c.post("/api/login", json={"username": name, "password": PASSWORD}).json()["csrf_token"]
            todo = list(work[name])
            rnd = random.Random(name)
            while time.monotonic() < stop and todo:
                timed("list", lambda: c.get("/api/clues", params={"limit": 100}))
                q = rnd.choice([f"张{rnd.randrange(97):02d}明", rnd.choice(work[name])[:8]])
                timed("search", lambda: c.get("/api/clues", params={"q": q, "limit": 100}))
                timed("page", lambda: c.get(f"/clues/{rnd.choice(work[name])}"))
                key = todo.pop()
                r = timed("disposition", lambda: c.post(
                    f"/api/clues/{key}/disposition", headers={"X-CSRF-Token": csrf},
                    json={"disposition": rnd.choice(["confirmed", "false_positive", "explained"]), "note": "核查说明"}))
                if r.status_code == 200:
                    with lock:
                        answered.append(key)
                if len(todo) % 3 == 0:
                    timed("upload", lambda: c.post(f"/api/clues/{key}/attachments", headers={"X-CSRF-Token": csrf},
                                                   files={"file": ("凭证.pdf", pdf, "application/pdf")}))
            c.close()

        def supervisor() -> None:
            c = httpx.Client(base_url=url, timeout=60)
            c.post("/api/login", json={"username": "boss", "password": PASSWORD})
            rnd = random.Random(1)
            while time.monotonic() < stop:
                kind = rnd.choice(["district", "rule_id", "status"])
                value = {"district": rnd.choice(DISTRICTS), "rule_id": rnd.choice(RULES), "status": "assigned"}[kind]
                params = {"limit": 100, "offset": rnd.randrange(0, 5000, 100), kind: value}
                timed("pool list", lambda: c.get("/api/clues", params=params))
            c.close()

        threads = [threading.Thread(target=reviewer, args=(n,)) for n in names] + [threading.Thread(target=supervisor)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.monotonic() - t0
        run_out, run_err = recording.communicate(timeout=1200)
        run_seconds = run_out.strip() or f"failed: {run_err[-300:]}"
        overlapped = recording.returncode == 0 and float(run_seconds) < elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    with Casework.open(casework_path(store)) as cw:
        stored = {r["finding_key"] for r in cw.rows("SELECT finding_key FROM reviews WHERE source = 'workbench'")}
        audit = cw.one("SELECT count(*) AS n FROM audit WHERE action = 'disposition'")["n"]
        clue_count = cw.one("SELECT count(*) AS n FROM clues")["n"]
    lost = len(set(answered) - stored)
    total = sum(len(v) for v in lat.values())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    lines = [
        f"Machine: `nproc` = {os.cpu_count()}, CPU {cpu}; Python {platform.python_version()}, "
        f"{'one uvicorn worker' if args.workers == 1 else f'{args.workers} uvicorn workers'}; load average before the "
        f"run {load_before}; "
        f"{date.today().isoformat()}.",
        f"Store: {args.clues:,} clues ({len(RULES)} rules, {len(DISTRICTS)} districts), each of {args.reviewers} "
        f"reviewers assigned 500. Load for {elapsed:.0f} s: {args.reviewers} reviewer threads (list, search, clue "
        "page, disposition, and an attachment of 200 KB every third clue, in a loop) and one supervisor listing the "
        "pool with filters, all from one client process "
        "on the same 2 cores as the server, while a nightly run recorded "
        f"{args.clues:,} findings and published them (run: {run_seconds} s"
        f"{', started with the load and done within it' if overlapped else ''}).",
        "",
        "| request | count | p50 | p95 |",
        "|---|---:|---:|---:|",
        *[f"| {kind} | {len(v):,} | {pct(v, 50):.0f} ms | {pct(v, 95):.0f} ms |" for kind, v in lat.items()],
        "",
        f"Throughput: **{total / elapsed:.0f} requests/s**; errors: {len(errors)}; dispositions answered 200: "
        f"{len(answered):,}, in the casework database: {len(stored & set(answered)):,}, audit entries: {audit:,}: "
        f"**{lost} lost**. Clues after the run's publish: {clue_count:,}.",
    ]
    text = "\n".join(lines)
    print(text)
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
    if args.write:
        from benchmarks_md import write_section

        write_section("Workbench under load", START, END,
                      "`make bench-workbench` (`python bench/workbench_bench.py --write`)", text)
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
