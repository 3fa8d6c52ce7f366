"""Planted cases: positives for every core rule and near-miss decoys that must not fire.

Small Python loops are fine here (a few hundred people). Every planted person is
built so that exactly the intended rules fire for them; the truth is recorded as
the rows are made, never by evaluating rules over the output.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pypinyin import lazy_pinyin

from . import ids as idmod
from . import vocab as V
from .model import COLUMNS, Frame, Truth
from .timeutil import NONE, day, month_first_day, months_of_days, years_before

PAID_AFTER_DEATH = "pension_paid_after_death"
PAID_AFTER_HOSPITAL_DEATH = "pension_paid_after_hospital_death"
CARD_AFTER_DEATH = "transit_card_used_after_death"
VISIT_AFTER_DEATH = "medical_visit_after_death"
NO_SIGN_OF_LIFE = "pension_no_sign_of_life"
DUPLICATE_SCHEMES = "pension_duplicate_schemes"
IDENTITY_MISMATCH = "pension_identity_mismatch"
CORE_RULES = [PAID_AFTER_DEATH, PAID_AFTER_HOSPITAL_DEATH, CARD_AFTER_DEATH, VISIT_AFTER_DEATH,
              NO_SIGN_OF_LIFE, DUPLICATE_SCHEMES, IDENTITY_MISMATCH]


def _month(d: int) -> int:
    return int(months_of_days(np.array([d]))[0])


class Planter:
    """Collects the rows of planted people; integer keys continue the ordinary tables'."""

    def __init__(self, rng: np.random.Generator, fr: Frame, offsets: dict[str, int], truth: Truth):
        self.rng, self.fr, self.truth = rng, fr, truth
        self.next = dict(offsets)  # next free key per table: person, pen, card
        self.rows = {t: [] for t in COLUMNS}

    # ---- people -------------------------------------------------------------------------
    def han_name(self, sex: int, length: int = 3) -> str:
        r = self.rng
        pool = V.GIVEN_MALE if sex else V.GIVEN_FEMALE
        given = "".join(pool[int(i)] for i in r.integers(0, len(pool), length - 1))
        return V.SURNAMES[int(r.integers(0, len(V.SURNAMES)))] + given

    def person(self, age: int, *, exact_birth: dt.date | None = None, name: str | None = None,
               sex: int | None = None, eth: int = 0) -> int:
        r, a = self.rng, self.fr.as_of
        sex = int(r.integers(0, 2)) if sex is None else sex
        birth = exact_birth or years_before(a, age) - dt.timedelta(days=int(r.integers(20, 330)))
        area = int(r.choice(len(V.DISTRICTS), p=V.DISTRICT_WEIGHTS))
        key = self.next["person"]
        self.next["person"] += 1
        self.rows["people"].append({
            "person": key, "name": name or self.han_name(sex), "sex": sex, "birth": day(birth), "eth": eth,
            "area": area, "street": int(r.integers(0, len(V.DISTRICTS[area][2]))), "hh": 90_000_000 + key,
            "rel": V.RELATIONS_HEAD, "addr": V.DISTRICTS[area][1] + V.ROADS[int(r.integers(0, len(V.ROADS)))]
            + f"{int(r.integers(1, 300))}号", "status": "正常", "cancel_day": NONE, "cancel_reason": "",
            "death_col": NONE, "death": NONE, "name_vary": False, "planted": True,
        })
        return key

    def _p(self, key: int) -> dict:
        return next(p for p in reversed(self.rows["people"]) if p["person"] == key)

    def registry_death(self, key: int, death: int, how: str = "A", lag: int = 10) -> None:
        """Record a death in the registry. A: 死亡日期 (+ later 注销); B: 注销日期 with 注销原因 死亡;
        D: 人口状态 死亡 with only a 注销日期 (reason empty)."""
        p = self._p(key)
        p.update(status="死亡", death=death)
        if how == "A":
            p.update(death_col=death, cancel_day=min(death + lag, self.fr.last_activity_day), cancel_reason="死亡")
        elif how == "B":
            p.update(cancel_day=death, cancel_reason="死亡")
        else:
            p.update(cancel_day=death)

    def hospital_death(self, key: int, death: int, registry: bool) -> None:
        """Died in hospital (离院方式 5); the registry records it on the same day or not at all."""
        self.stay(key, death - int(self.rng.integers(1, 12)), death, V.DEATH_DISPOSITION)
        if registry:
            self.registry_death(key, death, "A")
        else:
            self._p(key)["death"] = death

    # ---- pensions -------------------------------------------------------------------------
    def pension(self, key: int, scheme: int, last: int, first: int | None = None, *, status: str = "正常发放",
                name: str | None = None, idform: int = -1, cents: int | None = None) -> list[tuple[int, int]]:
        """A pensioner row and its monthly payments for months first..last (inside the paid window)."""
        fr, r = self.fr, self.rng
        lo, hi = V.SCHEME_AMOUNT_YUAN[scheme]
        cents = cents or int(r.integers(lo * 100, hi * 100)) // 10 * 10
        start = first if first is not None else fr.first_pay_month - int(r.integers(6, 120))
        p = self._p(key)
        pen = self.next["pen"]
        self.next["pen"] += 1
        nm = name or p["name"]
        self.rows["pensioners"].append({"pen": pen, "person": key, "name": nm, "scheme": scheme, "start_month": start,
                                        "status": status, "area": p["area"], "street": p["street"],
                                        "name_vary": name is None, "idform": idform})
        paid = []
        for m in range(max(start, fr.first_pay_month), last + 1):
            c = round(cents * 1.03 ** (m // 12 - fr.first_pay_month // 12))
            self.rows["payments"].append({"pen": pen, "person": key, "name": nm, "scheme": scheme, "month": m,
                                          "cents": c, "pay_day": month_first_day(m) + (9, 11, 14)[scheme],
                                          "name_vary": name is None, "idform": idform})
            paid.append((m, c))
        return paid

    # ---- activity -------------------------------------------------------------------------
    def card(self, key: int, issue: int, ctype: int = 1, status: str = "正常") -> int:
        c = self.next["card"]
        self.next["card"] += 1
        self.rows["cards"].append({"card": c, "person": key, "name": self._p(key)["name"], "ctype": ctype,
                                   "issue_day": issue, "status": status, "name_vary": True, "idform": -1})
        return c

    def tap(self, card: int, d: int, secs: int | None = None) -> None:
        secs = int(self.rng.integers(7 * 3600, 20 * 3600)) if secs is None else secs
        self.rows["taps"].append({"card": card, "ts": d * 86_400 + secs, "route": int(self.rng.integers(0, len(V.ROUTES))),
                                  "vehicle": int(self.rng.integers(10_000, 99_999)), "fare_cents": 0})

    def review(self, card: int, key: int, d: int, passed: bool = True, method: int = 0) -> None:
        self.rows["reviews"].append({"card": card, "person": key, "day": d, "method": method,
                                     "result": 0 if passed else 1, "idform": -1})

    def visit(self, key: int, d: int, idform: int = -1) -> None:
        r = self.rng
        self.rows["outpatient"].append({"person": key, "name": self._p(key)["name"], "hosp": int(r.integers(0, len(V.HOSPITALS))),
                                        "day": d, "dept": int(r.integers(0, len(V.DEPARTMENTS))),
                                        "cents": int(r.integers(2000, 60000)), "settle": 0, "name_vary": True, "idform": idform})

    def stay(self, key: int, admit: int, disch: int, disp: str = "1", idform: int = -1) -> None:
        r = self.rng
        a_ts = admit * 86_400 + int(r.integers(8 * 3600, 12 * 3600))
        d_ts = disch * 86_400 + int(r.integers(13 * 3600, 23 * 3600))
        self.rows["inpatient"].append({"person": key, "name": self._p(key)["name"], "hosp": int(r.integers(0, len(V.HOSPITALS))),
                                       "admit_ts": a_ts, "disch_ts": d_ts, "disp": disp, "dx": int(r.integers(0, len(V.DIAGNOSES))),
                                       "cents": int(r.integers(500_000, 4_000_000)), "name_vary": True, "idform": idform})

    def alive_activity(self, key: int) -> None:
        """A clear sign of life well inside the last year (so no_sign_of_life never fires)."""
        a = self.fr.as_of_day
        self.visit(key, a - int(self.rng.integers(40, 250)))

    def frames(self) -> dict[str, pd.DataFrame]:
        return {t: pd.DataFrame(rows, columns=COLUMNS[t]) for t, rows in self.rows.items()}


def _scaled(base: int, people: int, minimum: int) -> int:
    return max(minimum, round(base * people / 20_000))


def plant(rng: np.random.Generator, fr: Frame, people: int, offsets: dict[str, int]) -> tuple[dict, Truth]:
    truth = Truth()
    pl = Planter(rng, fr, offsets, truth)
    a, last = fr.as_of_day, fr.last_pay_month
    n = lambda base: _scaled(base, people, 1)  # noqa: E731 - per-kind count, every kind at least once
    rnd = lambda lo, hi: int(rng.integers(lo, hi))  # noqa: E731
    L15, FW, SP, LX = idmod.LEGACY15, idmod.FULLWIDTH, idmod.SPACES, idmod.LOWER_X

    def death_in(months_back_lo: int, months_back_hi: int, dom_lo: int = 1, dom_hi: int = 28) -> int:
        m = fr.as_of_month - rnd(months_back_lo, months_back_hi + 1)
        return month_first_day(m) + rnd(dom_lo - 1, dom_hi)

    def after(paid, dm):
        return sum(c for m, c in paid if m > dm)

    # ---- pension_paid_after_death -----------------------------------------------------------
    R = PAID_AFTER_DEATH
    for kind, base, how, idform in [("death_date", 8, "A", -1), ("cancel_only", 4, "B", -1),
                                    ("status_only", 2, "D", -1), ("legacy_id", 4, "A", L15)]:
        for i in range(n(base)):
            p = pl.person(rnd(62, 88))
            d = death_in(3, 20)
            pl.registry_death(p, d, how, lag=rnd(5, 40))
            paid = pl.pension(p, rnd(0, 3), last, idform=idform if i % 2 == 0 else FW)
            truth.fire(R, p, "high", after(paid, _month(d)), kind)
    for _ in range(n(3)):  # 死亡日期 late in month X, 注销日期 in X+1, paid through X+1
        p = pl.person(rnd(65, 85))
        d = death_in(4, 18, 27, 28)
        pl.registry_death(p, d, "A", lag=6)
        paid = pl.pension(p, 0, _month(d) + 1)
        truth.fire(R, p, "high", after(paid, _month(d)), "cancel_next_month")
    for _ in range(n(3)):  # died in hospital, registry records it the same day (PPHD decoy)
        p = pl.person(rnd(66, 86))
        d = death_in(3, 16)
        pl.hospital_death(p, d, registry=True)
        paid = pl.pension(p, rnd(0, 3), last)
        truth.fire(R, p, "high", after(paid, _month(d)), "hospital_and_registry")
        truth.decoy(PAID_AFTER_HOSPITAL_DEATH, "registry_records_death")
    for _ in range(n(5)):  # decoy: paid for the month of death, not after
        p = pl.person(rnd(65, 90))
        d = death_in(2, 18, 20, 28)
        pl.registry_death(p, d, "A")
        pl.pension(p, rnd(0, 3), _month(d), status="终止发放")
        truth.decoy(R, "paid_in_death_month")
    for _ in range(n(3)):  # decoy: payment date after death, but for the month of death
        p = pl.person(rnd(65, 90))
        d = death_in(2, 18, 1, 5)
        pl.registry_death(p, d, "B")
        pl.pension(p, 0, _month(d), status="终止发放")
        truth.decoy(R, "paid_date_after_death_same_month")
    for _ in range(n(3)):  # decoy: moved away (迁出) is not death
        p = pl.person(rnd(62, 74))
        pp = pl._p(p)
        pp.update(status="迁出", cancel_day=a - rnd(100, 500), cancel_reason="迁出")
        pl.pension(p, rnd(0, 3), last)
        pl.alive_activity(p)
        truth.decoy(R, "moved_out_still_paid")

    # ---- pension_paid_after_hospital_death ----------------------------------------------------
    R = PAID_AFTER_HOSPITAL_DEATH
    for i in range(n(10)):
        p = pl.person(rnd(64, 90))
        d = death_in(3, 18)
        pl.hospital_death(p, d, registry=False)
        if i % 3 == 0:
            pl.rows["inpatient"][-1]["idform"] = (L15, FW, SP)[i // 3 % 3]
        paid = pl.pension(p, rnd(0, 3), last)
        truth.fire(R, p, "high", after(paid, _month(d)), "hospital_death_unrecorded")
    for _ in range(n(3)):  # one month paid after the month of discharge
        p = pl.person(rnd(64, 90))
        d = death_in(3, 18, 25, 28)
        pl.hospital_death(p, d, registry=False)
        paid = pl.pension(p, 0, _month(d) + 1)
        truth.fire(R, p, "high", after(paid, _month(d)), "one_month_after")
    for _ in range(n(3)):  # decoy: paid up to the month of the hospital death only
        p = pl.person(rnd(64, 90))
        d = death_in(3, 18)
        pl.hospital_death(p, d, registry=False)
        pl.pension(p, rnd(0, 3), _month(d), status="暂停发放")
        truth.decoy(R, "paid_to_discharge_month")
    for _ in range(n(3)):  # decoy: left against advice (离院方式 4), alive and paid
        p = pl.person(rnd(64, 78))
        d = a - rnd(150, 400)
        pl.stay(p, d - 5, d, "4")
        pl.pension(p, rnd(0, 3), last)
        pl.alive_activity(p)
        truth.decoy(R, "left_against_advice")

    # ---- transit_card_used_after_death --------------------------------------------------------
    R = CARD_AFTER_DEATH
    for i in range(n(6)):  # taps after death (half of them in the recent CSV part)
        p = pl.person(rnd(66, 90))
        d = death_in(1, 4) if i % 2 else death_in(5, 18)
        pl.registry_death(p, d, "A")
        c = pl.card(p, d - rnd(800, 2500))
        for k in range(rnd(2, 6)):
            pl.tap(c, d - rnd(5, 200))
        for k in range(rnd(1, 5)):
            pl.tap(c, min(d + rnd(1, 40), a - 1))
        if i % 2 == 0:
            pl.pension(p, 0, _month(d), status="终止发放")
        truth.fire(R, p, "medium", None, "tap_after")
    for _ in range(n(3)):  # old card lost, replacement used after death
        p = pl.person(rnd(70, 90))
        d = death_in(2, 16)
        pl.registry_death(p, d, "B")
        old = pl.card(p, d - 2000, status="挂失")
        pl.tap(old, d - 400)
        new = pl.card(p, d - 300)
        pl.tap(new, d - 30)
        pl.tap(new, min(d + rnd(3, 60), a - 1))
        truth.fire(R, p, "medium", None, "second_card")
    for _ in range(n(3)):  # a passed annual review after death
        p = pl.person(rnd(70, 90))
        d = death_in(3, 16)
        pl.registry_death(p, d, "A")
        c = pl.card(p, d - rnd(500, 2000))
        pl.tap(c, d - rnd(10, 60))
        pl.review(c, p, min(d + rnd(10, 90), a - 1), passed=True, method=1)
        truth.fire(R, p, "medium", None, "review_after")
    for _ in range(n(2)):  # death known only from the hospital
        p = pl.person(rnd(66, 88))
        d = death_in(3, 16)
        pl.hospital_death(p, d, registry=False)
        c = pl.card(p, d - rnd(500, 2000))
        pl.tap(c, min(d + rnd(2, 30), a - 1))
        truth.fire(R, p, "medium", None, "hospital_only_death")
    for _ in range(n(4)):  # decoy: tapped on the very day of death
        p = pl.person(rnd(66, 90))
        d = death_in(1, 16)
        pl.registry_death(p, d, "A")
        c = pl.card(p, d - rnd(500, 2000))
        pl.tap(c, d - 3)
        pl.tap(c, d, secs=18 * 3600 + rnd(0, 3000))
        truth.decoy(R, "tap_on_death_day")
    for _ in range(n(3)):  # decoy: failed review after death
        p = pl.person(rnd(66, 90))
        d = death_in(2, 16)
        pl.registry_death(p, d, "A")
        c = pl.card(p, d - rnd(500, 2000))
        pl.review(c, p, min(d + rnd(5, 60), a - 1), passed=False, method=2)
        truth.decoy(R, "failed_review_after")

    # ---- medical_visit_after_death ------------------------------------------------------------
    R = VISIT_AFTER_DEATH
    for i in range(n(6)):
        p = pl.person(rnd(60, 90))
        d = death_in(2, 18)
        pl.registry_death(p, d, "A")
        pl.visit(p, d - rnd(10, 100))
        pl.visit(p, min(d + rnd(1, 120), a - 1), idform=(L15, -1, LX)[i % 3])
        truth.fire(R, p, "high", None, "outpatient_after")
    for _ in range(n(3)):
        p = pl.person(rnd(60, 90))
        d = death_in(3, 18)
        pl.registry_death(p, d, "A")
        adm = min(d + rnd(1, 60), a - 20)
        pl.stay(p, adm, adm + rnd(2, 10))
        truth.fire(R, p, "high", None, "admission_after")
    for _ in range(n(3)):  # date of death from 注销日期 only
        p = pl.person(rnd(60, 90))
        d = death_in(2, 18)
        pl.registry_death(p, d, "B")
        pl.visit(p, min(d + rnd(1, 60), a - 1))
        truth.fire(R, p, "high", None, "cancel_date_death")
    for _ in range(n(3)):  # death from the hospital only
        p = pl.person(rnd(55, 88))
        d = death_in(3, 18)
        pl.hospital_death(p, d, registry=False)
        pl.visit(p, min(d + rnd(1, 60), a - 1))
        truth.fire(R, p, "high", None, "hospital_death_then_visit")
    for _ in range(n(4)):  # decoy: outpatient visit on the day of death
        p = pl.person(rnd(60, 90))
        d = death_in(1, 18)
        pl.registry_death(p, d, "A")
        pl.visit(p, d)
        truth.decoy(R, "visit_on_death_day")
    for _ in range(n(2)):  # decoy: admitted on the day of death, died there
        p = pl.person(rnd(60, 90))
        d = death_in(2, 18)
        pl.stay(p, d, d, V.DEATH_DISPOSITION)
        pl.registry_death(p, d, "A")
        truth.decoy(R, "admitted_on_death_day")

    # ---- pension_no_sign_of_life --------------------------------------------------------------
    R = NO_SIGN_OF_LIFE
    eighty = years_before(fr.as_of, 80)
    first = a - (365 - 1)  # the window's first day: 365 days ending on the as-of date, both included
    for i in range(n(6)):
        p = pl.person(rnd(81, 96))
        pl.pension(p, rnd(0, 3), last, idform=L15 if i % 3 == 0 else -1)
        truth.fire(R, p, "low", None, "no_activity")
    for _ in range(n(2)):  # 80th birthday on the as-of date
        p = pl.person(80, exact_birth=eighty)
        pl.pension(p, 2, last)
        truth.fire(R, p, "low", None, "exactly_80")
    for i in range(n(5)):  # activity only before the window (the latest on the day before its first day)
        p = pl.person(rnd(82, 95))
        pl.pension(p, rnd(0, 3), last)
        c = pl.card(p, a - 2000)
        pl.tap(c, a - 500)
        pl.review(c, p, a - 400)
        kind = i % 3
        if kind == 0:
            pl.tap(c, first - 1, secs=23 * 3600 + 3000)
        elif kind == 1:
            pl.visit(p, first - 1)
        else:
            pl.stay(p, first - 15, first - 1)
        truth.fire(R, p, "low", None, "stale_activity")
    for _ in range(n(3)):  # a failed review is no sign of life
        p = pl.person(rnd(82, 95))
        pl.pension(p, 1, last)
        c = pl.card(p, a - 1500)
        pl.review(c, p, a - rnd(30, 200), passed=False, method=2)
        truth.fire(R, p, "low", None, "failed_review_only")
    for _ in range(n(2)):  # paid for the third month before the as-of month only
        p = pl.person(rnd(82, 95))
        pl.pension(p, 0, fr.as_of_month - 3, status="暂停发放")
        truth.fire(R, p, "low", None, "paid_third_month_only")
    for _ in range(n(3)):  # decoy: 79 on the as-of date (80 tomorrow)
        p = pl.person(79, exact_birth=eighty + dt.timedelta(days=1))
        pl.pension(p, 0, last)
        truth.decoy(R, "aged_79")
    for i in range(n(4)):  # decoy: the only sign of life is on the window's first day
        p = pl.person(rnd(82, 95))
        pl.pension(p, rnd(0, 3), last)
        if i % 3 == 0:
            pl.tap(pl.card(p, a - 1500), first, secs=6 * 3600 + 600)
        elif i % 3 == 1:
            pl.visit(p, first)
        else:
            pl.review(pl.card(p, a - 1500), p, first)
        truth.decoy(R, "sign_on_window_first_day")
    for _ in range(n(3)):  # decoy: not paid in the three months before the as-of month
        p = pl.person(rnd(82, 95))
        pl.pension(p, 0, fr.as_of_month - 4, status="暂停发放")
        truth.decoy(R, "not_paid_recently")
    for i in range(n(2)):  # decoy: a stay that started before the window and ended inside it (first: on its first day)
        p = pl.person(rnd(82, 95))
        pl.pension(p, 0, last)
        pl.stay(p, first - 11, first if i % 2 == 0 else first + 4)
        truth.decoy(R, "stay_overlaps_window")
    for _ in range(n(2)):  # decoy: taps only on the replacement card
        p = pl.person(rnd(82, 95))
        pl.pension(p, 2, last)
        old = pl.card(p, a - 3000, status="挂失")
        pl.tap(old, a - 700)
        new = pl.card(p, a - 600)
        pl.tap(new, a - rnd(20, 200))
        truth.decoy(R, "tap_on_second_card")

    # ---- pension_duplicate_schemes ------------------------------------------------------------
    R = DUPLICATE_SCHEMES

    def overlap_amount(*paid_lists) -> int:
        by_month: dict[int, list[int]] = {}
        for paid in paid_lists:
            for m, c in paid:
                by_month.setdefault(m, []).append(c)
        return sum(sum(v) - max(v) for v in by_month.values() if len(v) > 1)

    for i in range(n(11)):
        p = pl.person(rnd(62, 78))
        main = pl.pension(p, rnd(0, 2), last)
        lo = last - rnd(3, 20)
        extra = pl.pension(p, 2, min(lo + rnd(2, 12), last), first=lo, idform=L15 if i % 3 == 0 else -1)
        pl.alive_activity(p)
        truth.fire(R, p, "high", overlap_amount(main, extra), "two_schemes" if i % 3 else "two_schemes_legacy_id")
    for _ in range(n(2)):
        p = pl.person(rnd(62, 78))
        m1 = pl.pension(p, 0, last)
        m2 = pl.pension(p, 1, last - 3, first=last - 8)
        m3 = pl.pension(p, 2, last - 5, first=last - 6)
        pl.alive_activity(p)
        truth.fire(R, p, "high", overlap_amount(m1, m2, m3), "three_schemes")
    for _ in range(n(4)):  # decoy: switched scheme, never two in one month
        p = pl.person(rnd(62, 78))
        sw = last - rnd(3, 18)
        pl.pension(p, 2, sw, status="终止发放")
        pl.pension(p, 0, last, first=sw + 1)
        pl.alive_activity(p)
        truth.decoy(R, "switched_schemes")

    # ---- pension_identity_mismatch ------------------------------------------------------------
    R = IDENTITY_MISMATCH
    for _ in range(n(8)):  # wholly different names
        sex = rnd(0, 2)
        p = pl.person(rnd(62, 78), sex=sex)
        reg = pl._p(p)["name"]
        other = pl.han_name(sex)
        # no shared character and no shared sound, so every similarity measure calls them unlike
        while set(other) & set(reg) or set(lazy_pinyin(other)) & set(lazy_pinyin(reg)):
            other = pl.han_name(sex)
        pl.pension(p, rnd(0, 3), last, name=other)
        pl.alive_activity(p)
        truth.fire(R, p, "high", None, "unlike_names")
    for i in range(n(8)):  # one character of three changed
        sex = rnd(0, 2)
        p = pl.person(rnd(62, 78), sex=sex)
        reg = pl._p(p)["name"]
        pos = 1 + i % 2
        pool = V.GIVEN_MALE if sex else V.GIVEN_FEMALE
        ch = reg[pos]
        while ch in reg:
            ch = pool[rnd(0, len(pool))]
        pl.pension(p, rnd(0, 3), last, name=reg[:pos] + ch + reg[pos + 1:])
        pl.alive_activity(p)
        truth.fire(R, p, "low", None, "one_character_changed")
    from .render import name_variant
    variants = [(3, "traditional"), (1, "space"), (2, "full_width_space"), (4, "surrounding_spaces")]
    for i in range(n(8)):  # decoy: names differing only in allowed ways
        kind, label = variants[i % len(variants)]
        sex = rnd(0, 2)
        p = pl.person(rnd(62, 78), sex=sex, name="陈" + pl.han_name(sex)[1:] if kind == 3 else None)
        pl.pension(p, rnd(0, 3), last, name=name_variant(pl._p(p)["name"], kind))
        pl.alive_activity(p)
        truth.decoy(R, label)
    for i in range(n(3)):  # decoy: minority name, different middle dot
        given = V.MINORITY_GIVEN[rnd(0, len(V.MINORITY_GIVEN))]
        father = V.MINORITY_FATHER[rnd(0, len(V.MINORITY_FATHER))]
        p = pl.person(rnd(62, 78), name=given + V.MIDDLE_DOT + father, eth=V.UYGHUR)
        pl.pension(p, rnd(0, 3), last, name=given + "•." [i % 2] + father)
        pl.alive_activity(p)
        truth.decoy(R, "middle_dot")
    for _ in range(n(2)):  # decoy: legacy 15-digit number in the roster, same name
        p = pl.person(rnd(62, 78))
        pl.pension(p, rnd(0, 3), last, idform=L15)
        pl.alive_activity(p)
        truth.decoy(R, "legacy_id_same_name")
    p = pl.person(rnd(62, 78), name=V.LATIN_NAMES[rnd(0, len(V.LATIN_NAMES))], eth=V.OTHER_ETHNICITY)
    pl.pension(p, 0, last, name=pl._p(p)["name"].replace(" ", "  "))
    pl.alive_activity(p)
    truth.decoy(R, "latin_name_spacing")

    return pl.frames(), truth
