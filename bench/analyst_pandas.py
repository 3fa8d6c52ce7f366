"""(c) The pandas approach an analyst would write: read every file into DataFrames, clean
columns with vectorised string methods, compute the seven rules with merges and groupbys.

    python bench/analyst_pandas.py EXTRACTS AS_OF OUT_DIR
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from devtools.sample.vocab import TRADITIONAL  # noqa: E402

W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
FULL = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")
T2S = str.maketrans({t: s for s, t in TRADITIONAL.items()})


def read(root: Path, folder: str, pattern: str, cols: list[str]) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=str, usecols=cols, keep_default_na=False, na_values=[""]) for p in sorted((root / folder).glob(pattern))]
    return pd.concat(frames, ignore_index=True)


def nid(s: pd.Series) -> pd.Series:
    s = s.fillna("").str.strip(" \u3000\t").str.translate(FULL).str.upper()
    l15 = s.str.len().eq(15) & s.str.fullmatch(r"[0-9]{15}")
    s = s.where(~l15, s.str[:6] + "19" + s.str[6:])
    body = s.str[:17]
    ok = body.str.fullmatch(r"[0-9]{17}").fillna(False)
    digits = np.zeros((len(s), 17), dtype=np.int64)
    b = body[ok].to_numpy(dtype="U17")
    if len(b):
        digits[ok.to_numpy()] = np.frombuffer(b.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    check = np.array(list("10X98765432"))[(digits * W).sum(axis=1) % 11]
    s = s.where(~l15, s + pd.Series(check, index=s.index))
    valid = ok & s.str.len().eq(18) & (s.str[17] == pd.Series(check, index=s.index))
    valid &= pd.to_datetime(s.str[6:14], format="%Y%m%d", errors="coerce").notna()
    return s.where(valid)


def pdate(s):
    return pd.to_datetime(s.str.replace("/", "-", regex=False), format="mixed", errors="coerce").dt.normalize()


def pmonth(s):
    return pd.to_datetime(s.str.replace("-", "", regex=False), format="%Y%m", errors="coerce")


def pamt(s):
    return pd.to_numeric(s.str.replace(",", "", regex=False), errors="coerce")


def nname(s: pd.Series) -> pd.Series:
    cjk = s.str.contains(r"[\u4e00-\u9fff]", regex=True, na=False)
    c = s.str.replace(r"[\s\u3000]", "", regex=True).str.replace(r"[•・.．‧]", "·", regex=True).str.translate(T2S)
    l = s.str.strip().str.upper().str.replace(r"\s+", " ", regex=True)
    return c.where(cjk, l)


def main() -> int:
    root, as_of, out = Path(sys.argv[1]), pd.Timestamp(sys.argv[2]), Path(sys.argv[3])
    t0 = time.perf_counter()
    r = read(root, "household_registry", "residents*.csv", ["公民身份号码", "姓名", "人口状态", "注销日期", "注销原因", "死亡日期"])
    res = pd.DataFrame({"pid": nid(r["公民身份号码"]), "name": nname(r["姓名"]), "status": r["人口状态"],
                        "cancel": pdate(r["注销日期"]), "reason": r["注销原因"], "death": pdate(r["死亡日期"])}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "social_security", "pensioners*.csv", ["公民身份号码", "姓名", "出生日期"])
    pens = pd.DataFrame({"pid": nid(r["公民身份号码"]), "name": nname(r["姓名"]), "birth": pdate(r["出生日期"])}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "social_security", "pension_payments*.csv", ["公民身份号码", "险种类型", "发放年月", "发放金额", "个人编号"])
    pay = pd.DataFrame({"pid": nid(r["公民身份号码"]), "scheme": r["险种类型"], "month": pmonth(r["发放年月"]),
                        "amount": pamt(r["发放金额"]), "no": r["个人编号"]}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "hospital", "inpatient*.csv", ["公民身份号码", "入院日期", "出院日期", "离院方式", "病案号"])
    inp = pd.DataFrame({"pid": nid(r["公民身份号码"]), "adm": pdate(r["入院日期"].str[:10]), "dis": pdate(r["出院日期"].str[:10]),
                        "disp": r["离院方式"], "case": r["病案号"]}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "hospital", "outpatient*.csv", ["公民身份号码", "就诊日期", "就诊流水号"])
    outp = pd.DataFrame({"pid": nid(r["公民身份号码"]), "day": pdate(r["就诊日期"]), "no": r["就诊流水号"]}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "transit_card", "cards*.csv", ["卡号", "持卡人身份证号"])
    cards = pd.DataFrame({"card": r["卡号"], "pid": nid(r["持卡人身份证号"])}).dropna(subset=["pid"]).drop_duplicates()
    r = read(root, "transit_card", "annual_reviews*.csv", ["卡号", "年审日期", "年审结果"])
    rev = pd.DataFrame({"card": r["卡号"], "day": pdate(r["年审日期"]), "ok": r["年审结果"].eq("通过")})
    taps = [pd.read_parquet(p, columns=["卡号", "交易时间"]) for p in sorted((root / "transit_card").glob("taps*.parquet"))]
    for p in sorted((root / "transit_card").glob("taps*.csv")):
        t = pd.read_csv(p, dtype=str, usecols=["卡号", "交易时间"])
        t["交易时间"] = pdate(t["交易时间"].str[:10])
        taps.append(t)
    taps = pd.concat(taps, ignore_index=True).rename(columns={"卡号": "card", "交易时间": "ts"})
    taps["day"] = pd.to_datetime(taps["ts"]).dt.normalize()
    taps = taps[["card", "day"]]
    t_load = time.perf_counter() - t0

    # person_death
    ev = pd.concat([
        pd.DataFrame({"pid": res["pid"], "d": res["death"], "reg": True}),
        pd.DataFrame({"pid": res["pid"], "d": res["cancel"].where(res["reason"].eq("死亡") | (res["status"].eq("死亡") & res["death"].isna())), "reg": True}),
        pd.DataFrame({"pid": inp["pid"], "d": inp["dis"].where(inp["disp"].eq("5")), "reg": False}),
    ]).dropna(subset=["d"])
    pdth = ev.groupby("pid").agg(death=("d", "min")).join(ev[ev["reg"]].groupby("pid").agg(reg_death=("d", "min"))).reset_index()
    found = []
    m = pay.merge(pdth[pdth["reg_death"].notna()], on="pid")
    m = m[m["month"].dt.to_period("M") > m["death"].dt.to_period("M")]
    found.append(m.groupby("pid")["amount"].sum().rename("amount").reset_index().assign(rule_id="pension_paid_after_death", severity="high"))
    h = inp[inp["disp"].eq("5")].groupby("pid")["dis"].min().rename("dis").reset_index()
    regd = set(res.loc[res["death"].notna() | res["reason"].eq("死亡") | res["status"].eq("死亡"), "pid"])
    m = pay.merge(h[~h["pid"].isin(regd)], on="pid")
    m = m[m["month"].dt.to_period("M") > m["dis"].dt.to_period("M")]
    found.append(m.groupby("pid")["amount"].sum().rename("amount").reset_index().assign(rule_id="pension_paid_after_hospital_death", severity="high"))
    dc = cards.merge(pdth, on="pid")
    a = taps.merge(dc, on="card")
    b = rev[rev["ok"]].merge(dc, on="card")
    p = set(a.loc[a["day"] > a["death"], "pid"]) | set(b.loc[b["day"] > b["death"], "pid"])
    found.append(pd.DataFrame({"pid": sorted(p)}).assign(rule_id="transit_card_used_after_death", severity="medium"))
    a = outp.merge(pdth, on="pid")
    b = inp.merge(pdth, on="pid")
    p = set(a.loc[a["day"] > a["death"], "pid"]) | set(b.loc[b["adm"] > b["death"], "pid"])
    found.append(pd.DataFrame({"pid": sorted(p)}).assign(rule_id="medical_visit_after_death", severity="high"))
    bb = pens.groupby("pid")["birth"].min().reset_index()
    bb["birth"] = bb["birth"].fillna(pd.to_datetime(bb["pid"].str[6:14], format="%Y%m%d", errors="coerce"))
    age = as_of.year - bb["birth"].dt.year - ((bb["birth"].dt.month * 100 + bb["birth"].dt.day) > as_of.month * 100 + as_of.day)
    old = bb.loc[age >= 80, ["pid"]]
    am = as_of.to_period("M")
    recent = pay[(pay["month"].dt.to_period("M") >= am - 3) & (pay["month"].dt.to_period("M") < am)]
    c = old[old["pid"].isin(set(recent["pid"])) & ~old["pid"].isin(set(pdth["pid"]))]
    lo = as_of - pd.Timedelta(days=365 - 1)  # 365 days ending on the as-of date, both included
    act = set(outp.loc[(outp["day"] <= as_of) & (outp["day"] >= lo), "pid"])
    i2 = inp[inp["adm"] <= as_of]
    act |= set(i2.loc[i2["dis"].fillna(as_of).clip(upper=as_of) >= lo, "pid"])
    ct = cards[cards["pid"].isin(set(c["pid"]))]
    tt = taps[taps["card"].isin(set(ct["card"]))]
    act |= set(ct.merge(tt[(tt["day"] <= as_of) & (tt["day"] >= lo)], on="card")["pid"])
    act |= set(ct.merge(rev[rev["ok"] & (rev["day"] <= as_of) & (rev["day"] >= lo)], on="card")["pid"])
    found.append(c[~c["pid"].isin(act)].assign(rule_id="pension_no_sign_of_life", severity="low"))
    g = pay.assign(m=pay["month"].dt.to_period("M")).groupby(["pid", "m"]).agg(n=("scheme", "nunique"), s=("amount", "sum"), mx=("amount", "max")).reset_index()
    g = g[g["n"] >= 2]
    found.append((g["s"] - g["mx"]).groupby(g["pid"]).sum().rename("amount").reset_index().assign(rule_id="pension_duplicate_schemes", severity="high"))
    m = pens.merge(res[["pid", "name"]], on="pid", suffixes=("_p", "_r"))
    m = m[m["name_p"] != m["name_r"]]
    from rapidfuzz.distance import Levenshtein
    sim = [Levenshtein.normalized_similarity(x, y) for x, y in zip(m["name_p"], m["name_r"])]
    m = m.assign(sim=sim).groupby("pid")["sim"].min().reset_index()
    found.append(m.assign(rule_id="pension_identity_mismatch", severity=np.where(m["sim"] < 0.5, "high", "low"))[["pid", "rule_id", "severity"]])
    f = pd.concat(found, ignore_index=True)[["rule_id", "pid", "severity", "amount"]].sort_values(["rule_id", "pid"])
    out.mkdir(parents=True, exist_ok=True)
    f.to_csv(out / "findings.csv", index=False)
    print({"load_s": round(t_load, 1), "total_s": round(time.perf_counter() - t0, 1), "findings": f.groupby("rule_id").size().to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
