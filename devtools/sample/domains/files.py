"""Rows of one delivered file, written with their truth: which lines the loader must quarantine
and how many exact copies it must drop (crosscheck's `_truth/files.csv`, `_truth/quarantine.csv`)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import deliver as D
from ..writers import write_csv, write_xlsx


class Rows:
    def __init__(self, header: list[str]):
        self.header = header
        self.rows: list[list] = []
        self.quarantined: list[tuple[int, str]] = []   # (line, why)
        self.copies = 0

    def add(self, values: list, quarantined: str | None = None) -> None:
        """A row (str, or date / datetime for an Excel date cell; "" for empty); `quarantined`: why
        the loader sends it to quarantine (a bad value, a conflict)."""
        self.rows.append(list(values))
        if quarantined:
            self.quarantined.append((len(self.rows) + 1, quarantined))

    def copy_last(self) -> None:
        """The last row again, exactly: an extra copy the loader drops."""
        self.rows.append(list(self.rows[-1]))
        self.copies += 1

    def copy_of(self, values: list) -> None:
        """A row equal to one of another file once parsed (another form of its values): dropped here."""
        self.rows.append(list(values))
        self.copies += 1

    def write(self, ctx: D.Ctx, source: str, table: str, name: str, encoding: str = "utf-8", crlf: bool = False) -> None:
        path = ctx.out / source / name
        df = pd.DataFrame(self.rows, columns=self.header, dtype=object)
        if name.endswith(".xlsx"):
            stamp = dt.datetime.combine(ctx.fr.as_of, dt.time(8, 0)) - dt.timedelta(days=2)
            write_xlsx(path, df, stamp)
        else:
            write_csv(path, df, encoding, crlf)
        rel = f"{source}/{name}"
        ctx.ledger.files.append((source, table, rel, len(self.rows), len(self.quarantined), self.copies))
        ctx.ledger.quarantine.extend((source, table, rel, line, why) for line, why in self.quarantined)
