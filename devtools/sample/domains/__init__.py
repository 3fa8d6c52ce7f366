"""The domain sources of the sample city (declared in connectors/) and the fourteen domain rules' truth.

One module per folder of rules/ (civil_affairs, agriculture, funds, medical,
payroll), each with that domain's planted cases, ordinary rows and files.
Called by city.py, in this order:

- `plant_domains`: planted cases and near-miss decoys for every domain rule,
  built with the core `Planter` (so planted people, their pensions and stays
  land in the core tables too); the truth is recorded as the rows are made.
- `ordinary_domains`: the ordinary population's 低保 households, payroll,
  vehicles, enterprises, village officials, land contracts, subsidies and
  exams, built so that no domain rule ever fires for them.
- `fund_flows`: allocations and disbursements derived from all subsidy
  payments (planted ones included), with the planted fund cases applied.
- `deliver_domains` writes the files with the same mess as the core extracts
  (encodings, date/month/amount/identity forms, duplicates, invalid numbers).

Every step draws from one random stream, so the order of the calls below is
part of the output: same seed, same files.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import deliver as D
from ..model import Frame, Truth
from ..planted import Planter
from . import (agriculture, business, civil_affairs, funds, medical, payroll, procurement, procurement_files, sanzi_files,
               sanzi_truth, vehicles)
from .workcal import deliver_calendar
from .funds import fund_flows
from .planter import DomainPlanter
from .shared import TABLES, Residents, combine, frames

__all__ = ["DOMAIN_RULES", "DOMAIN_SOURCES", "TABLES", "add_business", "combine", "deliver_business", "deliver_domains", "deliver_sanzi_procurement", "frames", "SANZI_MIN_PEOPLE", "fund_flows",
           "ordinary_domains", "plant_domains"]

DOMAIN_RULES = (civil_affairs.RULES + agriculture.RULES + funds.RULES + medical.RULES + payroll.RULES + business.RULES
                + vehicles.RULES + sanzi_truth.RULES + procurement.RULES)
#: domain source folders, in the order they are written
DOMAIN_SOURCES = ["civil_affairs", "finance", "vehicle_registry", "market_regulation", "village_cadres", "agriculture",
                  "calendar", "gov_services", "law_enforcement", "official_vehicles", "collective_assets", "procurement"]


def plant_domains(pl: Planter, truth: Truth, people: int) -> dict[str, pd.DataFrame]:
    """Plant every domain rule's positives and decoys; return the domain rows (integer keys)."""
    dp = DomainPlanter(pl, truth, people)
    for domain in (civil_affairs, agriculture, funds, medical, payroll):
        domain.plant(dp)
    out = frames(dp.rows)
    out["fund_cases"] = dp.fund_cases  # type: ignore[assignment]
    out["n_households"] = dp.next_hh  # type: ignore[assignment]
    return out


def ordinary_domains(rng: np.random.Generator, people: pd.DataFrame, fr: Frame, hh_offset: int) -> dict[str, pd.DataFrame]:
    """Domain rows of ordinary (not planted) people that never satisfy a domain rule (see each domain)."""
    pop = Residents.of(people, fr)
    rows, free = civil_affairs.ordinary_households(rng, pop, hh_offset)
    rows |= payroll.ordinary_payroll(rng, pop, free)
    rows |= civil_affairs.ordinary_holdings(rng, pop, free)
    rows |= agriculture.ordinary_farms(rng, pop)
    rows |= medical.ordinary_exams(rng, pop)
    return frames(rows)


def deliver_business(ctx: D.Ctx, truth: Truth, people: int) -> None:
    """营商环境 and 公车管理: the calendar, the government-service platform, inspections, enterprise
    subsidies (and their enterprises), official vehicles; from `ctx`'s own random stream."""
    cal = deliver_calendar(ctx, ctx.fr.as_of)
    business.deliver(ctx, truth, cal, people / 20_000)
    vehicles.deliver(ctx, truth, cal, people / 20_000)


#: The smallest city given the 三资 and procurement sources: below it there are too few free
#: households and payroll people for every planted case and near miss (their rules are skipped there).
SANZI_MIN_PEOPLE = 1_000


def deliver_sanzi_procurement(ctx: D.Ctx, truth: Truth, people: int, dom: dict[str, pd.DataFrame]) -> None:
    """农村集体三资 (leases, rent receipts, the community officials and the few residents its cases add)
    and 招投标 (bids, contracts, the suppliers' enterprises); from `ctx`'s own random stream, after every
    other source (`dom`: the domain tables: who holds a 低保 membership or an office, the payroll)."""
    registry = sanzi_files.deliver(ctx, truth, dom, people / 20_000)
    procurement_files.deliver(ctx, truth, registry, dom, people / 20_000)


def add_business(out, people: int, seed: int, as_of, residents: list[tuple[str, str]]) -> Truth:
    """Add the 营商环境 and 公车管理 sources of a city of `people` to the delivery `out` (the city-scale
    benchmark's catalog run; `residents`: (identity number, name) of some of its residents, the
    applicants who are persons); their truth is returned, their files' ledger in `_truth/business_files.csv`."""
    import datetime as dt
    from pathlib import Path

    from ..model import Frame

    fr = Frame(as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of))
    frame = pd.DataFrame({"pid": [p for p, _ in residents], "name": [n for _, n in residents]})
    frame["planted"], frame["death"] = False, -(10**9)
    ledger, truth = D.Ledger(), Truth()
    rng = np.random.default_rng(np.random.SeedSequence([seed, people, fr.as_of.toordinal(), 21]))
    deliver_business(D.Ctx(Path(out), fr, rng, frame, ledger), truth, people)
    with open(Path(out) / "_truth" / "business_files.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("source,table,file,rows,invalid_rows,duplicate_rows\n")
        fh.writelines(",".join(map(str, f)) + "\n" for f in sorted(ledger.files))
    return truth


def deliver_domains(ctx: D.Ctx, t: dict[str, pd.DataFrame], alloc: pd.DataFrame, disb: pd.DataFrame) -> None:
    civil_affairs.deliver_households(ctx, t)
    payroll.deliver(ctx, t["payroll"])
    funds.deliver(ctx, alloc, disb)
    civil_affairs.deliver_holdings(ctx, t)
    agriculture.deliver(ctx, t)
    medical.deliver(ctx, t["exams"])
