"""The ordinary population and its records, fully vectorised.

Ordinary people never satisfy any rule: payments stop by the month of death,
nobody is paid under two schemes, activity stops the day before death, the
registry records every ordinary death (in-hospital deaths on the same day),
and everyone alive aged 75+ has a sign of life well inside the last year.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import vocab as V
from .model import Frame
from .timeutil import NONE, months_of_days, month_days

YEAR = 365.2425


def _names(rng, n: int, sex: np.ndarray, eth: np.ndarray) -> np.ndarray:
    sur = np.array(V.SURNAMES)[rng.integers(0, len(V.SURNAMES), n)]
    male, female = np.array(V.GIVEN_MALE), np.array(V.GIVEN_FEMALE)
    g1 = np.where(sex == 1, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    g2 = np.where(sex == 1, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    two = rng.random(n) < 0.7
    names = np.char.add(np.char.add(sur, g1), np.where(two, g2, "")).astype(object)
    uy = np.flatnonzero(eth == V.UYGHUR)
    names[uy] = [V.MINORITY_GIVEN[i % len(V.MINORITY_GIVEN)] + V.MIDDLE_DOT + V.MINORITY_FATHER[(i * 7) % len(V.MINORITY_FATHER)]
                 for i in rng.integers(0, 1000, len(uy))]
    lat = np.flatnonzero(eth == V.OTHER_ETHNICITY)
    names[lat] = [V.LATIN_NAMES[i % len(V.LATIN_NAMES)] for i in rng.integers(0, 1000, len(lat))]
    return names


def people(rng, n: int, fr: Frame) -> pd.DataFrame:
    """Registry rows of ordinary residents, with their (effective) date of death."""
    a = fr.as_of_day
    age_w = np.concatenate([np.full(60, 1.0), np.full(10, 1.0), np.full(10, 0.6), np.full(10, 0.25), np.full(8, 0.05)])
    age = rng.choice(len(age_w), size=n, p=age_w / age_w.sum())
    birth = (a - age * YEAR - rng.integers(1, 365, n)).astype(np.int64)
    sex = rng.integers(0, 2, n).astype(np.int8)
    area = rng.choice(len(V.DISTRICTS), size=n, p=V.DISTRICT_WEIGHTS)
    street = rng.integers(0, 100, n) % np.array([len(d[2]) for d in V.DISTRICTS])[area]
    eth = rng.choice(len(V.ETHNICITIES), size=n, p=V.ETHNICITY_WEIGHTS)
    name = _names(rng, n, sex, eth)

    # households: consecutive people of one district share a 户号
    order = np.lexsort((rng.random(n), area))
    size = rng.integers(1, 6, n)
    hh_of_sorted = np.repeat(np.arange(n), size)[:n]
    hh = np.empty(n, dtype=np.int64)
    hh[order] = hh_of_sorted
    first = np.r_[True, hh_of_sorted[1:] != hh_of_sorted[:-1]]
    rel = np.empty(n, dtype=object)
    rel[order] = np.where(first, V.RELATIONS_HEAD, np.array(V.RELATIONS_OTHER, dtype=object)[rng.integers(0, len(V.RELATIONS_OTHER), n)])
    road = np.array(V.ROADS, dtype=object)[rng.integers(0, len(V.ROADS), n)]
    no = rng.integers(1, 400, n).astype(str)
    unit = rng.integers(1, 30, n).astype(str)
    dist_names = np.array([d[1] for d in V.DISTRICTS], dtype=object)
    addr = dist_names[area] + road + np.char.add(no, "号").astype(object) + np.char.add(unit, "栋").astype(object)
    comma = rng.random(n) < 0.02  # a few addresses carry a comma, so the CSV writer must quote them
    addr[comma] = addr[comma] + ", 附" + np.char.add(unit[comma], "室").astype(object)
    addr = addr[hh]  # one address per household (the head's)

    # deaths: mortality by age over ~5 years; dates from 3 years before the window to the day before as-of
    p_dead = np.select([age < 60, age < 70, age < 80, age < 90], [0.004, 0.03, 0.07, 0.16], 0.35)
    death = np.full(n, NONE, dtype=np.int64)
    dead = rng.random(n) < p_dead
    death_day = rng.integers(fr.window_start - 1000, fr.last_activity_day + 1, n)
    dead &= death_day > birth + 400
    death[dead] = death_day[dead]

    status = np.full(n, "正常", dtype=object)
    cancel_day = np.full(n, NONE, dtype=np.int64)
    cancel_reason = np.full(n, "", dtype=object)
    death_col = np.full(n, NONE, dtype=np.int64)
    # how the registry records a death: A 死亡日期 + later 注销; B only 注销(死亡); D only 注销 (reason empty); E only 死亡日期
    how = rng.choice(4, size=n, p=[0.7, 0.2, 0.05, 0.05])
    lag = rng.integers(1, 41, n)
    late = death + lag > fr.last_activity_day
    how = np.where((how == 0) & late, 3, how)
    status[dead] = "死亡"
    m = dead & np.isin(how, [0, 3])
    death_col[m] = death[m]
    m = dead & (how == 0)
    cancel_day[m] = death[m] + lag[m]
    cancel_reason[m] = "死亡"
    m = dead & (how == 1)
    cancel_day[m] = death[m]
    cancel_reason[m] = "死亡"
    m = dead & (how == 2)
    cancel_day[m] = death[m]

    # a few living people under 60 have moved away or been cancelled otherwise (never dead)
    r = rng.random(n)
    moved = ~dead & (age < 60) & (r < 0.01)
    other = ~dead & (age < 60) & (r >= 0.01) & (r < 0.013)
    cday = rng.integers(fr.window_start - 1000, fr.last_activity_day + 1, n)
    status[moved] = "迁出"
    cancel_day[moved] = cday[moved]
    cancel_reason[moved] = "迁出"
    status[other] = "其他注销"
    cancel_day[other] = cday[other]
    cancel_reason[other] = np.array(["出国", "服兵役", "其他"], dtype=object)[rng.integers(0, 3, n)][other]

    return pd.DataFrame({
        "person": np.arange(n), "name": name, "sex": sex, "birth": birth, "eth": eth, "area": area,
        "street": street, "hh": hh, "rel": rel, "addr": addr, "status": status, "cancel_day": cancel_day,
        "cancel_reason": cancel_reason, "death_col": death_col, "death": death,
        "name_vary": True, "planted": False, "age": age,
    })


def pensions(rng, ppl: pd.DataFrame, fr: Frame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One scheme per pensioner; paid monthly until the month of death (or the month before)."""
    age = ppl["age"].to_numpy()
    birth = ppl["birth"].to_numpy()
    death = ppl["death"].to_numpy()
    sex = ppl["sex"].to_numpy()
    n = len(ppl)
    retire_age = np.where((sex == 0) & (rng.random(n) < 0.5), 55, 60)
    start = months_of_days(birth) + retire_age * 12 + 1
    is_pen = (age >= retire_age) & (rng.random(n) < 0.85) & (start <= fr.last_pay_month)
    is_pen &= (death == NONE) | (months_of_days(np.where(death == NONE, 0, death)) >= start)
    idx = np.flatnonzero(is_pen)
    k = len(idx)
    scheme = rng.choice(len(V.SCHEMES), size=k, p=V.SCHEME_WEIGHTS)
    lo = np.array([r[0] for r in V.SCHEME_AMOUNT_YUAN])[scheme]
    hi = np.array([r[1] for r in V.SCHEME_AMOUNT_YUAN])[scheme]
    base = rng.integers(lo * 100, hi * 100)
    base = np.where(rng.random(k) < 0.3, base // 10 * 10, base)  # some round to ten fen (3215.40)
    d = death[idx]
    dm = months_of_days(np.where(d == NONE, 0, d))
    end = np.full(k, fr.last_pay_month)
    dead = d != NONE
    end[dead] = dm[dead] - (rng.random(int(dead.sum())) < 0.4)  # month of death is paid legitimately
    status = np.where(dead, "终止发放", "正常发放").astype(object)
    paused = ~dead & (rng.random(k) < 0.03)
    end[paused] = rng.integers(fr.first_pay_month, fr.last_pay_month + 1, int(paused.sum()))
    status[paused] = "暂停发放"
    st = start[idx]
    pens = pd.DataFrame({
        "pen": np.arange(k), "person": idx, "name": ppl["name"].to_numpy()[idx], "scheme": scheme,
        "start_month": st, "status": status, "area": ppl["area"].to_numpy()[idx],
        "street": ppl["street"].to_numpy()[idx], "name_vary": True, "idform": -1,
    })
    first = np.maximum(st, fr.first_pay_month)
    cnt = np.clip(end - first + 1, 0, None)
    rows = np.repeat(np.arange(k), cnt)
    month = first[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    # yearly 3% rise each January after the first paid year
    cents = (base[rows] * (1.03 ** (month // 12 - fr.first_pay_month // 12))).round().astype(np.int64)
    pay_day = month_days(month) + np.array([9, 11, 14])[scheme[rows]]
    pays = pd.DataFrame({
        "pen": rows, "person": idx[rows], "name": pens["name"].to_numpy()[rows], "scheme": scheme[rows],
        "month": month, "cents": cents, "pay_day": pay_day, "name_vary": True, "idform": -1,
    })
    return pens, pays


def cards(rng, ppl: pd.DataFrame, fr: Frame) -> pd.DataFrame:
    """Elderly cards for most 60+, replacement cards for a few, ordinary cards for some adults.

    Adds internal columns ``valid_from``/``valid_to`` (tap/review interval, end exclusive).
    """
    a = fr.as_of_day
    age = ppl["age"].to_numpy()
    birth = ppl["birth"].to_numpy()
    death = ppl["death"].to_numpy()
    n = len(ppl)
    end = np.where(death == NONE, a, death)            # nothing on or after the day of death
    elder = (age >= 60) & (rng.random(n) < 0.8)
    adult = (age >= 20) & (age < 60) & (rng.random(n) < 0.02)
    issue = np.maximum(birth + int(60 * YEAR), fr.window_start - 1500) + rng.integers(0, 400, n)
    issue = np.where(adult, fr.window_start - rng.integers(0, 1500, n), issue)
    ok = (elder | adult) & (issue < np.minimum(end, a - 90))
    idx = np.flatnonzero(ok)
    iss = issue[idx]
    age_at_issue = (iss - birth[idx]) / YEAR
    ctype = np.where(adult[idx], 2, np.where(age_at_issue >= 70, 1, 0))
    alive = death[idx] == NONE
    status = np.where(alive | (rng.random(len(idx)) < 0.6), "正常", "注销").astype(object)
    vfrom, vto = iss.copy(), end[idx].copy()
    # replacement: old card lost (挂失) on day r, a new card from day r
    repl = alive & (ctype < 2) & (iss < fr.window_start) & (rng.random(len(idx)) < 0.05)
    r_day = rng.integers(fr.window_start, a - 120, len(idx))
    old = pd.DataFrame({"person": idx, "ctype": ctype, "issue_day": iss, "status": status,
                        "valid_from": vfrom, "valid_to": np.where(repl, r_day, vto)})
    old.loc[repl, "status"] = "挂失"
    new = pd.DataFrame({"person": idx[repl], "ctype": ctype[repl], "issue_day": r_day[repl], "status": "正常",
                        "valid_from": r_day[repl], "valid_to": vto[repl]})
    out = pd.concat([old, new], ignore_index=True).sort_values(["person", "issue_day"], kind="stable", ignore_index=True)
    out.insert(0, "card", np.arange(len(out)))
    out["name"] = ppl["name"].to_numpy()[out["person"].to_numpy()]
    out["name_vary"] = True
    out["idform"] = -1
    return out


def taps(rng, crd: pd.DataFrame, ppl: pd.DataFrame, fr: Frame) -> pd.DataFrame:
    """~20 taps a year per elderly card inside its validity, plus one sure tap for the 75+ alive."""
    lo = np.maximum(crd["valid_from"].to_numpy(), fr.window_start)
    hi = crd["valid_to"].to_numpy()
    span = np.clip(hi - lo, 0, None)
    rate = np.where(crd["ctype"].to_numpy() == 2, 5.0, 20.0) / 365
    cnt = rng.poisson(rate * span)
    rows = np.repeat(np.arange(len(crd)), cnt)
    dayv = lo[rows] + (rng.random(len(rows)) * span[rows]).astype(np.int64)
    # sure sign of life: alive, 75+, on the card valid on the as-of date
    person = crd["person"].to_numpy()
    alive_old = (ppl["death"].to_numpy()[person] == NONE) & (ppl["age"].to_numpy()[person] >= 75)
    current = alive_old & (hi == fr.as_of_day) & (crd["ctype"].to_numpy() < 2)
    cur = np.flatnonzero(current)
    s_lo = np.maximum(lo[cur], fr.as_of_day - 300)
    sure_day = s_lo + (rng.random(len(cur)) * (fr.as_of_day - 30 - s_lo)).astype(np.int64)
    rows = np.r_[rows, cur]
    dayv = np.r_[dayv, sure_day]
    ts = dayv * 86_400 + rng.integers(6 * 3600, 21 * 3600, len(rows))
    ctype = crd["ctype"].to_numpy()[rows]
    fare = np.where(ctype == 2, 200, np.where((ctype == 0) & (rng.random(len(rows)) < 0.3), 100, 0))
    out = pd.DataFrame({"card": rows, "ts": ts, "route": rng.integers(0, len(V.ROADS) + 9, len(rows)),
                        "vehicle": rng.integers(10_000, 99_999, len(rows)), "fare_cents": fare})
    out["route"] = out["route"] % len(V.ROUTES)
    return out, set(person[cur].tolist())


def reviews(rng, crd: pd.DataFrame, fr: Frame) -> pd.DataFrame:
    """Yearly reviews on the issue anniversary while the card is valid; a failed one is retried."""
    el = crd[crd["ctype"] < 2]
    issue = el["issue_day"].to_numpy()
    vto = el["valid_to"].to_numpy()
    out = []
    for k in range(1, 20):
        dayv = issue + int(round(k * YEAR))
        m = (dayv >= fr.window_start) & (dayv < vto)
        if m.any():
            out.append(pd.DataFrame({"card": el["card"].to_numpy()[m], "person": el["person"].to_numpy()[m], "day": dayv[m]}))
    rv = pd.concat(out, ignore_index=True) if out else pd.DataFrame({"card": [], "person": [], "day": []})
    n = len(rv)
    rv["method"] = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    failed = rng.random(n) < 0.04
    rv["result"] = failed.astype(int)
    retry = rv[failed].copy()
    retry["day"] = retry["day"] + rng.integers(3, 21, len(retry))
    retry["result"] = 0
    retry["method"] = 1
    vto_by_card = pd.Series(crd["valid_to"].to_numpy(), index=crd["card"].to_numpy())
    retry = retry[retry["day"].to_numpy() < vto_by_card.loc[retry["card"]].to_numpy()]
    rv = pd.concat([rv, retry], ignore_index=True)
    rv["idform"] = -1
    return rv


def hospital(rng, ppl: pd.DataFrame, fr: Frame, needs_visit: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outpatient visits and non-overlapping inpatient stays before death; in-hospital deaths."""
    a, w0 = fr.as_of_day, fr.window_start
    age = ppl["age"].to_numpy()
    death = ppl["death"].to_numpy()
    n = len(ppl)
    end = np.where(death == NONE, a, death)  # exclusive
    span = np.clip(end - w0, 0, None)
    rate = np.select([age < 60, age < 75], [0.3, 1.5], 3.0) / 365
    cnt = rng.poisson(rate * span)
    rows = np.repeat(np.arange(n), cnt)
    dayv = w0 + (rng.random(len(rows)) * span[rows]).astype(np.int64)
    # a sure visit inside the last year for the 75+ alive without a current card
    sure = np.flatnonzero(needs_visit)
    rows = np.r_[rows, sure]
    dayv = np.r_[dayv, a - rng.integers(30, 301, len(sure))]
    k = len(rows)
    out_df = pd.DataFrame({
        "person": rows, "name": ppl["name"].to_numpy()[rows],
        "hosp": rng.choice(len(V.HOSPITALS), size=k, p=V.HOSPITAL_WEIGHTS), "day": dayv,
        "dept": rng.integers(0, len(V.DEPARTMENTS), k), "cents": rng.integers(1500, 80000, k),
        "settle": (rng.random(k) < 0.15).astype(int), "name_vary": True, "idform": -1,
    })

    # stays: up to 3 per person, one per equal segment of [w0, last], so they never overlap
    last = np.where(death == NONE, a - 1, death - 40)
    span2 = np.clip(last - w0, 0, None)
    rate2 = np.select([age < 60, age < 75], [0.02, 0.08], 0.15) / 365
    k2 = np.minimum(rng.poisson(rate2 * span2), 3)
    seg = np.where(k2 > 0, span2 // np.maximum(k2, 1), 0)
    k2 = np.where(seg >= 90, k2, 0)
    rows2 = np.repeat(np.arange(n), k2)
    j = np.arange(len(rows2)) - np.repeat(np.cumsum(k2) - k2, k2)
    seg_r = seg[rows2]
    admit_day = w0 + j * seg_r + (rng.random(len(rows2)) * (seg_r // 2 - 25)).astype(np.int64)
    los = rng.integers(1, 21, len(rows2))
    disp = np.array(V.DISPOSITIONS_ALIVE, dtype=object)[rng.choice(5, size=len(rows2), p=V.DISPOSITION_WEIGHTS)]
    # in-hospital deaths: 30% of deaths inside the window, registry records the same day
    dead_in = np.flatnonzero((death != NONE) & (death >= w0 + 30) & (rng.random(n) < 0.3))
    los_d = rng.integers(0, 15, len(dead_in))
    admit_all = np.r_[admit_day, death[dead_in] - los_d]
    disch_all = np.r_[admit_day + los, death[dead_in]]
    p_all = np.r_[rows2, dead_in]
    m = len(p_all)
    inp = pd.DataFrame({
        "person": p_all, "name": ppl["name"].to_numpy()[p_all],
        "hosp": rng.choice(len(V.HOSPITALS), size=m, p=V.HOSPITAL_WEIGHTS),
        "admit_ts": admit_all * 86_400 + rng.integers(8 * 3600, 20 * 3600, m),
        "disch_ts": disch_all * 86_400 + np.r_[rng.integers(9 * 3600, 17 * 3600, len(rows2)),
                                               rng.integers(0, 86_400, len(dead_in))],
        "disp": np.r_[disp, np.full(len(dead_in), V.DEATH_DISPOSITION, dtype=object)],
        "dx": rng.integers(0, len(V.DIAGNOSES), m), "cents": rng.integers(300_000, 6_000_000, m),
        "name_vary": True, "idform": -1,
    })
    # same-day admissions must still be admitted before the death time
    same = inp["admit_ts"] > inp["disch_ts"]
    inp.loc[same, "admit_ts"] = inp.loc[same, "disch_ts"] - 3600
    inp.loc[same & (inp["admit_ts"] // 86_400 < inp["disch_ts"] // 86_400), "admit_ts"] = inp["disch_ts"] // 86_400 * 86_400
    return out_df, inp
