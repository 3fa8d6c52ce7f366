"""`crosscheck link-names`: who a name and a village are in the registry (docs/names.md)."""
from __future__ import annotations

from pathlib import Path

import typer

from crosscheck.cli.common import fail


def link_names(
    registry: Path = typer.Option(..., "--registry", help="CSV: 公民身份号码, 姓名, 性别, 出生日期, 所属乡镇, 所属村 (GBK or UTF-8)."),
    records: Path = typer.Option(..., "--records", help="CSV: 记录编号, 姓名, 性别, 出生年份, 所属乡镇, 所属村 (性别 and 出生年份 may be empty)."),
    out: Path = typer.Option(..., "--out", help="LINKS.csv to write (UTF-8 with BOM): 记录编号, 公民身份号码, 方式, 候选."),
    neighbouring: bool = typer.Option(False, "--neighbouring", help="Look for a record with no candidate in its village in the rest of its township (邻村)."),
) -> None:
    """Link each record (a name and a village, no identity number) to the one registry person it is (docs/names.md)."""
    from crosscheck.names.files import LinkInputError
    from crosscheck.names.link import link_files

    try:
        summary = link_files(registry, records, out, neighbouring=neighbouring)
    except LinkInputError as exc:
        fail(str(exc))
    counts, *bad_rows = summary.lines()
    typer.echo(counts)
    for line in bad_rows:
        typer.echo(line, err=True)
    typer.echo(f"written {out}")
