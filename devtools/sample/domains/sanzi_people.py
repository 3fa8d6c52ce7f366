"""The registry as the 三资 and procurement rules see it (identity number, name form, 户号, the
registry's 所属乡镇 and 所属村), who may hold a new role without another rule noticing, and the
few residents the 三资 cases add to the registry (a second person of one name in a village)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd

from .. import ids as idmod
from .. import vocab as V
from ..timeutil import NONE, age_on
from .sanzi_link import name_form

AREA_CODES = [d[0] for d in V.DISTRICTS]


class Registry:
    """Everyone of the delivered registry, plus the residents added here (keys from len(people) on)."""

    def __init__(self, people: pd.DataFrame, as_of: dt.date, busy: set[int]):
        self.as_of = as_of
        n = len(people)
        self.n0 = n
        self.pid = list(people["pid"].to_numpy(dtype=object))
        self.name = list(people["name"].to_numpy(dtype=object))
        self.sex = list(people["sex"].to_numpy().astype(int))
        area = people["area"].to_numpy().astype(int)
        street = people["street"].to_numpy().astype(int)
        self.area = list(area)
        road = people["addr"].str.extract("(" + "|".join(V.ROADS) + ")", expand=False).fillna("其他")
        self.road = list(road.to_numpy(dtype=object))
        self.township = [V.DISTRICTS[a][2][s] for a, s in zip(area, street)]
        self.village = [r + "社区" for r in self.road]
        self.hukou = list(pd.Series(area).map(lambda a: AREA_CODES[a]).to_numpy(dtype=object)
                          + people["hh"].map("{:08d}".format).to_numpy(dtype=object))
        self.age = list(age_on(people["birth"].to_numpy(), as_of))
        self.addr = list(people["addr"].to_numpy(dtype=object))
        self.next_hh = int(people["hh"].max()) + 1 if n else 0
        alive = (people["death"].to_numpy() == NONE) & (people["status"].to_numpy(dtype=object) == "正常")
        ordinary = ~people["planted"].to_numpy(dtype=bool)
        hh = pd.Series(self.hukou)
        # a household is free when all its members are ordinary, living and hold no role elsewhere
        bad = pd.Series(~(alive & ordinary) | np.isin(np.arange(n), list(busy))).groupby(hh).transform("any").to_numpy()
        self.free = list(~bad)
        self.members: dict[str, list[int]] = {}
        for k, h in enumerate(self.hukou):
            self.members.setdefault(h, []).append(k)
        self.villages: dict[tuple[str, str], list[int]] = {}
        for k in range(n):
            self.villages.setdefault((self.township[k], self.village[k]), []).append(k)
        self._forms: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.added: list[dict] = []   # residents added to the registry here
        self.taken: set[str] = set()  # households given a role here

    def in_village(self, township: str, village: str) -> list[tuple[int, str]]:
        """(person, name form) of everyone the registry places in the village."""
        key = (township, village)
        if key not in self._forms:
            self._forms[key] = [(k, name_form(self.name[k])) for k in self.villages.get(key, [])]
        return self._forms[key]

    def place(self, k: int) -> tuple[str, str]:
        return self.township[k], self.village[k]

    def free_households(self, rng: np.random.Generator, min_members: int = 1) -> list[str]:
        """Free households not yet given a role, of at least `min_members` living in one village, shuffled."""
        out = []
        for h, ks in self.members.items():
            if h in self.taken or not self.free[ks[0]] or self.road[ks[0]] == "其他":
                continue
            if max(Counter(self.place(k) for k in ks).values()) >= min_members:
                out.append(h)
        out.sort()
        return [out[i] for i in rng.permutation(len(out))]

    def add_resident(self, name: str, like: int, rng: np.random.Generator) -> int:
        """A new resident named `name`, registered in `like`'s village in a household of their own."""
        k = self.n0 + len(self.added)
        area = self.area[like]
        age = int(rng.integers(30, 60))
        birth = dt.date(self.as_of.year - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        sex = int(rng.integers(0, 2))
        seq = 700 + 2 * len(self.added) + (1 if sex else 2)  # past every sequence the city assigns (< 700)
        pid = idmod.make_ids(np.array([int(AREA_CODES[area])]), np.array([int(birth.strftime("%Y%m%d"))]), np.array([seq]))[0]
        hukou = f"{AREA_CODES[area]}{self.next_hh:08d}"
        self.next_hh += 1
        row = {"pid": pid, "name": name, "sex": sex, "birth": birth, "area": area, "hukou": hukou,
               "addr": V.DISTRICTS[area][1] + self.road[like] + f"{int(rng.integers(400, 500))}号",
               "township": self.township[like], "village": self.village[like]}
        self.added.append(row)
        for attr, value in (("pid", pid), ("name", name), ("sex", sex), ("area", area), ("road", self.road[like]),
                            ("township", row["township"]), ("village", row["village"]), ("hukou", hukou), ("age", age),
                            ("addr", row["addr"]), ("free", False)):
            getattr(self, attr).append(value)
        self.members[hukou] = [k]
        self.villages[(row["township"], row["village"])].append(k)
        self._forms.pop((row["township"], row["village"]), None)
        return k


def busy_people(dom: dict[str, pd.DataFrame]) -> set[int]:
    """Person keys that hold a 低保 membership or a village office already."""
    keys: set[int] = set()
    for table, col in (("dibao_members", "person"), ("dibao_members", "head"), ("cadres", "person")):
        if table in dom and len(dom[table]):
            keys |= set(dom[table][col].astype(int).tolist())
    return keys
