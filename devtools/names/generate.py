"""A generated registry of villages and the records a clerk would make of its people.

Every record keeps its truth: the person it is (none for a decoy), what happened to its name
(`kind`) and whether it has one right answer (`answerable`): the true person is the only
candidate of the strongest class a perfect reader would see (identical, else one character
that sounds or looks the same or was lost), in the record's village, or in its township when
the village was written wrong and names nobody like it. A corruption that turns a name into
another villager's exact name, or a wrong village holding someone with a name one character
away, is drawn again: nobody could tell those apart, and they measure no linker.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from crosscheck.engines.characters import LOST_CHARACTERS, reading, shape
from crosscheck.normalize import check_char, name_form
from devtools.names import vocab as V


@dataclass
class Person:
    pid: str
    name: str
    sex: str
    birth: str          # YYYY-MM-DD
    town: str
    vill: str


@dataclass
class Record:
    rid: str
    name: str
    sex: str
    year: str
    town: str
    vill: str
    truth: str | None   # the person's identity number; None for a decoy
    kind: str
    answerable: bool = False
    trap: bool = False


@dataclass
class World:
    people: list[Person]
    records: list[Record]
    villages: dict[str, list[str]]                       # township -> villages
    traps: set[str] = field(default_factory=set)         # identity numbers of trap twins


def _weighted(rng: random.Random, items: list[str]) -> str:
    return rng.choices(items, weights=[1.0 / (i + 1) for i in range(len(items))])[0]


def _places(rng: random.Random, villages: int) -> dict[str, list[str]]:
    used: set[str] = set()

    def fresh(suffix: str) -> str:
        while True:
            name = "".join(rng.sample(V.PLACE_SYLLABLES, 2)) + suffix
            if name not in used:
                used.add(name)
                return name

    towns: dict[str, list[str]] = {}
    while sum(map(len, towns.values())) < villages:
        towns[fresh(rng.choice(["镇", "乡"]))] = [fresh("村") for _ in range(min(rng.randint(4, 8), villages - sum(map(len, towns.values()))))]
    return towns


def _given(rng: random.Random, sex: str) -> str:
    chars = V.GIVEN_MALE if sex == "男" else V.GIVEN_FEMALE
    n = 2 if rng.random() < V.GIVEN_TWO_SHARE else 1
    given = "".join(_weighted(rng, chars) for _ in range(n))
    if rng.random() < V.RARE_SHARE:
        given = given[:-1] + rng.choice(V.RARE)
    return given


def _surname_weights(rng: random.Random) -> dict[str, float]:
    """A village's surnames: two or three families make half the village."""
    weights = {s: float(w) for s, w in V.SURNAMES.items()}
    total = sum(weights.values())
    for s in rng.sample(list(weights), rng.randint(2, 3)):
        weights[s] += total / 2.5
    return weights


def _identity(rng: random.Random, birth: str, sex: str, serial: int) -> str:
    body = "420222" + birth.replace("-", "") + f"{serial % 100:02d}" + str(rng.choice([1, 3, 5, 7, 9] if sex == "男" else [0, 2, 4, 6, 8]))
    return body + check_char(body)


def similar(a: str, b: str) -> bool:
    """One character `a` written for `b` the way a perfect reader would still see `b`."""
    if a in LOST_CHARACTERS:
        return True
    ra, rb = reading(a), reading(b)
    return (ra is not None and ra == rb) or (a + b) in _LOOK or (b + a) in _LOOK or (shape(a) is not None and shape(a) == shape(b))


_LOOK = set(V.LOOKALIKES)


class Index:
    """The registry's people by village: by name form, and by name with one position left out."""

    def __init__(self, people: list[Person]):
        self.by_name: dict[tuple, list[Person]] = defaultdict(list)
        self.masked: dict[tuple, list[tuple[Person, str]]] = defaultdict(list)
        for p in people:
            self.by_name[(p.town, p.vill, p.name)].append(p)
            for i, ch in enumerate(p.name):
                self.masked[(p.town, p.vill, len(p.name), i, p.name[:i] + p.name[i + 1:])].append((p, ch))

    def candidates(self, name: str, town: str, vill: str, sex: str = "", year: str = "") -> list[Person]:
        """The people a perfect reader would take the record for: identical, else one similar character."""
        def fits(p: Person) -> bool:
            return (not sex or p.sex == sex) and (not year or p.birth[:4] == year)

        same = [p for p in self.by_name.get((town, vill, name), []) if fits(p)]
        if same:
            return same
        out = []
        for i, ch in enumerate(name):
            for p, theirs in self.masked.get((town, vill, len(name), i, name[:i] + name[i + 1:]), []):
                if theirs != ch and fits(p) and similar(ch, theirs):
                    out.append(p)
        return out

    def near(self, name: str, town: str, vill: str) -> bool:
        """Someone of the village has this name, or one with any one character changed."""
        if self.by_name.get((town, vill, name)):
            return True
        return any(self.masked.get((town, vill, len(name), i, name[:i] + name[i + 1:])) for i in range(len(name)))

    def answer(self, name: str, town: str, villages: list[str], vill: str, sex: str, year: str) -> list[Person]:
        """The candidates in the record's village, else (the linker's 邻村) the namesakes in the rest of its township."""
        found = self.candidates(name, town, vill, sex, year)
        if found:
            return found
        return [p for v in villages if v != vill for p in self.by_name.get((town, v, name), [])
                if (not sex or p.sex == sex) and (not year or p.birth[:4] == year)]


def _registry(rng: random.Random, towns: dict[str, list[str]], per_village: int) -> tuple[list[Person], set[str]]:
    from devtools.names.corrupt import sound_alike

    people: list[Person] = []
    traps: set[str] = set()
    serial = 0
    for town, villages in towns.items():
        for vill in villages:
            weights = _surname_weights(rng)
            surnames, w = list(weights), list(weights.values())
            for _ in range(max(2, int(rng.gauss(per_village, per_village / 4)))):
                serial += 1
                sex = rng.choice("男女")
                birth = f"{rng.randint(1940, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                if rng.random() < V.MINORITY_SHARE:
                    name = rng.choice(V.MINORITY_GIVEN) + "·" + rng.choice(V.MINORITY_FATHER)
                else:
                    name = rng.choices(surnames, weights=w)[0] + _given(rng, sex)
                people.append(Person(_identity(rng, birth, sex, serial), name, sex, birth, town, vill))
                if rng.random() < V.TRAP_SHARE and "·" not in name:
                    # a same-sound twin: 徐宇 / 许宇 (and sometimes 徐宇 / 许玉)
                    twin = list(name)
                    for i in rng.sample(range(len(twin)), 2 if len(twin) > 1 and rng.random() < 0.3 else 1):
                        twin[i] = sound_alike(rng, twin[i]) or twin[i]
                    if "".join(twin) != name:
                        serial += 1
                        sex2 = rng.choice("男女")
                        birth2 = f"{rng.randint(1940, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                        people.append(Person(_identity(rng, birth2, sex2, serial), "".join(twin), sex2, birth2, town, vill))
                        traps |= {people[-1].pid, people[-2].pid}
    return people, traps


def _decoy(rng: random.Random, index: Index, p: Person, villages: list[str]) -> str | None:
    """A name one unrelated character away from `p`'s that nobody of the village is close to."""
    chars = V.GIVEN_MALE + V.GIVEN_FEMALE
    for _ in range(20):
        i = rng.randrange(1, len(p.name)) if len(p.name) > 1 else 0
        if p.name[i] == "·":
            continue
        name = p.name[:i] + rng.choice(chars) + p.name[i + 1:]
        if not index.answer(name, p.town, villages, p.vill, "", ""):
            return name
    return None


def build(seed: int, villages: int, people: int, records: int) -> World:
    """A registry of `villages` villages of about `people` people each, and `records` records."""
    from devtools.names import corrupt

    rng = random.Random(seed)
    towns = _places(rng, villages)
    registry, traps = _registry(rng, towns, people)
    index = Index(registry)
    trap_people = [p for p in registry if p.pid in traps]
    kinds, shares = list(V.CORRUPTIONS), list(V.CORRUPTIONS.values())
    out: list[Record] = []
    while len(out) < records:
        rid = f"R{len(out) + 1:07d}"
        u = rng.random()
        p = rng.choice(trap_people) if u < V.TRAP_SHARE * 1.5 and trap_people else rng.choice(registry)
        sex = p.sex if rng.random() < 0.6 else ""
        year = p.birth[:4] if rng.random() < 0.4 else ""
        if V.TRAP_SHARE * 1.5 <= u < V.TRAP_SHARE * 1.5 + V.DECOY_SHARE:
            name = _decoy(rng, index, p, towns[p.town])
            if name:
                out.append(Record(rid, name, "", "", p.town, p.vill, None, "decoy"))
            continue
        kind = rng.choices(kinds + ["exact"], weights=shares + [1 - sum(shares)])[0]
        vill, delivered = p.vill, p.name
        if kind == "neighbouring":
            vill = rng.choice([v for v in towns[p.town] if v != p.vill] or [p.vill])
            if vill == p.vill or index.near(name_form(p.name), p.town, vill):
                continue  # nobody could tell this record from a villager of the written village
        elif kind != "exact":
            delivered = corrupt.KINDS[kind](rng, p.name)
            if delivered is None:
                continue
        if corrupt.lost(rng, p.name) and rng.random() < 0.8:  # through a GBK system
            kind, delivered = ("lost" if kind in ("exact", "spaces", "fullwidth") else kind), corrupt.lost(rng, delivered) or delivered
        elif "·" in p.name and kind == "exact" and rng.random() < 0.6:
            kind, delivered = "dots", corrupt.dots(rng, p.name)
        form = name_form(delivered)
        if form != p.name and any(q.pid != p.pid for q in index.by_name.get((p.town, vill, form), [])):
            continue  # the slip made another villager's exact name
        cands = index.answer(form, p.town, towns[p.town], vill, sex, year)
        out.append(Record(rid, delivered, sex, year, p.town, vill, p.pid, kind,
                          answerable=[c.pid for c in cands] == [p.pid], trap=p.pid in traps))
    return World(registry, out, towns, traps)
