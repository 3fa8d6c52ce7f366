"""DomainPlanter: the domain rows of planted people, built one case at a time."""
from __future__ import annotations

import numpy as np

from .. import vocab as V
from ..model import Truth
from ..planted import Planter
from ..timeutil import NONE, month_first_day, months_of_days
from .shared import (DIBAO_RELATION, EMPLOYERS, ENTERPRISE_KINDS, ENTERPRISE_WORDS, EXAM_ITEMS, PAY_YUAN,
                     RURAL_AREAS, SUBSIDY_RATE_CENTS, TABLES, subsidy_doc, village)


def month_of_day(d: int) -> int:
    return int(months_of_days(np.array([d]))[0])


class DomainPlanter:
    """Domain rows of planted people; core rows (people, pensions, stays) go through `pl`."""

    def __init__(self, pl: Planter, truth: Truth, people: int, hh_offset: int = 0):
        self.pl, self.truth, self.rng, self.fr = pl, truth, pl.rng, pl.fr
        self.people = people
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self.next_hh = hh_offset
        self.fund_cases: list[tuple] = []   # applied by funds.fund_flows

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def scaled(self, base: int) -> int:
        """How many cases of a kind planted `base` times in a city of 20,000 (at least one)."""
        return max(1, round(base * self.people / 20_000))

    def death_in(self, lo: int, hi: int) -> int:
        """A death day `lo`..`hi` months before the as-of month."""
        m = self.fr.as_of_month - self.rnd(lo, hi + 1)
        return month_first_day(m) + self.rnd(0, 28)

    # ---- people -------------------------------------------------------------------------
    def person(self, age: int, *, rural: bool = False, sex: int | None = None) -> int:
        p = self.pl.person(age, sex=sex)
        if rural:
            area = RURAL_AREAS[self.rnd(0, 2)]
            self.pl._p(p).update(area=area, street=self.rnd(0, len(V.DISTRICTS[area][2])))
        return p

    def join_household(self, member: int, of: int, rel: str) -> None:
        """Register `member` in the registry household (户号) of `of` (same district and address)."""
        o = self.pl._p(of)
        self.pl._p(member).update(hh=o["hh"], rel=rel, area=o["area"], street=o["street"], addr=o["addr"])

    # ---- 低保 ------------------------------------------------------------------------------
    def dibao(self, n_members: int = 2, *, first: int | None = None, last: int | None = None, filed: bool = False,
              head_age: int | None = None, member_ages: tuple[int, int] = (24, 45), head_idform: int = -1):
        """A 低保 household: head + members in one registry household, paid monthly first..last.

        Returns (head, [members incl. head], {month: cents})."""
        fr = self.fr
        head = self.person(head_age or self.rnd(45, 75), rural=True)
        hp = self.pl._p(head)
        members = [head]
        rels = ["配偶", "子", "女"]
        for i in range(n_members - 1):
            m = self.person(self.rnd(*member_ages))
            self.join_household(m, head, rels[i % 3] if i else "配偶")
            members.append(m)
        hh = self.next_hh
        self.next_hh += 1
        first = fr.first_pay_month if first is None else first
        last = fr.last_pay_month if last is None else last
        cents = n_members * self.rnd(3_000, 7_000) * 10
        paid = {m: cents for m in range(first, last + 1)}
        vil = village(hp["area"], hp["street"], self.rnd(0, 4))
        for i, m in enumerate(members):
            rel = "本人" if i == 0 else DIBAO_RELATION.get(self.pl._p(m)["rel"], "其他")
            self.rows["dibao_members"].append({"hh_no": hh, "head": head, "person": m, "rel": rel, "category": 1,
                                               "area": hp["area"], "street": hp["street"], "village": vil,
                                               "filed": filed, "idform": -1})
        for m, c in paid.items():
            self.rows["dibao_payments"].append({"hh_no": hh, "head": head, "month": m, "cents": c, "idform": head_idform})
        return head, members, paid

    # ---- payroll ---------------------------------------------------------------------------
    def payroll(self, person: int, category: int, first: int, last: int, employer: int | None = None) -> dict[int, int]:
        lo, hi = PAY_YUAN[category]
        cents = self.rnd(lo, hi) * 100
        emp = self.rnd(0, len(EMPLOYERS)) if employer is None else employer
        out = {}
        for m in range(first, last + 1):
            self.rows["payroll"].append({"person": person, "employer": emp, "category": category, "month": m,
                                         "cents": cents, "idform": -1})
            out[m] = cents
        return out

    # ---- holdings ----------------------------------------------------------------------------
    def vehicle(self, person: int, vtype: int, reg: int, dereg: int = NONE, status: str | None = None) -> None:
        status = status or ("正常" if dereg == NONE else ("注销", "报废", "转出")[self.rnd(0, 3)])
        self.rows["vehicles"].append({"person": person, "vtype": vtype, "reg_day": reg, "status": status,
                                      "dereg_day": dereg, "idform": -1})

    def enterprise(self, person: int, capital: float, est: int, closed: int = NONE) -> None:
        status = ("存续", "在业")[self.rnd(0, 2)] if closed == NONE else ("注销", "吊销")[self.rnd(0, 2)]
        self.rows["enterprises"].append({"person": person, "word": self.rnd(0, len(ENTERPRISE_WORDS)),
                                         "kind": self.rnd(0, len(ENTERPRISE_KINDS)), "capital": capital, "est_day": est,
                                         "status": status, "closed_day": closed, "idform": -1})

    def cadre(self, person: int, post: int, start: int, end: int = NONE) -> None:
        p = self.pl._p(person)
        self.rows["cadres"].append({"person": person, "post": post, "area": p["area"], "street": p["street"],
                                    "village": village(p["area"], p["street"], 0), "start_day": start,
                                    "end_day": end, "idform": -1})

    # ---- agriculture -------------------------------------------------------------------------
    def contract(self, person: int, tenths: int) -> None:
        p = self.pl._p(person)
        self.rows["contracts"].append({"person": person, "tenths": tenths, "area": p["area"], "street": p["street"],
                                       "village": village(p["area"], p["street"], 1), "idform": -1})

    def subsidy(self, person: int, year: int, tenths: int, pay_day: int, idform: int = -1) -> int:
        p = self.pl._p(person)
        cents = tenths * (SUBSIDY_RATE_CENTS + 500 * (year % 2)) // 10
        self.rows["subsidies"].append({"doc": subsidy_doc(year, p["area"]), "person": person, "year": year,
                                       "tenths": tenths, "cents": cents, "pay_day": pay_day, "area": p["area"],
                                       "street": p["street"], "village": village(p["area"], p["street"], 1),
                                       "idform": idform})
        return cents

    # ---- medical ----------------------------------------------------------------------------
    def exam(self, person: int, hosp: int, d: int, item: int, cents: int | None = None) -> int:
        cents = EXAM_ITEMS[item][2] + self.rnd(0, 40) * 100 if cents is None else cents
        self.rows["exams"].append({"person": person, "hosp": hosp, "day": d, "item": item, "cents": cents, "idform": -1})
        return cents

    def stay(self, person: int, hosp: int, admit: int, disch: int, dx: int, disp: str = "1", cents: int | None = None) -> int:
        cents = self.rnd(3_000, 30_000) * 100 if cents is None else cents
        self.pl.rows["inpatient"].append({
            "person": person, "name": self.pl._p(person)["name"], "hosp": hosp,
            "admit_ts": admit * 86_400 + self.rnd(8 * 3600, 11 * 3600),
            "disch_ts": disch * 86_400 + self.rnd(12 * 3600, 16 * 3600), "disp": disp, "dx": dx,
            "cents": cents, "name_vary": True, "idform": -1})
        return cents
