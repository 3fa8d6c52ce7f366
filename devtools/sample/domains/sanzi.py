"""农村集体"三资" (rules/collective_assets/): the leases village collectives sign and the rent they
collect, with planted cases and near misses for the four rules of the sanzi-procurement contract.

Drawn from its own random stream after the rest of the city. Lessees are the city's residents,
in the registry's villages (所属乡镇 / 所属村); the officials the lease rule looks for are new
community officials (village_cadres/cadres_communities.csv) chosen from households that hold no
低保 membership or office, so no other rule sees them. A few residents are added to the registry
(household_registry/residents_c.csv): the second person of one name in a village, who makes a
contract ambiguous. Ordinary leases pay their rent in full, rent at the township's going rate,
go through public trading when worth 100,000 元 or more and name a lessee who is nobody's relative.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .. import ids as idmod
from .. import render as R
from .. import vocab as V
from .civil_affairs import CADRE_POSTS
from .sanzi_link import LOOK, MISSING, SAME, SOUND, candidates, homophone, lookalike, stranger
from .sanzi_people import Registry
from ..timeutil import years_before
from .sanzi_truth import BELOW, LEASE, RENT, TRADE, Lease, anniversary

#: asset type -> (unit, going rate in whole yuan per unit: low, high, area in tenths: low, high)
BANDS = {"土地": ("亩", 560, 840, 20, 300), "鱼塘": ("亩", 800, 1200, 30, 200), "门面": ("平方米", 240, 360, 200, 1200),
         "房屋": ("平方米", 80, 120, 400, 2000), "厂房": ("平方米", 100, 150, 2000, 15000)}
#: characters a clerk may type for another of the same sound (besides the names' own characters)
SOUND_POOL = "".join(V.SURNAMES + V.GIVEN_MALE + V.GIVEN_FEMALE) + "建健剑见坚华化花画伟卫维为围国郭果明名鸣民芳方放红宏洪鸿军君均俊勇永咏杰洁捷平评萍凭"
STRANGERS = "岩松柏竹岭溪泉山"


class Builder:
    def __init__(self, rng: np.random.Generator, as_of: dt.date, registry: Registry, scale: float):
        self.rng, self.as_of, self.reg, self.scale = rng, as_of, registry, scale
        self.leases: list[Lease] = []
        self.offices: list[dict] = []        # new officials: person, post, start, end
        self.used_villages: set[tuple[str, str]] = set()
        self.seq = 0
        self.households = registry.free_households(rng, min_members=2)
        self.lessees = [k for h in registry.free_households(rng) for k in registry.members[h][:1]]

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def next_no(self, signed: dt.date) -> str:
        self.seq += 1
        return f"ZL{signed.year}{self.seq:05d}"

    def receipt_no(self) -> str:
        self.seq += 1
        return f"SJ{self.seq:08d}"

    # ---- leases ------------------------------------------------------------------------------
    def lease(self, place: tuple[str, str], lessee: str, pid: str | None, *, rule: str = "", kind: str = "",
              asset: str = "土地", years: int = 3, signed_ago: int | None = None, price: int | None = None,
              tenths: int | None = -1, unit: str | None = "", rent: int | None = None, public: str | None = None,
              pay: bool = True, id_form: int = -1, start: dt.date | None = None) -> Lease:
        unit_, lo, hi, t_lo, t_hi = BANDS.get(asset, ("亩", 100, 150, 20, 300))
        tenths = self.rnd(t_lo, t_hi) if tenths == -1 else tenths
        unit = unit_ if unit == "" else unit
        if rent is None:
            rent = (price or self.rnd(lo, hi + 1)) * (tenths or 10) * 10
        if start is None:
            start = self.as_of - dt.timedelta(days=signed_ago if signed_ago is not None else self.rnd(60, 6 * 365))
        end = anniversary(start, years) - dt.timedelta(days=1) if self.rng.random() < 0.8 or years == 1 else (
            anniversary(start, years - 1) + dt.timedelta(days=self.rnd(30, 300)))
        signed = start - dt.timedelta(days=self.rnd(0, 25))
        lease = Lease(self.next_no(signed), asset, place[0], place[1], lessee, pid, tenths, unit, rent, signed, start, end,
                      "", rule, kind, id_form=id_form)
        if public is None:
            public = "是" if lease.value >= 10_000_000 else ["是", "否", "否", ""][self.rnd(0, 4)]
        lease.public = public
        if pay:
            self.pay_in_full(lease)
        self.leases.append(lease)
        return lease

    def pay_in_full(self, lease: Lease) -> None:
        """A receipt (or two) for every contract year started by the as-of date, paid around its start."""
        for y in lease.years:
            if y > self.as_of:
                break
            if y + dt.timedelta(days=30) > self.as_of and self.rng.random() < 0.5:
                continue  # not yet due, not yet paid
            day = max(lease.signed, min(self.as_of, y + dt.timedelta(days=self.rnd(-20, 25))))
            if self.rng.random() < 0.2 and lease.rent >= 200:
                part = lease.rent // 3
                self.receipt(lease, day, part)
                self.receipt(lease, min(self.as_of, day + dt.timedelta(days=self.rnd(1, 20))), lease.rent - part)
            else:
                self.receipt(lease, day, lease.rent)

    def receipt(self, lease: Lease, day: dt.date | dt.datetime, cents: int) -> None:
        if not isinstance(day, dt.datetime) and self.rng.random() < 0.3:
            day = dt.datetime.combine(day, dt.time(self.rnd(8, 18), self.rnd(0, 60)))
        lease.receipts.append((self.receipt_no(), day, cents))

    # ---- people ------------------------------------------------------------------------------
    def pairs(self):
        """(official, relative) of one free household, both adults living in one village not used yet."""
        reg = self.reg
        for h in self.households:
            if h in reg.taken:
                continue
            ks = [k for k in reg.members[h] if 30 <= reg.age[k] <= 65]
            for c in ks:
                rel = [k for k in reg.members[h] if k != c and reg.age[k] >= 18 and reg.place(k) == reg.place(c)]
                if rel and reg.place(c) not in self.used_villages:
                    yield c, rel[0]
                    break

    def office(self, person: int, start: dt.date, end: dt.date | None = None) -> None:
        reg = self.reg
        self.offices.append({"person": person, "post": CADRE_POSTS[len(self.offices) % len(CADRE_POSTS)], "start": start,
                             "end": end, "township": reg.township[person], "village": reg.village[person]})

    def take(self, c: int) -> None:
        self.reg.taken.add(self.reg.hukou[c])
        self.used_villages.add(self.reg.place(c))

    def someone(self, township: str | None = None) -> int:
        """An ordinary lessee: the first of a free household no role was given to."""
        for i, k in enumerate(self.lessees):
            if self.reg.hukou[k] not in self.reg.taken and (township is None or self.reg.township[k] == township):
                self.lessees.append(self.lessees.pop(i))  # to the back: spread the leases
                return k
        raise RuntimeError(f"no free lessee in {township}")


def unique(reg: Registry, name: str, place: tuple[str, str], k: int, how: str) -> bool:
    return candidates(name, reg.in_village(*place)) == [(k, how)]


# =============================================================================================
# sanzi_lease_to_cadre_relative
# =============================================================================================

def _plant_lease(b: Builder) -> None:
    reg, as_of = b.reg, b.as_of

    def case(make) -> None:
        for c, h in b.pairs():
            signed_ago = b.rnd(100, 700)
            if make(c, h, signed_ago):
                b.take(c)
                return
        raise RuntimeError("no household left for a planted lease")

    def lease(c, place, name, pid, kind, ago, id_form=-1, ended=False, start_on_signing=False):
        x = b.lease(place, name, pid, rule=LEASE, kind=kind, asset=["土地", "鱼塘"][b.seq % 2], years=b.rnd(1, 4),
                    signed_ago=ago, id_form=id_form)
        start = x.signed if start_on_signing else x.signed - dt.timedelta(days=b.rnd(200, 900))
        b.office(c, start, x.signed - dt.timedelta(days=1) if ended else None)
        b.used_villages.add(place)
        return x

    def by_id(kind, who, form=-1, **kw):
        def make(c, h, ago):
            k = c if who == "official" else h
            lease(c, reg.place(c), reg.name[k], reg.pid[k], kind, ago, form, **kw)
            return True
        return make

    case(by_id("id_official_in_person", "official", idmod.LOWER_X))
    case(by_id("id_household_member", "relative", idmod.FULLWIDTH))
    case(by_id("term_starts_on_signing_day", "official", start_on_signing=True))
    case(by_id("decoy:term_ended_the_day_before_signing", "official", idmod.SPACES, ended=True))

    def by_name(kind, how, shape):
        def make(c, h, ago):
            for k in (h, c):
                name = shape(reg.name[k])
                if name and unique(reg, name, reg.place(c), k, how):
                    lease(c, reg.place(c), name, None, kind, ago)
                    return True
            return False
        return make

    case(by_name("name_same", SAME, lambda n: R.name_variant(n, 1 + b.seq % 3)))
    case(by_name("name_same_sound", SOUND, lambda n: _swap(n, lambda ch: homophone(ch, SOUND_POOL))))
    case(by_name("name_look_alike", LOOK, lambda n: _swap(n, lookalike)))
    case(by_name("name_lost_character", MISSING, lambda n: n[:-1] + ["？", "□"][b.seq % 2] if len(n) >= 2 else None))

    def nobody(kind, shape, elsewhere=False):
        def make(c, h, ago):
            place = reg.place(c)
            if elsewhere:  # another village of the same township
                place = next((p for p in sorted(reg.villages) if p[0] == place[0] and p != place and p not in b.used_villages
                              and not p[1].startswith("其他")), None)
            name = shape(reg.name[h])
            if place is None or not name or candidates(name, reg.in_village(*place)):
                return False
            lease(c, place, name, None, kind, ago)
            return True
        return make

    case(nobody("decoy:same_name_in_neighbouring_village", lambda n: n, elsewhere=True))
    case(nobody("decoy:two_character_difference", lambda n: _swap(_swap(n, lambda ch: homophone(ch, SOUND_POOL)) or "",
                                                                   lambda ch: homophone(ch, SOUND_POOL), skip_first=True)))
    case(nobody("decoy:one_character_not_a_variant", lambda n: _swap(n, lambda ch: stranger(ch, STRANGERS))))

    def id_wins(c, h, ago):
        other = b.someone()
        lease(c, reg.place(c), reg.name[c], reg.pid[other], "decoy:identity_number_wins_over_name", ago, idmod.LEGACY15)
        return True
    case(id_wins)

    def ambiguous_same(c, h, ago):
        if len(candidates(reg.name[h], reg.in_village(*reg.place(c)))) != 1:
            return False
        reg.add_resident(reg.name[h], h, b.rng)
        lease(c, reg.place(c), reg.name[h], None, "decoy:ambiguous_same_name", ago)
        return True
    case(ambiguous_same)

    def ambiguous_lost(c, h, ago):
        name = reg.name[h]
        if len(name) < 2 or "·" in name:
            return False
        pool = V.GIVEN_MALE if reg.sex[h] else V.GIVEN_FEMALE
        twin = next((name[:-1] + g for g in pool if not candidates(name[:-1] + g, reg.in_village(*reg.place(c)))), None)
        shown = name[:-1] + "?"
        if twin is None or len(candidates(shown, reg.in_village(*reg.place(c)))) != 1:
            return False
        reg.add_resident(twin, h, b.rng)
        lease(c, reg.place(c), shown, None, "decoy:ambiguous_lost_character", ago)
        return True
    case(ambiguous_lost)

    for _ in range(20):  # two people of one name, neither an official's relative: not listed for review
        k = b.someone()
        if len(candidates(reg.name[k], reg.in_village(*reg.place(k)))) == 1 and reg.place(k) not in b.used_villages:
            reg.add_resident(reg.name[k], k, b.rng)
            b.lease(reg.place(k), reg.name[k], None, rule=LEASE, kind="decoy:ambiguous_without_official")
            b.used_villages.add(reg.place(k))
            break


def _swap(name: str, partner, skip_first: bool = False) -> str | None:
    """`name` with its last character that has a partner replaced (the first such one skipped if asked)."""
    if not name:
        return None
    found = 0
    for i in range(len(name) - 1, -1, -1):
        other = partner(name[i])
        if other:
            if skip_first and found == 0:
                found = 1
                continue
            return name[:i] + other + name[i + 1:]
    return None


# =============================================================================================
# rent, going rate and public trading
# =============================================================================================

def _tenant(b: Builder, township: str | None = None) -> tuple[tuple[str, str], str, str]:
    k = b.someone(township)
    return b.reg.place(k), b.reg.name[k], b.reg.pid[k]


def _plant_rent(b: Builder) -> None:
    as_of = b.as_of

    def lease(kind, **kw):
        place, name, pid = _tenant(b)
        return b.lease(place, name, pid, rule=RENT, kind=kind, pay=False, **kw)

    def paid(x: Lease, but_last: int = 0, last_day: dt.date | dt.datetime | None = None):
        due = [y for y in x.years if y + dt.timedelta(days=30) <= as_of]
        for i, y in enumerate(due):
            last = i == len(due) - 1
            b.receipt(x, (last_day if last and last_day else y + dt.timedelta(days=b.rnd(0, 20))), x.rent - (but_last if last else 0))

    paid(lease("shortfall_50_01", years=5, signed_ago=b.rnd(800, 1500)), but_last=5_001)
    paid(lease("decoy:shortfall_50_00", years=5, signed_ago=b.rnd(800, 1500)), but_last=5_000)
    paid(lease("receipt_after_as_of", years=5, signed_ago=b.rnd(400, 1500)),
         last_day=dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(9, 30)))
    paid(lease("decoy:receipt_on_as_of", years=5, signed_ago=b.rnd(400, 1500)),
         last_day=dt.datetime.combine(as_of, dt.time(16, 45)))
    x = lease("decoy:paid_in_advance", years=6, signed_ago=b.rnd(800, 1500))
    b.receipt(x, x.signed, x.value)
    for kind, days in (("due_30_days_after_start", 30), ("decoy:year_started_29_days_ago", 29)):
        x = lease(kind, years=4, start=years_before(as_of - dt.timedelta(days=days), 2))
        for y in x.years:
            if y + dt.timedelta(days=30) <= as_of and y < as_of - dt.timedelta(days=31):
                b.receipt(x, y, x.rent)
    x = lease("decoy:two_receipts_one_day_one_amount", years=3, signed_ago=b.rnd(800, 1000), price=700, tenths=100)
    for y in x.years:
        if y + dt.timedelta(days=30) <= as_of:
            day = y + dt.timedelta(days=3)
            b.receipt(x, day, x.rent // 2)
            b.receipt(x, day, x.rent // 2)
    x = lease("exact_copy_counts_once", years=3, signed_ago=b.rnd(800, 1000), price=700, tenths=100)
    due = [y for y in x.years if y + dt.timedelta(days=30) <= as_of]
    for y in due[:-1]:
        b.receipt(x, y, x.rent)
    x.receipts.append((b.receipt_no(), due[-1] + dt.timedelta(days=2), x.rent // 2))
    x.copied = x.receipts[-1]  # exported twice: one payment
    x = lease("unpaid_two_years", years=5, signed_ago=b.rnd(1200, 1500))
    for y in [y for y in x.years if y + dt.timedelta(days=30) <= as_of][:-2]:
        b.receipt(x, y, x.rent)


def _plant_below(b: Builder) -> None:
    townships = sorted({b.reg.township[k] for k in b.lessees})
    picks = [townships[int(i)] for i in b.rng.permutation(len(townships))[:5]]

    def group(township, prices, target=None, kind="", extra=()):
        for p in prices:
            place, name, pid = _tenant(b, township)
            b.lease(place, name, pid, asset="林地", price=p, tenths=b.rnd(100, 600), years=b.rnd(2, 6), unit="亩")
        if target is not None:
            place, name, pid = _tenant(b, township)
            b.lease(place, name, pid, rule=BELOW, kind=kind, asset="林地", price=target, tenths=b.rnd(100, 600), years=3, unit="亩")
        for kind_, tenths, unit in extra:  # neither judged nor a comparable
            place, name, pid = _tenant(b, township)
            b.lease(place, name, pid, rule=BELOW, kind=kind_, asset="林地", rent=b.rnd(100, 1000) * 100, tenths=tenths, unit=unit)

    group(picks[0], [200, 210, 220, 230, 240], 90, "below_half_of_median",
          extra=[("decoy:unit_empty_not_judged", 300, None), ("decoy:area_zero_not_judged", 0, "亩")])
    group(picks[1], [200, 210, 220, 230, 240, 250], 100, "below_half_of_even_median")
    group(picks[2], [200, 210, 220, 230, 240], 110, "decoy:exactly_half_of_median")
    group(picks[3], [200, 210, 220, 230], 90, "decoy:four_comparables", extra=[("decoy:area_empty_not_a_comparable", None, "亩")])
    for i, p in enumerate([120, 130, 110, 125, 135]):  # 四荒地 in 亩 and in 平方米: never compared
        place, name, pid = _tenant(b, picks[4])
        b.lease(place, name, pid, asset="四荒地", price=p, tenths=b.rnd(100, 400), unit="亩")
    for i, p in enumerate([2, 3, 2, 3, 3, 2]):
        place, name, pid = _tenant(b, picks[4])
        b.lease(place, name, pid, rule=BELOW if i == 0 else "", kind="decoy:square_metres_not_compared_with_mu" if i == 0 else "",
                asset="四荒地", price=p, tenths=b.rnd(5_000, 20_000), unit="平方米")


def _plant_trade(b: Builder) -> None:
    for kind, rent, years, public in (("value_at_threshold", 2_000_000, 5, "否"), ("value_above_threshold_not_stated", 3_750_050, 4, ""),
                                      ("decoy:value_99999_99", 3_333_333, 3, "否"), ("decoy:publicly_traded", 6_000_000, 5, "是")):
        place, name, pid = _tenant(b)
        b.lease(place, name, pid, rule=TRADE, kind=kind, asset="厂房", rent=rent, years=years, tenths=None, unit=None, public=public)
    place, name, pid = _tenant(b)  # 3 contract years, the last one short: 3 x 40,000
    x = b.lease(place, name, pid, rule=TRADE, kind="short_last_year_counts_in_full", asset="门面", rent=4_000_000, years=3,
                tenths=None, unit=None, public="否", pay=False, signed_ago=b.rnd(1200, 1400))
    x.end = anniversary(x.start, 2) + dt.timedelta(days=120)
    b.pay_in_full(x)


def _ordinary(b: Builder) -> None:
    reg = b.reg
    for i in range(max(40, round(300 * b.scale))):
        k = b.someone()
        place = reg.place(k)
        asset = ["土地", "土地", "鱼塘", "门面", "房屋", "厂房"][b.rnd(0, 6)]
        if b.rng.random() < 0.08:  # an organisation
            b.lease(place, f"{place[0]}{['种植', '养殖', '农机', '苗木'][i % 4]}专业合作社", None, asset=asset, years=b.rnd(1, 9))
        elif b.rng.random() < 0.5 and unique(reg, reg.name[k], place, k, SAME):
            b.lease(place, R.name_variant(reg.name[k], b.rnd(0, 6)), None, asset=asset, years=b.rnd(1, 9))
        else:
            b.lease(place, reg.name[k], reg.pid[k], asset=asset, years=b.rnd(1, 9), id_form=b.rnd(-1, 5))


def build(rng: np.random.Generator, as_of: dt.date, registry: Registry, scale: float) -> Builder:
    b = Builder(rng, as_of, registry, scale)
    _plant_lease(b)
    _plant_rent(b)
    _plant_below(b)
    _plant_trade(b)
    _ordinary(b)
    return b

