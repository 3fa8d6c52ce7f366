"""Render the canonical city into the delivered extracts, mess included, and account for it.

Each ``deliver_*`` function writes one table's files and returns, per file, the
truth rows for ``_truth/files.csv`` and ``_truth/quarantine.csv``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import ids as idmod
from . import render as R
from . import vocab as V
from .model import Frame
from .timeutil import NONE, day, month_first_day, months_of_days
from .writers import write_csv, write_parquet, write_xlsx


@dataclass
class Ledger:
    """What was written: per-file counts and every row that must be quarantined."""
    files: list = field(default_factory=list)       # (source, table, file, rows, invalid, duplicates)
    quarantine: list = field(default_factory=list)  # (source, table, file, line, reason)


@dataclass
class Ctx:
    out: Path
    fr: Frame
    rng: np.random.Generator
    people: pd.DataFrame          # with pid, planted, death
    ledger: Ledger

    def col(self, name: str, keys) -> np.ndarray:
        return self.people[name].to_numpy()[np.asarray(keys, dtype=np.int64)]

    def junk_ok(self, keys) -> np.ndarray:
        """Rows that may be copied into an invalid-id junk row: ordinary living people."""
        return ~self.col("planted", keys).astype(bool) & (self.col("death", keys) == NONE)


SEX = np.array(["女", "男"], dtype=object)
DISTRICT_NAMES = np.array([d[1] for d in V.DISTRICTS], dtype=object)
AREA_CODES = np.array([d[0] for d in V.DISTRICTS], dtype=object)


def _invalid_ids(rng, canonical: np.ndarray) -> tuple[list[str], list[str]]:
    out, reasons = [], []
    for i, c in enumerate(canonical):
        kind = int(rng.integers(0, 3))
        if kind == 0:
            out.append(idmod.bad_length(c, i)); reasons.append("invalid_id_length")
        elif kind == 1:
            out.append(idmod.bad_check(c)); reasons.append("invalid_id_check")
        else:
            out.append(idmod.bad_birthdate(c, i)); reasons.append("invalid_id_birthdate")
    return out, reasons


def assemble(ctx: Ctx, main: pd.DataFrame, id_col: str | None, keys: np.ndarray | None, n_junk: int = 0,
             n_dups: int = 0, block: tuple[int, int] | None = None):
    """Interleave invalid junk rows, adjacent duplicate rows and a twice-exported block.

    Returns the final frame, the junk rows' reasons with their 0-based positions, and counts.
    """
    rng = ctx.rng
    n = len(main)
    parts, pkeys = [main], [np.arange(n, dtype=float)]
    junk_pos, junk_reasons = np.array([], dtype=float), []
    if n_junk and id_col and n:
        cand = np.flatnonzero(ctx.junk_ok(keys))
        src = rng.choice(cand, size=min(n_junk, len(cand)), replace=False) if len(cand) else np.array([], dtype=int)
        junk = main.iloc[src].copy()
        bad, junk_reasons = _invalid_ids(rng, ctx.col("pid", keys[src]))
        junk[id_col] = bad
        junk_pos = np.sort(rng.choice(n, size=len(src), replace=False)) - 0.25
        parts.append(junk)
        pkeys.append(junk_pos)
    dup_count = 0
    lo, hi = block if block else (0, 0)
    if n_dups and n:
        choices = np.setdiff1d(np.arange(n), np.arange(lo, hi))
        d = np.sort(rng.choice(choices, size=min(n_dups, len(choices)), replace=False))
        parts.append(main.iloc[d])
        pkeys.append(d + 0.5)
        dup_count += len(d)
    if block and hi > lo:
        parts.append(main.iloc[lo:hi])
        pkeys.append(hi - 1 + 0.6 + np.arange(hi - lo) / (hi - lo + 1) * 0.3)
        dup_count += hi - lo
    allkeys = np.concatenate(pkeys)
    order = np.argsort(allkeys, kind="stable")
    final = pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    junk_lines = rank[n:n + len(junk_pos)] if len(junk_pos) else np.array([], dtype=np.int64)
    return final, list(zip(junk_lines.tolist(), junk_reasons)), dup_count


def emit(ctx: Ctx, source: str, table: str, name: str, final: pd.DataFrame, junk, dups: int,
         encoding: str = "utf-8", crlf: bool = False) -> None:
    path = ctx.out / source / name
    write_csv(path, final, encoding, crlf)
    rel = f"{source}/{name}"
    ctx.ledger.files.append((source, table, rel, len(final), len(junk), dups))
    for pos, reason in junk:
        ctx.ledger.quarantine.append((source, table, rel, pos + 2, reason))  # header is line 1


def _ids(ctx: Ctx, df: pd.DataFrame, weights=(0.9, 0.02, 0.03, 0.01, 0.04)) -> np.ndarray:
    forced = df["idform"].to_numpy() if "idform" in df else None
    return R.identity_numbers(ctx.rng, ctx.col("pid", df["person"]), forced, weights)


def _names(ctx: Ctx, df: pd.DataFrame, rate: float, dot: str, gbk: bool = False) -> np.ndarray:
    """Names with allowed variants; a GBK export types the middle dot as '.' where it cannot carry it."""
    names = R.names(ctx.rng, df["name"].to_numpy(dtype=object), df["name_vary"].to_numpy(dtype=bool), rate, gbk)
    names = R.dots(names, "." if gbk and dot not in V.GBK_DOT_VARIANTS else dot)
    if gbk:
        names = np.array([n.translate(GBK_FALLBACK) if not n.isascii() and ("•" in n or "・" in n) else n for n in names],
                         dtype=object)
    return names


GBK_FALLBACK = str.maketrans({"•": ".", "・": "."})


def _frame(columns: dict) -> pd.DataFrame:
    """Delivered text columns kept as plain Python strings (no Arrow string conversion)."""
    return pd.DataFrame(columns, dtype=object)


def _n_junk(ctx: Ctx, rows: int) -> int:
    return 0 if rows == 0 else max(2, min(rows // 2000, 60))


# ---- social_security ------------------------------------------------------------------------
def deliver_pensioners(ctx: Ctx, pens: pd.DataFrame, person_no: np.ndarray) -> None:
    rng = ctx.rng
    pens = pens.assign(no=person_no).sort_values(["area", "no"], kind="stable", ignore_index=True)
    miss_street = rng.random(len(pens)) < 0.03
    streets = np.array([V.DISTRICTS[a][2][s] for a, s in zip(pens["area"], pens["street"])], dtype=object)
    df = _frame({
        "个人编号": pens["no"].to_numpy(dtype=object),
        "公民身份号码": _ids(ctx, pens),
        "姓名": _names(ctx, pens, 0.03, "·"),
        "性别": SEX[ctx.col("sex", pens["person"]).astype(int)],
        "出生日期": R.dates(rng, ctx.col("birth", pens["person"]), (0.5, 0.4, 0.1)),
        "险种类型": np.array(V.SCHEMES, dtype=object)[pens["scheme"].to_numpy()],
        "待遇享受开始年月": R.months(rng, pens["start_month"].to_numpy()),
        "待遇状态": pens["status"].to_numpy(dtype=object),
        "所属区县": DISTRICT_NAMES[pens["area"].to_numpy()],
        "街道乡镇": R.with_nulls(rng, streets, miss_street),
    })
    in_xlsx = pens["area"].to_numpy() == 3  # 铁山区 comes from another export: xlsx
    keys = pens["person"].to_numpy()
    csv_df = df[~in_xlsx].reset_index(drop=True)
    final, junk, dups = assemble(ctx, csv_df, "公民身份号码", keys[~in_xlsx], _n_junk(ctx, len(csv_df)))
    emit(ctx, "social_security", "pensioners", "pensioners_part1.csv", final, junk, dups, "utf-8-sig")
    x = df[in_xlsx].reset_index(drop=True)
    births = ctx.col("birth", keys[in_xlsx])
    x["出生日期"] = [dt.date(1970, 1, 1) + dt.timedelta(days=int(b)) for b in births]  # real date cells
    stamp = dt.datetime.combine(ctx.fr.as_of, dt.time(8, 0)) - dt.timedelta(days=3)
    write_xlsx(ctx.out / "social_security" / "pensioners_part2.xlsx", x, stamp)
    ctx.ledger.files.append(("social_security", "pensioners", "social_security/pensioners_part2.xlsx", len(x), 0, 0))


def deliver_payments(ctx: Ctx, pays: pd.DataFrame, person_no_by_pen: np.ndarray) -> None:
    rng = ctx.rng
    pays = pays.assign(no=person_no_by_pen[pays["pen"].to_numpy()])
    pays = pays.sort_values(["month", "no", "scheme"], kind="stable", ignore_index=True)
    years = pays["month"].to_numpy() // 12
    uniq = sorted(set(years.tolist()))
    parts = {year: pays[years == year].reset_index(drop=True) for year in uniq}
    del pays
    for i, year in enumerate(uniq):
        part = parts.pop(year)
        last, gbk = i == len(uniq) - 1, i == len(uniq) - 2
        df = _frame({
            "个人编号": part["no"].to_numpy(dtype=object),
            "公民身份号码": _ids(ctx, part),
            "姓名": _names(ctx, part, 0.03, "•", gbk=gbk),
            "险种类型": np.array(V.SCHEMES, dtype=object)[part["scheme"].to_numpy()],
            "发放年月": R.months(rng, part["month"].to_numpy(), (0.8, 0.2) if gbk else (0.3, 0.7)),
            "发放金额": R.amounts(rng, part["cents"].to_numpy()),
            "发放日期": R.dates(rng, part["pay_day"].to_numpy(), (0.7, 0.2, 0.1) if gbk else (0.1, 0.8, 0.1)),
        })
        if last:  # an extra column the contract does not list
            note = np.full(len(df), "", dtype=object)
            jan = (part["month"].to_numpy() % 12 == 0)
            note[jan] = "含年度调待, 补差"
            note[~jan] = R.nulls(rng, int((~jan).sum()), (0.7, 0.1, 0.1, 0.1))
            df["备注"] = note
        block = None
        if gbk:  # one month exported twice, straight after the first copy
            months = part["month"].to_numpy()
            m = sorted(set(months.tolist()))[len(set(months.tolist())) // 2]
            idx = np.flatnonzero(months == m)
            block = (int(idx[0]), int(idx[-1]) + 1)
        final, junk, dups = assemble(ctx, df, "公民身份号码", part["person"].to_numpy(), _n_junk(ctx, len(df)), block=block)
        enc = "gbk" if gbk else ("utf-8" if last else "utf-8-sig")
        emit(ctx, "social_security", "pension_payments", f"pension_payments_{year}.csv", final, junk, dups, enc, crlf=gbk)


# ---- household_registry ---------------------------------------------------------------------
def deliver_residents(ctx: Ctx) -> None:
    rng = ctx.rng
    ppl = ctx.people.sort_values(["area", "hh", "person"], kind="stable", ignore_index=True)
    ppl = ppl.assign(head=(ppl["rel"] != V.RELATIONS_HEAD)).sort_values(["area", "hh", "head"], kind="stable", ignore_index=True)
    area = ppl["area"].to_numpy()
    hh = ppl["hh"].to_numpy()
    reason = ppl["cancel_reason"].to_numpy(dtype=object)
    df = _frame({
        "公民身份号码": R.identity_numbers(rng, ppl["pid"].to_numpy(dtype=object), None, (0.9, 0.02, 0.02, 0.01, 0.05)),
        "姓名": R.names(rng, ppl["name"].to_numpy(dtype=object), ppl["name_vary"].to_numpy(dtype=bool), 0.01, gbk=True),
        "性别": SEX[ppl["sex"].to_numpy().astype(int)],
        "出生日期": R.dates(rng, ppl["birth"].to_numpy(), (0.6, 0.3, 0.1)),
        "民族": np.array(V.ETHNICITIES, dtype=object)[ppl["eth"].to_numpy()],
        "户号": AREA_CODES[area] + pd.Series(hh).map("{:08d}".format).to_numpy(dtype=object),
        "与户主关系": ppl["rel"].to_numpy(dtype=object),
        "户籍地址": ppl["addr"].to_numpy(dtype=object),
        "所属区县": DISTRICT_NAMES[area],
        "人口状态": ppl["status"].to_numpy(dtype=object),
        "注销日期": R.dates(rng, ppl["cancel_day"].to_numpy()),
        "注销原因": R.with_nulls(rng, reason, reason == ""),
        "死亡日期": R.dates(rng, ppl["death_col"].to_numpy()),
        # where the person is registered (the name linker's village): the street, the community of the road
        "所属乡镇": ppl["street"].to_numpy(),
        "所属村": ppl["addr"].str.extract("(" + "|".join(V.ROADS) + ")", expand=False).fillna("其他").to_numpy(dtype=object) + "社区",
    })
    streets = [d[2] for d in V.DISTRICTS]
    df["所属乡镇"] = [streets[a][s] for a, s in zip(area, df["所属乡镇"])]
    keys = ppl["person"].to_numpy()
    for name, mask, enc in [("residents_a.csv", area <= 2, "gbk"), ("residents_b.csv", area > 2, "utf-8")]:
        part = df[mask].reset_index(drop=True)
        final, junk, dups = assemble(ctx, part, "公民身份号码", keys[mask], _n_junk(ctx, len(part)))
        emit(ctx, "household_registry", "residents", name, final, junk, dups, enc, crlf=enc == "gbk")


# ---- hospital -------------------------------------------------------------------------------
def deliver_inpatient(ctx: Ctx, inp: pd.DataFrame) -> None:
    rng = ctx.rng
    inp = inp.sort_values(["disch_ts", "person"], kind="stable", ignore_index=True)
    hosp = inp["hosp"].to_numpy()
    year = inp["disch_ts"].to_numpy().astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    case_no = [f"{V.HOSPITALS[h][0][-4:]}{int(y)}{i:06d}" for i, (h, y) in enumerate(zip(hosp, year))]
    dx = np.array(V.DIAGNOSES, dtype=object)[inp["dx"].to_numpy()]
    df = _frame({
        "病案号": np.array(case_no, dtype=object),
        "医疗机构代码": np.array([h[0] for h in V.HOSPITALS], dtype=object)[hosp],
        "医疗机构名称": np.array([h[1] for h in V.HOSPITALS], dtype=object)[hosp],
        "公民身份号码": _ids(ctx, inp),
        "姓名": _names(ctx, inp, 0.03, "・"),
        "性别": SEX[ctx.col("sex", inp["person"]).astype(int)],
        "出生日期": R.dates(rng, ctx.col("birth", inp["person"]), (0.3, 0.6, 0.1)),
        "入院日期": R.datetimes(rng, inp["admit_ts"].to_numpy()),
        "出院日期": R.datetimes(rng, inp["disch_ts"].to_numpy()),
        "离院方式": inp["disp"].to_numpy(dtype=object),
        "主要诊断编码": R.with_nulls(rng, dx, (rng.random(len(dx)) < 0.01) & ~ctx.col("planted", inp["person"]).astype(bool)),
        "医保结算金额": R.amounts(rng, inp["cents"].to_numpy()),
    })
    final, junk, dups = assemble(ctx, df, "公民身份号码", inp["person"].to_numpy(), _n_junk(ctx, len(df)))
    emit(ctx, "hospital", "inpatient", "inpatient.csv", final, junk, dups, "utf-8")


def deliver_outpatient(ctx: Ctx, out: pd.DataFrame) -> None:
    rng = ctx.rng
    out = out.sort_values(["day", "hosp", "person"], kind="stable", ignore_index=True)
    out["visit_no"] = [f"MZ{d:05d}{i:07d}" for i, d in enumerate(out["day"].to_numpy() % 100_000)]
    years = (out["day"].to_numpy().astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)
    uniq = sorted(set(years.tolist()))
    for i, year in enumerate(uniq):
        part = out[years == year].reset_index(drop=True)
        hosp = part["hosp"].to_numpy()
        dept = np.array(V.DEPARTMENTS, dtype=object)[part["dept"].to_numpy()]
        df = _frame({
            "就诊流水号": part["visit_no"].to_numpy(dtype=object),
            "医疗机构名称": np.array([h[1] for h in V.HOSPITALS], dtype=object)[hosp],
            "公民身份号码": _ids(ctx, part),
            "姓名": _names(ctx, part, 0.03, "・"),
            "就诊日期": R.dates(rng, part["day"].to_numpy(), (0.3, 0.5, 0.2)),
            "科室": R.with_nulls(rng, dept, rng.random(len(dept)) < 0.02),
            "结算金额": R.amounts(rng, part["cents"].to_numpy()),
            "结算类型": np.array(["医保", "自费"], dtype=object)[part["settle"].to_numpy()],
        })
        final, junk, dups = assemble(ctx, df, "公民身份号码", part["person"].to_numpy(), _n_junk(ctx, len(df)),
                                     n_dups=max(1, len(df) // 5000))
        enc = "utf-8-sig" if i == len(uniq) - 1 else "utf-8"
        emit(ctx, "hospital", "outpatient", f"outpatient_{year}.csv", final, junk, dups, enc)


# ---- transit_card ---------------------------------------------------------------------------
def deliver_cards(ctx: Ctx, cards: pd.DataFrame, card_no: np.ndarray) -> None:
    rng = ctx.rng
    cards = cards.assign(no=card_no).sort_values("no", kind="stable", ignore_index=True)
    df = _frame({
        "卡号": cards["no"].to_numpy(dtype=object),
        "卡类型": np.array(V.CARD_TYPES, dtype=object)[cards["ctype"].to_numpy()],
        "持卡人身份证号": _ids(ctx, cards),
        "持卡人姓名": _names(ctx, cards, 0.03, "."),
        "办卡日期": R.dates(rng, cards["issue_day"].to_numpy(), (0.2, 0.3, 0.5)),
        "卡状态": cards["status"].to_numpy(dtype=object),
    })
    final, junk, dups = assemble(ctx, df, "持卡人身份证号", cards["person"].to_numpy(), _n_junk(ctx, len(df)))
    emit(ctx, "transit_card", "cards", "cards.csv", final, junk, dups, "utf-8")


def deliver_reviews(ctx: Ctx, rv: pd.DataFrame, card_no: np.ndarray) -> None:
    rng = ctx.rng
    rv = rv.assign(no=card_no[rv["card"].to_numpy()]).sort_values(["day", "no"], kind="stable", ignore_index=True)
    df = _frame({
        "卡号": rv["no"].to_numpy(dtype=object),
        "持卡人身份证号": _ids(ctx, rv),
        "年审日期": R.dates(rng, rv["day"].to_numpy(), (0.6, 0.2, 0.2)),
        "年审方式": np.array(V.REVIEW_METHODS, dtype=object)[rv["method"].to_numpy()],
        "年审结果": np.array(V.REVIEW_RESULTS, dtype=object)[rv["result"].to_numpy()],
    })
    final, junk, dups = assemble(ctx, df, "持卡人身份证号", rv["person"].to_numpy(), _n_junk(ctx, len(df)))
    emit(ctx, "transit_card", "annual_reviews", "annual_reviews.csv", final, junk, dups, "gbk", crlf=True)


def deliver_taps(ctx: Ctx, taps: pd.DataFrame, card_no: np.ndarray) -> None:
    """Older taps as parquet per year with natural types (卡号/线路编号/车辆编号 string,
    交易时间 timestamp[s], 交易金额 float64); the last two months as a CSV part."""
    rng = ctx.rng
    taps = taps.sort_values(["ts", "card"], kind="stable", ignore_index=True)
    ts = taps["ts"].to_numpy()
    recent_from = month_first_day(ctx.fr.as_of_month - 2) * 86_400
    old = taps[ts < recent_from].reset_index(drop=True)
    new = taps[ts >= recent_from].reset_index(drop=True)
    routes = np.array(V.ROUTES, dtype=object)
    old_year = old["ts"].to_numpy().astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    for year in sorted(set(old_year.tolist())):
        part = old[old_year == year].reset_index(drop=True)
        d = np.sort(rng.choice(len(part), size=min(len(part), max(1, len(part) // 20000)), replace=False))
        order = np.argsort(np.r_[np.arange(len(part)), d + 0.5], kind="stable")
        part = pd.concat([part, part.iloc[d]], ignore_index=True).iloc[order].reset_index(drop=True)
        table = pa.table({
            "卡号": pa.array(card_no[part["card"].to_numpy()].astype(str).tolist(), pa.string()),
            "交易时间": pa.array(part["ts"].to_numpy().astype("datetime64[s]"), pa.timestamp("s")),
            "线路编号": pa.array(routes[part["route"].to_numpy()].tolist(), pa.string()),
            "车辆编号": pa.array(part["vehicle"].to_numpy().astype(str).tolist(), pa.string()),
            "交易金额": pa.array(part["fare_cents"].to_numpy() / 100, pa.float64()),
        })
        name = f"taps_{year}.parquet"
        write_parquet(ctx.out / "transit_card" / name, table)
        ctx.ledger.files.append(("transit_card", "taps", f"transit_card/{name}", len(part), 0, len(d)))
    df = _frame({
        "卡号": card_no[new["card"].to_numpy()].astype(object),
        "交易时间": R.datetimes(rng, new["ts"].to_numpy(), (0.9, 0.1, 0.0)),
        "线路编号": routes[new["route"].to_numpy()],
        "车辆编号": new["vehicle"].to_numpy().astype(str).astype(object),
        "交易金额": R.amounts(rng, new["fare_cents"].to_numpy(), (0.5, 0.5, 0.0)),
    })
    final, junk, dups = assemble(ctx, df, None, None, 0, n_dups=max(1, len(df) // 5000))
    emit(ctx, "transit_card", "taps", "taps_recent.csv", final, junk, dups, "utf-8")
