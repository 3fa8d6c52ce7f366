"""Speed of `crosscheck link-names` (BENCHMARKS.md, "Name linking"): wall time, CPU time and peak
memory of the whole command, start to LINKS.csv, on generated files.

    python bench/names_bench.py --records 3000 --registry 20000
    python bench/names_bench.py --records 1000000 --registry 10000000 --data /some/folder   # minutes; ~1 GB of files kept

The registry: villages of about 1,000 people, 8 villages a township, surnames and given names
drawn with the harness's frequencies (devtools/names/vocab.py). The records: registry people
(60% as they are, 15% with spaces, 20% with one same-sound character, 2% in a neighbouring
village) and 3% people who are not in the registry.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosscheck.normalize import ID_CHECK_CHARS, ID_WEIGHTS  # noqa: E402
from devtools.names import vocab as V  # noqa: E402
from devtools.names.corrupt import sound_alike  # noqa: E402


def _choice(rng, items: list[str], n: int, weights=None) -> np.ndarray:
    w = np.asarray(weights if weights is not None else [1.0 / (i + 1) for i in range(len(items))], dtype=float)
    return np.asarray(items, dtype=object)[rng.choice(len(items), size=n, p=w / w.sum())]


def _identity_numbers(rng, n: int) -> np.ndarray:
    year = rng.integers(1940, 2009, n)
    month, day = rng.integers(1, 13, n), rng.integers(1, 29, n)
    serial = np.arange(n) % 1000
    body = np.char.add(np.char.add("420222", year.astype(str)), np.char.zfill(month.astype(str), 2))
    body = np.char.add(np.char.add(body, np.char.zfill(day.astype(str), 2)), np.char.zfill(serial.astype(str), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    check = np.asarray(list(ID_CHECK_CHARS))[(digits * np.asarray(ID_WEIGHTS)).sum(axis=1) % 11]
    return np.char.add(body, check).astype(object), year


def registry(rng, n: int) -> pa.Table:
    villages = max(1, n // 1000)
    vill = rng.integers(0, villages, n)
    town = vill // 8
    sex = rng.integers(0, 2, n)
    surname = _choice(rng, list(V.SURNAMES), n, list(V.SURNAMES.values()))
    given = np.where(sex == 0, _choice(rng, V.GIVEN_MALE, n), _choice(rng, V.GIVEN_FEMALE, n))
    second = np.where(sex == 0, _choice(rng, V.GIVEN_MALE, n), _choice(rng, V.GIVEN_FEMALE, n))
    given = np.where(rng.random(n) < V.GIVEN_TWO_SHARE, given + second, given)
    pid, year = _identity_numbers(rng, n)
    return pa.table({
        "公民身份号码": pa.array(pid, pa.string()), "姓名": pa.array(surname + given, pa.string()),
        "性别": pa.array(np.where(sex == 0, "男", "女"), pa.string()),
        "出生日期": pa.array(np.char.add(year.astype(str), "-01-01"), pa.string()),
        "所属乡镇": pa.array(np.char.add(np.char.add("镇", town.astype(str)), ""), pa.string()),
        "所属村": pa.array(np.char.add(np.char.add("村", vill.astype(str)), ""), pa.string()),
    })


def records(rng, reg: pa.Table, n: int) -> pa.Table:
    rows = rng.integers(0, reg.num_rows, n)
    names = reg["姓名"].take(pa.array(rows)).to_numpy(zero_copy_only=False).astype(object)
    towns = reg["所属乡镇"].take(pa.array(rows)).to_numpy(zero_copy_only=False).astype(object)
    vills = reg["所属村"].take(pa.array(rows)).to_numpy(zero_copy_only=False).astype(object)
    kind = rng.random(n)
    prng, homophone = random.Random(1), {}
    for i in np.flatnonzero((kind >= 0.60) & (kind < 0.95)):
        name = names[i]
        if kind[i] < 0.75:
            names[i] = name[0] + " " + name[1:]
        else:
            j = int(rng.integers(0, len(name)))
            other = homophone.setdefault(name[j], sound_alike(prng, name[j]) or name[j])
            names[i] = name[:j] + other + name[j + 1:]
    moved = np.flatnonzero((kind >= 0.95) & (kind < 0.97))
    number = np.char.lstrip(vills[moved].astype(str), "村").astype(int)
    vills[moved] = np.char.add("村", (number // 8 * 8 + (number % 8 + 1) % 8).astype(str)).astype(object)
    absent = np.flatnonzero(kind >= 0.97)
    names[absent] = names[absent] + "某"
    return pa.table({
        "记录编号": pa.array([f"R{i:08d}" for i in range(n)], pa.string()), "姓名": pa.array(names, pa.string()),
        "性别": pa.array([""] * n, pa.string()), "出生年份": pa.array([""] * n, pa.string()),
        "所属乡镇": pa.array(towns, pa.string()), "所属村": pa.array(vills, pa.string()),
    })


def _run(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """Run the command under /usr/bin/time (the child's own peak memory, not the generator's
    pages a fork would count): the result, wall seconds, CPU seconds, peak memory in GB."""
    timer = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    done = subprocess.run([timer, "-f", "@@ %M %U %S", *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    line = next(x for x in reversed(done.stderr.splitlines()) if x.startswith("@@ "))
    kb, user, system = line.split()[1:]
    return done, seconds, float(user) + float(system), int(kb) / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--registry", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--neighbouring", action="store_true")
    parser.add_argument("--data", type=Path, help="keep the generated files here and reuse them on the next run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="names-bench-") as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        files = data / f"registry-{args.registry}.csv", data / f"records-{args.records}-{args.registry}.csv"
        if not all(f.exists() for f in files):
            t0 = time.perf_counter()
            rng = np.random.default_rng(args.seed)
            reg = registry(rng, args.registry)
            pacsv.write_csv(reg, files[0])
            pacsv.write_csv(records(rng, reg, args.records), files[1])
            del reg
            print(f"generated {args.registry:,} + {args.records:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        command = [str(Path(sys.executable).with_name("crosscheck")), "link-names", "--registry", str(files[0]),
                   "--records", str(files[1]), "--out", f"{tmp}/links.csv", *(["--neighbouring"] if args.neighbouring else [])]
        done, seconds, cpu, peak = _run(command)
        print(done.stdout.strip())
        if done.returncode:
            sys.exit(done.stderr)
        print(f"link-names {args.records:,} records x {args.registry:,} registry: {seconds:.1f} s wall, "
              f"{cpu:.1f} s CPU, peak memory {peak:.2f} GB")


if __name__ == "__main__":
    main()
