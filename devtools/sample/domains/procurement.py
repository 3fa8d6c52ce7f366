"""招投标 / 政府采购 (rules/procurement/): the bids of each project and the contracts buying units
sign, with planted cases and near misses for the three procurement rules of the
sanzi-procurement contract.

Drawn after the 三资 sources, from the same stream. Bidders and suppliers are enterprises of their
own (market_regulation/enterprises_procurement.csv) whose legal representatives are not residents,
except the planted ones: a public employee of the buying unit (from the city's payroll) or a
member of such an employee's household, chosen from households that hold no other role. Buying
units are named as on the payroll. Tendered contracts are worth 400,000 元 or more; direct
purchases from one supplier are more than 30 days apart; every bidder has its own phone and
legal representative. The truth is what the contract's rules find in these rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import ids as idmod
from ..model import Truth
from ..timeutil import month_of_date
from .sanzi_people import Registry
from .shared import EMPLOYERS, PUBLIC

SHARED, SPLIT, RELATED = "bid_shared_contact", "procurement_split", "supplier_related_to_buyer_staff"
RULES = [SHARED, SPLIT, RELATED]
THRESHOLD_CENTS, WINDOW_DAYS = 40_000_000, 30
WORDS = ["信息技术", "建设工程", "办公设备", "物业管理", "环保科技", "医疗器械", "印务", "绿化工程", "教学设备", "安防科技"]
REP_NAMES = ["周立平", "吴海燕", "郑国强", "钱志明", "孙建华", "冯晓敏", "陈立新", "褚卫东"]


@dataclass
class Firm:
    code: str
    name: str
    rep_pid: str
    rep_name: str
    phone: str              # as the firm writes it
    phone_key: str          # normalised (the contract's phone form)


@dataclass
class Bid:
    project: str
    buyer: str
    opening: dt.date
    firm: Firm
    price: int
    won: str
    phone: str              # as written in this bid
    phone_key: str
    rep_pid: str            # canonical, "" when the bid leaves it empty
    rep_form: int = 0
    code_shown: int = 0
    copies: int = 0


@dataclass
class Contract:
    no: str
    project: str
    buyer: str              # text key
    buyer_shown: str
    firm: Firm
    cents: int
    signed: dt.date


@dataclass
class Case:
    rule: str
    kind: str               # "decoy:..." for a near miss


@dataclass
class Market:
    rng: np.random.Generator
    as_of: dt.date
    reg: Registry
    scale: float
    firms: list[Firm] = field(default_factory=list)
    bids: list[Bid] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    cases: dict[str, Case] = field(default_factory=dict)      # subject -> the case planted there
    seq: int = 0

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def firm(self, rep_pid: str | None = None, rep_name: str | None = None) -> Firm:
        self.seq += 1
        s = self.seq
        code = f"91420281MA{s:06d}{'0123456789ABCDEFGHJKLMNPQRTUWXY'[s * 7 % 31]}{'ABCDEFGHJK'[s % 10]}"
        if rep_pid is None:
            body = f"110105{1960 + s % 35}{1 + s % 12:02d}{1 + s % 28:02d}{s % 1000:03d}"
            rep_pid = body + idmod.check_char(body)
        mobile = s % 2 == 0
        key = f"139{7_000_000 + s * 37:08d}" if mobile else f"0714{6_000_000 + s * 13:07d}"
        shown = [key, f"{key[:3]}-{key[3:7]}-{key[7:]}", f"+86 {key}"][s % 3] if mobile else \
            [f"{key[:4]}-{key[4:]}", f"({key[:4]}){key[4:]}", key][s % 3]
        f = Firm(code, f"湖北{WORDS[s % len(WORDS)]}{s:03d}有限公司", rep_pid, rep_name or REP_NAMES[s % len(REP_NAMES)], shown, key)
        self.firms.append(f)
        return f

    def project(self, buyer: str, opening: dt.date, firms: list[Firm], winner: int | None, kind: Case | None = None,
                phones: dict[int, tuple[str, str]] | None = None, reps: dict[int, tuple[str, int]] | None = None) -> str:
        self.seq += 1
        no = f"HSCG-{opening.year}-{self.seq:05d}"
        for i, f in enumerate(firms):
            phone, key = (phones or {}).get(i, (f.phone, f.phone_key))
            rep, form = (reps or {}).get(i, (f.rep_pid if i % 5 != 4 else "", [0, idmod.LOWER_X, idmod.SPACES][self.seq % 3]))
            price = self.rnd(40_000, 300_000) * 1_000 + self.rnd(0, 100)
            self.bids.append(Bid(no, buyer, opening, f, price, "是" if i == winner else ("否" if i % 4 else ""), phone, key, rep,
                                 form, i + self.seq))
        if kind:
            self.cases[no] = kind
        return no

    def contract(self, buyer: str, firm: Firm, cents: int, signed: dt.date, project: str = "", shown: str | None = None,
                 case: Case | None = None, subject: str | None = None) -> Contract:
        self.seq += 1
        c = Contract(f"CG{signed.year}{self.seq:06d}", project, buyer, shown or buyer, firm, cents, signed)
        self.contracts.append(c)
        if case:
            self.cases[subject or c.no] = case
        return c


def build(rng: np.random.Generator, as_of: dt.date, reg: Registry, payroll: pd.DataFrame, scale: float) -> Market:
    m = Market(rng, as_of, reg, scale)
    pool = [m.firm() for _ in range(max(30, round(80 * scale)))]
    for _ in range(max(20, round(120 * scale))):  # tendered projects: 3-5 bidders, the winner's contract
        opening = as_of - dt.timedelta(days=m.rnd(20, 700))
        firms = [pool[int(i)] for i in rng.choice(len(pool), size=m.rnd(3, 6), replace=False)]
        no = m.project(EMPLOYERS[m.rnd(0, len(EMPLOYERS))], opening, firms, 0)
        win = next(b for b in m.bids if b.project == no and b.won == "是")
        win.price = max(win.price, THRESHOLD_CENTS + m.rnd(0, 100) * 100_000)
        m.contract(win.buyer, win.firm, win.price, opening + dt.timedelta(days=m.rnd(5, 25)), no)
    for _ in range(max(15, round(60 * scale))):  # direct purchases, each supplier's more than 30 days apart
        firm, buyer = m.firm(), EMPLOYERS[m.rnd(0, len(EMPLOYERS))]
        day = as_of - dt.timedelta(days=m.rnd(300, 700))
        for _ in range(m.rnd(1, 4)):
            m.contract(buyer, firm, m.rnd(500, 39_000) * 1_000 + m.rnd(0, 100), day)
            day += dt.timedelta(days=m.rnd(31, 120))
    _plant_shared(m, pool)
    _plant_split(m)
    _plant_related(m, payroll)
    return m


def _plant_shared(m: Market, pool: list[Firm]) -> None:
    day = m.as_of - dt.timedelta(days=m.rnd(60, 300))
    buyer = EMPLOYERS[0]

    def case(kind: str, firms: list[Firm], winner: int | None, **kw) -> str:
        return m.project(buyer, day, firms, winner, Case(SHARED, kind), **kw)

    a, b, c = m.firm(), m.firm(), m.firm()
    landline = "07146251234"
    no = case("shared_landline_in_two_forms", [a, b, c], 0, phones={0: ("0714-6251234", landline), 1: ("(0714)6251234", landline)})
    next(x for x in m.bids if x.project == no and x.won == "是").copies = 1   # the winning bid exported twice: one bid
    a, b, c = m.firm(), m.firm(), m.firm()
    case("shared_mobile_with_country_code", [c, a, b], 2, phones={1: ("13812345678", "13812345678"), 2: ("+86 138-1234-5678", "13812345678")})
    a, b, c = m.firm(), m.firm(), m.firm()
    case("shared_legal_representative_no_winner_among_them", [a, b, c], 2,
         reps={0: (a.rep_pid, idmod.SPACES), 1: (a.rep_pid, idmod.LEGACY15)})
    a, b = m.firm(), m.firm()
    case("decoy:one_bidder_bids_twice", [a, a, b], 2)
    a, b = m.firm(), m.firm()
    case("decoy:same_phone_in_another_project", [a, m.firm()], 0)
    case("decoy:same_phone_in_another_project", [m.firm(), m.firm()], 0, phones={0: (a.phone, a.phone_key)})
    a, b = m.firm(), m.firm()
    case("decoy:local_number_is_another_number", [a, b], 0, phones={0: ("6251234", "6251234"), 1: ("0714-6251234", "07146251234")})
    a, b = m.firm(rep_name="王立新"), m.firm(rep_name="王立新")
    case("decoy:same_representative_name_other_number", [a, b], 1)
    case("decoy:both_phones_empty", [m.firm(), m.firm()], 0, phones={0: ("", ""), 1: ("NULL", "")})


def _plant_split(m: Market) -> None:
    base = m.as_of - dt.timedelta(days=m.rnd(200, 400))

    def case(kind: str, parts: list[tuple[int, int, int]], shown: dict[int, str] | None = None) -> None:
        firm = m.firm()
        for i, (unit, off, cents) in enumerate(parts):
            buyer = EMPLOYERS[unit]
            m.contract(buyer, firm, cents, base + dt.timedelta(days=off), shown=(shown or {}).get(i), case=Case(SPLIT, kind),
                       subject=f"{buyer}|{firm.code}")

    case("worked_example", [(1, 0, 10_000_000), (1, 25, 20_000_000), (1, 40, 25_000_000)])
    case("exactly_30_days_apart", [(2, 0, 20_000_000), (2, 30, 20_000_000)])
    case("buyer_named_with_spaces", [(3, 0, 15_000_000), (3, 9, 25_000_000)], shown={1: EMPLOYERS[3][:3] + " " + EMPLOYERS[3][3:]})
    case("decoy:sum_399999_99", [(4, 0, 19_999_999), (4, 10, 20_000_000)])
    case("decoy:31_days_apart", [(5, 0, 20_000_000), (5, 31, 25_000_000)])
    case("decoy:contract_at_the_limit_not_counted", [(6, 0, THRESHOLD_CENTS), (6, 5, 10_000_000)])
    case("decoy:two_buying_units", [(7, 0, 25_000_000), (8, 5, 25_000_000)])


def _plant_related(m: Market, payroll: pd.DataFrame) -> None:
    reg, rng = m.reg, m.rng
    key_of = {pid: k for k, pid in enumerate(reg.pid)}
    pay = payroll.assign(pid=[reg.pid[int(k)] for k in payroll["person"]])
    free = pay[[reg.free[key_of[p]] and reg.hukou[key_of[p]] not in reg.taken for p in pay["pid"]]]
    paid = set(pay["pid"])
    people = sorted(set(free["pid"]))
    people = [people[int(i)] for i in rng.permutation(len(people))]

    def pick(public: bool, relative: bool = False):
        for pid in people:
            k = key_of[pid]
            rows = free[free["pid"] == pid]
            is_public = rows["category"].isin(PUBLIC)
            kin = [x for x in reg.members[reg.hukou[k]] if x != k and reg.age[x] >= 18]
            if (public and not is_public.all()) or (not public and is_public.any()) or (relative and not kin):
                continue
            if not relative and any(reg.pid[x] in paid for x in reg.members[reg.hukou[k]] if x != k):
                continue  # nobody else of the household on the payroll
            people.remove(pid)
            reg.taken.add(reg.hukou[k])
            row = rows.iloc[m.rnd(0, len(rows))]
            return k, (kin[0] if kin else k), EMPLOYERS[int(row["employer"])], int(row["month"])
        raise RuntimeError("no payroll person left for a planted supplier")

    def signed_in(month: int) -> dt.date:
        return dt.date(month // 12, month % 12 + 1, m.rnd(1, 29))

    def case(kind: str, rep: int, buyer: str, month: int, shown: str | None = None) -> None:
        firm = m.firm(reg.pid[rep], reg.name[rep])
        day = signed_in(month)
        m.contract(buyer, firm, m.rnd(2_000, 30_000) * 1_000 + m.rnd(0, 100), day, shown=shown, case=Case(RELATED, kind))

    e, _, unit, month = pick(True)
    case("legal_representative_is_a_buyer_employee", e, unit, month)
    e, kin, unit, month = pick(True, relative=True)
    case("legal_representative_in_an_employee_household", kin, unit, month, shown=" " + unit[:2] + "\u3000" + unit[2:])
    e, _, unit, month = pick(False)
    case("decoy:contract_staff", e, unit, month)
    e, _, unit, month = pick(True)
    case("decoy:employee_of_another_unit", e, next(u for u in EMPLOYERS if u != unit), month)
    e, _, unit, month = pick(True)
    case("decoy:signed_in_a_month_the_payroll_does_not_pay", e, unit, int(payroll["month"].min()) - 1)


# ---------------------------------------------------------------- the truth, as the contract's rules say

def record_truth(m: Market, payroll: pd.DataFrame, truth: Truth) -> None:
    fired: set[str] = set()

    def verdict(rule: str, subject: str, severity: str, cents: int | None, fires: bool) -> None:
        case = m.cases.get(subject)
        if fires:
            assert case is not None and case.rule == rule and not case.kind.startswith("decoy:"), (rule, subject, case)
            truth.fire(rule, subject, severity, cents, case.kind)
            fired.add(subject)
        elif case is not None and case.rule == rule:
            assert case.kind.startswith("decoy:"), (rule, subject, case.kind)
            truth.decoy(rule, case.kind[6:])

    by_project: dict[str, list[Bid]] = {}
    for b in m.bids:
        by_project.setdefault(b.project, []).append(b)
    for project, bids in by_project.items():
        sharing: set[str] = set()
        for i, x in enumerate(bids):
            for y in bids[i + 1:]:
                if x.firm.code != y.firm.code and ((x.phone_key and x.phone_key == y.phone_key) or (x.rep_pid and x.rep_pid == y.rep_pid)):
                    sharing |= {x.firm.code, y.firm.code}
        won = [b.price for b in bids if b.won == "是" and b.firm.code in sharing]
        verdict(SHARED, project, "high", sum(won) if won else None, bool(sharing))

    pairs: dict[str, list[Contract]] = {}
    for c in m.contracts:
        if c.cents < THRESHOLD_CENTS:
            pairs.setdefault(f"{c.buyer}|{c.firm.code}", []).append(c)
    for subject, cs in pairs.items():
        inside: set[str] = set()
        for a in cs:
            window = [c for c in cs if 0 <= (c.signed - a.signed).days <= WINDOW_DAYS]
            if len(window) >= 2 and sum(c.cents for c in window) >= THRESHOLD_CENTS:
                inside |= {c.no for c in window}
        verdict(SPLIT, subject, "medium", sum(c.cents for c in cs if c.no in inside), bool(inside))

    key_of = {pid: k for k, pid in enumerate(m.reg.pid)}
    public = payroll[payroll["category"].isin(PUBLIC)]
    staff: dict[tuple[str, int], set[str]] = {}
    for person, employer, month in zip(public["person"], public["employer"], public["month"]):
        staff.setdefault((EMPLOYERS[int(employer)], int(month)), set()).add(m.reg.hukou[int(person)])
    for c in m.contracts:
        rep = key_of.get(c.firm.rep_pid)
        hukous = staff.get((c.buyer, month_of_date(c.signed)), set())
        verdict(RELATED, c.no, "high", c.cents, rep is not None and m.reg.hukou[rep] in hukous)
    missing = {s for s, case in m.cases.items() if not case.kind.startswith("decoy:")} - fired
    assert not missing, missing
