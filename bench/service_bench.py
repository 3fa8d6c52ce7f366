"""What an operator waits for: how long each process takes to stop, and a backup of the sample city.

    python bench/service_bench.py [--people 20000] [--repeat 3] [--write]

On the sample city (`make sample`'s size and seed) recorded by a complete run: `crosscheck
backup` (time, size) and `crosscheck restore` into an empty folder; then the time from the signal
to the last process gone (every process started from it, found by a tag in its environment) for
`crosscheck run` stopped while it loads (SIGTERM, SIGINT), `crosscheck workbench --workers 2`
(SIGTERM) and `make serve` after a flow ran, with a second one loading (SIGTERM to the process
group). `--write` puts the table into BENCHMARKS.md ("Service: stops and backups"). Not a test:
nothing here fails on a slow machine; it measures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "tests"))
from pausing import paused_run  # noqa: E402

from crosscheck.store.journal import RunJournal  # noqa: E402
from crosscheck.store.lock import StoreLock  # noqa: E402

BIN = Path(sys.executable).parent
TAG = "CROSSCHECK_BENCH_TAG"
AS_OF = "2026-11-01"
START, END = "<!-- service-bench:start -->", "<!-- service-bench:end -->"


def tagged(tag: str) -> list[int]:
    marker = f"{TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0") and \
                        (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def until(condition, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("gave up waiting")
        time.sleep(0.05)


def stop_time(tag: str, send) -> float:
    """Seconds from `send()` (the signal) to the last tagged process gone."""
    started = time.monotonic()
    send()
    until(lambda: not tagged(tag), 120)
    return time.monotonic() - started


def env_for(tag: str, work: Path, **extra: str) -> dict:
    return dict(os.environ, CROSSCHECK_CACHE_DIR=str(work / "cache"), **{TAG: tag}, **extra)


def held_run(delivery: Path, work: Path, tag: str) -> subprocess.Popen:
    """`crosscheck run` held at its "load" checkpoint (tests/pausing.py) until the signal."""
    held = work / "held"
    held.unlink(missing_ok=True)
    args = ["run", "--extracts", str(delivery), "--as-of", AS_OF, "--out", str(work / "out"),
            "--store", str(work / "held.duckdb"), "--rules", "pension_paid_after_death"]
    proc = subprocess.Popen(paused_run("load", held, args, seconds=600), env=env_for(tag, work),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(held.exists)
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_stops(delivery: Path, work: Path, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"crosscheck run, SIGTERM while loading": [],
                                   "crosscheck run, SIGINT while loading": []}
    for _ in range(repeat):
        for signum, key in ((signal.SIGTERM, "crosscheck run, SIGTERM while loading"),
                            (signal.SIGINT, "crosscheck run, SIGINT while loading")):
            tag = uuid.uuid4().hex
            proc = held_run(delivery, work, tag)
            out[key].append(stop_time(tag, lambda: proc.send_signal(signum)))
            proc.wait()
    return out


def workbench_stops(store: Path, work: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        tag, port = uuid.uuid4().hex, free_port()
        proc = subprocess.Popen([str(BIN / "crosscheck"), "workbench", "--store", str(store), "--port", str(port),
                                 "--workers", "2"], env=env_for(tag, work), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        until(answers, 120)
        times.append(stop_time(tag, lambda: proc.send_signal(signal.SIGTERM)))
        proc.wait()
    return times


def serve_stops(delivery: Path, work: Path, repeat: int) -> list[float]:
    """make serve: one ad-hoc flow run to its end, a second begun (the store is held locked, so it
    cannot finish), SIGTERM to the group."""
    times = []
    home = work / "prefect-home"
    for _ in range(repeat):
        tag, port = uuid.uuid4().hex, free_port()
        api = f"http://127.0.0.1:{port}/api"
        store = work / "serve.duckdb"
        env = env_for(tag, work, PREFECT_HOME=str(home), CROSSCHECK_PREFECT_PORT=str(port),
                      PREFECT_RUNNER_POLL_FREQUENCY="1", CROSSCHECK_STORE=str(store))
        env.pop("PREFECT_API_URL", None)
        proc = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=str(REPO), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        def deployment() -> dict | None:
            try:
                r = httpx.get(f"{api}/deployments/name/crosscheck-adhoc/adhoc", timeout=5)
                return r.json() if r.status_code == 200 else None
            except httpx.HTTPError:
                return None
        until(deployment)
        params = {"extracts": str(delivery), "as_of": AS_OF, "rules": ["pension_paid_after_death"],
                  "out": str(work / "flow-out")}
        lock = StoreLock(store)
        for n in range(2):
            if n == 1:
                lock.acquire(60, what="the benchmark")
            run = httpx.post(f"{api}/deployments/{deployment()['id']}/create_flow_run", json={"parameters": params},
                             timeout=30).json()
            if n == 0:
                until(lambda: httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10).json()["state"]["type"]
                      in ("COMPLETED", "FAILED", "CRASHED"))
        until(lambda: any(RunJournal(store).folder.glob("*.json")))  # the second run began
        times.append(stop_time(tag, lambda: (os.killpg(proc.pid, signal.SIGTERM), lock.release())))
        proc.wait()
    return times


def backups(store: Path, work: Path, repeat: int) -> tuple[list[float], list[float], list[float], int, int]:
    took, copying, restored, size, files = [], [], [], 0, 0
    for n in range(repeat):
        started = time.monotonic()
        done = subprocess.run([str(BIN / "crosscheck"), "backup", str(work / "backups"), "--store", str(store)],
                              capture_output=True, text=True, check=True)
        took.append(time.monotonic() - started)
        folder = Path(done.stdout.split()[1].rstrip(":"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        size, files = sum(f["size"] for f in manifest["files"]), len(manifest["files"])
        copying.append(manifest["seconds"])
        target = work / f"restored-{n}" / "crosscheck.duckdb"
        started = time.monotonic()
        subprocess.run([str(BIN / "crosscheck"), "restore", str(folder), "--store", str(target)], check=True,
                       capture_output=True)
        restored.append(time.monotonic() - started)
    return took, copying, restored, size, files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from devtools.sample import generate_city

    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="crosscheck-service-bench-"))
    try:
        delivery = work / "deliveries" / AS_OF
        generate_city(delivery, people=args.people, seed=7, as_of=date.fromisoformat(AS_OF))
        store = work / "crosscheck.duckdb"
        started = time.monotonic()
        subprocess.run([str(BIN / "crosscheck"), "run", "--extracts", str(delivery), "--as-of", AS_OF, "--out",
                        str(work / "complete"), "--store", str(store)], env=env_for("none", work), check=True,
                       capture_output=True)
        complete = time.monotonic() - started
        took, copying, restored, size, files = backups(store, work, args.repeat)
        stops = run_stops(delivery, work, args.repeat)
        stops["crosscheck workbench --workers 2, SIGTERM"] = workbench_stops(store, work, args.repeat)
        stops["make serve after a flow ran, a second loading: SIGTERM to the group"] = serve_stops(delivery, work, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = render(args, load, complete, (took, copying, restored, size, files), stops)
    print(text)
    if args.write:
        from benchmarks_md import write_section

        write_section("Service: stops and backups", START, END, "`python bench/service_bench.py --write`", text)


def render(args, load, complete, backed_up, stops) -> str:
    def seconds(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s" + (f" ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 else "")

    took, copying, restored, size, files = backed_up
    lines = [f"Machine: `nproc` = {os.cpu_count()}, {platform.processor() or platform.machine()}; Python "
             f"{platform.python_version()}; {date.today()}; load average {load:.1f} when it started (the cores "
             "shared with other work).",
             "",
             f"The sample city ({args.people:,} people, seed 7, as-of {AS_OF}) recorded by one complete run "
             f"({complete:.0f} s): the findings store, the casework database with its clues. Median of {args.repeat} "
             "(min–max); a command's time includes its start (Python and the imports, about 2 s here).",
             "",
             "| what | time |", "|---|---:|",
             f"| `crosscheck backup` ({files} files, {size / 1e6:.1f} MB) | {seconds(took)} |",
             f"| of which the copy under the store's lock (the manifest's `seconds`) | {seconds(copying)} |",
             f"| `crosscheck restore` into an empty folder | {seconds(restored)} |"]
    lines += [f"| stop: {what} (signal to the last process gone) | {seconds(values)} |" for what, values in stops.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
