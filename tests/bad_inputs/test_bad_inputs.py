"""One parametrised test over the bad-input corpus declared in cases.yaml."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from crosscheck.catalog import load_catalog
from crosscheck.connectors import load_source

HERE = Path(__file__).resolve().parent
CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
CATALOG = load_catalog(HERE.parents[1] / "connectors")


def _text(value):
    return None if value is None else str(value)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_input(case):
    expect, table = case["expect"], case["table"]
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    connector = CATALOG.connectors[CATALOG.source_of(table)]
    load = next(t for t in load_source(con, HERE / case["case"], connector, validate=False) if t.table == table)

    assert load.status == expect["status"], load.reason
    for f in load.files:
        assert f.balanced, f
    if "files" in expect:
        got = [[f.file, f.encoding, f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_dropped, f.status] for f in load.files]
        assert got == expect["files"]
    if "error" in expect:
        assert any(expect["error"] in f.error for f in load.files), [f.error for f in load.files]
        assert expect["error"] in load.reason
    if "reason_contains" in expect:
        assert expect["reason_contains"] in load.reason
    quarantined = con.execute('SELECT line, reason FROM quarantine WHERE "table" = ?', [table]).fetchall()
    assert [list(q) for q in quarantined] == expect.get("quarantine", [])
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert (table in tables) == (load.status == "loaded")
    _record_figures(case, load)
    if "rows" in expect:
        cols = ", ".join(expect["rows"]["columns"])
        got = con.execute(f"SELECT {cols} FROM {table} ORDER BY source_file, source_line").fetchall()
        assert [[_text(v) for v in row] for row in got] == [[_text(v) for v in row] for row in expect["rows"]["values"]]


def _record_figures(case, load) -> None:
    """One JSON line per case for SECURITY.md (bench/security_figures.py); inert unless CROSSCHECK_FIGURES is set."""
    import json
    import os

    path = os.environ.get("CROSSCHECK_FIGURES")
    if not path:
        return
    files = load.files
    line = {"kind": "corpus", "name": case["case"], "outcome": load.status,
            "error": "; ".join(f.error for f in files if f.error)[:160] or load.reason[:160],
            "rows_read": sum(f.rows_read for f in files), "rows_loaded": sum(f.rows_loaded for f in files),
            "rows_quarantined": sum(f.rows_quarantined for f in files), "duplicates": sum(f.duplicates_dropped for f in files),
            "rows_lost": sum(f.rows_read - f.rows_loaded - f.rows_quarantined - f.duplicates_dropped for f in files)}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")
