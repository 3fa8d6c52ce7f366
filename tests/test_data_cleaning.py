"""docs/data-cleaning.md cannot drift from the connectors: every example of it (a delivered value,
what it is loaded as, or quarantine.csv's reason word for word) is loaded through the connectors
here and compared; its list of columns is generated (test_rule_docs keeps it current)."""
from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from crosscheck.catalog import load_catalog
from crosscheck.connectors.load import load_table
from crosscheck.normalize import MIN_BIRTH, normalize_identity

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "data-cleaning.md").read_text(encoding="utf-8")
CATALOG = load_catalog(ROOT / "connectors")

#: A valid delivered value of each column type (the other columns of an example's row).
VALID = {"identity": "110101194001011234", "name": "王建国", "date": "2024-03-15", "datetime": "2024-03-15 08:00",
         "month": "2024-03", "amount": "1", "integer": "2024", "number": "1", "text": "x"}
EXAMPLE = re.compile(r"^\| `(\w+)\.(\w+)` \| `(\".*\")` \| (?:`([^`]*)`)? *\| (?:`([^`]*)`)? *\|$")


def _examples() -> list[tuple[str, str, str, str | None, str | None]]:
    """(table, column, delivered, loaded as, reason) of every example row of the page."""
    out = []
    for line in DOC.splitlines():
        m = EXAMPLE.match(line)
        if m:
            table, column, delivered, loaded, reason = m.groups()
            out.append((table, column, json.loads(delivered), loaded, reason))
    return out


EXAMPLES = _examples()


def _load(tmp_path: Path, table: str, rows: list[dict[str, str]], headers: list[str] | None = None):
    """`rows` (header -> delivered value) written as one CSV of `table` and loaded by the connectors:
    (the connection holding the canonical table, the table's TableLoad)."""
    source = CATALOG.connectors[CATALOG.source_of(table)]
    spec = source.tables[table]
    folder = tmp_path / table / source.folder
    folder.mkdir(parents=True)
    headers = headers or [c.header for c in spec.columns]
    with open(folder / f"{table}.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows([[r.get(h, "") for h in headers] for r in rows])
    con = duckdb.connect()
    return con, load_table(con, tmp_path / table, source, table, validate=False)


def _base(table: str, under_test: str, n: int) -> dict[str, str]:
    """A valid row of `table`, told apart from the others by its first text column (not the one tested)."""
    spec = CATALOG.tables[table]
    row = {c.header: VALID[c.type] for c in spec.columns if not c.nullable}
    tag = next(c for c in spec.columns if c.type == "text" and c.name != under_test)
    row[tag.header] = f"row{n}"
    return row


def _shown(value) -> str:
    return "NULL" if value is None else str(value)


def test_the_page_has_examples_of_every_type_and_rejection():
    assert len(EXAMPLES) > 40
    types = {CATALOG.tables[t].column(c).type for t, c, *_ in EXAMPLES}
    assert types == {"identity", "name", "date", "datetime", "month", "amount", "integer", "number"}
    reasons = " ".join(r for *_, r in EXAMPLES if r)
    for bad in ("1234", "11010119400101123", "1101011940010112AB", "110101194002301234", "110101194001011235"):
        why = normalize_identity(bad)[1]
        assert why and f": {why.split(' (')[0]}" in reasons, why
    for label in ("date", "month", "datetime", "amount", "integer", "number"):
        assert f"unparseable {label} in " in reasons, label
    assert "negative amount in" in reasons and "impossible birth date in" in reasons and "missing value in" in reasons
    assert f"between {MIN_BIRTH.isoformat()} and today" in DOC


@pytest.mark.parametrize("table", sorted({t for t, *_ in EXAMPLES}))
def test_every_example_is_what_the_connectors_do(tmp_path, table):
    spec = CATALOG.tables[table]
    cases = [(c, d, loaded, reason) for t, c, d, loaded, reason in EXAMPLES if t == table]
    rows = []
    for n, (column, delivered, _, _) in enumerate(cases):
        row = _base(table, column, n)
        row[spec.column(column).header] = delivered
        rows.append(row)
    con, load = _load(tmp_path, table, rows)
    assert load.files[0].duplicates_dropped == 0
    names = list(spec.canonical_columns())
    got = {r[0]: r[1:] for r in con.execute(f'SELECT source_line, {", ".join(names)} FROM "{table}"').fetchall()}
    quarantined = dict(con.execute('SELECT line, reason FROM quarantine').fetchall())
    for n, (column, delivered, loaded, reason) in enumerate(cases):
        line = n + 2
        if reason:
            assert quarantined.get(line) == reason, (column, delivered)
            assert line not in got
        else:
            assert line not in quarantined, (column, delivered, quarantined.get(line))
            assert _shown(got[line][names.index(column)]) == loaded, (column, delivered)


def test_several_problems_are_all_named(tmp_path):
    said = re.search(r"joined by `; `:\n`([^`]+)`", DOC).group(1)
    row = _base("pension_payments", "person_id", 0) | {"公民身份号码": "110101194001011235", "发放金额": "¥100"}
    con, _ = _load(tmp_path, "pension_payments", [row])
    assert con.execute("SELECT reason FROM quarantine").fetchall() == [(said,)]


def test_reading_a_file_as_the_page_says(tmp_path):
    said = re.search(r"quarantined as `(malformed CSV row: [^`]+)`", DOC).group(1)
    expected, found = map(int, re.findall(r"\d+", said))
    spec = CATALOG.tables["pension_payments"]
    assert len(spec.columns) == expected
    folder = tmp_path / "bad" / "social_security"
    folder.mkdir(parents=True)
    line = ",".join(_base("pension_payments", "person_id", 0).get(c.header, "") for c in spec.columns)
    (folder / "pension_payments.csv").write_text(
        ",".join(c.header for c in spec.columns) + "\n" + line + "\n" + line + ",extra\n", encoding="utf-8")
    con = duckdb.connect()
    load = load_table(con, tmp_path / "bad", CATALOG.connectors["social_security"], "pension_payments", validate=False)
    assert con.execute("SELECT line, reason FROM quarantine").fetchall() == [(3, said)] and found == expected + 1
    assert load.rows == 1

    missing = re.search(r"fails the file \(`(line 1: missing required column [^`]+)`\)", DOC).group(1)
    headers = [c.header for c in spec.columns if c.header != "发放年月"]
    _, load = _load(tmp_path, "pension_payments", [_base("pension_payments", "person_id", 0)], headers)
    assert load.files[0].status == "failed" and load.files[0].error.endswith(missing)


def test_exact_duplicates_are_dropped_after_cleaning(tmp_path):
    """The page: equal after cleaning (a padded identity number, a full-width space in the name) is a
    copy, dropped and counted; a row that differs in one column is kept."""
    assert "once with a padded identity number and once without" in DOC
    base = _base("pension_payments", "person_id", 0)
    copy = base | {"公民身份号码": f" {base['公民身份号码']}\u3000", "姓名": "王　建国"}
    other = base | {"发放金额": "2"}
    con, load = _load(tmp_path, "pension_payments", [base | {"姓名": "王建国"}, copy, other])
    assert (load.rows, load.files[0].duplicates_dropped) == (2, 1)
    assert con.execute('SELECT source_line FROM pension_payments ORDER BY 1').fetchall() == [(2,), (4,)]
    assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]


def test_the_registry_cancellation_is_defined_for_rule_writers():
    """注销 and its reasons are defined in docs/rules.md with the values the registry's connector allows."""
    rules_doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = rules_doc[rules_doc.index('<a id="registry-cancellation"></a>'):]
    section = section[:section.index("\n<a id=", 1)]
    allowed = defaultdict(list)
    for e in CATALOG.tables["residents"].expectations:
        for name, args in e.items():
            if name == "expect_column_values_to_be_in_set":
                allowed[args["column"]] = args["value_set"]
    for column in ("population_status", "cancel_reason"):
        assert allowed[column]
        for value in allowed[column]:
            assert f"`{value}`" in section, (column, value)
    assert "注销日期" in section and "注销原因" in section and "人口状态" in section
