"""公车管理 (rules/official_vehicles/): the official vehicles platform's trips and fuel-card refuels.

Ordinary trips leave on working days in the daytime, mostly approved; ordinary refuels fall on
a day one of the plate's trips covers. Planted: unapproved trips on a holiday, on a weekend the
calendar does not list and at night; refuels on a day with no trip. Near misses at every
boundary of the contract (21:59, 06:00, a Friday trip back on Saturday, a 调休 Saturday, an
approved Sunday; a refuel before that day's departure, on the return day of a two-day trip).
Plates arrive with separators, spaces, lower case or full-width letters; fuel cards are 19
digits. The truth is what the contract's rules find in these rows.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .. import deliver as D
from ..model import Truth
from .files import Rows
from .workcal import Calendar

OFF_DUTY, NO_TRIP = "vehicle_off_duty_unapproved", "fuel_without_trip"
RULES = [OFF_DUTY, NO_TRIP]
UNITS = ["市机关事务管理局", "市农业农村局", "市自然资源和规划局", "市水利和湖泊局", "市交通运输局", "市住房和城乡建设局"]
STATIONS = ["中石化团城山加油站", "中石油磁湖加油站", "中石化大冶金湖加油站", "中石油阳新兴国加油站"]
PLATE_LETTERS = "ABCDEFGHJKLMNPQ"


def _plates(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        p = f"鄂B{PLATE_LETTERS[int(rng.integers(0, 15))]}{int(rng.integers(1000, 10000))}"
        if p not in out:
            out.append(p)
    return out


def _form(plate: str, i: int) -> str:
    """A plate as it is typed: with a middle dot, a space, lower case, full-width letters."""
    full = plate[0] + plate[1:].translate(str.maketrans("ABCDEFGHJKLMNPQ0123456789", "ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱ０１２３４５６７８９"))
    return [plate, plate, f"{plate[:2]}·{plate[2:]}", f"{plate[0]}{plate[1].lower()} {plate[2:]}", full, f"{plate[:2]}-{plate[2:]}"][i % 6]


class Fleet:
    def __init__(self, rng: np.random.Generator, as_of: dt.date, cal: Calendar, scale: float):
        self.rng, self.as_of, self.cal = rng, as_of, cal
        self.trips: list[dict] = []      # plate, unit, out (datetime), back (datetime | date | None), approval, kind
        self.fuel: list[dict] = []       # card, plate, at (datetime | date), litres, cents, station, kind
        self.n = lambda base: max(1, round(base * scale))
        self.seq = 0

    def rnd(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def trip(self, plate, unit, out: dt.datetime, back, approved: bool, kind: str = "") -> None:
        self.seq += 1
        self.trips.append({"plate": plate, "unit": unit, "out": out, "back": back, "kind": kind,
                           "approval": f"PC{out:%Y%m%d}{self.seq:05d}" if approved else "",
                           "to": ["阳新县", "大冶市", "下陆区", "西塞山区", "武汉市"][self.seq % 5],
                           "why": ["督查检查", "会议", "调研", "应急处置", "公务接待"][self.seq % 5]})

    def refuel(self, card, plate, at, kind: str = "") -> None:
        self.seq += 1
        litres = self.rnd(20, 60)
        self.fuel.append({"card": card, "plate": plate, "at": at, "litres": litres, "cents": litres * self.rnd(700, 820),
                          "station": STATIONS[self.seq % 4], "kind": kind})

    def workday(self, lo: int, hi: int) -> dt.date:
        d = self.as_of - dt.timedelta(days=self.rnd(lo, hi))
        while not self.cal.is_workday(d):
            d -= dt.timedelta(days=1)
        return d

    def free_day(self, plate: str, weekend: bool) -> dt.date:
        """A day no trip of the plate covers (a weekend day if asked)."""
        busy = {t["out"].date() + dt.timedelta(days=k) for t in self.trips if t["plate"] == plate for k in range(3)}
        d = self.as_of - dt.timedelta(days=self.rnd(20, 300))
        while d in busy or (weekend and d.weekday() < 5) or (d - dt.timedelta(days=1)) in busy:
            d -= dt.timedelta(days=1)
        return d


def build(rng: np.random.Generator, as_of: dt.date, cal: Calendar, scale: float) -> Fleet:
    f = Fleet(rng, as_of, cal, scale)
    plates = _plates(rng, f.n(30) + 8)
    units = {p: UNITS[i % len(UNITS)] for i, p in enumerate(plates)}
    cards = {p: f"9030001{4200000000 + i * 7919:012d}" for i, p in enumerate(plates)}
    ordinary, planted = plates[:-8], plates[-8:]
    for _ in range(f.n(2500)):
        p = ordinary[f.rnd(0, len(ordinary))]
        day = f.workday(3, 600)
        out = dt.datetime.combine(day, dt.time(f.rnd(8, 17), f.rnd(0, 60)))
        two_days = f.rng.random() < 0.1
        back = None if f.rng.random() < 0.05 else dt.datetime.combine(f.cal.nth_after(day, 1) if two_days else day,
                                                                      dt.time(f.rnd(17, 20), f.rnd(0, 60)))
        f.trip(p, units[p], out, back, approved=f.rng.random() < 0.97)
        if f.rng.random() < 0.35:  # refuel on the way, on the day out (before leaving, too) or the day back
            at = back if two_days and back is not None and f.rng.random() < 0.5 else out + dt.timedelta(minutes=f.rnd(-90, 300))
            f.refuel(cards[p], p, at)
    _planted(f, planted, units, cards)
    return f


def _planted(f: Fleet, plates: list[str], units: dict, cards: dict) -> None:
    cal, as_of = f.cal, f.as_of
    holidays = [d for d, w in sorted(cal.listed.items()) if not w and d.weekday() < 5 and as_of - dt.timedelta(days=600) < d < as_of]
    unlisted_weekend = next(d for d in (as_of - dt.timedelta(days=k) for k in range(400, 700))
                            if d.weekday() == 6 and d not in cal.listed)
    tiaoxiu = [d for d, w in sorted(cal.listed.items()) if w and d.weekday() >= 5 and d < as_of]
    a, b, c, d, e, g, h, k = plates
    if holidays:
        day = holidays[-1]
        f.trip(a, units[a], dt.datetime.combine(day, dt.time(10, 0)), dt.datetime.combine(day, dt.time(17, 0)), False, "holiday")
    f.trip(b, units[b], dt.datetime.combine(unlisted_weekend, dt.time(9, 30)), None, False, "weekend_not_listed")
    day = f.workday(30, 300)
    f.trip(c, units[c], dt.datetime.combine(day, dt.time(22, 0)), dt.datetime.combine(day, dt.time(23, 40)), False, "night_22_00")
    day = f.workday(30, 300)
    f.trip(d, units[d], dt.datetime.combine(day, dt.time(5, 59)), dt.datetime.combine(day, dt.time(9, 0)), False, "night_05_59")
    day = f.workday(30, 300)   # near misses, all on plate e
    f.trip(e, units[e], dt.datetime.combine(day, dt.time(21, 59)), None, False, "decoy:at_21_59")
    f.trip(e, units[e], dt.datetime.combine(day, dt.time(6, 0)), dt.datetime.combine(day, dt.time(8, 0)), False, "decoy:at_06_00")
    friday = f.workday(30, 300)
    while friday.weekday() != 4 or not cal.is_workday(friday):
        friday -= dt.timedelta(days=1)
    f.trip(e, units[e], dt.datetime.combine(friday, dt.time(20, 30)), dt.datetime.combine(friday + dt.timedelta(days=1),
           dt.time(11, 0)), False, "decoy:back_on_saturday")
    if tiaoxiu:
        f.trip(e, units[e], dt.datetime.combine(tiaoxiu[-1], dt.time(9, 0)), None, False, "decoy:tiaoxiu_saturday")
    sunday = f.free_day(e, weekend=True)
    f.trip(e, units[e], dt.datetime.combine(sunday, dt.time(9, 0)), None, True, "decoy:approved_sunday")
    # fuel: planted on a free day; near misses on a two-day trip's return day and before a departure
    for p in (g, h):
        day = f.workday(30, 300)
        f.trip(p, units[p], dt.datetime.combine(day, dt.time(9, 0)), dt.datetime.combine(f.cal.nth_after(day, 1), dt.time(17, 0)), True)
        f.refuel(cards[p], p, dt.datetime.combine(f.cal.nth_after(day, 1), dt.time(18, 30)), "decoy:return_day_of_two_day_trip")
        f.refuel(cards[p], p, dt.datetime.combine(day, dt.time(7, 10)), "decoy:before_leaving")
        f.refuel(cards[p], p, f.free_day(p, weekend=False), "no_trip_that_day")
    day = f.workday(30, 300)
    f.trip(k, units[k], dt.datetime.combine(day, dt.time(9, 0)), None, True)
    f.refuel(cards[k], k, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8, 0)), "day_after_trip_without_return")


def record_truth(f: Fleet, truth: Truth) -> None:
    flagged: set[str] = set()
    for t in f.trips:
        night = t["out"].time() >= dt.time(22, 0) or t["out"].time() < dt.time(6, 0)
        if not t["approval"] and (not f.cal.is_workday(t["out"].date()) or night):
            flagged.add(t["plate"])
        elif t["kind"].startswith("decoy:"):
            truth.decoy(OFF_DUTY, t["kind"][6:])
    for plate in sorted(flagged):
        kind = next((t["kind"] for t in f.trips if t["plate"] == plate and t["kind"]), "ordinary")
        truth.fire(OFF_DUTY, plate, "medium", None, kind)
    spans: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for t in f.trips:
        back = t["back"]
        last = t["out"].date() if back is None or back < t["out"] else (back.date() if isinstance(back, dt.datetime) else back)
        spans.setdefault(t["plate"], []).append((t["out"].date(), last))
    cards: dict[str, tuple[int, str]] = {}
    for r in f.fuel:
        day = r["at"].date() if isinstance(r["at"], dt.datetime) else r["at"]
        if any(a <= day <= z for a, z in spans.get(r["plate"], [])):
            if r["kind"].startswith("decoy:"):
                truth.decoy(NO_TRIP, r["kind"][6:])
            continue
        cents, kind = cards.get(r["card"], (0, ""))
        cards[r["card"]] = (cents + r["cents"], kind or r["kind"] or "ordinary")
    for card, (cents, kind) in sorted(cards.items()):
        truth.fire(NO_TRIP, card, "medium", cents, kind)


def deliver(ctx: D.Ctx, truth: Truth, cal: Calendar, scale: float) -> None:
    f = build(np.random.default_rng(ctx.rng.integers(0, 2**32)), ctx.fr.as_of, cal, scale)
    year = ctx.fr.as_of.year
    header = ["车牌号", "使用单位", "出车时间", "回车时间", "目的地", "用车事由", "审批单号", "行驶里程"]
    old, new = Rows(header), Rows(header)
    for i, t in enumerate(sorted(f.trips, key=lambda t: (t["out"], t["plate"]))):
        back = t["back"]
        if t["out"].year < year:
            out = [t["out"].strftime("%Y-%m-%d %H:%M:%S"), t["out"].strftime("%Y/%m/%d %H:%M"), t["out"].strftime("%Y%m%d%H%M%S")][i % 3]
            shown_back = "" if back is None else (back.strftime("%Y-%m-%d") if i % 5 == 0 and back.date() > t["out"].date()
                                                  else back.strftime("%Y-%m-%d %H:%M"))
            old.add([_form(t["plate"], i), t["unit"], out, shown_back, t["to"], t["why"], t["approval"], str(10 + i % 90)])
            if i == 7:
                old.copy_last()
        else:
            new.add([_form(t["plate"], i), t["unit"], t["out"], back or "", t["to"], t["why"], t["approval"], str(10 + i % 90)])
    old.add(["鄂BG0001", "市农业农村局", f"{year - 1}-06-09", "", "x", "x", "", ""], quarantined="no_time_of_day")
    old.add(["京A123", "市农业农村局", f"{year - 1}-06-09 10:00", "", "x", "x", "", ""], quarantined="plate")
    old.write(ctx, "official_vehicles", "trips", f"trips_{year - 1}.csv", encoding="gbk", crlf=True)
    new.write(ctx, "official_vehicles", "trips", f"trips_{year}.xlsx")
    rows = Rows(["油卡号", "车牌号", "加油时间", "油品", "加油量", "金额", "加油站"])
    for i, r in enumerate(sorted(f.fuel, key=lambda r: (r["at"] if isinstance(r["at"], dt.datetime) else
                                                       dt.datetime.combine(r["at"], dt.time()), r["card"]))):
        at = r["at"]
        shown = at.isoformat() if not isinstance(at, dt.datetime) else (
            at.strftime("%Y-%m-%d") if i % 9 == 0 and r["kind"] == "" else at.strftime(["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"][i % 2]))
        rows.add([r["card"], _form(r["plate"], i), shown, "92#汽油" if i % 4 else "0#柴油", "" if i % 11 == 0 else str(r["litres"]),
                  f"{r['cents'] / 100:.2f}", r["station"]])
    rows.add(["9030001000000000001", "鄂BG0001", f"{year - 1}-06-09 10:00", "92#汽油", "30", "壹万元整", "x"], quarantined="amount")
    rows.add(["", "鄂BG0001", f"{year - 1}-06-09 10:00", "92#汽油", "30", "200.00", "x"], quarantined="missing")
    rows.write(ctx, "official_vehicles", "fuel", "fuel.csv", encoding="utf-8-sig")
    record_truth(f, truth)
