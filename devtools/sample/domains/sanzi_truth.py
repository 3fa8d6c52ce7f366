"""The four 三资 rules' findings as the contract defines them, on the contracts and receipts the
loader keeps; the 待人工核实 candidates and the count of contracts whose lessee was not identified.

Every planted case must fire and every near miss must not: the generator checks itself here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import median

from ..model import Truth
from .sanzi_link import candidates

LEASE, RENT = "sanzi_lease_to_cadre_relative", "sanzi_rent_not_collected"
BELOW, TRADE = "sanzi_below_market_rent", "sanzi_no_public_trade"
RULES = [LEASE, RENT, BELOW, TRADE]
GRACE_DAYS, TOLERANCE_CENTS, TRADE_THRESHOLD_CENTS = 30, 5_000, 10_000_000
BELOW_RATIO, MIN_COMPARABLES = Fraction(1, 2), 5


@dataclass
class Lease:
    no: str
    asset_type: str
    township: str
    village: str
    lessee: str                    # 承租方姓名 as delivered
    lessee_pid: str | None         # canonical 承租方身份证号, when given
    tenths: int | None             # 面积 in tenths of the unit
    unit: str | None               # 亩 / 平方米
    rent: int                      # 年租金, cents
    signed: dt.date
    start: dt.date
    end: dt.date
    public: str                    # 是 / 否 / ""
    rule: str = ""                 # the rule a planted case or near miss is for
    kind: str = ""                 # its kind ("decoy:..." for a near miss), "" for an ordinary lease
    receipts: list = field(default_factory=list)   # (收据编号, date or datetime, cents)
    id_form: int = -1
    copied: tuple | None = None    # a receipt exported twice (one payment)

    @property
    def years(self) -> list[dt.date]:
        return contract_years(self.start, self.end)

    @property
    def value(self) -> int:
        return self.rent * len(self.years)


@dataclass
class Office:
    pid: str
    township: str
    village: str
    start: dt.date
    end: dt.date | None


def anniversary(start: dt.date, i: int) -> dt.date:
    try:
        return start.replace(year=start.year + i)
    except ValueError:  # 29 February in a year without it
        return start.replace(year=start.year + i, day=28)


def contract_years(start: dt.date, end: dt.date) -> list[dt.date]:
    out, i = [], 0
    while anniversary(start, i) < end:
        out.append(anniversary(start, i))
        i += 1
    return out


def due_cents(lease: Lease, as_of: dt.date) -> int:
    return lease.rent * sum(1 for y in lease.years if y + dt.timedelta(days=GRACE_DAYS) <= as_of)


def received_cents(lease: Lease, as_of: dt.date) -> int:
    day = (lambda d: d.date() if isinstance(d, dt.datetime) else d)
    return sum(c for _, d, c in lease.receipts if day(d) <= as_of)


def unit_rent(lease: Lease) -> Fraction | None:
    if not lease.tenths or not lease.unit:
        return None
    return Fraction(lease.rent, 100) / Fraction(lease.tenths, 10)


def _cents(amount: Fraction, what: str) -> int:
    cents = amount * 100
    assert cents.denominator == 1, f"{what}: {amount} is not a whole number of cents"
    return int(cents)


class Judge:
    """Each rule's findings, recorded in `truth`; planted kinds must fire and near misses must not."""

    def __init__(self, truth: Truth):
        self.truth = truth
        self.fired: dict[str, set[str]] = {r: set() for r in RULES}

    def verdict(self, rule: str, lease: Lease, severity: str, cents: int | None) -> None:
        if cents is None:
            if lease.rule == rule and lease.kind.startswith("decoy:"):
                self.truth.decoy(rule, lease.kind[6:])
            assert not (lease.rule == rule and lease.kind and not lease.kind.startswith("decoy:")), (rule, lease.kind)
            return
        assert lease.rule == rule and lease.kind and not lease.kind.startswith("decoy:"), (rule, lease.no, lease.kind)
        self.truth.fire(rule, lease.no, severity, cents, lease.kind)


def record_truth(leases: list[Lease], as_of: dt.date, registry, offices: list[Office], truth: Truth) -> tuple[list, dict]:
    """Findings of the four rules; returns the review rows and the lessee counts."""
    judge = Judge(truth)
    for lease in leases:
        short = due_cents(lease, as_of) - received_cents(lease, as_of)
        judge.verdict(RENT, lease, "high", short if short > TOLERANCE_CENTS else None)
        judge.verdict(TRADE, lease, "medium", lease.value if lease.value >= TRADE_THRESHOLD_CENTS and lease.public != "是" else None)
    groups: dict[tuple, list[Lease]] = {}
    for lease in leases:
        if unit_rent(lease) is not None:
            groups.setdefault((lease.township, lease.asset_type, lease.unit), []).append(lease)
    for lease in leases:
        own = unit_rent(lease)
        others = [unit_rent(x) for x in groups.get((lease.township, lease.asset_type, lease.unit), []) if x.no != lease.no]
        cents = None
        if own is not None and len(others) >= MIN_COMPARABLES:
            med = Fraction(median(others))
            if own < BELOW_RATIO * med:
                cents = _cents((med * Fraction(lease.tenths, 10) - Fraction(lease.rent, 100)) * len(lease.years), lease.no)
        judge.verdict(BELOW, lease, "medium", cents)
    return _lease_truth(judge, leases, registry, offices)


def _lease_truth(judge: Judge, leases: list[Lease], registry, offices: list[Office]) -> tuple[list, dict]:
    key_of = {pid: k for k, pid in enumerate(registry.pid)}
    review, counts = [], {"contracts": len(leases), "by_identity_number": 0, "by_name": 0, "ambiguous": 0, "no_candidate": 0}

    def fires(pid: str, lease: Lease) -> bool:
        serving = [o for o in offices if (o.township, o.village) == (lease.township, lease.village)
                   and o.start <= lease.signed and (o.end is None or lease.signed <= o.end)]
        k = key_of.get(pid)
        hukou = registry.hukou[k] if k is not None else None
        return any(o.pid == pid or (hukou and o.pid in key_of and registry.hukou[key_of[o.pid]] == hukou) for o in serving)

    for lease in leases:
        if lease.lessee_pid:
            counts["by_identity_number"] += 1
            judge.verdict(LEASE, lease, "high", lease.value if fires(lease.lessee_pid, lease) else None)
            continue
        found = candidates(lease.lessee, registry.in_village(lease.township, lease.village))
        if len(found) == 1:
            counts["by_name"] += 1
            judge.verdict(LEASE, lease, "high", lease.value if fires(registry.pid[found[0][0]], lease) else None)
            continue
        counts["ambiguous" if found else "no_candidate"] += 1
        judge.verdict(LEASE, lease, "high", None)
        would = [(k, how, fires(registry.pid[k], lease)) for k, how in found]
        if any(w for _, _, w in would):
            review += [(LEASE, lease.no, lease.lessee, registry.pid[k], registry.name[k], how, "是" if w else "否")
                       for k, how, w in sorted(would, key=lambda x: registry.pid[x[0]])]
    counts["unidentified"] = counts["ambiguous"] + counts["no_candidate"]
    return review, counts
