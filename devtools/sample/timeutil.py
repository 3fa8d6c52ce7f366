"""Integer calendar used inside the generator.

Dates are int days since 1970-01-01, times int seconds since the epoch, months
int ``year * 12 + month - 1``, amounts int cents.  Integers keep everything
vectorisable with numpy; formatting to delivered strings happens in render.py.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

NONE = -(10**9)  # "no value" sentinel for day / second / month columns
EPOCH = dt.date(1970, 1, 1)
DAY_S = 86_400


def day(d: dt.date) -> int:
    return (d - EPOCH).days


def to_date(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def month_of_date(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def months_of_days(days: np.ndarray) -> np.ndarray:
    """Vectorised month index of day numbers."""
    m = np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype("int64")
    return m + 1970 * 12


def month_first_day(month: int) -> int:
    return day(dt.date(month // 12, month % 12 + 1, 1))


def month_days(months: np.ndarray) -> np.ndarray:
    """Vectorised first day (day number) of month indexes."""
    return (np.asarray(months, dtype="int64") - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def years_before(d: dt.date, years: int) -> dt.date:
    """Same calendar day ``years`` earlier (28 Feb for 29 Feb)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def age_on(birth_days: np.ndarray, on: dt.date) -> np.ndarray:
    """Vectorised completed years of age on ``on``."""
    b = np.asarray(birth_days, dtype="int64").astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype("int64") + 1970
    bm = b.astype("datetime64[M]").astype("int64") % 12 + 1
    bd = (b - b.astype("datetime64[M]")).astype("int64") + 1
    before = (bm > on.month) | ((bm == on.month) & (bd > on.day))
    return on.year - by - before.astype("int64")
