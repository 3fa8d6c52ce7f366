"""The attacker's view of a masked run: every personal value of a delivery, read from
the delivered files themselves, looked for in every byte the run let out.

Needles (`delivery_needles`):

- identity numbers of every identity column of every source, as delivered (valid or
  not): every run of 14 consecutive digits in the value, in its canonical 18-character
  form and in its legacy 15-digit form (a masked number keeps 10 digits in two parts);
- full names (two characters or more) of the registry's residents;
- transit card numbers, licence plates, and the values of every column the connector
  YAMLs declare personal (addresses, personal account numbers, passports, ...);
- a value personal only on some rows (an applicant's 证件号码 and 名称 where 证件类型 says a
  person: `when:` in the connector YAML) on those rows: every natural person's number and name.

Haystacks (`readable_texts`): a file as text; JSON decoded too (an escaped name is
still a name); HTML/XML entities resolved; an xlsx (zip) member by member.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from crosscheck.catalog import Catalog
from crosscheck.normalize import check_char, phone_number

#: Digits of an identity number shown in a row; a mask keeps at most 6 + 4 of them.
ID_RUN = 14
#: Columns personal by what they are, whatever the connector YAMLs say about them.
ALWAYS_PERSONAL = {("transit_card", "card_no"): "card", ("vehicle_registry", "plate"): "plate",
                   ("household_registry", "address"): "address"}
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


@dataclass(frozen=True)
class Hit:
    kind: str
    value: str          # the delivered value (for an identity number: the whole number)
    where: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r} in {self.where}: …{self.context}…"


class Needles:
    """Personal values to look for: digit strings are matched inside digit runs, the rest anywhere."""

    def __init__(self) -> None:
        # needle -> (kind, the delivered value it comes from)
        self.digits: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)   # by length
        self.words: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)    # by first character
        self.values: dict[str, set[str]] = defaultdict(set)                      # kind -> delivered values

    @property
    def counts(self) -> Counter:
        return Counter({k: len(v) for k, v in self.values.items()})

    def add(self, kind: str, needle: str, value: str | None = None) -> None:
        table = self.digits[len(needle)] if needle.isascii() and needle.isdigit() else self.words[needle[0]]
        table.setdefault(needle, (kind, value or needle))
        self.values[kind].add(value or needle)

    def add_identity(self, value: str) -> None:
        s = unicodedata.normalize("NFKC", value).strip().upper()
        forms = {s}
        if re.fullmatch(r"[0-9]{17}[0-9X]", s):
            forms.add(s[:6] + s[8:17])
        elif re.fullmatch(r"[0-9]{15}", s):
            s17 = s[:6] + "19" + s[6:]
            forms.add(s17 + check_char(s17))
        for form in forms:
            for run in re.findall(rf"[0-9]{{{ID_RUN},}}", form):
                for i in range(len(run) - ID_RUN + 1):
                    self.add("identity", run[i:i + ID_RUN], value.strip())

    def scan(self, text: str, where: str) -> list[Hit]:
        hits: list[Hit] = []
        ascii_digits = text.translate(_FULL_WIDTH)
        for m in re.finditer(r"[0-9]+", ascii_digits):
            run = m.group()
            for n, table in self.digits.items():
                for i in range(len(run) - n + 1):
                    found = table.get(run[i:i + n])
                    if found:
                        hits.append(self._hit(found, where, text, m.start() + i, n))
        lengths = {c: sorted({len(v) for v in t}, reverse=True) for c, t in self.words.items()}
        for i, ch in enumerate(text):
            for n in lengths.get(ch, ()):
                found = self.words[ch].get(text[i:i + n])
                if found:
                    hits.append(self._hit(found, where, text, i, n))
                    break
        return hits

    @staticmethod
    def _hit(found: tuple[str, str], where: str, text: str, at: int, n: int) -> Hit:
        return Hit(*found, where, text[max(0, at - 30):at + n + 30].replace("\n", "⏎"))


# ---------------------------------------------------------------- the delivery


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("gb18030", errors="replace")
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, [])
    for row in rows:
        yield dict(zip(header, row))


def _xlsx_rows(path: Path) -> Iterator[dict[str, str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = [str(h or "") for h in next(rows, ())]
            for row in rows:
                yield {h: "" if v is None else str(v) for h, v in zip(header, row)}
    finally:
        wb.close()


def _parquet_rows(path: Path) -> Iterator[dict[str, str]]:
    import pyarrow.parquet as pq

    for row in pq.read_table(path).to_pylist():
        yield {k: "" if v is None else str(v) for k, v in row.items()}


READERS = {".csv": _csv_rows, ".xlsx": _xlsx_rows, ".parquet": _parquet_rows}


def _header_key(header: str) -> str:
    return unicodedata.normalize("NFKC", header.replace("\ufeff", "")).strip()


#: Tables whose `type: name` columns name people (the registry, a lease's lessee, a bid's legal
#: representative); elsewhere a name column may hold a unit's or a shop's name.
NAMED_PEOPLE = {"residents", "asset_contracts", "bids"}


def delivery_needles(extracts: Path, catalog: Catalog) -> Needles:
    """Every personal value of the delivery under `extracts`, read from its files."""
    needles = Needles()
    for connector in catalog.connectors.values():
        markers = {m.strip() for m in connector.null_markers}
        for table, spec in connector.tables.items():
            # header -> [(kind, the header and values of the row's type column when the value is
            # personal only on some rows (证件类型 + 证件号码), else None)]
            wanted: dict[str, list[tuple[str, tuple[list[str], set[str]] | None]]] = {}
            for col in spec.columns:
                kind = ALWAYS_PERSONAL.get((connector.source, col.name)) or getattr(col, "personal", None)
                if col.type == "identity":
                    kind = "identity"
                elif col.type == "name" and (table in NAMED_PEOPLE or col.when):
                    kind = "name"
                elif col.type == "phone":
                    kind = "phone"
                if kind:
                    only = None
                    for other, allowed in (col.when or {}).items():
                        only = ([_header_key(h) for h in spec.column(other).headers], set(allowed))
                    for h in col.headers:
                        wanted.setdefault(_header_key(h), []).append((kind, only))
            files = {p for pattern in spec.files for p in (extracts / connector.folder).glob(pattern)}
            for path in sorted(files):
                for row in READERS[path.suffix.lower()](path):
                    keyed = {_header_key(h or ""): (v or "").strip() for h, v in row.items()}
                    for header, value in row.items():
                        value = (value or "").strip()
                        kinds = [k for k, only in wanted.get(_header_key(header or ""), [])
                                 if only is None or any(keyed.get(h) in only[1] for h in only[0])]
                        kind = kinds[0] if kinds else None
                        if not kind or value in markers:
                            continue
                        if kind == "identity":
                            needles.add_identity(value)
                        elif kind == "phone":
                            if len(digits := phone_number(value) or "") >= 7:
                                needles.add("phone", digits, value)
                        elif len(value) >= 2:
                            needles.add(kind, value)
    return needles


# ---------------------------------------------------------------- what the run let out


def readable_texts(name: str, data: bytes) -> Iterator[tuple[str, str]]:
    """(where, text) views of one output: as written, decoded where it is JSON or markup."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for member in zf.namelist():
                yield from readable_texts(f"{name}!{member}", zf.read(member))
        return
    text = data.decode("utf-8-sig", errors="replace")
    yield name, text
    if "&" in text:
        yield name, html.unescape(text)
    try:
        yield name, json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        pass


def scan_outputs(needles: Needles, outputs: Iterable[tuple[str, bytes]]) -> list[Hit]:
    """Every personal value found in the outputs, once per (kind, value, output)."""
    seen: set[tuple[str, str, str]] = set()
    hits: list[Hit] = []
    for name, data in outputs:
        for where, text in readable_texts(name, data):
            for hit in needles.scan(text, where):
                key = (hit.kind, hit.value, where)
                if key not in seen:
                    seen.add(key)
                    hits.append(hit)
    return hits


def folder_outputs(folder: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        yield str(path.relative_to(folder)), path.read_bytes()


def describe(hits: list[Hit], first: int = 4000) -> str:
    counts = Counter(h.kind for h in hits)
    values = Counter(k for k, _ in {(h.kind, h.value) for h in hits})
    lines = [f"{len(hits)} hits (value x output): " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())),
             "distinct values let out: " + ", ".join(f"{k} {n}" for k, n in sorted(values.items()))]
    lines += [str(h) for h in hits[:first]]
    return "\n".join(lines)
