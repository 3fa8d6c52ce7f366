"""Record-linkage evaluation of the fuzzy_join step (`crosscheck eval-linkage`).

The FEBRL benchmark files (see ``../shared/data/febrl/README.md``) are loaded
into DuckDB tables ``febrl4a``, ``febrl4b`` and ``febrl3`` (text columns,
blanks as NULL), the rules in ``devtools/linkage/febrl/*.yaml`` (not
production rules: they live outside ``rules/`` and read their own catalog)
are run through the normal compiler and runner, and the pairs found are
compared with the truth carried by ``rec_id`` (``rec-N-org`` / ``rec-N-dup-K``
are one person).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent / "febrl"
COLUMNS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
           "state", "date_of_birth", "soc_sec_id"]
#: dataset -> (rule id, {table: file})
DATASETS: dict[str, tuple[str, dict[str, str]]] = {
    "febrl4": ("febrl4_link", {"febrl4a": "dataset4a.csv", "febrl4b": "dataset4b.csv"}),
    "febrl3": ("febrl3_dedup", {"febrl3": "dataset3.csv"}),
}
AS_OF = date(2024, 1, 1)  # the rules do not use it; the runner always binds one


def default_data_dir() -> Path:
    """$CROSSCHECK_FEBRL_DIR, else ../shared/data/febrl beside the repository (or the working folder)."""
    env = os.environ.get("CROSSCHECK_FEBRL_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    for base in (repo, Path.cwd()):
        cand = base.parent / "shared" / "data" / "febrl"
        if cand.is_dir():
            return cand
    return repo.parent / "shared" / "data" / "febrl"


def catalog():
    """A catalog of the three FEBRL tables (text columns), for these rules only."""
    from crosscheck.catalog import Catalog

    cols = [{"name": c, "header": c, "type": "text", "nullable": c != "rec_id"} for c in COLUMNS]
    tables = {t: {"title": {"zh": t, "en": t}, "files": [f], "key": ["rec_id"], "columns": cols}
              for _, files in DATASETS.values() for t, f in files.items()}
    spec = {"source": "febrl", "title": {"zh": "FEBRL 基准数据", "en": "FEBRL benchmark"}, "folder": "febrl", "tables": tables}
    return Catalog.model_validate({"connectors": {"febrl": spec}})


def load_ruleset():
    from crosscheck.rules import load_ruleset as load

    return load(RULES_DIR, catalog())


def load_tables(con, data_dir: Path, dataset: str, limit_entities: int | None = None) -> dict[str, int]:
    """Create the dataset's tables on `con`; with `limit_entities`, keep only the first N persons (by number)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rows = {}
    for table, file in DATASETS[dataset][1].items():
        path = Path(data_dir) / file
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (set --data-dir or CROSSCHECK_FEBRL_DIR)")
        # read here (the rule connection has no file access), blanks and padding removed
        raw = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(COLUMNS))], skip_rows=1),
                             convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(len(COLUMNS))}))
        con.register("febrl_raw", raw)
        select = ", ".join(f"nullif(trim(c{i}), '') AS {c}" for i, c in enumerate(COLUMNS))
        where = ""
        if limit_entities:
            where = f" WHERE CAST(regexp_extract(trim(c0), 'rec-([0-9]+)', 1) AS INTEGER) < {int(limit_entities)}"
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {select}, '{file}' AS source_file, "
            f"CAST(row_number() OVER () + 1 AS BIGINT) AS source_line FROM febrl_raw{where}"
        )
        con.unregister("febrl_raw")
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return rows


def _entity(rec_id: str) -> str:
    m = re.match(r"rec-(\d+)-", rec_id)
    return m.group(1) if m else rec_id


def true_pairs(con, dataset: str) -> set[tuple[str, str]]:
    tables = list(DATASETS[dataset][1])
    if dataset == "febrl4":
        a = {_entity(r): r for (r,) in con.execute(f"SELECT rec_id FROM {tables[0]}").fetchall()}
        b = {_entity(r): r for (r,) in con.execute(f"SELECT rec_id FROM {tables[1]}").fetchall()}
        return {(a[e], b[e]) for e in a.keys() & b.keys()}
    groups: dict[str, list[str]] = {}
    for (r,) in con.execute(f"SELECT rec_id FROM {tables[0]}").fetchall():
        groups.setdefault(_entity(r), []).append(r)
    return {tuple(sorted(p)) for ids in groups.values() for p in combinations(ids, 2)}


@dataclass
class LinkageResult:
    dataset: str
    records: dict[str, int]
    candidate_pairs: int          # distinct pairs the blocking passes produce (all scored)
    blocking: str                 # the guard's per-pass counts
    found: int
    true_positives: int
    truth: int
    seconds: float

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def pairs_per_second(self) -> float:
        return self.candidate_pairs / self.seconds if self.seconds else 0.0


def evaluate(dataset: str, data_dir: Path | None = None, *, overrides: dict[str, Any] | None = None,
             limit_entities: int | None = None) -> LinkageResult:
    """Run the dataset's rule and compare the pairs it finds with the truth."""
    import json

    from crosscheck.rules.fuzzy import union_count_sql
    from crosscheck.rules.runner import candidate_pairs
    from crosscheck.rules.runner import run_rule
    from crosscheck.rules.testing import connect

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset '{dataset}' (known: {', '.join(DATASETS)})")
    rule_id, files = DATASETS[dataset]
    rule = load_ruleset()[rule_id]
    con = connect()
    try:
        records = load_tables(con, data_dir or default_data_dir(), dataset, limit_entities)
        counts = candidate_pairs(con, rule, as_of=AS_OF, overrides=overrides)
        step = next(st for st in rule.spec.steps if st.fuzzy_join is not None)
        scored = con.execute(union_count_sql(step.fuzzy_join)).fetchall()[0][0]
        started = time.perf_counter()
        outcome, table = run_rule(con, rule, available={t: None for t in files}, as_of=AS_OF, overrides=overrides)
        seconds = time.perf_counter() - started
        if outcome.status != "ok":
            raise RuntimeError(f"rule {rule_id} {outcome.status}: {outcome.reason}")
        found = set()
        for ev in table.column("evidence_json").to_pylist():
            e = json.loads(ev)
            pair = (e["left_rec_id"], e["right_rec_id"])
            found.add(tuple(sorted(pair)) if dataset == "febrl3" else pair)
        truth = true_pairs(con, dataset)
    finally:
        con.close()
    return LinkageResult(dataset, records, scored, "; ".join(c.describe() for c in counts),
                         len(found), len(found & truth), len(truth), seconds)


def render(result: LinkageResult) -> list[str]:
    """The command's output lines; the last reads `precision=P recall=R f1=F`."""
    r = result
    recs = ", ".join(f"{t} {n:,}" for t, n in r.records.items())
    return [
        f"dataset {r.dataset}: {recs} records",
        f"{r.blocking}",
        f"candidate pairs scored {r.candidate_pairs:,} in {r.seconds:.2f} s ({r.pairs_per_second:,.0f} pairs/s, rule run incl. findings)",
        f"pairs found {r.found:,}, true {r.true_positives:,}, false {r.found - r.true_positives:,}, missed {r.truth - r.true_positives:,} of {r.truth:,}",
        f"precision={r.precision:.4f} recall={r.recall:.4f} f1={r.f1:.4f}",
    ]
