"""Civil affairs (rules/civil_affairs/): 低保 households and what should have stopped their payments.

Planted cases and decoys for the five 低保 rules; the ordinary 低保 households
and the ordinary holdings (vehicles, enterprises, village officials), none of
which fire; the civil_affairs, vehicle_registry, market_regulation and
village_cadres files.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import ids as idmod
from .. import render as R
from .. import vocab as V
from ..timeutil import NONE, day, month_first_day
from .planter import DomainPlanter, month_of_day
from .shared import (CONTRACT_STAFF, DIBAO_RELATION, ENTERPRISE_KINDS, ENTERPRISE_WORDS, PUBLIC, RURAL_AREAS,
                     TABLES, Residents, ids_for, keys_of, names_for, townships, village, write)

DIBAO_HEAD_DEATH = "dibao_paid_after_head_death"
DIBAO_PAYROLL = "dibao_member_on_public_payroll"
DIBAO_CAR = "dibao_member_owns_car"
DIBAO_ENTERPRISE = "dibao_member_runs_enterprise"
DIBAO_CADRE = "dibao_cadre_household_unfiled"
RULES = [DIBAO_HEAD_DEATH, DIBAO_PAYROLL, DIBAO_CAR, DIBAO_ENTERPRISE, DIBAO_CADRE]

DIBAO_CATEGORIES = ["城市低保", "农村低保", "特困供养"]
VEHICLE_TYPES = ["小型轿车", "小型普通客车", "中型客车", "轻型货车", "普通二轮摩托车", "三轮汽车", "电动自行车"]
CAR, MPV, BUS, LIGHT_TRUCK, MOTORCYCLE, TRICYCLE, EBIKE = range(7)
VEHICLE_WEIGHTS = [0.50, 0.15, 0.02, 0.08, 0.10, 0.05, 0.10]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CAPITALS = [1.0, 3.0, 5.0, 10.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
CADRE_POSTS = ["党支部书记", "村委会主任", "村会计", "村委委员", "村务监督委员会主任"]


# =============================================================================================
# planted cases
# =============================================================================================


def plant(dp: DomainPlanter) -> None:
    _plant_head_death(dp)
    _plant_public_payroll(dp)
    _plant_car(dp)
    _plant_enterprise(dp)
    _plant_cadre(dp)


def _plant_head_death(dp: DomainPlanter) -> None:
    pl, truth, rnd, n = dp.pl, dp.truth, dp.rnd, dp.scaled
    for i in range(n(6)):
        d = dp.death_in(3, 18)
        head, _, paid = dp.dibao(rnd(1, 4), head_idform=(idmod.LEGACY15, idmod.FULLWIDTH, -1)[i % 3])
        pl.registry_death(head, d, "AB"[i % 2], lag=rnd(5, 30))
        truth.fire(DIBAO_HEAD_DEATH, head, "high", sum(c for m, c in paid.items() if m > month_of_day(d)), "registry_death")
    for _ in range(n(2)):
        d = dp.death_in(3, 14)
        head, _, paid = dp.dibao(2, head_age=rnd(60, 80))
        pl.hospital_death(head, d, registry=False)
        truth.fire(DIBAO_HEAD_DEATH, head, "high", sum(c for m, c in paid.items() if m > month_of_day(d)),
                   "hospital_only_death")
    for _ in range(n(3)):  # decoy: paid through the month of death, not after
        d = dp.death_in(3, 18)
        head, _, _ = dp.dibao(2, last=month_of_day(d))
        pl.registry_death(head, d, "A")
        truth.decoy(DIBAO_HEAD_DEATH, "paid_through_death_month")
    for _ in range(n(2)):  # decoy: a member died, the head is alive
        d = dp.death_in(3, 18)
        _, members, _ = dp.dibao(3)
        pl.registry_death(members[-1], d, "A")
        truth.decoy(DIBAO_HEAD_DEATH, "member_died")


def _plant_public_payroll(dp: DomainPlanter) -> None:
    truth, rnd, n = dp.truth, dp.rnd, dp.scaled
    first, last = dp.fr.first_pay_month, dp.fr.last_pay_month
    for i in range(n(5)):
        _, members, paid = dp.dibao(rnd(2, 4))
        lo = first + rnd(0, 12)
        hi = min(last, lo + rnd(3, 20))
        pay = dp.payroll(members[1], PUBLIC[i % 3], lo, hi)
        truth.fire(DIBAO_PAYROLL, members[1], "high", sum(c for m, c in paid.items() if m in pay), "public_employee")
    for _ in range(n(3)):  # decoy: 编外聘用 never counts
        _, members, _ = dp.dibao(2)
        dp.payroll(members[1], CONTRACT_STAFF, first, last)
        truth.decoy(DIBAO_PAYROLL, "contract_staff")
    for _ in range(n(2)):  # decoy: on the payroll only after the household's last paid month
        end = last - rnd(6, 12)
        _, members, _ = dp.dibao(2, last=end)
        dp.payroll(members[1], 0, end + 1, last)
        truth.decoy(DIBAO_PAYROLL, "payroll_after_dibao_ended")


def _plant_car(dp: DomainPlanter) -> None:
    truth, rnd, n = dp.truth, dp.rnd, dp.scaled
    first, last = dp.fr.first_pay_month, dp.fr.last_pay_month
    for i in range(n(4)):  # a car held through every paid month
        _, members, paid = dp.dibao(rnd(1, 4))
        owner = members[i % len(members)]
        dp.vehicle(owner, (CAR, MPV)[i % 2], month_first_day(first) - rnd(100, 2000))
        truth.fire(DIBAO_CAR, owner, "medium", sum(paid.values()), "car_held")
    for _ in range(n(2)):  # registered on the last day of a month: held from that month
        _, members, paid = dp.dibao(2)
        m0 = first + rnd(4, 18)
        dp.vehicle(members[1], MPV, month_first_day(m0 + 1) - 1)
        truth.fire(DIBAO_CAR, members[1], "medium", sum(c for m, c in paid.items() if m >= m0), "registered_mid_window")
    for _ in range(n(1)):  # deregistered on the first day of a month: still held in that month
        _, members, paid = dp.dibao(2)
        m1 = first + rnd(4, 18)
        dp.vehicle(members[0], BUS, month_first_day(first) - 700, month_first_day(m1))
        truth.fire(DIBAO_CAR, members[0], "medium", sum(c for m, c in paid.items() if m <= m1), "deregistered_on_first_day")
    for i in range(n(3)):  # decoy: motorcycle, tricycle, light truck or e-bike
        _, members, _ = dp.dibao(2)
        dp.vehicle(members[1], (MOTORCYCLE, TRICYCLE, LIGHT_TRUCK, EBIKE)[i % 4], month_first_day(first) - rnd(100, 900))
        truth.decoy(DIBAO_CAR, "not_a_car")
    for _ in range(n(2)):  # decoy: car deregistered the day before the first paid month
        m0 = first + rnd(2, 10)
        _, members, _ = dp.dibao(2, first=m0)
        dp.vehicle(members[0], CAR, month_first_day(m0) - 900, month_first_day(m0) - 1)
        truth.decoy(DIBAO_CAR, "car_gone_before_paid_months")
    for _ in range(n(2)):  # decoy: car bought after the household's last paid month
        end = last - rnd(4, 10)
        _, members, _ = dp.dibao(2, last=end)
        dp.vehicle(members[1], CAR, month_first_day(end + 1) + rnd(0, 20))
        truth.decoy(DIBAO_CAR, "car_after_paid_months")


def _plant_enterprise(dp: DomainPlanter) -> None:
    truth, rnd, n = dp.truth, dp.rnd, dp.scaled
    first = dp.fr.first_pay_month
    for i in range(n(4)):
        _, members, paid = dp.dibao(rnd(2, 4))
        dp.enterprise(members[1], (10.0, 50.0, 200.0, 30.0)[i % 4], month_first_day(first) - rnd(30, 1500))
        truth.fire(DIBAO_ENTERPRISE, members[1], "medium", sum(paid.values()), "legal_representative")
    for _ in range(n(1)):  # established mid-window, closed later: held months only
        _, members, paid = dp.dibao(2)
        m0, m1 = first + rnd(2, 8), first + rnd(10, 20)
        dp.enterprise(members[0], 100.0, month_first_day(m0) + rnd(0, 27), month_first_day(m1) + rnd(0, 27))
        truth.fire(DIBAO_ENTERPRISE, members[0], "medium", sum(c for m, c in paid.items() if m0 <= m <= m1),
                   "held_part_of_window")
    for i in range(n(3)):  # decoy: registered capital under 10 万元
        _, members, _ = dp.dibao(2)
        dp.enterprise(members[1], (9.9, 5.0, 1.0)[i % 3], month_first_day(first) - rnd(30, 900))
        truth.decoy(DIBAO_ENTERPRISE, "capital_below_minimum")
    for _ in range(n(2)):  # decoy: closed before the household's first paid month
        m0 = first + rnd(3, 10)
        _, members, _ = dp.dibao(2, first=m0)
        dp.enterprise(members[1], 100.0, month_first_day(m0) - 1500, month_first_day(m0) - rnd(1, 40))
        truth.decoy(DIBAO_ENTERPRISE, "closed_before_paid_months")


def _plant_cadre(dp: DomainPlanter) -> None:
    pl, truth, rnd, n = dp.pl, dp.truth, dp.rnd, dp.scaled
    first, last = dp.fr.first_pay_month, dp.fr.last_pay_month
    for i in range(n(4)):
        head, members, _ = dp.dibao(rnd(2, 4))
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[-1], ("其他", "父亲", "母亲")[i % 3])
        dp.cadre(official, i % len(CADRE_POSTS), month_first_day(first) - rnd(30, 900))
        truth.fire(DIBAO_CADRE, head, "high", None, "official_in_household")
    for _ in range(n(1)):  # term starts inside the window
        head, members, _ = dp.dibao(2)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, head, "其他")
        dp.cadre(official, 0, month_first_day(last - rnd(2, 6)) + 10)
        truth.fire(DIBAO_CADRE, head, "high", None, "term_starts_in_window")
    for _ in range(n(3)):  # decoy: filed as a close relative (村干部近亲属备案 是)
        _, members, _ = dp.dibao(2, filed=True)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[0], "其他")
        dp.cadre(official, 1, month_first_day(first) - 300)
        truth.decoy(DIBAO_CADRE, "filed")
    for _ in range(n(2)):  # decoy: the term ended the day before the first paid month
        m0 = first + rnd(2, 8)
        _, members, _ = dp.dibao(2, first=m0)
        official = dp.person(rnd(35, 60))
        dp.join_household(official, members[0], "其他")
        dp.cadre(official, 2, month_first_day(first) - 1500, month_first_day(m0) - 1)
        truth.decoy(DIBAO_CADRE, "term_ended_before")
    for _ in range(n(2)):  # decoy: an official of the same village in another 户号
        head, _, _ = dp.dibao(2)
        official = dp.person(rnd(35, 60))
        pl._p(official).update(area=pl._p(head)["area"], street=pl._p(head)["street"])
        dp.cadre(official, 3, month_first_day(first) - 300)
        truth.decoy(DIBAO_CADRE, "other_household")


# =============================================================================================
# the ordinary population
# =============================================================================================


def ordinary_households(rng: np.random.Generator, pop: Residents, hh_offset: int
                        ) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """Ordinary 低保 households, and who is free to hold anything (not registered with one).

    A household is a whole registry household; payments stop by the month of
    the head's death.
    """
    fr, n, person, ordinary, rel = pop.fr, pop.n, pop.person, pop.ordinary, pop.rel
    w0, first, last = fr.window_start, fr.first_pay_month, fr.last_pay_month
    death, alive_end, area, street, hh = pop.death, pop.alive_end, pop.area, pop.street, pop.hh
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
        vil = village(int(area[h]), int(street[h]), int(rng.integers(0, 4)))
        filed = bool(rng.random() < 0.03)
        for m in members:
            mem_rows.append({"hh_no": hh_no, "head": int(person[h]), "person": int(person[m]),
                             "rel": "本人" if m == h else DIBAO_RELATION.get(rel[m], "其他"), "category": cat,
                             "area": int(area[h]), "street": int(street[h]), "village": vil, "filed": filed,
                             "idform": -1})
        m0 = first if rng.random() < 0.8 else int(rng.integers(first, last - 2))
        m1 = last if death[h] == NONE else min(last, int(pop.death_month[h]) - int(rng.random() < 0.5))
        cents = len(members) * int(rng.integers(3_000, 7_000)) * 10
        for m in range(m0, m1 + 1):
            pay_rows.append({"hh_no": hh_no, "head": int(person[h]), "month": m, "cents": cents, "idform": -1})
    out = {"dibao_members": pd.DataFrame(mem_rows, columns=TABLES["dibao_members"]),
           "dibao_payments": pd.DataFrame(pay_rows, columns=TABLES["dibao_payments"])}
    return out, ordinary & ~in_dibao_hh


def ordinary_holdings(rng: np.random.Generator, pop: Residents, free: np.ndarray) -> dict[str, pd.DataFrame]:
    """Vehicles, enterprises and village officials of ordinary people.

    Nobody registered with a 低保 household (not `free`) holds a car or an
    enterprise of 10 万元 or more, or is a village official.
    """
    fr, n, person, ordinary, age = pop.fr, pop.n, pop.person, pop.ordinary, pop.age
    a, w0 = fr.as_of_day, fr.window_start
    out: dict[str, pd.DataFrame] = {}

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
    area, street = pop.area, pop.street
    cad = np.flatnonzero(free & pop.rural & (age >= 30) & (age <= 65) & (pop.alive_end >= a) & (rng.random(n) < 0.01))
    start = day(dt.date(fr.as_of.year - 5, 1, 10)) + rng.integers(0, 60, len(cad))
    start = np.where(rng.random(len(cad)) < 0.3, start - 3 * 365, start)
    ended = rng.random(len(cad)) < 0.2
    end = np.where(ended, w0 + rng.integers(0, a - w0 - 30, len(cad)), NONE)
    out["cadres"] = pd.DataFrame({"person": person[cad], "post": rng.integers(0, len(CADRE_POSTS), len(cad)),
                                  "area": area[cad], "street": street[cad],
                                  "village": [village(int(x), int(s), 0) for x, s in zip(area[cad], street[cad])],
                                  "start_day": start, "end_day": end, "idform": -1})
    return out


# =============================================================================================
# delivery
# =============================================================================================


def deliver_households(ctx: D.Ctx, t: dict[str, pd.DataFrame]) -> None:
    """civil_affairs: the 低保 members (GBK) and one payments file a year (one month exported twice)."""
    rng = ctx.rng
    hh_ids = sorted(set(t["dibao_members"]["hh_no"].tolist()) | set(t["dibao_payments"]["hh_no"].tolist()))
    perm = rng.permutation(len(hh_ids))
    hh_no = {h: f"4202DB{100_000 + 7 * int(p):07d}" for h, p in zip(hh_ids, perm)}
    mem = t["dibao_members"].assign(no=lambda x: x["hh_no"].map(hh_no)).sort_values(["no", "rel"], kind="stable", ignore_index=True)
    keys = keys_of(mem)
    filed = mem["filed"].to_numpy(dtype=bool)
    head_keys = keys_of(mem, "head")
    df = D._frame({
        "保障户编号": mem["no"].to_numpy(dtype=object),
        "户主身份证号": ids_for(ctx, head_keys, None),
        "公民身份号码": ids_for(ctx, keys, mem["idform"].to_numpy()),
        "姓名": names_for(ctx, keys, gbk=True),
        "与户主关系": mem["rel"].to_numpy(dtype=object),
        "保障类别": np.array(DIBAO_CATEGORIES, dtype=object)[mem["category"].to_numpy(dtype=int)],
        "所属区县": D.DISTRICT_NAMES[mem["area"].to_numpy(dtype=int)],
        "街道乡镇": townships(mem),
        "村社区": mem["village"].to_numpy(dtype=object),
        "村干部近亲属备案": R.with_nulls(rng, np.where(filed, "是", "否").astype(object), (rng.random(len(mem)) < 0.05) & ~filed),
    })
    write(ctx, "civil_affairs", "dibao_members", "dibao_members.csv", df, "公民身份号码", keys, encoding="gbk", crlf=True)

    pay = t["dibao_payments"].assign(no=lambda x: x["hh_no"].map(hh_no)).sort_values(["month", "no"], kind="stable", ignore_index=True)
    years = pay["month"].to_numpy() // 12
    uniq = sorted(set(years.tolist()))
    for i, year in enumerate(uniq):
        part = pay[years == year].reset_index(drop=True)
        k = keys_of(part, "head")
        df = D._frame({
            "保障户编号": part["no"].to_numpy(dtype=object),
            "户主身份证号": ids_for(ctx, k, part["idform"].to_numpy()),
            "户主姓名": names_for(ctx, k),
            "发放年月": R.months(rng, part["month"].to_numpy(), (0.3, 0.7) if i % 2 else (0.8, 0.2)),
            "发放金额": R.amounts(rng, part["cents"].to_numpy()),
        })
        block = None
        if i == 0 and len(part):  # one month exported twice
            months = part["month"].to_numpy()
            m = sorted(set(months.tolist()))[len(set(months.tolist())) // 2]
            idx = np.flatnonzero(months == m)
            block = (int(idx[0]), int(idx[-1]) + 1)
        write(ctx, "civil_affairs", "dibao_payments", f"dibao_payments_{year}.csv", df, "户主身份证号", k,
              encoding=("utf-8-sig", "utf-8")[i % 2], block=block)


def deliver_holdings(ctx: D.Ctx, t: dict[str, pd.DataFrame]) -> None:
    """vehicle_registry, market_regulation and village_cadres."""
    rng = ctx.rng

    # ---- vehicle_registry ------------------------------------------------------------------------
    vh = t["vehicles"].sort_values(["reg_day", "person"], kind="stable", ignore_index=True)
    k = keys_of(vh)
    region = np.array(["B", "B", "B", "B", "B", "B"], dtype=object)[ctx.col("area", k).astype(int)]
    seq = rng.permutation(len(vh))
    plates = [f"鄂{r}{PLATE_LETTERS[s % 24]}{(s * 7919) % 10_000:04d}" for r, s in zip(region, seq)]
    df = D._frame({
        "号牌号码": np.array(plates, dtype=object),
        "车辆类型": np.array(VEHICLE_TYPES, dtype=object)[vh["vtype"].to_numpy(dtype=int)],
        "所有人身份证号": ids_for(ctx, k, vh["idform"].to_numpy()),
        "所有人姓名": names_for(ctx, k),
        "初次登记日期": R.dates(rng, vh["reg_day"].to_numpy(), (0.5, 0.3, 0.2)),
        "机动车状态": vh["status"].to_numpy(dtype=object),
        "注销日期": R.dates(rng, vh["dereg_day"].to_numpy(), (0.5, 0.3, 0.2)),
    })
    write(ctx, "vehicle_registry", "vehicles", "vehicles.csv", df, "所有人身份证号", k, encoding="utf-8")

    # ---- market_regulation -----------------------------------------------------------------------
    en = t["enterprises"].sort_values(["est_day", "person"], kind="stable", ignore_index=True)
    k = keys_of(en)
    seq = rng.permutation(len(en))
    codes = [f"914202{(s * 104_729) % 10**9:09d}{'ABCDEFGHJK'[s % 10]}{s % 100:02d}" for s in seq]
    surname = ctx.col("name", k)
    names = [f"黄石{str(nm)[:1]}氏{ENTERPRISE_WORDS[w]}{ENTERPRISE_KINDS[kd]}" for nm, w, kd in
             zip(surname, en["word"].to_numpy(dtype=int), en["kind"].to_numpy(dtype=int))]
    cap = en["capital"].to_numpy(dtype=float)
    cap_txt = np.array([f"{c:g}" if i % 3 else f"{c:.2f}" for i, c in enumerate(cap)], dtype=object)
    df = D._frame({
        "统一社会信用代码": np.array(codes, dtype=object),
        "企业名称": np.array(names, dtype=object),
        "法定代表人身份证号": ids_for(ctx, k, en["idform"].to_numpy()),
        "法定代表人姓名": names_for(ctx, k),
        "注册资本": cap_txt,
        "成立日期": R.dates(rng, en["est_day"].to_numpy()),
        "登记状态": en["status"].to_numpy(dtype=object),
        "注销日期": R.dates(rng, en["closed_day"].to_numpy()),
    })
    write(ctx, "market_regulation", "enterprises", "enterprises.csv", df, "法定代表人身份证号", k, encoding="utf-8-sig")

    # ---- village_cadres ---------------------------------------------------------------------------
    cd = t["cadres"].sort_values(["area", "street", "village", "post"], kind="stable", ignore_index=True)
    k = keys_of(cd)
    df = D._frame({
        "公民身份号码": ids_for(ctx, k, cd["idform"].to_numpy()),
        "姓名": names_for(ctx, k, gbk=True),
        "职务": np.array(CADRE_POSTS, dtype=object)[cd["post"].to_numpy(dtype=int)],
        "所属乡镇": townships(cd),
        "所属村": cd["village"].to_numpy(dtype=object),
        "任职开始日期": R.dates(rng, cd["start_day"].to_numpy(), (0.4, 0.3, 0.3)),
        "任职结束日期": R.dates(rng, cd["end_day"].to_numpy(), (0.4, 0.3, 0.3)),
    })
    write(ctx, "village_cadres", "cadres", "cadres.csv", df, "公民身份号码", k, encoding="gbk", crlf=True)
