"""The sample city's working-day calendar (calendar/workdays) and the working days it implies.

Delivered as the contract allows: the two years before the as-of year list only their
exceptions (holidays 否, make-up working days 是), in a GBK CSV; the as-of year lists every
date, in an .xlsx with Excel date cells. One date is listed in both with 是 and 否 (a
conflict: quarantined, the date falls back to Monday to Friday) and one exception row is
exported twice (one row). `Calendar` answers as the contract says, for the truth.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .. import deliver as D
from .files import Rows

_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
       "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节"}


@dataclass
class Calendar:
    """Working days as the delivered calendar says (listed 是 / 否, else Monday to Friday)."""

    listed: dict[dt.date, bool] = field(default_factory=dict)

    def is_workday(self, d: dt.date) -> bool:
        return self.listed.get(d, d.weekday() < 5)

    def between(self, a: dt.date, e: dt.date) -> int:
        """W(a, e): working days d with a < d <= e (0 when e <= a)."""
        n, d = 0, a + dt.timedelta(days=1)
        while d <= e:
            n += self.is_workday(d)
            d += dt.timedelta(days=1)
        return n

    def nth_after(self, a: dt.date, n: int) -> dt.date:
        """The day e with W(a, e) = n reached first (a itself for n = 0)."""
        d = a
        while n > 0:
            d += dt.timedelta(days=1)
            n -= self.is_workday(d)
        return d


def official(year: int) -> dict[dt.date, tuple[bool, str]]:
    """The official holidays (否) and make-up working days (是) of a year, with their note."""
    from chinese_calendar import constants

    out = {d: (False, _ZH.get(str(n), str(n))) for d, n in constants.holidays.items() if d.year == year}
    out.update({d: (True, f"{_ZH.get(str(n), str(n))}调休上班") for d, n in constants.workdays.items() if d.year == year})
    return out


def deliver_calendar(ctx: D.Ctx, as_of: dt.date) -> Calendar:
    """Write calendar/workdays_*.csv and .xlsx; the calendar the rules will see."""
    years = [as_of.year - 2, as_of.year - 1]
    exceptions = [(d, w, note) for y in years for d, (w, note) in sorted(official(y).items())]
    full_year = official(as_of.year)
    day, last = dt.date(as_of.year, 1, 1), dt.date(as_of.year, 12, 31)
    whole = []
    while day <= last:
        w, note = full_year.get(day, (day.weekday() < 5, ""))
        whole.append((day, w, note))
        day += dt.timedelta(days=1)
    conflict = dt.date(as_of.year, 1, 1)   # 元旦 否 in the year's list, 是 in the exceptions' file
    csv_rows = Rows(["日期", "是否工作日", "备注"])
    for i, (d, w, note) in enumerate(exceptions):
        fmt = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")[i % 3]
        csv_rows.add([d.strftime(fmt), "是" if w else "否", note])
        if i == 3:
            csv_rows.copy_last()                                   # exported twice: one row
    csv_rows.add([conflict.isoformat(), "是", "补班"], quarantined="conflict")
    xlsx_rows = Rows(["日期", "是否工作日", "备注"])
    for d, w, note in whole:
        xlsx_rows.add([d, "是" if w else "否", note], quarantined="conflict" if d == conflict else None)
    csv_rows.write(ctx, "calendar", "workdays", "workdays_exceptions.csv", encoding="gbk", crlf=True)
    xlsx_rows.write(ctx, "calendar", "workdays", "workdays_full_year.xlsx")
    listed = {d: w for d, w, _ in exceptions}
    listed.update({d: w for d, w, _ in whole})
    listed.pop(conflict)
    return Calendar(listed)
