"""Medical (rules/medical/): exams repeated at other hospitals and inpatient stays that split or overlap.

Planted cases and decoys for the three medical rules (their stays go into the
core inpatient table); the ordinary exams, which never fire; the hospital
exams file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import render as R
from .. import vocab as V
from .planter import DomainPlanter
from .shared import EXAM_ITEMS, Residents, ids_for, keys_of, names_for, write

DUPLICATE_EXAM = "medical_duplicate_exam"
SPLIT_ADMISSION = "medical_split_admission"
OVERLAPPING_STAYS = "medical_overlapping_stays"
RULES = [DUPLICATE_EXAM, SPLIT_ADMISSION, OVERLAPPING_STAYS]


# =============================================================================================
# planted cases
# =============================================================================================


def plant(dp: DomainPlanter) -> None:
    _plant_duplicate_exam(dp)
    _plant_split_admission(dp)
    _plant_overlapping_stays(dp)


def _plant_duplicate_exam(dp: DomainPlanter) -> None:
    truth, rnd, n, a = dp.truth, dp.rnd, dp.scaled, dp.fr.as_of_day
    for i in range(n(4)):
        p = dp.person(rnd(30, 75))
        d0 = a - rnd(60, 600)
        item = rnd(0, len(EXAM_ITEMS))
        h1, h2 = rnd(0, 3), rnd(3, len(V.HOSPITALS))
        gap = (3, 7, 1, 5)[i % 4]
        dp.exam(p, h1, d0, item)
        cents = dp.exam(p, h2, d0 + gap, item)
        truth.fire(DUPLICATE_EXAM, p, "low", cents, "other_hospital_within_window")

    def examined() -> tuple[int, int, int]:
        """(person, first exam day, exam item)."""
        p = dp.person(rnd(30, 75))
        return p, a - rnd(60, 600), rnd(0, len(EXAM_ITEMS))

    for _ in range(n(1)):  # the same exam on the same day at two hospitals (equal cost)
        p, d0, item = examined()
        c = dp.exam(p, 0, d0, item)
        dp.exam(p, 1, d0, item, c)
        truth.fire(DUPLICATE_EXAM, p, "low", c, "same_day")
    for _ in range(n(1)):  # three hospitals in a week: two later exams
        p, d0, item = examined()
        dp.exam(p, 0, d0, item)
        c2 = dp.exam(p, 1, d0 + 2, item)
        c3 = dp.exam(p, 2, d0 + 6, item)
        truth.fire(DUPLICATE_EXAM, p, "low", c2 + c3, "three_hospitals")
    for _ in range(n(2)):  # decoy: eight days apart
        p, d0, item = examined()
        dp.exam(p, 0, d0, item)
        dp.exam(p, 3, d0 + 8, item)
        truth.decoy(DUPLICATE_EXAM, "eight_days_apart")
    for _ in range(n(2)):  # decoy: same hospital within the window
        p, d0, item = examined()
        dp.exam(p, 2, d0, item)
        dp.exam(p, 2, d0 + 3, item)
        truth.decoy(DUPLICATE_EXAM, "same_hospital")
    for _ in range(n(1)):  # decoy: different items at two hospitals the same week
        p = dp.person(rnd(30, 75))
        d0 = a - rnd(60, 600)
        dp.exam(p, 0, d0, 0)
        dp.exam(p, 4, d0 + 2, 1)
        truth.decoy(DUPLICATE_EXAM, "different_items")


def _plant_split_admission(dp: DomainPlanter) -> None:
    truth, rnd, n, a = dp.truth, dp.rnd, dp.scaled, dp.fr.as_of_day
    for i in range(n(3)):
        p = dp.person(rnd(50, 80))
        h, dx = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES))
        d0 = a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + rnd(3, 10), dx)
        dis = dp.pl.rows["inpatient"][-1]["disch_ts"] // 86_400
        gap = (14, 0, 6)[i % 3]
        cents = dp.stay(p, h, dis + gap, dis + gap + rnd(2, 8), dx)
        truth.fire(SPLIT_ADMISSION, p, "medium", cents, "readmitted_within_14_days")
    for _ in range(n(2)):  # decoy: 15 days after
        p = dp.person(rnd(50, 80))
        h, dx, d0 = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, dx)
        dp.stay(p, h, d0 + 20, d0 + 25, dx)
        truth.decoy(SPLIT_ADMISSION, "fifteen_days_after")
    for _ in range(n(1)):  # decoy: first stay ended in a transfer (离院方式 2)
        p = dp.person(rnd(50, 80))
        h, dx, d0 = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, dx, disp="2")
        dp.stay(p, h, d0 + 9, d0 + 12, dx)
        truth.decoy(SPLIT_ADMISSION, "transferred_out")
    for _ in range(n(1)):  # decoy: readmitted with another main diagnosis
        p = dp.person(rnd(50, 80))
        h, d0 = rnd(0, len(V.HOSPITALS)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, 0)
        dp.stay(p, h, d0 + 8, d0 + 12, 3)
        truth.decoy(SPLIT_ADMISSION, "other_diagnosis")
    for _ in range(n(1)):  # decoy: readmitted at another hospital
        p = dp.person(rnd(50, 80))
        dx, d0 = rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 5, dx)
        dp.stay(p, 1, d0 + 8, d0 + 12, dx)
        truth.decoy(SPLIT_ADMISSION, "other_hospital")


def _plant_overlapping_stays(dp: DomainPlanter) -> None:
    truth, rnd, n, a = dp.truth, dp.rnd, dp.scaled, dp.fr.as_of_day
    for _ in range(n(3)):
        p = dp.person(rnd(50, 85))
        d0 = a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 10, rnd(0, len(V.DIAGNOSES)))
        dp.stay(p, rnd(1, len(V.HOSPITALS)), d0 + rnd(1, 10), d0 + 14, rnd(0, len(V.DIAGNOSES)))
        truth.fire(OVERLAPPING_STAYS, p, "high", None, "overlap")
    for _ in range(n(2)):  # decoy: transferred, admitted elsewhere on the discharge day
        p = dp.person(rnd(50, 85))
        d0 = a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 6, 2, disp="2")
        dp.stay(p, 2, d0 + 6, d0 + 12, 2)
        truth.decoy(OVERLAPPING_STAYS, "transfer_same_day")


# =============================================================================================
# the ordinary population
# =============================================================================================


def ordinary_exams(rng: np.random.Generator, pop: Residents) -> dict[str, pd.DataFrame]:
    """Exams of ordinary adults: each person's exams are of different items."""
    age, alive_end, w0 = pop.age, pop.alive_end, pop.fr.window_start
    k = np.where(pop.ordinary & (age >= 18) & (alive_end > w0 + 30), rng.poisson(np.where(age >= 60, 0.8, 0.3)), 0)
    k = np.minimum(k, 4)
    rows = np.repeat(np.arange(pop.n), k)
    j = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)
    item = (rng.integers(0, len(EXAM_ITEMS), pop.n)[rows] + j * 5) % len(EXAM_ITEMS)  # distinct within a person
    span = np.clip(alive_end[rows] - w0 - 1, 1, None)
    dayv = w0 + (rng.random(len(rows)) * span).astype(np.int64)
    cents = np.array([e[2] for e in EXAM_ITEMS])[item] + rng.integers(0, 40, len(rows)) * 100
    return {"exams": pd.DataFrame({"person": pop.person[rows],
                                   "hosp": rng.choice(len(V.HOSPITALS), size=len(rows), p=V.HOSPITAL_WEIGHTS),
                                   "day": dayv, "item": item, "cents": cents, "idform": -1})}


# =============================================================================================
# delivery
# =============================================================================================


def deliver(ctx: D.Ctx, exams: pd.DataFrame) -> None:
    """hospital: the exams file."""
    rng = ctx.rng
    ex = exams.sort_values(["day", "hosp", "person"], kind="stable", ignore_index=True)
    k = keys_of(ex)
    item = ex["item"].to_numpy(dtype=int)
    df = D._frame({
        "检查流水号": np.array([f"JC{int(d) % 100_000:05d}{i:07d}" for i, d in enumerate(ex["day"])], dtype=object),
        "医疗机构名称": np.array([h[1] for h in V.HOSPITALS], dtype=object)[ex["hosp"].to_numpy(dtype=int)],
        "公民身份号码": ids_for(ctx, k, ex["idform"].to_numpy()),
        "姓名": names_for(ctx, k, dot="・"),
        "检查日期": R.dates(rng, ex["day"].to_numpy(), (0.3, 0.5, 0.2)),
        "检查项目编码": np.array([e[0] for e in EXAM_ITEMS], dtype=object)[item],
        "检查项目名称": np.array([e[1] for e in EXAM_ITEMS], dtype=object)[item],
        "费用": R.amounts(rng, ex["cents"].to_numpy()),
    })
    write(ctx, "hospital", "exams", "exams.csv", df, "公民身份号码", k, encoding="utf-8", n_dups=max(1, len(df) // 5000))
