"""`generate_scale_city`: plant the cases, build every table in one DuckDB connection, write the files and `_truth/`."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from ..deliver import Ledger
from ..model import Frame
from ..planted import CORE_RULES, plant
from .files import DeliveryFiles, write_rows
from .hospital import build_hospital, write_hospital
from .pensions import build_pensions, write_pensions
from .registry import build_people, write_residents
from .sql import define_macros, register_planted
from .transit import build_transit, write_transit

#: Planted cases are scaled as for a city of at most this many residents.
PLANT_PEOPLE_CAP = 200_000
#: Above this many residents `crosscheck sample` uses this generator by default.
AUTO_SCALE_ABOVE = 2_000_000

FOLDERS = ("social_security", "household_registry", "hospital", "transit_card", "_truth")


def generate_scale_city(out: Path, people: int = 1_000_000, seed: int = 7, as_of: dt.date = dt.date(2026, 11, 1),
                        memory_limit: str = "8GB", threads: int | None = None, log=None) -> dict:
    """Write one delivery of `people` residents to `out` (+ `out/_truth`); return a summary with timings."""
    out = Path(out)
    fr = Frame(as_of)
    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - t0 - sum(timings.values()), 2)
        say(f"  {name}: {timings[name]} s")

    rng = np.random.default_rng(np.random.SeedSequence([seed, people, as_of.toordinal(), 8]))
    planted, truth = plant(rng, fr, min(people, PLANT_PEOPLE_CAP), {"person": 0, "pen": 0, "card": 0})
    n_pl = {"person": len(planted["people"]), "pen": len(planted["pensioners"]), "card": len(planted["cards"])}
    if people < 2 * n_pl["person"]:
        raise ValueError(f"--people {people}: the scale generator needs at least {2 * n_pl['person']} residents")

    if out.exists():
        for sub in FOLDERS:
            shutil.rmtree(out / sub, ignore_errors=True)
    for sub in FOLDERS:
        (out / sub).mkdir(parents=True, exist_ok=True)

    spill = tempfile.TemporaryDirectory(prefix="crosscheck-scale-")
    config = {"memory_limit": memory_limit, "temp_directory": spill.name, "preserve_insertion_order": True,
              "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_progress_bar = false")
        define_macros(con, seed)
        register_planted(con, planted)
        lap("planted cases (Python)")
        # integer-keyed tables: planted rows unioned with the ordinary population
        build_people(con, fr, people, n_pl["person"])
        build_pensions(con, fr, n_pl["pen"])
        build_transit(con, fr, n_pl["card"])
        build_hospital(con, fr)
        con.execute("DROP TABLE ord")
        lap("population (SQL)")
        ledger = Ledger()
        files = DeliveryFiles(con, out, ledger, lap)
        write_pensions(files)
        write_residents(files)
        write_hospital(files)
        write_transit(files, fr)
        # ground truth: the planter's bookkeeping, person keys -> identity numbers
        pid = dict(con.execute("SELECT person, pid FROM ids WHERE person < ?", [n_pl["person"]]).fetchall())
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("people", "pens", "pays", "cards", "reviews", "taps", "inp", "outp")}
    finally:
        con.close()
        spill.cleanup()

    tdir = out / "_truth"
    rows = sorted((rule, pid[p], sev, "" if cents is None else f"{cents / 100:.2f}") for rule, p, sev, cents in truth.findings)
    write_rows(tdir / "findings.csv", ["rule_id", "person_id", "severity", "amount_at_risk"], rows)
    write_rows(tdir / "files.csv", ["source", "table", "file", "rows", "invalid_rows", "duplicate_rows"], sorted(ledger.files))
    write_rows(tdir / "quarantine.csv", ["source", "table", "file", "line", "reason"], sorted(ledger.quarantine))
    per_rule = {r: sum(1 for f in truth.findings if f[0] == r) for r in CORE_RULES}
    lap("truth")
    meta = {
        "people": people, "seed": seed, "as_of": fr.as_of.isoformat(), "generator": "scale",
        "paid_months": [f"{fr.first_pay_month // 12:04d}-{fr.first_pay_month % 12 + 1:02d}",
                        f"{fr.last_pay_month // 12:04d}-{fr.last_pay_month % 12 + 1:02d}"],
        "findings_per_rule": per_rule,
        "planted": {r: truth.planted.get(r, {}) for r in CORE_RULES},
        "decoys": {r: truth.decoys.get(r, {}) for r in CORE_RULES},
        "planted_people": n_pl["person"],
        "rows": counts,
        "seconds": timings,
    }
    (tdir / "sample.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return {
        "people": people, "seed": seed, "as_of": fr.as_of.isoformat(),
        "files": {f[2]: f[3] for f in sorted(ledger.files)},
        "planted": per_rule,
        "decoys": {r: sum(truth.decoys.get(r, {}).values()) for r in CORE_RULES},
        "quarantined_rows": len(ledger.quarantine),
        "rows": counts,
        "seconds": round(time.perf_counter() - t0, 1),
    }
