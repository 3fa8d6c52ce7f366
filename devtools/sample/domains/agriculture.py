"""Agriculture (rules/agriculture/): land contracts and the 耕地地力保护补贴 paid on them.

Planted cases and decoys for the two subsidy rules; the ordinary contracts and
subsidies, which never fire; the agriculture files.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import ids as idmod
from .. import render as R
from ..timeutil import day
from .planter import DomainPlanter
from .shared import (SUBSIDY_RATE_CENTS, TABLES, Residents, ids_for, keys_of, names_for, subsidy_doc, townships,
                     village, write)

SUBSIDY_AREA = "subsidy_area_exceeds_contract"
SUBSIDY_DECEASED = "subsidy_paid_to_deceased"
RULES = [SUBSIDY_AREA, SUBSIDY_DECEASED]


# =============================================================================================
# planted cases
# =============================================================================================


def plant(dp: DomainPlanter) -> None:
    _plant_area(dp)
    _plant_deceased(dp)


def _subsidy_years(dp: DomainPlanter) -> tuple[int, int]:
    return dp.fr.as_of.year - 2, dp.fr.as_of.year - 1


def _pay_day(dp: DomainPlanter, year: int) -> int:
    return day(dt.date(year, 6, 1)) + dp.rnd(0, 60)


def _plant_area(dp: DomainPlanter) -> None:
    truth, rnd, n = dp.truth, dp.rnd, dp.scaled
    y1, y2 = _subsidy_years(dp)

    def over(cents: int, sub: int, con: int) -> int:
        return cents * (sub - con) // sub

    for i in range(n(4)):
        p = dp.person(rnd(40, 70), rural=True)
        con = rnd(40, 120)
        dp.contract(p, con)
        sub = con + max(con // 10, 6) + rnd(0, 30)  # at least 10% over
        year = (y1, y2)[i % 2]
        cents = dp.subsidy(p, year, sub, _pay_day(dp, year))
        dp.subsidy(p, y1 + y2 - year, con, _pay_day(dp, y1 + y2 - year))  # the other year within the contract
        truth.fire(SUBSIDY_AREA, p, "medium", over(cents, sub, con), "over_contract")
    for _ in range(n(2)):  # no contract at all: all of it is excess
        p = dp.person(rnd(40, 70), rural=True)
        cents = dp.subsidy(p, y2, rnd(20, 80), _pay_day(dp, y2))
        truth.fire(SUBSIDY_AREA, p, "medium", cents, "no_contract")
    for i in range(n(2)):  # decoy: exactly 5% over
        p = dp.person(rnd(40, 70), rural=True)
        con = (200, 100)[i % 2]
        dp.contract(p, con // 2)
        dp.contract(p, con // 2)
        dp.subsidy(p, y2, con * 105 // 100, _pay_day(dp, y2))
        truth.decoy(SUBSIDY_AREA, "exactly_five_per_cent")
    for _ in range(n(2)):  # decoy: two payments in one year that together stay within the contract
        p = dp.person(rnd(40, 70), rural=True)
        con = rnd(60, 120)
        dp.contract(p, con)
        dp.subsidy(p, y1, con // 2, _pay_day(dp, y1))
        dp.subsidy(p, y1, con - con // 2, _pay_day(dp, y1) + 30)
        truth.decoy(SUBSIDY_AREA, "split_payments_within")


def _plant_deceased(dp: DomainPlanter) -> None:
    pl, truth, rnd, n = dp.pl, dp.truth, dp.rnd, dp.scaled
    y1, y2 = _subsidy_years(dp)

    def contracted_farmer() -> tuple[int, int, int]:
        """(person, contracted tenths of 亩, this year's pay day)."""
        p = dp.person(rnd(60, 85), rural=True)
        con = rnd(30, 100)
        dp.contract(p, con)
        return p, con, _pay_day(dp, y2)

    for i in range(n(4)):
        p, con, pd2 = contracted_farmer()
        d = pd2 - rnd(1, 200)
        pl.registry_death(p, d, "AB"[i % 2], lag=rnd(3, 20))
        dp.subsidy(p, y1, con, min(_pay_day(dp, y1), d - 1))
        cents = dp.subsidy(p, y2, con, pd2, idform=(idmod.LEGACY15, -1)[i % 2])
        truth.fire(SUBSIDY_DECEASED, p, "high", cents, "paid_after_death")
    for _ in range(n(1)):
        p, con, pd2 = contracted_farmer()
        pl.hospital_death(p, pd2 - rnd(10, 100), registry=False)
        cents = dp.subsidy(p, y2, con, pd2)
        truth.fire(SUBSIDY_DECEASED, p, "high", cents, "hospital_only_death")
    for _ in range(n(2)):  # decoy: paid on the day of death
        p, con, pd2 = contracted_farmer()
        pl.registry_death(p, pd2, "A")
        dp.subsidy(p, y2, con, pd2)
        truth.decoy(SUBSIDY_DECEASED, "paid_on_death_day")
    for _ in range(n(2)):  # decoy: died after the last payment
        p, con, pd2 = contracted_farmer()
        pl.registry_death(p, min(pd2 + rnd(1, 100), dp.fr.as_of_day - 1), "A")
        dp.subsidy(p, y2, con, pd2)
        truth.decoy(SUBSIDY_DECEASED, "died_after_payment")


# =============================================================================================
# the ordinary population
# =============================================================================================


def ordinary_farms(rng: np.random.Generator, pop: Residents) -> dict[str, pd.DataFrame]:
    """Land contracts and subsidies of ordinary rural people.

    Subsidised area never exceeds the contracted area; nothing is paid on or
    after the day of death.
    """
    fr, person, area, street, alive_end = pop.fr, pop.person, pop.area, pop.street, pop.alive_end
    a = fr.as_of_day
    farm = np.flatnonzero(pop.ordinary & pop.rural & (pop.age >= 25) & (alive_end > fr.window_start)
                          & (rng.random(pop.n) < 0.12))
    two = rng.random(len(farm)) < 0.2
    c_person = np.r_[farm, farm[two]]
    c_tenths = rng.integers(10, 150, len(c_person))
    contracts = pd.DataFrame({"person": person[c_person], "tenths": c_tenths, "area": area[c_person],
                              "street": street[c_person],
                              "village": [village(int(x), int(s), 1) for x, s in zip(area[c_person], street[c_person])],
                              "idform": -1})
    total = pd.Series(c_tenths).groupby(c_person).sum()
    sub_rows = []
    for year in (fr.as_of.year - 2, fr.as_of.year - 1):
        pd_ = day(dt.date(year, 6, 1)) + rng.integers(0, 60, len(farm))
        rate = SUBSIDY_RATE_CENTS + 500 * (year % 2)
        for f, d in zip(farm, pd_):
            if d >= a or d >= alive_end[f]:
                continue
            t = int(total.loc[f])
            if rng.random() < 0.1:
                t = max(1, t - int(rng.integers(1, 10)))
            sub_rows.append({"doc": subsidy_doc(year, int(area[f])), "person": int(person[f]), "year": year,
                             "tenths": t, "cents": t * rate // 10, "pay_day": int(d), "area": int(area[f]),
                             "street": int(street[f]), "village": village(int(area[f]), int(street[f]), 1),
                             "idform": -1})
    return {"contracts": contracts, "subsidies": pd.DataFrame(sub_rows, columns=TABLES["subsidies"])}


# =============================================================================================
# delivery
# =============================================================================================


def deliver(ctx: D.Ctx, t: dict[str, pd.DataFrame]) -> None:
    """agriculture: the land contracts (GBK) and one subsidy payments file a year."""
    rng = ctx.rng
    ct = t["contracts"].sort_values(["area", "street", "village", "person"], kind="stable", ignore_index=True)
    k = keys_of(ct)
    df = D._frame({
        "承包合同编号": np.array([f"HT{D.AREA_CODES[int(x)]}{i:06d}" for i, x in enumerate(ct["area"])], dtype=object),
        "承包方身份证号": ids_for(ctx, k, ct["idform"].to_numpy()),
        "承包方姓名": names_for(ctx, k, gbk=True),
        "承包面积": np.array([f"{v / 10:.1f}" if i % 4 else f"{v / 10:g}" for i, v in enumerate(ct["tenths"])], dtype=object),
        "所属乡镇": townships(ct),
        "所属村": ct["village"].to_numpy(dtype=object),
    })
    write(ctx, "agriculture", "land_contracts", "land_contracts.csv", df, "承包方身份证号", k, encoding="gbk", crlf=True)
    sb = t["subsidies"].sort_values(["year", "pay_day", "person"], kind="stable", ignore_index=True)
    for i, year in enumerate(sorted(set(sb["year"].tolist()))):
        part = sb[sb["year"] == year].reset_index(drop=True)
        k = keys_of(part)
        df = D._frame({
            "资金文号": part["doc"].to_numpy(dtype=object),
            "公民身份号码": ids_for(ctx, k, part["idform"].to_numpy()),
            "姓名": names_for(ctx, k),
            "补贴年度": part["year"].astype(str).to_numpy(dtype=object),
            "补贴面积": np.array([f"{v / 10:.2f}" for v in part["tenths"]], dtype=object),
            "补贴金额": R.amounts(rng, part["cents"].to_numpy()),
            "发放日期": R.dates(rng, part["pay_day"].to_numpy()),
            "所属乡镇": townships(part),
            "所属村": part["village"].to_numpy(dtype=object),
        })
        write(ctx, "agriculture", "subsidy_payments", f"subsidy_payments_{year}.csv", df, "公民身份号码", k,
              encoding=("utf-8", "utf-8-sig")[i % 2], n_dups=max(1, len(df) // 3000))
