"""Funds (rules/funds/): subsidy money allocated to a 乡镇, disbursed by it and delivered to farmers.

The planted fund cases are recorded while planting and applied by
`fund_flows` to the flows of the subsidies actually paid; the fund truth
(subject ``<资金文号>|<乡镇>``) comes from those numbers. Delivered as the
finance fund files (no identity numbers).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import render as R
from ..model import Frame, Truth
from ..timeutil import day
from .planter import DomainPlanter
from .shared import township, townships, write

FUND_RETAINED = "fund_retained"
FUND_NOT_DELIVERED = "fund_not_delivered"
RULES = [FUND_RETAINED, FUND_NOT_DELIVERED]

PROGRAMME = "耕地地力保护补贴"
#: cases applied to an existing subsidy flow; the others add an allocation of their own
ON_A_SUBSIDY_FLOW = ("retained", "retained_exactly_5pct", "not_delivered", "delivered_within_tolerance")
RECENT = ("recent_nothing_disbursed", "exactly_grace_days")


def plant(dp: DomainPlanter) -> None:
    """Record the fund cases (kind, value); `fund_flows` applies them."""
    rnd, n = dp.rnd, dp.scaled
    for _ in range(n(3)):
        dp.fund_cases.append(("retained", rnd(20, 50)))            # disbursed is 50-80% of allocated
    dp.fund_cases.append(("nothing_disbursed", 0))
    dp.fund_cases.append(("retained_exactly_5pct", 0))              # decoy
    dp.fund_cases.append(("recent_nothing_disbursed", rnd(30, 89)))  # decoy
    dp.fund_cases.append(("exactly_grace_days", 90))                # decoy
    for _ in range(n(3)):
        dp.fund_cases.append(("not_delivered", rnd(10, 40)))        # extra disbursement to a company, % of delivered
    for _ in range(n(2)):
        dp.fund_cases.append(("delivered_within_tolerance", 4))     # decoy: 4% not delivered


def fund_flows(rng: np.random.Generator, subsidies: pd.DataFrame, fr: Frame, cases: list[tuple], truth: Truth):
    """Allocations and disbursements from the subsidies actually paid, planted fund cases applied.

    Per (资金文号, 乡镇): disbursed = delivered + 0-3%, allocated = disbursed + 0-3% (both well
    inside the 5% tolerance), allocated in April of the subsidy year (long past the grace).
    """
    flows = _subsidy_flows(rng, subsidies)
    _apply_cases(rng, flows, fr, cases, truth)
    return _flow_rows(rng, flows, fr.as_of_day)


def _subsidy_flows(rng: np.random.Generator, subsidies: pd.DataFrame) -> list[dict]:
    sub = subsidies.assign(township=townships(subsidies).tolist())
    keys = sub.groupby(["doc", "township", "year"], sort=True)["cents"].sum().reset_index()
    flows = []
    for r in keys.itertuples(index=False):
        delivered = int(r.cents)
        disbursed = delivered + delivered * int(rng.integers(0, 300)) // 10_000
        allocated = disbursed + disbursed * int(rng.integers(0, 300)) // 10_000
        aday = day(dt.date(int(r.year), 4, 10)) + int(rng.integers(0, 20))
        flows.append({"doc": r.doc, "township": r.township, "year": int(r.year), "delivered": delivered,
                      "disbursed": [disbursed], "allocated": allocated, "aday": aday, "company": 0})
    return flows


def _apply_cases(rng: np.random.Generator, flows: list[dict], fr: Frame, cases: list[tuple], truth: Truth) -> None:
    """Change random subsidy flows, or add allocations of their own, and record the truth."""
    a = fr.as_of_day
    take = iter(rng.permutation(len(flows)).tolist())
    extra_docs = 900

    def new_doc(year: int) -> str:
        nonlocal extra_docs
        extra_docs += 1
        return f"黄财预〔{year}〕{extra_docs}号"

    towns = sorted({f["township"] for f in flows}) or [township(4, 0)]
    for kind, value in cases:
        if kind in ON_A_SUBSIDY_FLOW:
            idx = next(take, None)
            if idx is None:
                continue
            f = flows[idx]
            total = sum(f["disbursed"])
            if kind == "retained":
                f["allocated"] = total * 100 // (100 - value)
                truth.fire(FUND_RETAINED, f"{f['doc']}|{f['township']}", "medium", f["allocated"] - total, "partly_disbursed")
            elif kind == "retained_exactly_5pct":
                unit = -(-total // 19)
                f["disbursed"][-1] += unit * 19 - total            # disbursed = 19 units (≤ 5% over delivered)
                f["allocated"] = unit * 20                         # gap exactly 5% of allocated
                truth.decoy(FUND_RETAINED, "gap_exactly_five_per_cent")
            elif kind == "not_delivered":
                company = f["delivered"] * value // 100
                f["company"] = company
                total += company
                f["allocated"] = total + total * int(rng.integers(0, 300)) // 10_000
                truth.fire(FUND_NOT_DELIVERED, f"{f['doc']}|{f['township']}", "high", total - f["delivered"], "paid_to_a_company")
            else:
                f["disbursed"] = [f["delivered"] + f["delivered"] * value // 100]
                f["allocated"] = f["disbursed"][0]
                truth.decoy(FUND_NOT_DELIVERED, "four_per_cent_not_delivered")
        else:
            year = fr.as_of.year - (0 if kind in RECENT else 1)
            town = towns[int(rng.integers(0, len(towns)))]
            amount = int(rng.integers(50_000, 500_000)) * 100
            aday = a - value if kind in RECENT else a - int(rng.integers(120, 400))
            f = {"doc": new_doc(year), "township": town, "year": year, "delivered": 0, "disbursed": [],
                 "allocated": amount, "aday": aday, "company": 0}
            flows.append(f)
            if kind == "nothing_disbursed":
                truth.fire(FUND_RETAINED, f"{f['doc']}|{town}", "medium", amount, "nothing_disbursed")
            else:
                truth.decoy(FUND_RETAINED, "recent_allocation" if kind == "recent_nothing_disbursed" else "exactly_grace_days")


def _flow_rows(rng: np.random.Generator, flows: list[dict], a: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The allocation and disbursement rows (large sums disbursed in up to three batches)."""
    alloc, disb = [], []
    for f in flows:
        alloc.append({"doc": f["doc"], "programme": PROGRAMME if f["delivered"] or f["disbursed"] else "农业生产发展资金",
                      "day": f["aday"], "township": f["township"], "cents": f["allocated"]})
        batches = []
        for total in f["disbursed"]:
            k = 1 + int(rng.integers(0, 3)) if total > 300_000 else 1
            parts = [total // k] * k
            parts[-1] += total - sum(parts)
            batches += parts
        for i, c in enumerate(batches):
            disb.append({"doc": f["doc"], "township": f["township"], "day": min(f["aday"] + 20 + 15 * i, a - 1),
                         "payee": f"{f['township']}农户补贴代发批次{i + 1}", "cents": c})
        if f["company"]:
            disb.append({"doc": f["doc"], "township": f["township"], "day": min(f["aday"] + 40, a - 1),
                         "payee": "黄石惠农农业服务有限公司", "cents": f["company"]})
    return pd.DataFrame(alloc), pd.DataFrame(disb)


def deliver(ctx: D.Ctx, alloc: pd.DataFrame, disb: pd.DataFrame) -> None:
    """finance: the fund allocations and disbursements."""
    rng = ctx.rng
    al = alloc.sort_values(["day", "doc", "township"], kind="stable", ignore_index=True)
    df = D._frame({
        "资金文号": al["doc"].to_numpy(dtype=object),
        "项目名称": al["programme"].to_numpy(dtype=object),
        "下达日期": R.dates(rng, al["day"].to_numpy(), (0.3, 0.5, 0.2)),
        "接收乡镇": al["township"].to_numpy(dtype=object),
        "下达金额": R.amounts(rng, al["cents"].to_numpy(), (0.2, 0.3, 0.5)),
    })
    write(ctx, "finance", "fund_allocations", "fund_allocations.csv", df, None, None, encoding="utf-8-sig")
    ds = disb.sort_values(["day", "doc", "township", "payee"], kind="stable", ignore_index=True)
    df = D._frame({
        "资金文号": ds["doc"].to_numpy(dtype=object),
        "支出乡镇": ds["township"].to_numpy(dtype=object),
        "支出日期": R.dates(rng, ds["day"].to_numpy(), (0.6, 0.3, 0.1)),
        "收款方": ds["payee"].to_numpy(dtype=object),
        "支出金额": R.amounts(rng, ds["cents"].to_numpy(), (0.2, 0.3, 0.5)),
    })
    write(ctx, "finance", "fund_disbursements", "fund_disbursements.csv", df, None, None, encoding="gbk", crlf=True, n_dups=1)
