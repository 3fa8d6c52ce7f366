"""What several domains use: vocabulary, places, the row layout, the ordinary population, the file writers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import deliver as D
from .. import render as R
from .. import vocab as V
from ..model import Frame
from ..timeutil import NONE, age_on, months_of_days

# ---- vocabulary (GBK-encodable) -------------------------------------------------------------
DIBAO_RELATION = {"户主": "本人", "配偶": "配偶", "子": "子", "孙子": "子", "女": "女", "孙女": "女",
                  "父亲": "父母", "母亲": "父母"}
PUBLIC = (0, 1, 2)  # staff categories that are public employees
CONTRACT_STAFF = 3
EMPLOYERS = ["黄石市财政局", "黄石港区人民政府", "西塞山区教育局", "下陆区卫生健康局", "铁山区城市管理执法局",
             "阳新县农业农村局", "大冶市人民医院", "黄石市第一中学", "阳新县兴国镇人民政府", "大冶市自然资源和规划局"]
PAY_YUAN = [(6500, 11000), (6000, 9500), (5000, 9000), (2600, 4200)]
ENTERPRISE_WORDS = ["商贸", "建材", "农业科技", "物流", "餐饮管理", "电子", "服装", "机械", "装饰工程", "生态养殖"]
ENTERPRISE_KINDS = ["有限公司", "有限责任公司", "商行", "合作社"]
VILLAGE_WORDS = ["王家", "李家", "张家", "刘湾", "陈庄", "杨桥", "黄岭", "周畈", "吴垴", "胡塘", "郭铺", "何坪"]
RURAL_AREAS = (4, 5)  # 阳新县, 大冶市
SUBSIDY_RATE_CENTS = 12_500  # 耕地地力保护补贴, yuan 125.00 per 亩 (+500 fen a year)
EXAM_ITEMS = [("CT0101", "胸部CT平扫", 26_000), ("CT0203", "头颅CT平扫", 22_000), ("MR0301", "腰椎MRI", 58_000),
              ("MR0402", "膝关节MRI", 56_000), ("US0501", "腹部彩超", 16_000), ("US0602", "甲状腺彩超", 12_000),
              ("DR0701", "胸部DR", 9_000), ("LB0801", "血常规", 2_500), ("LB0902", "肝功能", 6_800),
              ("LB1003", "糖化血红蛋白", 7_500), ("EC1101", "心脏彩超", 22_000), ("GI1201", "胃镜检查", 38_000)]


# ---- places ---------------------------------------------------------------------------------
def village(area: int, street: int, k: int) -> str:
    rural = area in RURAL_AREAS or V.DISTRICTS[area][2][street].endswith("镇")
    word = VILLAGE_WORDS[(area * 7 + street * 3 + k) % len(VILLAGE_WORDS)]
    return word + ("村" if rural else "社区")


def township(area: int, street: int) -> str:
    return V.DISTRICTS[area][2][street]


def townships(df: pd.DataFrame) -> np.ndarray:
    """The 乡镇 of each row's (area, street)."""
    return np.array([township(int(x), int(s)) for x, s in zip(df["area"], df["street"])], dtype=object)


def subsidy_doc(year: int, area: int) -> str:
    return f"黄财农〔{year}〕{11 + area}号"


# ---- the domain tables (integer keys, before delivery) ----------------------------------------
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


@dataclass
class Residents:
    """Everyone in the city as arrays indexed by person key, for the ordinary population's domain rows."""
    fr: Frame
    person: np.ndarray
    ordinary: np.ndarray     # not planted
    death: np.ndarray
    alive_end: np.ndarray    # exclusive end of activity
    age: np.ndarray
    area: np.ndarray
    street: np.ndarray
    hh: np.ndarray
    rel: np.ndarray
    death_month: np.ndarray

    @classmethod
    def of(cls, people: pd.DataFrame, fr: Frame) -> Residents:
        death = people["death"].to_numpy()
        return cls(fr=fr, person=people["person"].to_numpy(), ordinary=~people["planted"].to_numpy(dtype=bool),
                   death=death, alive_end=np.where(death == NONE, fr.as_of_day, death),
                   age=age_on(people["birth"].to_numpy(), fr.as_of), area=people["area"].to_numpy(),
                   street=people["street"].to_numpy(), hh=people["hh"].to_numpy(),
                   rel=people["rel"].to_numpy(dtype=object),
                   death_month=months_of_days(np.where(death == NONE, 0, death)))

    @property
    def n(self) -> int:
        return len(self.person)

    @property
    def rural(self) -> np.ndarray:
        return np.isin(self.area, RURAL_AREAS)


# ---- delivery ---------------------------------------------------------------------------------
def keys_of(df: pd.DataFrame, col: str = "person") -> np.ndarray:
    return df[col].to_numpy(dtype=np.int64)


def ids_for(ctx: D.Ctx, keys: np.ndarray, idform: np.ndarray | None, weights=(0.9, 0.02, 0.03, 0.01, 0.04)) -> np.ndarray:
    """Delivered identity numbers (a forced form >= 0 wins; legacy falls back to 18 digits after 1999)."""
    return R.identity_numbers(ctx.rng, ctx.col("pid", keys), None if idform is None else np.asarray(idform, dtype=np.int64), weights)


def names_for(ctx: D.Ctx, keys: np.ndarray, rate: float = 0.03, gbk: bool = False, dot: str = "·") -> np.ndarray:
    names = R.names(ctx.rng, ctx.col("name", keys).astype(object), np.ones(len(keys), dtype=bool), rate, gbk)
    return R.dots(names, "." if gbk and dot not in V.GBK_DOT_VARIANTS else dot)


def write(ctx: D.Ctx, source: str, table: str, name: str, df: pd.DataFrame, id_col: str | None, keys, *,
          encoding: str = "utf-8", crlf: bool = False, n_dups: int = 0, block=None, junk: bool = True) -> None:
    final, junk_rows, dups = D.assemble(ctx, df, id_col, keys, D._n_junk(ctx, len(df)) if junk and id_col else 0,
                                        n_dups=n_dups, block=block)
    D.emit(ctx, source, table, name, final, junk_rows, dups, encoding, crlf)
