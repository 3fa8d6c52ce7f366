"""`crosscheck eval-names`: the name linker on a generated registry and records, through the
`link-names` command's own path (CSV files in, LINKS.csv out), beside two baselines.

- precision: right links / links made (every record: decoys, traps and ambiguous ones too);
- recall: right links / records with one right answer (`Record.answerable`);
- ambiguous share: records left 待人工核实 / all records;
- per kind of change, and the decoys linked and traps linked to the wrong twin (both must be 0).

Baselines: the exact name as delivered in the same village (what a spreadsheet lookup does),
and a whole-name pinyin linker (the name form's toneless pinyin in the same village; an
identical name first, else the first person with that pinyin).
"""
from __future__ import annotations

import csv
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from devtools.names.generate import Record, World, build


@dataclass
class Tally:
    records: int = 0
    linked: int = 0
    right: int = 0
    wrong: int = 0
    ambiguous: int = 0
    answerable: int = 0
    recalled: int = 0
    twins_wrong: int = 0     # records of same-sound twins linked to the other twin (or anyone else)

    def add(self, rec: Record, got: str | None, ambiguous: bool) -> None:
        self.records += 1
        self.ambiguous += ambiguous
        if got:
            self.linked += 1
            self.right += got == rec.truth
            self.wrong += got != rec.truth
            self.twins_wrong += rec.trap and got != rec.truth
        if rec.answerable:
            self.answerable += 1
            self.recalled += got == rec.truth

    @property
    def precision(self) -> float:
        return self.right / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.recalled / self.answerable if self.answerable else 1.0


@dataclass
class Result:
    registry: int
    records: int
    seconds: float
    linker: Tally
    kinds: dict[str, Tally]
    decoys_linked: int
    traps: int
    baselines: dict[str, Tally] = field(default_factory=dict)


def _write(world: World, folder: Path) -> tuple[Path, Path]:
    registry, records = folder / "registry.csv", folder / "records.csv"
    with open(registry, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["公民身份号码", "姓名", "性别", "出生日期", "所属乡镇", "所属村"])
        w.writerows([p.pid, p.name, p.sex, p.birth, p.town, p.vill] for p in world.people)
    with open(records, "w", encoding="gb18030", newline="") as fh:  # read as the connectors read GBK
        w = csv.writer(fh)
        w.writerow(["记录编号", "姓名", "性别", "出生年份", "所属乡镇", "所属村"])
        w.writerows([r.rid, r.name, r.sex, r.year, r.town, r.vill] for r in world.records)
    return registry, records


def _baselines(world: World) -> dict[str, Tally]:
    from pypinyin import lazy_pinyin

    from crosscheck.normalize import name_form

    exact, sound = defaultdict(list), defaultdict(list)
    for p in world.people:
        exact[(p.town, p.vill, p.name)].append(p.pid)
        sound[(p.town, p.vill, "".join(lazy_pinyin(p.name)))].append(p)
    out = {"exact name in village": Tally(), "whole-name pinyin": Tally()}
    for r in world.records:
        found = exact.get((r.town, r.vill, r.name), [])
        out["exact name in village"].add(r, found[0] if len(found) == 1 else None, len(found) > 1)
        form = name_form(r.name)
        alike = sound.get((r.town, r.vill, "".join(lazy_pinyin(form))), [])
        same = [p.pid for p in alike if p.name == form]
        out["whole-name pinyin"].add(r, (same or [p.pid for p in alike] or [None])[0], False)
    return out


def evaluate(seed: int = 7, villages: int = 60, people: int = 600, records: int = 6000, *, lookalikes: str | None = None) -> Result:
    """Generate, link with `crosscheck link-names --neighbouring`, and count (`lookalikes`: a
    look-alike table in place of the four corners)."""
    from crosscheck.names.link import link_files

    world = build(seed, villages, people, records)
    with tempfile.TemporaryDirectory(prefix="crosscheck-eval-names-") as tmp:
        registry, records_csv = _write(world, Path(tmp))
        start = time.perf_counter()
        link_files(registry, records_csv, Path(tmp) / "links.csv", neighbouring=True, lookalikes=lookalikes)
        seconds = time.perf_counter() - start
        with open(Path(tmp) / "links.csv", encoding="utf-8-sig", newline="") as fh:
            links = {row["记录编号"]: row for row in csv.DictReader(fh)}
    total, kinds = Tally(), defaultdict(Tally)
    decoys_linked = traps = 0
    for r in world.records:
        row = links[r.rid]
        got, ambiguous = row["公民身份号码"] or None, bool(row["候选"])
        total.add(r, got, ambiguous)
        kinds[r.kind].add(r, got, ambiguous)
        decoys_linked += r.kind == "decoy" and got is not None
        traps += r.trap
    return Result(len(world.people), len(world.records), seconds, total, dict(kinds), decoys_linked, traps, _baselines(world))


def render(result: Result) -> list[str]:
    t = result.linker
    lines = [
        f"registry {result.registry:,} people, {result.records:,} records; linked in {result.seconds:.2f} s",
        f"precision {t.precision:.4f} ({t.wrong} wrong of {t.linked:,} links)   recall {t.recall:.4f} "
        f"({t.recalled:,} of {t.answerable:,} records with one right answer)   ambiguous {t.ambiguous / t.records:.4f}",
        f"decoys linked {result.decoys_linked}   trap records {result.traps}, linked to the wrong twin {t.twins_wrong}",
        "",
        f"{'kind':<14}{'records':>8}{'answerable':>11}{'recall':>8}{'wrong':>7}{'ambiguous':>10}",
    ]
    order = Counter({k: v.records for k, v in result.kinds.items()})
    for kind, _ in order.most_common():
        k = result.kinds[kind]
        recall = f"{k.recall:>8.3f}" if k.answerable else f"{'-':>8}"
        lines.append(f"{kind:<14}{k.records:>8}{k.answerable:>11}{recall}{k.wrong:>7}{k.ambiguous:>10}")
    lines += ["", "baselines (same records):"]
    for name, b in result.baselines.items():
        lines.append(f"  {name:<24} precision {b.precision:.4f}  recall {b.recall:.4f}  wrong {b.wrong}  twins wrong {b.twins_wrong}")
    return lines
