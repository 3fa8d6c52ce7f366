"""The domain sources of the sample city (extracts-domains.md) and the fourteen domain rules' truth.

Three parts, called by city.py:

- `plant_domains`: planted cases and near-miss decoys for every domain rule,
  built with the core `Planter` (so planted people, their pensions and stays
  land in the core tables too); the truth is recorded as the rows are made.
- `ordinary_domains`: the ordinary population's 低保 households, payroll,
  vehicles, enterprises, village officials, land contracts, subsidies and
  exams, built so that no domain rule ever fires for them (see each block).
- `fund_flows`: allocations and disbursements derived from all subsidy
  payments (planted ones included), with the planted fund cases applied; the
  fund truth (subject ``<资金文号>|<乡镇>``) comes from these numbers.

`deliver_domains` writes the files with the same mess as the core extracts
(encodings, date/month/amount/identity forms, duplicates, invalid numbers).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from . import deliver as D
from . import ids as idmod
from . import render as R
from . import vocab as V
from .model import Frame, Truth
from .planted import Planter
from .timeutil import NONE, age_on, day, month_first_day, months_of_days, to_date

DIBAO_HEAD_DEATH = "dibao_paid_after_head_death"
DIBAO_PAYROLL = "dibao_member_on_public_payroll"
DIBAO_CAR = "dibao_member_owns_car"
DIBAO_ENTERPRISE = "dibao_member_runs_enterprise"
DIBAO_CADRE = "dibao_cadre_household_unfiled"
SUBSIDY_AREA = "subsidy_area_exceeds_contract"
SUBSIDY_DECEASED = "subsidy_paid_to_deceased"
FUND_RETAINED = "fund_retained"
FUND_NOT_DELIVERED = "fund_not_delivered"
DUPLICATE_EXAM = "medical_duplicate_exam"
SPLIT_ADMISSION = "medical_split_admission"
OVERLAPPING_STAYS = "medical_overlapping_stays"
PAYROLL_AFTER_DEATH = "payroll_paid_after_death"
PENSION_ON_PAYROLL = "pension_while_on_payroll"
DOMAIN_RULES = [DIBAO_HEAD_DEATH, DIBAO_PAYROLL, DIBAO_CAR, DIBAO_ENTERPRISE, DIBAO_CADRE, SUBSIDY_AREA,
                SUBSIDY_DECEASED, FUND_RETAINED, FUND_NOT_DELIVERED, DUPLICATE_EXAM, SPLIT_ADMISSION,
                OVERLAPPING_STAYS, PAYROLL_AFTER_DEATH, PENSION_ON_PAYROLL]
#: domain source folders, in the order they are written
DOMAIN_SOURCES = ["civil_affairs", "finance", "vehicle_registry", "market_regulation", "village_cadres", "agriculture"]

# ---- vocabulary (GBK-encodable) -------------------------------------------------------------
DIBAO_CATEGORIES = ["城市低保", "农村低保", "特困供养"]
DIBAO_RELATION = {"户主": "本人", "配偶": "配偶", "子": "子", "孙子": "子", "女": "女", "孙女": "女",
                  "父亲": "父母", "母亲": "父母"}
STAFF_CATEGORIES = ["公务员", "参公", "事业编制", "编外聘用"]
PUBLIC = (0, 1, 2)
CONTRACT_STAFF = 3
EMPLOYERS = ["黄石市财政局", "黄石港区人民政府", "西塞山区教育局", "下陆区卫生健康局", "铁山区城市管理执法局",
             "阳新县农业农村局", "大冶市人民医院", "黄石市第一中学", "阳新县兴国镇人民政府", "大冶市自然资源和规划局"]
PAY_YUAN = [(6500, 11000), (6000, 9500), (5000, 9000), (2600, 4200)]
VEHICLE_TYPES = ["小型轿车", "小型普通客车", "中型客车", "轻型货车", "普通二轮摩托车", "三轮汽车", "电动自行车"]
CAR, MPV, BUS, LIGHT_TRUCK, MOTORCYCLE, TRICYCLE, EBIKE = range(7)
VEHICLE_WEIGHTS = [0.50, 0.15, 0.02, 0.08, 0.10, 0.05, 0.10]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
ENTERPRISE_WORDS = ["商贸", "建材", "农业科技", "物流", "餐饮管理", "电子", "服装", "机械", "装饰工程", "生态养殖"]
ENTERPRISE_KINDS = ["有限公司", "有限责任公司", "商行", "合作社"]
CAPITALS = [1.0, 3.0, 5.0, 10.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
CADRE_POSTS = ["党支部书记", "村委会主任", "村会计", "村委委员", "村务监督委员会主任"]
VILLAGE_WORDS = ["王家", "李家", "张家", "刘湾", "陈庄", "杨桥", "黄岭", "周畈", "吴垴", "胡塘", "郭铺", "何坪"]
RURAL_AREAS = (4, 5)  # 阳新县, 大冶市
SUBSIDY_RATE_CENTS = 12_500  # 耕地地力保护补贴, yuan 125.00 per 亩 (+500 fen a year)
PROGRAMME = "耕地地力保护补贴"
EXAM_ITEMS = [("CT0101", "胸部CT平扫", 26_000), ("CT0203", "头颅CT平扫", 22_000), ("MR0301", "腰椎MRI", 58_000),
              ("MR0402", "膝关节MRI", 56_000), ("US0501", "腹部彩超", 16_000), ("US0602", "甲状腺彩超", 12_000),
              ("DR0701", "胸部DR", 9_000), ("LB0801", "血常规", 2_500), ("LB0902", "肝功能", 6_800),
              ("LB1003", "糖化血红蛋白", 7_500), ("EC1101", "心脏彩超", 22_000), ("GI1201", "胃镜检查", 38_000)]


def _hosp_code(h: int) -> str:
    return V.HOSPITALS[h][0]


def _village(area: int, street: int, k: int) -> str:
    rural = area in RURAL_AREAS or V.DISTRICTS[area][2][street].endswith("镇")
    word = VILLAGE_WORDS[(area * 7 + street * 3 + k) % len(VILLAGE_WORDS)]
    return word + ("村" if rural else "社区")


def _township(area: int, street: int) -> str:
    return V.DISTRICTS[area][2][street]


def _doc(year: int, area: int) -> str:
    return f"黄财农〔{year}〕{11 + area}号"


def _empty(cols: list[str]) -> dict[str, list]:
    return {c: [] for c in cols}


TABLES = {
    "dibao_members": ["hh_no", "head", "person", "rel", "category", "area", "street", "village", "filed", "idform"],
    "dibao_payments": ["hh_no", "head", "month", "cents", "idform"],
    "payroll": ["person", "employer", "category", "month", "cents", "idform"],
    "vehicles": ["person", "vtype", "reg_day", "status", "dereg_day", "idform"],
    "enterprises": ["person", "word", "kind", "capital", "est_day", "status", "closed_day", "idform"],
    "cadres": ["person", "post", "area", "street", "village", "start_day", "end_day", "idform"],
    "contracts": ["person", "tenths", "area", "street", "village", "idform"],
    "subsidies": ["doc", "person", "year", "tenths", "cents", "pay_day", "area", "street", "village", "idform"],
    "exams": ["person", "hosp", "day", "item", "cents", "idform"],
}


def frames(rows: dict[str, list[dict]] | dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for t, cols in TABLES.items():
        v = rows.get(t)
        out[t] = v[cols] if isinstance(v, pd.DataFrame) else pd.DataFrame(v or [], columns=cols)
    return out


def combine(*parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for t, cols in TABLES.items():
        ps = [p[t][cols] for p in parts if len(p[t])]
        out[t] = pd.concat(ps, ignore_index=True) if ps else pd.DataFrame({c: [] for c in cols})
    return out


# =============================================================================================
# planted cases
# =============================================================================================


class DomainPlanter:
    """Domain rows of planted people; core rows (people, pensions, stays) go through `pl`."""

    def __init__(self, pl: Planter, truth: Truth, hh_offset: int = 0):
        self.pl, self.truth, self.rng, self.fr = pl, truth, pl.rng, pl.fr
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self.next_hh = hh_offset
        self.fund_cases: list[tuple] = []   # applied by fund_flows

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

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
        village = _village(hp["area"], hp["street"], self.rnd(0, 4))
        for i, m in enumerate(members):
            rel = "本人" if i == 0 else DIBAO_RELATION.get(self.pl._p(m)["rel"], "其他")
            self.rows["dibao_members"].append({"hh_no": hh, "head": head, "person": m, "rel": rel, "category": 1,
                                               "area": hp["area"], "street": hp["street"], "village": village,
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
                                    "village": _village(p["area"], p["street"], 0), "start_day": start,
                                    "end_day": end, "idform": -1})

    # ---- agriculture -------------------------------------------------------------------------
    def contract(self, person: int, tenths: int) -> None:
        p = self.pl._p(person)
        self.rows["contracts"].append({"person": person, "tenths": tenths, "area": p["area"], "street": p["street"],
                                       "village": _village(p["area"], p["street"], 1), "idform": -1})

    def subsidy(self, person: int, year: int, tenths: int, pay_day: int, idform: int = -1) -> int:
        p = self.pl._p(person)
        cents = tenths * (SUBSIDY_RATE_CENTS + 500 * (year % 2)) // 10
        self.rows["subsidies"].append({"doc": _doc(year, p["area"]), "person": person, "year": year, "tenths": tenths,
                                       "cents": cents, "pay_day": pay_day, "area": p["area"], "street": p["street"],
                                       "village": _village(p["area"], p["street"], 1), "idform": idform})
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


def _scaled(base: int, people: int) -> int:
    return max(1, round(base * people / 20_000))


def plant_domains(pl: Planter, truth: Truth, people: int) -> dict[str, pd.DataFrame]:
    """Plant every domain rule's positives and decoys; return the domain rows (integer keys)."""
    dp = DomainPlanter(pl, truth)
    fr, rnd = dp.fr, dp.rnd
    a, first, last = fr.as_of_day, fr.first_pay_month, fr.last_pay_month
    n = lambda base: _scaled(base, people)  # noqa: E731
    L15, FW = idmod.LEGACY15, idmod.FULLWIDTH

    def death_in(lo: int, hi: int) -> int:
        m = fr.as_of_month - rnd(lo, hi + 1)
        return month_first_day(m) + rnd(0, 28)

    def month(d: int) -> int:
        return int(months_of_days(np.array([d]))[0])

    # ---- dibao_paid_after_head_death -----------------------------------------------------------
    R = DIBAO_HEAD_DEATH
    for i in range(n(6)):
        d = death_in(3, 18)
        head, _, paid = dp.dibao(rnd(1, 4), head_idform=(L15, FW, -1)[i % 3])
        pl.registry_death(head, d, "AB"[i % 2], lag=rnd(5, 30))
        truth.fire(R, head, "high", sum(c for m, c in paid.items() if m > month(d)), "registry_death")
    for _ in range(n(2)):
        d = death_in(3, 14)
        head, _, paid = dp.dibao(2, head_age=rnd(60, 80))
        pl.hospital_death(head, d, registry=False)
        truth.fire(R, head, "high", sum(c for m, c in paid.items() if m > month(d)), "hospital_only_death")
    for _ in range(n(3)):  # decoy: paid through the month of death, not after
        d = death_in(3, 18)
        head, _, _ = dp.dibao(2, last=month(d))
        pl.registry_death(head, d, "A")
        truth.decoy(R, "paid_through_death_month")
    for _ in range(n(2)):  # decoy: a member died, the head is alive
        d = death_in(3, 18)
        _, members, _ = dp.dibao(3)
        pl.registry_death(members[-1], d, "A")
        truth.decoy(R, "member_died")

    # ---- dibao_member_on_public_payroll --------------------------------------------------------
    R = DIBAO_PAYROLL
    for i in range(n(5)):
        _, members, paid = dp.dibao(rnd(2, 4))
        lo = first + rnd(0, 12)
        hi = min(last, lo + rnd(3, 20))
        pay = dp.payroll(members[1], PUBLIC[i % 3], lo, hi)
        truth.fire(R, members[1], "high", sum(c for m, c in paid.items() if m in pay), "public_employee")
    for _ in range(n(3)):  # decoy: 编外聘用 never counts
        _, members, _ = dp.dibao(2)
        dp.payroll(members[1], CONTRACT_STAFF, first, last)
        truth.decoy(R, "contract_staff")
    for _ in range(n(2)):  # decoy: on the payroll only after the household's last paid month
        end = last - rnd(6, 12)
        _, members, _ = dp.dibao(2, last=end)
        dp.payroll(members[1], 0, end + 1, last)
        truth.decoy(R, "payroll_after_dibao_ended")

    # ---- dibao_member_owns_car -----------------------------------------------------------------
    R = DIBAO_CAR
    for i in range(n(4)):  # a car held through every paid month
        _, members, paid = dp.dibao(rnd(1, 4))
        owner = members[i % len(members)]
        dp.vehicle(owner, (CAR, MPV)[i % 2], month_first_day(first) - rnd(100, 2000))
        truth.fire(R, owner, "medium", sum(paid.values()), "car_held")
    for _ in range(n(2)):  # registered on the last day of a month: held from that month
        _, members, paid = dp.dibao(2)
        m0 = first + rnd(4, 18)
        dp.vehicle(members[1], MPV, month_first_day(m0 + 1) - 1)
        truth.fire(R, members[1], "medium", sum(c for m, c in paid.items() if m >= m0), "registered_mid_window")
    for _ in range(n(1)):  # deregistered on the first day of a month: still held in that month
        _, members, paid = dp.dibao(2)
        m1 = first + rnd(4, 18)
        dp.vehicle(members[0], BUS, month_first_day(first) - 700, month_first_day(m1))
        truth.fire(R, members[0], "medium", sum(c for m, c in paid.items() if m <= m1), "deregistered_on_first_day")
    for i in range(n(3)):  # decoy: motorcycle, tricycle, light truck or e-bike
        _, members, _ = dp.dibao(2)
        dp.vehicle(members[1], (MOTORCYCLE, TRICYCLE, LIGHT_TRUCK, EBIKE)[i % 4], month_first_day(first) - rnd(100, 900))
        truth.decoy(R, "not_a_car")
    for _ in range(n(2)):  # decoy: car deregistered the day before the first paid month
        m0 = first + rnd(2, 10)
        _, members, _ = dp.dibao(2, first=m0)
        dp.vehicle(members[0], CAR, month_first_day(m0) - 900, month_first_day(m0) - 1)
        truth.decoy(R, "car_gone_before_paid_months")
    for _ in range(n(2)):  # decoy: car bought after the household's last paid month
        end = last - rnd(4, 10)
        _, members, _ = dp.dibao(2, last=end)
        dp.vehicle(members[1], CAR, month_first_day(end + 1) + rnd(0, 20))
        truth.decoy(R, "car_after_paid_months")

    # ---- dibao_member_runs_enterprise ------------------------------------------------------------
    R = DIBAO_ENTERPRISE
    for i in range(n(4)):
        _, members, paid = dp.dibao(rnd(2, 4))
        dp.enterprise(members[1], (10.0, 50.0, 200.0, 30.0)[i % 4], month_first_day(first) - rnd(30, 1500))
        truth.fire(R, members[1], "medium", sum(paid.values()), "legal_representative")
    for _ in range(n(1)):  # established mid-window, closed later: held months only
        _, members, paid = dp.dibao(2)
        m0, m1 = first + rnd(2, 8), first + rnd(10, 20)
        dp.enterprise(members[0], 100.0, month_first_day(m0) + rnd(0, 27), month_first_day(m1) + rnd(0, 27))
        truth.fire(R, members[0], "medium", sum(c for m, c in paid.items() if m0 <= m <= m1), "held_part_of_window")
    for i in range(n(3)):  # decoy: registered capital under 10 万元
        _, members, _ = dp.dibao(2)
        dp.enterprise(members[1], (9.9, 5.0, 1.0)[i % 3], month_first_day(first) - rnd(30, 900))
        truth.decoy(R, "capital_below_minimum")
    for _ in range(n(2)):  # decoy: closed before the household's first paid month
        m0 = first + rnd(3, 10)
        _, members, _ = dp.dibao(2, first=m0)
        dp.enterprise(members[1], 100.0, month_first_day(m0) - 1500, month_first_day(m0) - rnd(1, 40))
        truth.decoy(R, "closed_before_paid_months")

    # ---- dibao_cadre_household_unfiled ---------------------------------------------------------
    R = DIBAO_CADRE
    for i in range(n(4)):
        head, members, _ = dp.dibao(rnd(2, 4))
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[-1], ("其他", "父亲", "母亲")[i % 3])
        dp.cadre(official, i % len(CADRE_POSTS), month_first_day(first) - rnd(30, 900))
        truth.fire(R, head, "high", None, "official_in_household")
    for _ in range(n(1)):  # term starts inside the window
        head, members, _ = dp.dibao(2)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, head, "其他")
        dp.cadre(official, 0, month_first_day(last - rnd(2, 6)) + 10)
        truth.fire(R, head, "high", None, "term_starts_in_window")
    for _ in range(n(3)):  # decoy: filed as a close relative (村干部近亲属备案 是)
        _, members, _ = dp.dibao(2, filed=True)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[0], "其他")
        dp.cadre(official, 1, month_first_day(first) - 300)
        truth.decoy(R, "filed")
    for _ in range(n(2)):  # decoy: the term ended the day before the first paid month
        m0 = first + rnd(2, 8)
        _, members, _ = dp.dibao(2, first=m0)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[0], "其他")
        dp.cadre(official, 2, month_first_day(first) - 1500, month_first_day(m0) - 1)
        truth.decoy(R, "term_ended_before")
    for _ in range(n(2)):  # decoy: an official of the same village in another 户号
        head, _, _ = dp.dibao(2)
        official = dp.person(rnd(35, 60))
        pl._p(official).update(area=pl._p(head)["area"], street=pl._p(head)["street"])
        dp.cadre(official, 3, month_first_day(first) - 300)
        truth.decoy(R, "other_household")

    # ---- subsidy_area_exceeds_contract ---------------------------------------------------------
    R = SUBSIDY_AREA
    y1, y2 = fr.as_of.year - 2, fr.as_of.year - 1

    def pay_day(year: int) -> int:
        return day(dt.date(year, 6, 1)) + rnd(0, 60)

    def over(cents: int, sub: int, con: int) -> int:
        return cents * (sub - con) // sub

    for i in range(n(4)):
        p = dp.person(rnd(40, 70), rural=True)
        con = rnd(40, 120)
        dp.contract(p, con)
        sub = con + max(con // 10, 6) + rnd(0, 30)  # at least 10% over
        year = (y1, y2)[i % 2]
        cents = dp.subsidy(p, year, sub, pay_day(year))
        dp.subsidy(p, y1 + y2 - year, con, pay_day(y1 + y2 - year))  # the other year within the contract
        truth.fire(R, p, "medium", over(cents, sub, con), "over_contract")
    for _ in range(n(2)):  # no contract at all: all of it is excess
        p = dp.person(rnd(40, 70), rural=True)
        cents = dp.subsidy(p, y2, rnd(20, 80), pay_day(y2))
        truth.fire(R, p, "medium", cents, "no_contract")
    for i in range(n(2)):  # decoy: exactly 5% over
        p = dp.person(rnd(40, 70), rural=True)
        con = (200, 100)[i % 2]
        dp.contract(p, con // 2)
        dp.contract(p, con // 2)
        dp.subsidy(p, y2, con * 105 // 100, pay_day(y2))
        truth.decoy(R, "exactly_five_per_cent")
    for _ in range(n(2)):  # decoy: two payments in one year that together stay within the contract
        p = dp.person(rnd(40, 70), rural=True)
        con = rnd(60, 120)
        dp.contract(p, con)
        dp.subsidy(p, y1, con // 2, pay_day(y1))
        dp.subsidy(p, y1, con - con // 2, pay_day(y1) + 30)
        truth.decoy(R, "split_payments_within")

    # ---- subsidy_paid_to_deceased --------------------------------------------------------------
    R = SUBSIDY_DECEASED
    for i in range(n(4)):
        p = dp.person(rnd(60, 85), rural=True)
        con = rnd(30, 100)
        dp.contract(p, con)
        pd2 = pay_day(y2)
        d = pd2 - rnd(1, 200)
        pl.registry_death(p, d, "AB"[i % 2], lag=rnd(3, 20))
        dp.subsidy(p, y1, con, min(pay_day(y1), d - 1))
        cents = dp.subsidy(p, y2, con, pd2, idform=(L15, -1)[i % 2])
        truth.fire(R, p, "high", cents, "paid_after_death")
    for _ in range(n(1)):
        p = dp.person(rnd(60, 85), rural=True)
        con = rnd(30, 100)
        dp.contract(p, con)
        pd2 = pay_day(y2)
        pl.hospital_death(p, pd2 - rnd(10, 100), registry=False)
        cents = dp.subsidy(p, y2, con, pd2)
        truth.fire(R, p, "high", cents, "hospital_only_death")
    for _ in range(n(2)):  # decoy: paid on the day of death
        p = dp.person(rnd(60, 85), rural=True)
        con = rnd(30, 100)
        dp.contract(p, con)
        pd2 = pay_day(y2)
        pl.registry_death(p, pd2, "A")
        dp.subsidy(p, y2, con, pd2)
        truth.decoy(R, "paid_on_death_day")
    for _ in range(n(2)):  # decoy: died after the last payment
        p = dp.person(rnd(60, 85), rural=True)
        con = rnd(30, 100)
        dp.contract(p, con)
        pd2 = pay_day(y2)
        pl.registry_death(p, min(pd2 + rnd(1, 100), a - 1), "A")
        dp.subsidy(p, y2, con, pd2)
        truth.decoy(R, "died_after_payment")

    # ---- fund_retained / fund_not_delivered: applied by fund_flows to the real flows -----------
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

    # ---- medical_duplicate_exam ----------------------------------------------------------------
    R = DUPLICATE_EXAM
    for i in range(n(4)):
        p = dp.person(rnd(30, 75))
        d0 = a - rnd(60, 600)
        item = rnd(0, len(EXAM_ITEMS))
        h1, h2 = rnd(0, 3), rnd(3, len(V.HOSPITALS))
        gap = (3, 7, 1, 5)[i % 4]
        dp.exam(p, h1, d0, item)
        cents = dp.exam(p, h2, d0 + gap, item)
        truth.fire(R, p, "low", cents, "other_hospital_within_window")
    for _ in range(n(1)):  # the same exam on the same day at two hospitals (equal cost)
        p = dp.person(rnd(30, 75))
        d0, item = a - rnd(60, 600), rnd(0, len(EXAM_ITEMS))
        c = dp.exam(p, 0, d0, item)
        dp.exam(p, 1, d0, item, c)
        truth.fire(R, p, "low", c, "same_day")
    for _ in range(n(1)):  # three hospitals in a week: two later exams
        p = dp.person(rnd(30, 75))
        d0, item = a - rnd(60, 600), rnd(0, len(EXAM_ITEMS))
        dp.exam(p, 0, d0, item)
        c2 = dp.exam(p, 1, d0 + 2, item)
        c3 = dp.exam(p, 2, d0 + 6, item)
        truth.fire(R, p, "low", c2 + c3, "three_hospitals")
    for _ in range(n(2)):  # decoy: eight days apart
        p = dp.person(rnd(30, 75))
        d0, item = a - rnd(60, 600), rnd(0, len(EXAM_ITEMS))
        dp.exam(p, 0, d0, item)
        dp.exam(p, 3, d0 + 8, item)
        truth.decoy(R, "eight_days_apart")
    for _ in range(n(2)):  # decoy: same hospital within the window
        p = dp.person(rnd(30, 75))
        d0, item = a - rnd(60, 600), rnd(0, len(EXAM_ITEMS))
        dp.exam(p, 2, d0, item)
        dp.exam(p, 2, d0 + 3, item)
        truth.decoy(R, "same_hospital")
    for _ in range(n(1)):  # decoy: different items at two hospitals the same week
        p = dp.person(rnd(30, 75))
        d0 = a - rnd(60, 600)
        dp.exam(p, 0, d0, 0)
        dp.exam(p, 4, d0 + 2, 1)
        truth.decoy(R, "different_items")

    # ---- medical_split_admission ---------------------------------------------------------------
    R = SPLIT_ADMISSION
    for i in range(n(3)):
        p = dp.person(rnd(50, 80))
        h, dx = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES))
        d0 = a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + rnd(3, 10), dx)
        dis = dp.pl.rows["inpatient"][-1]["disch_ts"] // 86_400
        gap = (14, 0, 6)[i % 3]
        cents = dp.stay(p, h, dis + gap, dis + gap + rnd(2, 8), dx)
        truth.fire(R, p, "medium", cents, "readmitted_within_14_days")
    for _ in range(n(2)):  # decoy: 15 days after
        p = dp.person(rnd(50, 80))
        h, dx, d0 = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, dx)
        dp.stay(p, h, d0 + 20, d0 + 25, dx)
        truth.decoy(R, "fifteen_days_after")
    for _ in range(n(1)):  # decoy: first stay ended in a transfer (离院方式 2)
        p = dp.person(rnd(50, 80))
        h, dx, d0 = rnd(0, len(V.HOSPITALS)), rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, dx, disp="2")
        dp.stay(p, h, d0 + 9, d0 + 12, dx)
        truth.decoy(R, "transferred_out")
    for _ in range(n(1)):  # decoy: readmitted with another main diagnosis
        p = dp.person(rnd(50, 80))
        h, d0 = rnd(0, len(V.HOSPITALS)), a - rnd(100, 600)
        dp.stay(p, h, d0, d0 + 5, 0)
        dp.stay(p, h, d0 + 8, d0 + 12, 3)
        truth.decoy(R, "other_diagnosis")
    for _ in range(n(1)):  # decoy: readmitted at another hospital
        p = dp.person(rnd(50, 80))
        dx, d0 = rnd(0, len(V.DIAGNOSES)), a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 5, dx)
        dp.stay(p, 1, d0 + 8, d0 + 12, dx)
        truth.decoy(R, "other_hospital")

    # ---- medical_overlapping_stays -------------------------------------------------------------
    R = OVERLAPPING_STAYS
    for _ in range(n(3)):
        p = dp.person(rnd(50, 85))
        d0 = a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 10, rnd(0, len(V.DIAGNOSES)))
        dp.stay(p, rnd(1, len(V.HOSPITALS)), d0 + rnd(1, 10), d0 + 14, rnd(0, len(V.DIAGNOSES)))
        truth.fire(R, p, "high", None, "overlap")
    for _ in range(n(2)):  # decoy: transferred, admitted elsewhere on the discharge day
        p = dp.person(rnd(50, 85))
        d0 = a - rnd(100, 600)
        dp.stay(p, 0, d0, d0 + 6, 2, disp="2")
        dp.stay(p, 2, d0 + 6, d0 + 12, 2)
        truth.decoy(R, "transfer_same_day")

    # ---- payroll_paid_after_death ----------------------------------------------------------------
    R = PAYROLL_AFTER_DEATH
    for i in range(n(4)):
        p = dp.person(rnd(30, 58))
        d = death_in(4, 16)
        pl.registry_death(p, d, "AB"[i % 2], lag=rnd(3, 30))
        pay = dp.payroll(p, (0, 2, 3, 1)[i % 4], first, min(last, month(d) + rnd(1, 4)))
        truth.fire(R, p, "high", sum(c for m, c in pay.items() if m > month(d)), "paid_after_death")
    for _ in range(n(1)):
        p = dp.person(rnd(40, 58))
        d = death_in(4, 16)
        pl.hospital_death(p, d, registry=False)
        pay = dp.payroll(p, 2, first, month(d) + 2)
        truth.fire(R, p, "high", sum(c for m, c in pay.items() if m > month(d)), "hospital_only_death")
    for _ in range(n(3)):  # decoy: paid through the month of death only
        p = dp.person(rnd(30, 58))
        d = death_in(4, 16)
        pl.registry_death(p, d, "A")
        dp.payroll(p, rnd(0, 4), first, month(d))
        truth.decoy(R, "paid_through_death_month")
    for _ in range(n(1)):  # decoy: moved out (迁出) is not death
        p = dp.person(rnd(30, 50))
        pl._p(p).update(status="迁出", cancel_day=a - rnd(100, 300), cancel_reason="迁出")
        dp.payroll(p, 0, first, last)
        truth.decoy(R, "moved_out")

    # ---- pension_while_on_payroll ----------------------------------------------------------------
    R = PENSION_ON_PAYROLL
    for i in range(n(4)):
        p = dp.person(rnd(61, 68))
        paid = dict(pl.pension(p, 1, last))
        lo = first + rnd(0, 12)
        pay = dp.payroll(p, PUBLIC[i % 3], lo, min(last, lo + rnd(2, 12)))
        pl.alive_activity(p)
        truth.fire(R, p, "high", sum(c for m, c in paid.items() if m in pay), "pension_and_salary")
    for _ in range(n(2)):  # decoy: enterprise scheme pension with a civil-service salary
        p = dp.person(rnd(61, 68))
        pl.pension(p, 0, last)
        dp.payroll(p, 0, first, first + 6)
        pl.alive_activity(p)
        truth.decoy(R, "enterprise_scheme")
    for _ in range(n(2)):  # decoy: re-employed as contract staff (编外聘用)
        p = dp.person(rnd(61, 68))
        pl.pension(p, 1, last)
        dp.payroll(p, CONTRACT_STAFF, first + 3, last)
        pl.alive_activity(p)
        truth.decoy(R, "contract_staff")
    for _ in range(n(2)):  # decoy: salary ends the month before the pension starts
        p = dp.person(60)
        start = first + rnd(4, 12)
        pl.pension(p, 1, last, first=start)
        dp.payroll(p, 2, first, start - 1)
        pl.alive_activity(p)
        truth.decoy(R, "retired_then_pension")

    out = frames(dp.rows)
    out["fund_cases"] = dp.fund_cases  # type: ignore[assignment]
    out["n_households"] = dp.next_hh  # type: ignore[assignment]
    return out


# =============================================================================================
# the ordinary population
# =============================================================================================


def ordinary_domains(rng: np.random.Generator, people: pd.DataFrame, fr: Frame, hh_offset: int) -> dict[str, pd.DataFrame]:
    """Domain rows of ordinary (not planted) people that never satisfy a domain rule.

    - 低保 households are whole registry households; their members (and everyone
      registered with them) are never public employees, never hold a car or an
      enterprise of 10 万元 or more, and no village official is registered with
      them; payments stop by the month of the head's death.
    - Payroll stops by the month of death; public employees are under 55, so no
      pension of theirs overlaps.
    - Subsidised area never exceeds the contracted area; nothing is paid on or
      after the day of death.
    - Each person's exams are of different items.
    """
    a, w0 = fr.as_of_day, fr.window_start
    first, last = fr.first_pay_month, fr.last_pay_month
    n = len(people)
    person = people["person"].to_numpy()
    ordinary = ~people["planted"].to_numpy(dtype=bool)
    death = people["death"].to_numpy()
    alive_end = np.where(death == NONE, a, death)  # exclusive end of activity
    age = age_on(people["birth"].to_numpy(), fr.as_of)
    area = people["area"].to_numpy()
    street = people["street"].to_numpy()
    hh = people["hh"].to_numpy()
    rel = people["rel"].to_numpy(dtype=object)
    death_month = months_of_days(np.where(death == NONE, 0, death))
    out: dict[str, pd.DataFrame] = {}

    # ---- 低保 households ------------------------------------------------------------------------
    hh_ordinary = pd.Series(ordinary).groupby(hh).all()
    heads = np.flatnonzero(ordinary & (rel == V.RELATIONS_HEAD) & (alive_end > w0 + 90))
    heads = heads[hh_ordinary.loc[hh[heads]].to_numpy()]
    pick = heads[rng.random(len(heads)) < 0.02]
    dibao_hh = set(hh[pick].tolist())
    in_dibao_hh = np.isin(hh, list(dibao_hh)) if dibao_hh else np.zeros(n, dtype=bool)
    mem_rows, pay_rows = [], []
    by_hh = pd.Series(np.arange(n)).groupby(hh)
    for k, h in enumerate(pick):
        hh_no = hh_offset + k
        members = [int(i) for i in by_hh.get_group(hh[h]).to_numpy() if alive_end[i] > w0]
        cat = 2 if rng.random() < 0.05 else (1 if area[h] in RURAL_AREAS else 0)
        village = _village(int(area[h]), int(street[h]), int(rng.integers(0, 4)))
        filed = bool(rng.random() < 0.03)
        for m in members:
            mem_rows.append({"hh_no": hh_no, "head": int(person[h]), "person": int(person[m]),
                             "rel": "本人" if m == h else DIBAO_RELATION.get(rel[m], "其他"), "category": cat,
                             "area": int(area[h]), "street": int(street[h]), "village": village, "filed": filed,
                             "idform": -1})
        m0 = first if rng.random() < 0.8 else int(rng.integers(first, last - 2))
        m1 = last if death[h] == NONE else min(last, int(death_month[h]) - int(rng.random() < 0.5))
        cents = len(members) * int(rng.integers(3_000, 7_000)) * 10
        for m in range(m0, m1 + 1):
            pay_rows.append({"hh_no": hh_no, "head": int(person[h]), "month": m, "cents": cents, "idform": -1})
    out["dibao_members"] = pd.DataFrame(mem_rows, columns=TABLES["dibao_members"])
    out["dibao_payments"] = pd.DataFrame(pay_rows, columns=TABLES["dibao_payments"])
    free = ordinary & ~in_dibao_hh  # may hold anything

    # ---- payroll -----------------------------------------------------------------------------------
    working = ordinary & (age >= 23) & (age <= 54) & (alive_end > w0 + 31)
    emp = np.flatnonzero(working & (rng.random(n) < np.where(free, 0.07, 0.01)))
    cat = np.where(free[emp], rng.choice(4, size=len(emp), p=[0.3, 0.1, 0.4, 0.2]), CONTRACT_STAFF)
    m0 = np.where(rng.random(len(emp)) < 0.9, first, rng.integers(first, last, len(emp)))
    m1 = np.where(rng.random(len(emp)) < 0.9, last, rng.integers(first, last + 1, len(emp)))
    m1 = np.where(death[emp] == NONE, m1, np.minimum(m1, death_month[emp]))
    ok = m1 >= m0
    emp, cat, m0, m1 = emp[ok], cat[ok], m0[ok], m1[ok]
    lo = np.array([p[0] for p in PAY_YUAN])[cat]
    hi = np.array([p[1] for p in PAY_YUAN])[cat]
    base = rng.integers(lo, hi) * 100
    cnt = m1 - m0 + 1
    rows = np.repeat(np.arange(len(emp)), cnt)
    months = m0[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    out["payroll"] = pd.DataFrame({"person": person[emp][rows], "employer": rng.integers(0, len(EMPLOYERS), len(emp))[rows],
                                   "category": cat[rows], "month": months, "cents": base[rows], "idform": -1})

    # ---- vehicles ----------------------------------------------------------------------------------
    adults = ordinary & (age >= 22) & (age <= 78)
    own = np.flatnonzero(adults & (rng.random(n) < 0.12))
    own = np.r_[own, own[rng.random(len(own)) < 0.1]]
    vtype = rng.choice(7, size=len(own), p=VEHICLE_WEIGHTS)
    small = np.array([MOTORCYCLE, TRICYCLE, LIGHT_TRUCK, EBIKE])
    vtype = np.where(free[own], vtype, small[rng.integers(0, 4, len(own))])
    reg = a - rng.integers(30, 15 * 365, len(own))
    gone = rng.random(len(own)) < 0.15
    dereg = np.where(gone, reg + ((a - 1 - reg) * rng.random(len(own))).astype(np.int64) + 1, NONE)
    dereg = np.where(gone & (dereg >= a), a - 1, dereg)
    status = np.where(gone, np.array(["注销", "报废", "转出"], dtype=object)[rng.integers(0, 3, len(own))], "正常")
    out["vehicles"] = pd.DataFrame({"person": person[own], "vtype": vtype, "reg_day": reg, "status": status,
                                    "dereg_day": dereg, "idform": -1})

    # ---- enterprises -----------------------------------------------------------------------------
    rep = np.flatnonzero(ordinary & (age >= 25) & (age <= 72) & (rng.random(n) < np.where(free, 0.03, 0.01)))
    cap = np.array(CAPITALS)[rng.choice(len(CAPITALS), size=len(rep), p=[.12, .14, .14, .16, .14, .1, .09, .05, .04, .02])]
    cap = np.where(free[rep], cap, np.array([1.0, 3.0, 5.0, 9.5])[rng.integers(0, 4, len(rep))])
    est = a - rng.integers(60, 20 * 365, len(rep))
    closed_ = rng.random(len(rep)) < 0.15
    cday = np.where(closed_, est + ((a - 1 - est) * rng.random(len(rep))).astype(np.int64) + 1, NONE)
    cday = np.where(closed_ & (cday >= a), a - 1, cday)
    est_status = np.array(["存续", "在业"], dtype=object)[rng.integers(0, 2, len(rep))]
    out["enterprises"] = pd.DataFrame({
        "person": person[rep], "word": rng.integers(0, len(ENTERPRISE_WORDS), len(rep)),
        "kind": rng.integers(0, len(ENTERPRISE_KINDS), len(rep)), "capital": cap, "est_day": est,
        "status": np.where(closed_, np.array(["注销", "吊销"], dtype=object)[rng.integers(0, 2, len(rep))], est_status),
        "closed_day": cday, "idform": -1})

    # ---- village officials: never registered with a 低保 household --------------------------------
    rural = np.isin(area, RURAL_AREAS)
    cad = np.flatnonzero(free & rural & (age >= 30) & (age <= 65) & (alive_end >= a) & (rng.random(n) < 0.01))
    start = day(dt.date(fr.as_of.year - 5, 1, 10)) + rng.integers(0, 60, len(cad))
    start = np.where(rng.random(len(cad)) < 0.3, start - 3 * 365, start)
    ended = rng.random(len(cad)) < 0.2
    end = np.where(ended, w0 + rng.integers(0, a - w0 - 30, len(cad)), NONE)
    out["cadres"] = pd.DataFrame({"person": person[cad], "post": rng.integers(0, len(CADRE_POSTS), len(cad)),
                                  "area": area[cad], "street": street[cad],
                                  "village": [_village(int(x), int(s), 0) for x, s in zip(area[cad], street[cad])],
                                  "start_day": start, "end_day": end, "idform": -1})

    # ---- land contracts and subsidies --------------------------------------------------------------
    farm = np.flatnonzero(ordinary & rural & (age >= 25) & (alive_end > w0) & (rng.random(n) < 0.12))
    two = rng.random(len(farm)) < 0.2
    c_person = np.r_[farm, farm[two]]
    c_tenths = rng.integers(10, 150, len(c_person))
    out["contracts"] = pd.DataFrame({"person": person[c_person], "tenths": c_tenths, "area": area[c_person],
                                     "street": street[c_person],
                                     "village": [_village(int(x), int(s), 1) for x, s in zip(area[c_person], street[c_person])],
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
            sub_rows.append({"doc": _doc(year, int(area[f])), "person": int(person[f]), "year": year, "tenths": t,
                             "cents": t * rate // 10, "pay_day": int(d), "area": int(area[f]), "street": int(street[f]),
                             "village": _village(int(area[f]), int(street[f]), 1), "idform": -1})
    out["subsidies"] = pd.DataFrame(sub_rows, columns=TABLES["subsidies"])

    # ---- exams: different items per person ---------------------------------------------------------
    k = np.where(ordinary & (age >= 18) & (alive_end > w0 + 30), rng.poisson(np.where(age >= 60, 0.8, 0.3)), 0)
    k = np.minimum(k, 4)
    rows = np.repeat(np.arange(n), k)
    j = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)
    item = (rng.integers(0, len(EXAM_ITEMS), n)[rows] + j * 5) % len(EXAM_ITEMS)  # distinct within a person
    span = np.clip(alive_end[rows] - w0 - 1, 1, None)
    dayv = w0 + (rng.random(len(rows)) * span).astype(np.int64)
    cents = np.array([e[2] for e in EXAM_ITEMS])[item] + rng.integers(0, 40, len(rows)) * 100
    out["exams"] = pd.DataFrame({"person": person[rows], "hosp": rng.choice(len(V.HOSPITALS), size=len(rows), p=V.HOSPITAL_WEIGHTS),
                                 "day": dayv, "item": item, "cents": cents, "idform": -1})
    return frames(out)


# =============================================================================================
# fund flows
# =============================================================================================


def fund_flows(rng: np.random.Generator, subsidies: pd.DataFrame, fr: Frame, cases: list[tuple], truth: Truth):
    """Allocations and disbursements from the subsidies actually paid, planted fund cases applied.

    Per (资金文号, 乡镇): disbursed = delivered + 0-3%, allocated = disbursed + 0-3% (both well
    inside the 5% tolerance), allocated in April of the subsidy year (long past the grace).
    """
    a = fr.as_of_day
    township = [_township(int(x), int(s)) for x, s in zip(subsidies["area"], subsidies["street"])]
    sub = subsidies.assign(township=township)
    keys = sub.groupby(["doc", "township", "year"], sort=True)["cents"].sum().reset_index()
    alloc, disb = [], []
    flows = []
    for r in keys.itertuples(index=False):
        delivered = int(r.cents)
        disbursed = delivered + delivered * int(rng.integers(0, 300)) // 10_000
        allocated = disbursed + disbursed * int(rng.integers(0, 300)) // 10_000
        aday = day(dt.date(int(r.year), 4, 10)) + int(rng.integers(0, 20))
        flows.append({"doc": r.doc, "township": r.township, "year": int(r.year), "delivered": delivered,
                      "disbursed": [disbursed], "allocated": allocated, "aday": aday, "company": 0})
    order = rng.permutation(len(flows))
    take = iter(order.tolist())
    extra_docs = 900

    def new_doc(year: int) -> str:
        nonlocal extra_docs
        extra_docs += 1
        return f"黄财预〔{year}〕{extra_docs}号"

    towns = sorted({f["township"] for f in flows}) or [_township(4, 0)]
    for kind, value in cases:
        if kind in ("retained", "retained_exactly_5pct", "not_delivered", "delivered_within_tolerance"):
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
            year = fr.as_of.year - (0 if kind in ("recent_nothing_disbursed", "exactly_grace_days") else 1)
            town = towns[int(rng.integers(0, len(towns)))]
            amount = int(rng.integers(50_000, 500_000)) * 100
            aday = a - value if kind in ("recent_nothing_disbursed", "exactly_grace_days") else a - int(rng.integers(120, 400))
            f = {"doc": new_doc(year), "township": town, "year": year, "delivered": 0, "disbursed": [],
                 "allocated": amount, "aday": aday, "company": 0}
            flows.append(f)
            if kind == "nothing_disbursed":
                truth.fire(FUND_RETAINED, f"{f['doc']}|{town}", "medium", amount, "nothing_disbursed")
            else:
                truth.decoy(FUND_RETAINED, "recent_allocation" if kind == "recent_nothing_disbursed" else "exactly_grace_days")
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


# =============================================================================================
# delivery
# =============================================================================================


def _keys(df: pd.DataFrame, col: str = "person") -> np.ndarray:
    return df[col].to_numpy(dtype=np.int64)


def _ids_for(ctx: D.Ctx, keys: np.ndarray, idform: np.ndarray | None, weights=(0.9, 0.02, 0.03, 0.01, 0.04)) -> np.ndarray:
    """Delivered identity numbers (a forced form >= 0 wins; legacy falls back to 18 digits after 1999)."""
    return R.identity_numbers(ctx.rng, ctx.col("pid", keys), None if idform is None else np.asarray(idform, dtype=np.int64), weights)


def _names_for(ctx: D.Ctx, keys: np.ndarray, rate: float = 0.03, gbk: bool = False, dot: str = "·") -> np.ndarray:
    names = R.names(ctx.rng, ctx.col("name", keys).astype(object), np.ones(len(keys), dtype=bool), rate, gbk)
    return R.dots(names, "." if gbk and dot not in V.GBK_DOT_VARIANTS else dot)


def _write(ctx: D.Ctx, source: str, table: str, name: str, df: pd.DataFrame, id_col: str | None, keys, *,
           encoding: str = "utf-8", crlf: bool = False, n_dups: int = 0, block=None, junk: bool = True) -> None:
    final, junk_rows, dups = D.assemble(ctx, df, id_col, keys, D._n_junk(ctx, len(df)) if junk and id_col else 0,
                                        n_dups=n_dups, block=block)
    D.emit(ctx, source, table, name, final, junk_rows, dups, encoding, crlf)


def deliver_domains(ctx: D.Ctx, t: dict[str, pd.DataFrame], alloc: pd.DataFrame, disb: pd.DataFrame) -> None:
    rng, fr = ctx.rng, ctx.fr

    # ---- civil_affairs -------------------------------------------------------------------------
    hh_ids = sorted(set(t["dibao_members"]["hh_no"].tolist()) | set(t["dibao_payments"]["hh_no"].tolist()))
    perm = rng.permutation(len(hh_ids))
    hh_no = {h: f"4202DB{100_000 + 7 * int(p):07d}" for h, p in zip(hh_ids, perm)}
    mem = t["dibao_members"].assign(no=lambda x: x["hh_no"].map(hh_no)).sort_values(["no", "rel"], kind="stable", ignore_index=True)
    keys = _keys(mem)
    filed = mem["filed"].to_numpy(dtype=bool)
    head_keys = _keys(mem, "head")
    df = D._frame({
        "保障户编号": mem["no"].to_numpy(dtype=object),
        "户主身份证号": _ids_for(ctx, head_keys, None),
        "公民身份号码": _ids_for(ctx, keys, mem["idform"].to_numpy()),
        "姓名": _names_for(ctx, keys, gbk=True),
        "与户主关系": mem["rel"].to_numpy(dtype=object),
        "保障类别": np.array(DIBAO_CATEGORIES, dtype=object)[mem["category"].to_numpy(dtype=int)],
        "所属区县": D.DISTRICT_NAMES[mem["area"].to_numpy(dtype=int)],
        "街道乡镇": np.array([_township(int(x), int(s)) for x, s in zip(mem["area"], mem["street"])], dtype=object),
        "村社区": mem["village"].to_numpy(dtype=object),
        "村干部近亲属备案": R.with_nulls(rng, np.where(filed, "是", "否").astype(object), (rng.random(len(mem)) < 0.05) & ~filed),
    })
    _write(ctx, "civil_affairs", "dibao_members", "dibao_members.csv", df, "公民身份号码", keys, encoding="gbk", crlf=True)

    pay = t["dibao_payments"].assign(no=lambda x: x["hh_no"].map(hh_no)).sort_values(["month", "no"], kind="stable", ignore_index=True)
    years = pay["month"].to_numpy() // 12
    uniq = sorted(set(years.tolist()))
    for i, year in enumerate(uniq):
        part = pay[years == year].reset_index(drop=True)
        k = _keys(part, "head")
        df = D._frame({
            "保障户编号": part["no"].to_numpy(dtype=object),
            "户主身份证号": _ids_for(ctx, k, part["idform"].to_numpy()),
            "户主姓名": _names_for(ctx, k),
            "发放年月": R.months(rng, part["month"].to_numpy(), (0.3, 0.7) if i % 2 else (0.8, 0.2)),
            "发放金额": R.amounts(rng, part["cents"].to_numpy()),
        })
        block = None
        if i == 0 and len(part):  # one month exported twice
            months = part["month"].to_numpy()
            m = sorted(set(months.tolist()))[len(set(months.tolist())) // 2]
            idx = np.flatnonzero(months == m)
            block = (int(idx[0]), int(idx[-1]) + 1)
        _write(ctx, "civil_affairs", "dibao_payments", f"dibao_payments_{year}.csv", df, "户主身份证号", k,
               encoding=("utf-8-sig", "utf-8")[i % 2], block=block)

    # ---- finance: payroll --------------------------------------------------------------------
    pr = t["payroll"].sort_values(["month", "employer", "person"], kind="stable", ignore_index=True)
    years = pr["month"].to_numpy() // 12
    for i, year in enumerate(sorted(set(years.tolist()))):
        part = pr[years == year].reset_index(drop=True)
        k = _keys(part)
        gbk = i % 2 == 1
        df = D._frame({
            "公民身份号码": _ids_for(ctx, k, part["idform"].to_numpy()),
            "姓名": _names_for(ctx, k, gbk=gbk),
            "单位名称": np.array(EMPLOYERS, dtype=object)[part["employer"].to_numpy(dtype=int)],
            "人员类别": np.array(STAFF_CATEGORIES, dtype=object)[part["category"].to_numpy(dtype=int)],
            "发放年月": R.months(rng, part["month"].to_numpy()),
            "应发工资": R.amounts(rng, part["cents"].to_numpy()),
        })
        _write(ctx, "finance", "public_payroll", f"public_payroll_{year}.csv", df, "公民身份号码", k,
               encoding="gbk" if gbk else "utf-8-sig", crlf=gbk, n_dups=max(1, len(df) // 4000))

    # ---- finance: fund flows (no identity numbers) -----------------------------------------------
    al = alloc.sort_values(["day", "doc", "township"], kind="stable", ignore_index=True)
    df = D._frame({
        "资金文号": al["doc"].to_numpy(dtype=object),
        "项目名称": al["programme"].to_numpy(dtype=object),
        "下达日期": R.dates(rng, al["day"].to_numpy(), (0.3, 0.5, 0.2)),
        "接收乡镇": al["township"].to_numpy(dtype=object),
        "下达金额": R.amounts(rng, al["cents"].to_numpy(), (0.2, 0.3, 0.5)),
    })
    _write(ctx, "finance", "fund_allocations", "fund_allocations.csv", df, None, None, encoding="utf-8-sig")
    ds = disb.sort_values(["day", "doc", "township", "payee"], kind="stable", ignore_index=True)
    df = D._frame({
        "资金文号": ds["doc"].to_numpy(dtype=object),
        "支出乡镇": ds["township"].to_numpy(dtype=object),
        "支出日期": R.dates(rng, ds["day"].to_numpy(), (0.6, 0.3, 0.1)),
        "收款方": ds["payee"].to_numpy(dtype=object),
        "支出金额": R.amounts(rng, ds["cents"].to_numpy(), (0.2, 0.3, 0.5)),
    })
    _write(ctx, "finance", "fund_disbursements", "fund_disbursements.csv", df, None, None, encoding="gbk", crlf=True, n_dups=1)

    # ---- vehicle_registry ------------------------------------------------------------------------
    vh = t["vehicles"].sort_values(["reg_day", "person"], kind="stable", ignore_index=True)
    k = _keys(vh)
    region = np.array(["B", "B", "B", "B", "B", "B"], dtype=object)[ctx.col("area", k).astype(int)]
    seq = rng.permutation(len(vh))
    plates = [f"鄂{r}{PLATE_LETTERS[s % 24]}{(s * 7919) % 10_000:04d}" for r, s in zip(region, seq)]
    df = D._frame({
        "号牌号码": np.array(plates, dtype=object),
        "车辆类型": np.array(VEHICLE_TYPES, dtype=object)[vh["vtype"].to_numpy(dtype=int)],
        "所有人身份证号": _ids_for(ctx, k, vh["idform"].to_numpy()),
        "所有人姓名": _names_for(ctx, k),
        "初次登记日期": R.dates(rng, vh["reg_day"].to_numpy(), (0.5, 0.3, 0.2)),
        "机动车状态": vh["status"].to_numpy(dtype=object),
        "注销日期": R.dates(rng, vh["dereg_day"].to_numpy(), (0.5, 0.3, 0.2)),
    })
    _write(ctx, "vehicle_registry", "vehicles", "vehicles.csv", df, "所有人身份证号", k, encoding="utf-8")

    # ---- market_regulation -----------------------------------------------------------------------
    en = t["enterprises"].sort_values(["est_day", "person"], kind="stable", ignore_index=True)
    k = _keys(en)
    seq = rng.permutation(len(en))
    codes = [f"914202{(s * 104_729) % 10**9:09d}{'ABCDEFGHJK'[s % 10]}{s % 10}" for s in seq]
    surname = ctx.col("name", k)
    names = [f"黄石{str(nm)[:1]}氏{ENTERPRISE_WORDS[w]}{ENTERPRISE_KINDS[kd]}" for nm, w, kd in
             zip(surname, en["word"].to_numpy(dtype=int), en["kind"].to_numpy(dtype=int))]
    cap = en["capital"].to_numpy(dtype=float)
    cap_txt = np.array([f"{c:g}" if i % 3 else f"{c:.2f}" for i, c in enumerate(cap)], dtype=object)
    df = D._frame({
        "统一社会信用代码": np.array(codes, dtype=object),
        "企业名称": np.array(names, dtype=object),
        "法定代表人身份证号": _ids_for(ctx, k, en["idform"].to_numpy()),
        "法定代表人姓名": _names_for(ctx, k),
        "注册资本": cap_txt,
        "成立日期": R.dates(rng, en["est_day"].to_numpy()),
        "登记状态": en["status"].to_numpy(dtype=object),
        "注销日期": R.dates(rng, en["closed_day"].to_numpy()),
    })
    _write(ctx, "market_regulation", "enterprises", "enterprises.csv", df, "法定代表人身份证号", k, encoding="utf-8-sig")

    # ---- village_cadres ---------------------------------------------------------------------------
    cd = t["cadres"].sort_values(["area", "street", "village", "post"], kind="stable", ignore_index=True)
    k = _keys(cd)
    df = D._frame({
        "公民身份号码": _ids_for(ctx, k, cd["idform"].to_numpy()),
        "姓名": _names_for(ctx, k, gbk=True),
        "职务": np.array(CADRE_POSTS, dtype=object)[cd["post"].to_numpy(dtype=int)],
        "所属乡镇": np.array([_township(int(x), int(s)) for x, s in zip(cd["area"], cd["street"])], dtype=object),
        "所属村": cd["village"].to_numpy(dtype=object),
        "任职开始日期": R.dates(rng, cd["start_day"].to_numpy(), (0.4, 0.3, 0.3)),
        "任职结束日期": R.dates(rng, cd["end_day"].to_numpy(), (0.4, 0.3, 0.3)),
    })
    _write(ctx, "village_cadres", "cadres", "cadres.csv", df, "公民身份号码", k, encoding="gbk", crlf=True)

    # ---- agriculture ------------------------------------------------------------------------------
    ct = t["contracts"].sort_values(["area", "street", "village", "person"], kind="stable", ignore_index=True)
    k = _keys(ct)
    df = D._frame({
        "承包合同编号": np.array([f"HT{D.AREA_CODES[int(x)]}{i:06d}" for i, x in enumerate(ct["area"])], dtype=object),
        "承包方身份证号": _ids_for(ctx, k, ct["idform"].to_numpy()),
        "承包方姓名": _names_for(ctx, k, gbk=True),
        "承包面积": np.array([f"{v / 10:.1f}" if i % 4 else f"{v / 10:g}" for i, v in enumerate(ct["tenths"])], dtype=object),
        "所属乡镇": np.array([_township(int(x), int(s)) for x, s in zip(ct["area"], ct["street"])], dtype=object),
        "所属村": ct["village"].to_numpy(dtype=object),
    })
    _write(ctx, "agriculture", "land_contracts", "land_contracts.csv", df, "承包方身份证号", k, encoding="gbk", crlf=True)
    sb = t["subsidies"].sort_values(["year", "pay_day", "person"], kind="stable", ignore_index=True)
    for i, year in enumerate(sorted(set(sb["year"].tolist()))):
        part = sb[sb["year"] == year].reset_index(drop=True)
        k = _keys(part)
        df = D._frame({
            "资金文号": part["doc"].to_numpy(dtype=object),
            "公民身份号码": _ids_for(ctx, k, part["idform"].to_numpy()),
            "姓名": _names_for(ctx, k),
            "补贴年度": part["year"].astype(str).to_numpy(dtype=object),
            "补贴面积": np.array([f"{v / 10:.2f}" for v in part["tenths"]], dtype=object),
            "补贴金额": R.amounts(rng, part["cents"].to_numpy()),
            "发放日期": R.dates(rng, part["pay_day"].to_numpy()),
            "所属乡镇": np.array([_township(int(x), int(s)) for x, s in zip(part["area"], part["street"])], dtype=object),
            "所属村": part["village"].to_numpy(dtype=object),
        })
        _write(ctx, "agriculture", "subsidy_payments", f"subsidy_payments_{year}.csv", df, "公民身份号码", k,
               encoding=("utf-8", "utf-8-sig")[i % 2], n_dups=max(1, len(df) // 3000))

    # ---- hospital/exams ----------------------------------------------------------------------------
    ex = t["exams"].sort_values(["day", "hosp", "person"], kind="stable", ignore_index=True)
    k = _keys(ex)
    item = ex["item"].to_numpy(dtype=int)
    df = D._frame({
        "检查流水号": np.array([f"JC{int(d) % 100_000:05d}{i:07d}" for i, d in enumerate(ex["day"])], dtype=object),
        "医疗机构名称": np.array([h[1] for h in V.HOSPITALS], dtype=object)[ex["hosp"].to_numpy(dtype=int)],
        "公民身份号码": _ids_for(ctx, k, ex["idform"].to_numpy()),
        "姓名": _names_for(ctx, k, dot="・"),
        "检查日期": R.dates(rng, ex["day"].to_numpy(), (0.3, 0.5, 0.2)),
        "检查项目编码": np.array([e[0] for e in EXAM_ITEMS], dtype=object)[item],
        "检查项目名称": np.array([e[1] for e in EXAM_ITEMS], dtype=object)[item],
        "费用": R.amounts(rng, ex["cents"].to_numpy()),
    })
    _write(ctx, "hospital", "exams", "exams.csv", df, "公民身份号码", k, encoding="utf-8", n_dups=max(1, len(df) // 5000))
