"""营商环境 (rules/business_environment/): the government-service platform, inspections and
enterprise subsidies of the sample city, with planted cases and near misses.

Everything here is drawn from its own random stream, after the rest of the city, so the other
sources do not change. Enterprises of their own (with legal representatives who are not
residents, so no other rule sees them) are added to market_regulation/. Applicants who are
natural persons are the city's residents (their numbers and names are masked). The truth is
what the contract's rules find in the rows as the loader will see them (`truth_*`): planted
cases are built to fire, near misses to miss, and the ordinary rows are judged the same way.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .. import deliver as D
from ..model import Truth
from ..timeutil import NONE, to_date
from .business_files import deliver_business
from .workcal import Calendar

OVERDUE, RETURNED, UNBACKED = "approval_overdue", "approval_repeated_return", "licence_without_application"
INSPECTED, CLOSED_PAID = "enterprise_over_inspected", "subsidy_to_closed_enterprise"
RULES = [OVERDUE, RETURNED, UNBACKED, INSPECTED, CLOSED_PAID]

CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DEPARTMENTS = ["市市场监督管理局", "市生态环境局", "市应急管理局", "市消防救援支队", "市住房和城乡建设局", "市卫生健康委员会",
               "市城市管理执法局", "市交通运输局"]
ITEM_WORDS = ["食品经营许可", "道路运输经营许可", "建筑工程施工许可", "排污许可", "户外广告设置许可", "药品零售许可",
              "个体工商户登记", "卫生许可", "特种设备使用登记", "燃气经营许可"]
POLICIES = ["稳岗返还", "高新技术企业认定奖励", "中小企业纾困补贴", "技术改造补助", "首套房契税补贴"]
WORDS = ["商贸", "建材", "物流", "餐饮管理", "电子", "机械", "装饰工程", "科技", "医药", "食品"]


@dataclass
class Enterprise:
    code: str
    name: str
    status: str = "存续"
    closed: dt.date | None = None
    rep_id: str = ""
    rep_name: str = ""


@dataclass
class Item:
    code: str
    name: str
    department: str
    statutory: int | None
    promised: int | None
    licence: str | None          # the licence type it results in, if any

    @property
    def limit(self) -> int | None:
        return self.promised if self.promised is not None else self.statutory


@dataclass
class Application:
    no: str
    item: str
    applicant: tuple[str, str, str]      # (证件类型, code, name)
    accepted: dt.date
    finished: dt.date | None
    result: str
    returns: int = 0
    kind: str = ""                      # planted case or near miss, "" for ordinary


class Builder:
    def __init__(self, rng: np.random.Generator, as_of: dt.date, cal: Calendar, people, scale: float):
        self.rng, self.as_of, self.cal, self.scale = rng, as_of, cal, scale
        self.enterprises: list[Enterprise] = []
        self.items: list[Item] = []
        self.apps: list[Application] = []
        self.licences: list[dict] = []
        self.inspections: list[dict] = []
        self.subsidies: list[dict] = []
        self.conflicted: set[str] = set()   # keys the delivery exports twice, differently (quarantined)
        ok = (~people["planted"].to_numpy(dtype=bool)) & (people["death"].to_numpy() == NONE)
        self.residents = list(zip(people["pid"].to_numpy()[ok][:5000], people["name"].to_numpy()[ok][:5000]))
        self.seq = 0

    def n(self, base: int) -> int:
        return max(1, round(base * self.scale))

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def day_back(self, lo: int, hi: int) -> dt.date:
        return self.as_of - dt.timedelta(days=self.rnd(lo, hi))

    def code(self) -> str:
        self.seq += 1
        body = f"{self.seq:06d}" + CODE_CHARS[self.rnd(0, len(CODE_CHARS))]
        return f"91420200MA{body}" + CODE_CHARS[self.seq % len(CODE_CHARS)]

    def enterprise(self, status: str = "存续", closed: dt.date | None = None) -> Enterprise:
        e = Enterprise(self.code(), f"黄石{WORDS[self.seq % len(WORDS)]}{self.seq:03d}有限公司", status, closed)
        self.enterprises.append(e)
        return e

    def party(self) -> tuple[str, str, str]:
        """An applicant: mostly an enterprise, else a resident or a foreign passport holder."""
        x = self.rng.random()
        if x < 0.8:
            e = self.enterprises[self.rnd(0, len(self.enterprises))]
            return ("统一社会信用代码", e.code, e.name)
        if x < 0.95:
            pid, name = self.residents[self.rnd(0, len(self.residents))]
            return ("居民身份证", str(pid), str(name))
        return ("其他", f"E{self.rnd(10_000_000, 99_999_999)}", ["JOHN SMITH", "MARIA GARCIA", "DAVID LEE"][self.rnd(0, 3)])

    def app(self, item: Item, applicant, accepted: dt.date, finished: dt.date | None, result: str | None = None,
            returns: int = 0, kind: str = "") -> Application:
        self.seq += 1
        no = f"{accepted:%Y%m%d}{self.seq:012d}"                      # 20 digits: text, never a number
        a = Application(no, item.code, applicant, accepted, finished,
                        result or ("准予" if finished else "办理中"), returns, kind)
        self.apps.append(a)
        return a


def build(rng: np.random.Generator, as_of: dt.date, cal: Calendar, people, scale: float) -> Builder:
    b = Builder(rng, as_of, cal, people, scale)
    for _ in range(b.n(150)):
        b.enterprise()
    for i in range(40):
        kind = i % 8
        statutory = None if kind == 0 else (5 if kind == 1 else 20)
        promised = None if kind in (0, 2) else (0 if kind == 1 else 3 + i % 7)
        word = ITEM_WORDS[i % len(ITEM_WORDS)]
        b.items.append(Item(f"11420200{i:04d}XK{(i * 37) % 100:02d}", f"{word}（{i:02d}）", DEPARTMENTS[i % len(DEPARTMENTS)],
                            statutory, promised, f"{word}证" if i % 3 == 0 else None))
    _ordinary_applications(b)
    _planted_applications(b)
    _licences(b)
    _inspections(b)
    _subsidies(b)
    return b


# ---------------------------------------------------------------- applications and licences

def _ordinary_applications(b: Builder) -> None:
    """Finished within the limit (or open no longer than it), returned at most twice."""
    limited = [i for i in b.items if i.limit is not None]
    for _ in range(b.n(2500)):
        item = limited[b.rnd(0, len(limited))] if b.rng.random() < 0.9 else b.items[0]
        accepted = b.day_back(30, 640)
        limit = 10 if item.limit is None else item.limit
        taken = b.rnd(min(1, limit), limit + 1)
        finished = b.cal.nth_after(accepted, taken)
        result = ["准予", "准予", "准予", "准予", "准予", "准予", "不予", "退回"][b.rnd(0, 8)]
        b.app(item, b.party(), accepted, finished, result, returns=[0, 0, 0, 1, 1, 2][b.rnd(0, 6)])
    for _ in range(b.n(60)):  # open, within the limit at the as-of date
        item = limited[b.rnd(0, len(limited))]
        if item.limit == 0:
            continue
        accepted = b.as_of
        while b.cal.between(accepted - dt.timedelta(days=1), b.as_of) <= item.limit:
            accepted -= dt.timedelta(days=1)
        b.app(item, b.party(), accepted, None, returns=b.rnd(0, 2))


def _planted_applications(b: Builder) -> None:
    limited = [i for i in b.items if i.limit]
    instant = next(i for i in b.items if i.limit == 0)
    for k in range(b.n(8)):  # one working day over, or more
        item = limited[k % len(limited)]
        accepted = b.day_back(60, 500)
        b.app(item, b.party(), accepted, b.cal.nth_after(accepted, item.limit + 1 + (k % 3) * 2), kind="overdue")
        b.app(item, b.party(), accepted, b.cal.nth_after(accepted, item.limit), kind="decoy:exactly_at_limit")
    for _ in range(b.n(2)):  # open past the limit at the as-of date; open exactly at it
        item = limited[b.rnd(0, len(limited))]
        accepted = b.as_of
        while b.cal.between(accepted, b.as_of) <= item.limit:
            accepted -= dt.timedelta(days=1)
        b.app(item, b.party(), accepted, None, kind="open_overdue")
        b.app(item, b.party(), accepted + dt.timedelta(days=1) if b.cal.between(accepted + dt.timedelta(days=1), b.as_of)
              <= item.limit else b.as_of, None, kind="decoy:open_at_limit")
    accepted = b.day_back(40, 300)
    b.app(instant, b.party(), accepted, b.cal.nth_after(accepted, 1), kind="instant_next_day")
    b.app(instant, b.party(), accepted, accepted, kind="decoy:instant_same_day")
    example = dt.date(2025, 9, 30)  # the contract's example: limit 3, 调休 Saturday 10-11
    three = next((i for i in b.items if i.limit == 3), None)
    if three is not None and b.as_of - dt.timedelta(days=640) < example < b.as_of and b.cal.between(example, dt.date(2025, 10, 11)) == 3:
        b.app(three, b.party(), example, dt.date(2025, 10, 11), kind="decoy:tiaoxiu_saturday")
        b.app(three, b.party(), example, dt.date(2025, 10, 13), kind="overdue_over_national_day")
    nowhere = Item("ZZ99999999", "目录外事项", "市政务服务和大数据管理局", None, 1, None)
    accepted = b.day_back(100, 300)
    b.app(nowhere, b.party(), accepted, accepted + dt.timedelta(days=60), kind="decoy:item_not_in_catalogue")
    for k in range(b.n(6)):  # returned for correction three times or more
        item = limited[(k * 5) % len(limited)]
        accepted = b.day_back(60, 500)
        b.app(item, b.party(), accepted, b.cal.nth_after(accepted, 1), "准予" if k % 2 else "退回", returns=3 + k % 3,
              kind="returned")


def _licences(b: Builder) -> None:
    """A licence for most granted applications of a licence item, on its 办结日期 (linked, or by item and holder)."""
    items = {i.code: i for i in b.items}
    for a in list(b.apps):
        item = items.get(a.item)
        if item is None or item.licence is None or a.result != "准予" or a.finished is None or b.rng.random() < 0.2:
            continue
        b.licences.append(_licence(b, item, a.applicant, a.finished, a.no if b.rng.random() < 0.8 else ""))
    lic_items = [i for i in b.items if i.licence]

    def fresh(kind: str, issued: dt.date, linked: str = "", item: Item | None = None) -> dict:
        holder = ("统一社会信用代码", *_pair(b.enterprise()))
        lic = _licence(b, item or lic_items[b.rnd(0, len(lic_items))], holder, issued, linked, kind)
        b.licences.append(lic)
        return lic

    for _ in range(b.n(2)):
        fresh("no_application", b.day_back(20, 400))
    fresh("linked_not_found", b.day_back(20, 400), "20990101000000000000")
    for result, kind in (("不予", "linked_refused"), ("退回", "linked_returned"), ("准予", "linked_after_issue"),
                         ("准予", "linked_too_old"), ("办理中", "decoy:accepted_on_issue_day"), ("准予", "decoy:accepted_365_days_before")):
        item = lic_items[b.rnd(0, len(lic_items))]
        issued = b.day_back(20, 200)
        holder = ("统一社会信用代码", *_pair(b.enterprise()))
        accepted = {"linked_after_issue": issued + dt.timedelta(days=3), "linked_too_old": issued - dt.timedelta(days=366),
                    "decoy:accepted_365_days_before": issued - dt.timedelta(days=365)}.get(kind, issued)
        if kind == "linked_after_issue":
            issued -= dt.timedelta(days=10)
            accepted = issued + dt.timedelta(days=3)
        a = b.app(item, holder, accepted, None if result == "办理中" else accepted + dt.timedelta(days=1), result, kind=kind)
        b.licences.append(_licence(b, item, holder, issued, a.no, kind))
    pid, name = b.residents[7]
    item = lic_items[0]
    a = b.app(item, ("居民身份证", str(pid), str(name)), b.day_back(100, 200), None, "办理中", kind="decoy:person_by_item_and_code")
    b.licences.append(_licence(b, item, a.applicant, a.accepted + dt.timedelta(days=5), "", a.kind))


def _pair(e: Enterprise) -> tuple[str, str]:
    return e.code, e.name


def _licence(b: Builder, item: Item, holder, issued: dt.date, linked: str, kind: str = "") -> dict:
    b.seq += 1
    return {"no": f"ZZ{issued:%Y}{b.seq:08d}", "type": item.licence, "item": item.code, "holder": holder, "issued": issued,
            "department": item.department, "until": issued.replace(year=issued.year + 5) if issued.month != 2 or issued.day != 29
            else issued + dt.timedelta(days=1826), "linked": linked, "kind": kind}


# ---------------------------------------------------------------- inspections and subsidies

def _inspection(b: Builder, e: Enterprise, day: dt.date, department: str, method: str, kind: str = "") -> None:
    b.seq += 1
    b.inspections.append({"no": f"JC{day:%Y%m%d}{b.seq:06d}", "department": department, "code": e.code, "name": e.name,
                          "day": day, "method": method, "outcome": ["未发现问题", "责令限期整改", "立案调查"][b.seq % 3], "kind": kind})


def _inspections(b: Builder) -> None:
    """Ordinary visits 45 days or more apart; planted clusters; near misses."""
    for e in b.enterprises[: b.n(120)]:
        day = b.day_back(600, 640)
        while day < b.as_of - dt.timedelta(days=50):
            _inspection(b, e, day, DEPARTMENTS[b.rnd(0, len(DEPARTMENTS))], ["双随机", "专项", "投诉举报", "其他"][b.rnd(0, 4)])
            day += dt.timedelta(days=b.rnd(45, 200))
    for k in range(b.n(3)):  # the contract's shape: A, B 20 days later, C 20 days later, A again
        e, start = b.enterprise(), b.day_back(100, 500)
        for off, dep, method in ((0, 0, "双随机"), (20, 1, "专项"), (40, 2, "双随机"), (45, 0, "专项")):
            _inspection(b, e, start + dt.timedelta(days=off), DEPARTMENTS[(dep + k) % 8], method, "cluster")
    e, start = b.enterprise(), b.day_back(100, 500)
    for off, dep in ((0, 3), (10, 4), (29, 5)):
        _inspection(b, e, start + dt.timedelta(days=off), DEPARTMENTS[dep], "专项", "cluster_29_days")
    for kind, visits in (("decoy:30_days_apart", ((0, 0, "双随机"), (10, 1, "双随机"), (30, 2, "专项"))),
                         ("decoy:complaint_driven", ((0, 0, "双随机"), (3, 1, "专项"), (5, 2, "投诉举报"), (6, 3, "其他"))),
                         ("decoy:two_departments", ((0, 0, "双随机"), (2, 1, "专项"), (4, 0, "专项"), (6, 1, "双随机")))):
        e, start = b.enterprise(), b.day_back(100, 500)
        for off, dep, method in visits:
            _inspection(b, e, start + dt.timedelta(days=off), DEPARTMENTS[dep], method, kind)


def _subsidies(b: Builder) -> None:
    def pay(e: Enterprise, day: dt.date, kind: str = "", cents: int | None = None, code: str | None = None) -> None:
        b.seq += 1
        b.subsidies.append({"no": f"DF{day:%Y%m}{b.seq:06d}", "policy": POLICIES[b.seq % len(POLICIES)], "department": "市财政局",
                            "code": code or e.code, "name": e.name, "day": day,
                            "cents": cents if cents is not None else b.rnd(5_000, 300_000) * 100, "kind": kind})

    for e in b.enterprises[: b.n(100)]:
        for _ in range(b.rnd(1, 3)):
            pay(e, b.day_back(30, 600))
    for k in range(b.n(3)):  # closed or struck off, paid after
        closed = b.day_back(200, 400)
        e = b.enterprise("注销" if k % 2 == 0 else "吊销", closed)
        pay(e, closed - dt.timedelta(days=30))
        pay(e, closed + dt.timedelta(days=1 + k * 20), "paid_after_closing")
    closed = b.day_back(200, 400)
    pay(b.enterprise("注销", closed), closed, "decoy:paid_on_closing_day")
    pay(b.enterprise("存续", b.day_back(300, 500)), b.day_back(10, 100), "decoy:active_with_closing_date")
    e = b.enterprise("注销", None)
    pay(e, b.day_back(10, 100), "decoy:closed_without_date")
    pay(e, b.day_back(10, 100), "decoy:code_not_in_registry", code="91420200MA99999990")


# ---------------------------------------------------------------- the truth, as the contract's rules say

def record_truth(b: Builder, truth: Truth) -> None:
    """Each rule's findings on the rows the loader keeps (the conflicting application is out)."""
    items = {i.code: i for i in b.items}
    apps = [a for a in b.apps if a.no not in b.conflicted]
    for a in apps:
        kind = a.kind or "ordinary"
        item = items.get(a.item)
        if item is not None and item.limit is not None:
            end = a.finished or b.as_of
            if b.cal.between(a.accepted, end) > item.limit:
                truth.fire(OVERDUE, a.no, "medium", None, kind)
            elif a.kind.startswith("decoy:"):
                truth.decoy(OVERDUE, a.kind[6:])
        if a.returns >= 3:
            truth.fire(RETURNED, a.no, "low", None, kind)
        elif a.returns == 2:
            truth.decoy(RETURNED, "returned_twice")
    by_no = {a.no: a for a in apps}
    by_holder: dict[tuple[str, str], list[Application]] = {}
    for a in apps:
        by_holder.setdefault((a.item, a.applicant[1]), []).append(a)
    for lic in b.licences:
        def backs(a: Application) -> bool:
            return a.accepted <= lic["issued"] and (lic["issued"] - a.accepted).days <= 365 and a.result in ("准予", "办理中")
        candidates = by_holder.get((lic["item"], lic["holder"][1]), []) + ([by_no[lic["linked"]]] if lic["linked"] in by_no else [])
        if not any(backs(a) for a in candidates):
            truth.fire(UNBACKED, lic["no"], "high", None, lic["kind"] or "ordinary")
        elif lic["kind"].startswith("decoy:"):
            truth.decoy(UNBACKED, lic["kind"][6:])
    by_code: dict[str, list[dict]] = {}
    for i in b.inspections:
        if i["no"] not in b.conflicted and i["method"] in ("双随机", "专项"):
            by_code.setdefault(i["code"], []).append(i)
    for code, visits in by_code.items():
        fires = any(len({v["department"] for v in visits if 0 <= (v["day"] - a["day"]).days <= 29}) >= 3 for a in visits)
        if fires:
            truth.fire(INSPECTED, code, "medium", None, visits[0]["kind"] or "ordinary")
    for kind in {i["kind"][6:] for i in b.inspections if i["kind"].startswith("decoy:")}:
        truth.decoy(INSPECTED, kind)
    registry = {e.code: e for e in b.enterprises}
    after: dict[str, int] = {}
    for s in b.subsidies:
        e = registry.get(s["code"])
        if e is not None and e.status in ("注销", "吊销") and e.closed is not None and s["day"] > e.closed:
            after[s["code"]] = after.get(s["code"], 0) + s["cents"]
        elif s["kind"].startswith("decoy:"):
            truth.decoy(CLOSED_PAID, s["kind"][6:])
    for code, cents in after.items():
        truth.fire(CLOSED_PAID, code, "high", cents, "paid_after_closing")


def deliver(ctx: D.Ctx, truth: Truth, cal: Calendar, scale: float) -> None:
    b = build(np.random.default_rng(ctx.rng.integers(0, 2**32)), ctx.fr.as_of, cal, ctx.people, scale)
    deliver_business(ctx, b)
    record_truth(b, truth)


__all__ = ["RULES", "deliver", "to_date"]
