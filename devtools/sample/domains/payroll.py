"""Payroll (rules/payroll/): public salaries paid after death or alongside a civil-service pension.

Planted cases and decoys for the two payroll rules (their pensions go into the
core tables); the ordinary payroll, which never fires; the finance payroll files.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import render as R
from ..timeutil import NONE
from .planter import DomainPlanter, month_of_day
from .shared import CONTRACT_STAFF, EMPLOYERS, PAY_YUAN, PUBLIC, Residents, ids_for, keys_of, names_for, write

PAYROLL_AFTER_DEATH = "payroll_paid_after_death"
PENSION_ON_PAYROLL = "pension_while_on_payroll"
RULES = [PAYROLL_AFTER_DEATH, PENSION_ON_PAYROLL]

STAFF_CATEGORIES = ["公务员", "参公", "事业编制", "编外聘用"]


# =============================================================================================
# planted cases
# =============================================================================================


def plant(dp: DomainPlanter) -> None:
    _plant_after_death(dp)
    _plant_pension_on_payroll(dp)


def _plant_after_death(dp: DomainPlanter) -> None:
    pl, truth, rnd, n = dp.pl, dp.truth, dp.rnd, dp.scaled
    first, last = dp.fr.first_pay_month, dp.fr.last_pay_month
    for i in range(n(4)):
        p = dp.person(rnd(30, 58))
        d = dp.death_in(4, 16)
        pl.registry_death(p, d, "AB"[i % 2], lag=rnd(3, 30))
        pay = dp.payroll(p, (0, 2, 3, 1)[i % 4], first, min(last, month_of_day(d) + rnd(1, 4)))
        truth.fire(PAYROLL_AFTER_DEATH, p, "high", sum(c for m, c in pay.items() if m > month_of_day(d)), "paid_after_death")
    for _ in range(n(1)):
        p = dp.person(rnd(40, 58))
        d = dp.death_in(4, 16)
        pl.hospital_death(p, d, registry=False)
        pay = dp.payroll(p, 2, first, month_of_day(d) + 2)
        truth.fire(PAYROLL_AFTER_DEATH, p, "high", sum(c for m, c in pay.items() if m > month_of_day(d)),
                   "hospital_only_death")
    for _ in range(n(3)):  # decoy: paid through the month of death only
        p = dp.person(rnd(30, 58))
        d = dp.death_in(4, 16)
        pl.registry_death(p, d, "A")
        dp.payroll(p, rnd(0, 4), first, month_of_day(d))
        truth.decoy(PAYROLL_AFTER_DEATH, "paid_through_death_month")
    for _ in range(n(1)):  # decoy: moved out (迁出) is not death
        p = dp.person(rnd(30, 50))
        pl._p(p).update(status="迁出", cancel_day=dp.fr.as_of_day - rnd(100, 300), cancel_reason="迁出")
        dp.payroll(p, 0, first, last)
        truth.decoy(PAYROLL_AFTER_DEATH, "moved_out")


def _plant_pension_on_payroll(dp: DomainPlanter) -> None:
    pl, truth, rnd, n = dp.pl, dp.truth, dp.rnd, dp.scaled
    first, last = dp.fr.first_pay_month, dp.fr.last_pay_month
    for i in range(n(4)):
        p = dp.person(rnd(61, 68))
        paid = dict(pl.pension(p, 1, last))
        lo = first + rnd(0, 12)
        pay = dp.payroll(p, PUBLIC[i % 3], lo, min(last, lo + rnd(2, 12)))
        pl.alive_activity(p)
        truth.fire(PENSION_ON_PAYROLL, p, "high", sum(c for m, c in paid.items() if m in pay), "pension_and_salary")
    for _ in range(n(2)):  # decoy: enterprise scheme pension with a civil-service salary
        p = dp.person(rnd(61, 68))
        pl.pension(p, 0, last)
        dp.payroll(p, 0, first, first + 6)
        pl.alive_activity(p)
        truth.decoy(PENSION_ON_PAYROLL, "enterprise_scheme")
    for _ in range(n(2)):  # decoy: re-employed as contract staff (编外聘用)
        p = dp.person(rnd(61, 68))
        pl.pension(p, 1, last)
        dp.payroll(p, CONTRACT_STAFF, first + 3, last)
        pl.alive_activity(p)
        truth.decoy(PENSION_ON_PAYROLL, "contract_staff")
    for _ in range(n(2)):  # decoy: salary ends the month before the pension starts
        p = dp.person(60)
        start = first + rnd(4, 12)
        pl.pension(p, 1, last, first=start)
        dp.payroll(p, 2, first, start - 1)
        pl.alive_activity(p)
        truth.decoy(PENSION_ON_PAYROLL, "retired_then_pension")


# =============================================================================================
# the ordinary population
# =============================================================================================


def ordinary_payroll(rng: np.random.Generator, pop: Residents, free: np.ndarray) -> dict[str, pd.DataFrame]:
    """Salaries of ordinary people aged 23-54 (so no pension of theirs overlaps), stopping by the month of death.

    Whoever is registered with a 低保 household (not `free`) is contract staff only.
    """
    fr, person, death = pop.fr, pop.person, pop.death
    first, last = fr.first_pay_month, fr.last_pay_month
    working = pop.ordinary & (pop.age >= 23) & (pop.age <= 54) & (pop.alive_end > fr.window_start + 31)
    emp = np.flatnonzero(working & (rng.random(pop.n) < np.where(free, 0.07, 0.01)))
    cat = np.where(free[emp], rng.choice(4, size=len(emp), p=[0.3, 0.1, 0.4, 0.2]), CONTRACT_STAFF)
    m0 = np.where(rng.random(len(emp)) < 0.9, first, rng.integers(first, last, len(emp)))
    m1 = np.where(rng.random(len(emp)) < 0.9, last, rng.integers(first, last + 1, len(emp)))
    m1 = np.where(death[emp] == NONE, m1, np.minimum(m1, pop.death_month[emp]))
    ok = m1 >= m0
    emp, cat, m0, m1 = emp[ok], cat[ok], m0[ok], m1[ok]
    lo = np.array([p[0] for p in PAY_YUAN])[cat]
    hi = np.array([p[1] for p in PAY_YUAN])[cat]
    base = rng.integers(lo, hi) * 100
    cnt = m1 - m0 + 1
    rows = np.repeat(np.arange(len(emp)), cnt)
    months = m0[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    return {"payroll": pd.DataFrame({"person": person[emp][rows],
                                     "employer": rng.integers(0, len(EMPLOYERS), len(emp))[rows],
                                     "category": cat[rows], "month": months, "cents": base[rows], "idform": -1})}


# =============================================================================================
# delivery
# =============================================================================================


def deliver(ctx: D.Ctx, payroll: pd.DataFrame) -> None:
    """finance: one public payroll file a year, alternately GBK."""
    rng = ctx.rng
    pr = payroll.sort_values(["month", "employer", "person"], kind="stable", ignore_index=True)
    years = pr["month"].to_numpy() // 12
    for i, year in enumerate(sorted(set(years.tolist()))):
        part = pr[years == year].reset_index(drop=True)
        k = keys_of(part)
        gbk = i % 2 == 1
        df = D._frame({
            "公民身份号码": ids_for(ctx, k, part["idform"].to_numpy()),
            "姓名": names_for(ctx, k, gbk=gbk),
            "单位名称": np.array(EMPLOYERS, dtype=object)[part["employer"].to_numpy(dtype=int)],
            "人员类别": np.array(STAFF_CATEGORIES, dtype=object)[part["category"].to_numpy(dtype=int)],
            "发放年月": R.months(rng, part["month"].to_numpy()),
            "应发工资": R.amounts(rng, part["cents"].to_numpy()),
        })
        write(ctx, "finance", "public_payroll", f"public_payroll_{year}.csv", df, "公民身份号码", k,
              encoding="gbk" if gbk else "utf-8-sig", crlf=gbk, n_dups=max(1, len(df) // 4000))
