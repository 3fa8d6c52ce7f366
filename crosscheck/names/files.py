"""The `link-names` command's files: read a registry or records CSV (GBK or UTF-8, as the
connectors read them), check each row, and write the links (UTF-8 with BOM).

A file without the expected headers is refused whole (`LinkInputError`, exit 2); a row
that cannot be used is a *bad row*: counted, named by its line and reason, never dropped
silently (a bad registry row is left out of the candidates, a bad record is written with
its reason).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from crosscheck.catalog import normalize_header
from crosscheck.connectors.files import FileProblem, scan, transcode
from crosscheck.connectors.parse import install_macros
from crosscheck.connectors.readers import NotUTF8, csv_header, drop_staged, read_csv
from crosscheck.normalize import name_forms, text_key

REGISTRY_HEADERS = ("公民身份号码", "姓名", "性别", "出生日期", "所属乡镇", "所属村")
RECORD_HEADERS = ("记录编号", "姓名", "性别", "出生年份", "所属乡镇", "所属村")
LINK_HEADERS = ("记录编号", "公民身份号码", "方式", "候选")

#: How a sex is written -> 男 / 女 (GB/T 2261.1 codes too); empty is "not given".
SEXES = {"男": "男", "男性": "男", "1": "男", "m": "男", "male": "男", "女": "女", "女性": "女", "2": "女", "f": "女", "female": "女"}
#: Bad rows named one by one on the console; the rest are counted.
NAMED_BAD_ROWS = 20


class LinkInputError(ValueError):
    """A file the command cannot read as asked: the message names the file and the problem."""


@dataclass
class BadRows:
    file: str
    count: int = 0
    named: list[str] = field(default_factory=list)

    def add(self, rows: list[tuple[int, str]], total: int) -> None:
        self.count = total
        self.named = [f"{self.file}:{line}: {reason}" for line, reason in rows]

    def lines(self) -> list[str]:
        if not self.count:
            return []
        more = self.count - len(self.named)
        return [f"{self.file}: {self.count} bad row{'s' if self.count > 1 else ''}", *("  " + n for n in self.named),
                *([f"  ... and {more} more"] if more > 0 else [])]


def stage(con, path: Path, table: str, headers: tuple[str, ...], workdir: Path) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Stage the CSV at `path` as `table` (columns c0.., __line): header -> its staged column, and
    the lines that could not be split into the header's columns (line, reason). LinkInputError
    for a file that cannot be read or lacks a header."""
    if not path.is_file():
        raise LinkInputError(f"{path}: no such file")
    try:
        info = scan(path, text=True)
        if info.utf8_break:
            line, offset, _ = info.utf8_break
            raise FileProblem(f"line {line}: bytes at offset {offset} are not UTF-8 like the lines before them")
        source, lines = path, info.lines
        if info.encoding != "utf-8":
            source = workdir / f"{table}.utf8.csv"
            lines = transcode(path, info.encoding, source)
        staged = read_csv(con, source, lines, table, csv_header(source))
    except (FileProblem, NotUTF8) as exc:
        raise LinkInputError(f"{path}: {exc}") from None
    found = {normalize_header(h): i for i, h in enumerate(staged.headers)}
    missing = [h for h in headers if h not in found]
    if missing:
        raise LinkInputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(expected {', '.join(headers)}; found {', '.join(staged.headers)})")
    return {h: f"c{found[h]}" for h in headers}, [(r.line, r.reason) for r in staged.rejects]


def _key_map(con, table: str, column: str, view: str, convert) -> str:
    """Register the distinct values of `column` -> their converted form as `view`; SQL of the form."""
    values = [r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]
    con.register(view, pa.table({"raw": pa.array(values, pa.string()), "form": pa.array(convert(values), pa.string())}))
    return view


def text_keys(values: list[str]) -> list[str]:
    """Text keys (crosscheck.normalize.text_key; "" where nothing is left)."""
    return [text_key(v) or "" for v in values]


def prepare(con, table: str, cols: dict[str, str], rejects: list[tuple[int, str]], *, registry: bool) -> None:
    """`<table>_rows`: each row's link keys (name form, text keys, sex, year) and its `bad` reason
    (a line that could not be split into columns is a bad row too)."""
    install_macros(con)
    names = _key_map(con, table, cols["姓名"], f"{table}_names", name_forms)
    towns = _key_map(con, table, cols["所属乡镇"], f"{table}_towns", text_keys)
    villages = _key_map(con, table, cols["所属村"], f"{table}_villages", text_keys)
    sex_raw = f"lower(cc_trim(t.{cols['性别']}))"
    sexes = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SEXES.items())
    sex = f"CASE {sex_raw} {sexes} END"
    sex_bad = f"CASE WHEN {sex_raw} <> '' AND {sex} IS NULL THEN '性别不是男或女' END"
    if registry:
        ident, born = cols["公民身份号码"], f"cc_trim(t.{cols['出生日期']})"
        year = f"year(cc_parse_date({born}))"
        checks = [f"CASE WHEN cc_id_reason(t.{ident}) IS NOT NULL THEN '公民身份号码 ' || cc_id_reason(t.{ident}) END",
                  f"CASE WHEN nm.form IS NULL OR nm.form = '' THEN '姓名为空' END", sex_bad,
                  f"CASE WHEN {born} <> '' AND {year} IS NULL THEN '出生日期不是日期' END"]
        key = f"cc_id_value(t.{ident}) AS pid"
    else:
        rid, born = cols["记录编号"], f"cc_trim(t.{cols['出生年份']})"
        year = f"CASE WHEN regexp_full_match({born}, '(18[89]|19[0-9]|20[0-9])[0-9]') THEN CAST({born} AS BIGINT) END"
        checks = [f"CASE WHEN coalesce(cc_trim(t.{rid}), '') = '' THEN '记录编号为空' END", sex_bad,
                  f"CASE WHEN {born} <> '' AND {year} IS NULL THEN '出生年份不是1880至2099年间的年份' END"]
        key = f"cc_trim(t.{rid}) AS rid"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_rows AS SELECT t.__line AS line, {key}, nm.form AS name, tw.form AS town, "
        f"vl.form AS vill, {sex} AS sex, {year} AS yr, concat_ws('; ', {', '.join(checks)}) AS bad "
        f"FROM {table} AS t LEFT JOIN {names} AS nm ON nm.raw = t.{cols['姓名']} "
        f"LEFT JOIN {towns} AS tw ON tw.raw = t.{cols['所属乡镇']} LEFT JOIN {villages} AS vl ON vl.raw = t.{cols['所属村']}")
    if rejects:
        con.executemany(f"INSERT INTO {table}_rows (line, bad) VALUES (?, ?)", rejects)
    for view in (names, towns, villages):
        con.unregister(view)
    drop_staged(con, table)


def bad_rows(con, table: str, file: str) -> BadRows:
    out = BadRows(file)
    total = con.execute(f"SELECT count(*) FROM {table}_rows WHERE bad <> ''").fetchone()[0]
    named = con.execute(f"SELECT line, bad FROM {table}_rows WHERE bad <> '' ORDER BY line LIMIT {NAMED_BAD_ROWS}").fetchall()
    out.add(named, total)
    return out


def write_links(con, query: str, out: Path) -> int:
    """Write the rows of `query` (the LINK_HEADERS columns) to `out`, UTF-8 with BOM; the row count."""
    import pyarrow.csv as pacsv

    table = con.sql(query).to_arrow_table()
    table = table.rename_columns(list(LINK_HEADERS))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=out.parent, delete=False, suffix=".tmp") as fh:
        fh.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(quoting_style="needed"))
        tmp = Path(fh.name)
    tmp.replace(out)
    return table.num_rows
