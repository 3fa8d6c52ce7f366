"""Reference figures for BENCHMARKS.md: the recordlinkage tutorial approach and Splink on FEBRL.

NOT part of crosscheck (no import of crosscheck; nothing in the project depends on
these packages). recordlinkage pins pandas<3, so run it in a separate venv:

    python3 -m venv /tmp/linkage-venv
    /tmp/linkage-venv/bin/pip install recordlinkage splink
    /tmp/linkage-venv/bin/python bench/linkage/compare_tools.py [--data-dir ../shared/data/febrl]

Prints one line per (tool, dataset): precision, recall, F1, candidate pairs, seconds.
Truth: records sharing the number in rec_id are one person (see the data README).
"""
from __future__ import annotations

import argparse
import re
import time
from itertools import combinations
from pathlib import Path

import pandas as pd

COLS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
        "date_of_birth", "soc_sec_id"]


def load(data_dir: Path, name: str) -> pd.DataFrame:
    df = pd.read_csv(data_dir / name, dtype=str, skipinitialspace=True, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()).replace("", None)
    return df.set_index("rec_id", drop=False)


def entity(rec_id: str) -> str:
    return re.match(r"rec-(\d+)-", rec_id).group(1)


def truth_link(a: pd.DataFrame, b: pd.DataFrame) -> set:
    bm = {entity(r): r for r in b.rec_id}
    return {(r, bm[entity(r)]) for r in a.rec_id if entity(r) in bm}


def truth_dedup(df: pd.DataFrame) -> set:
    groups: dict[str, list] = {}
    for r in df.rec_id:
        groups.setdefault(entity(r), []).append(r)
    return {tuple(sorted(p)) for ids in groups.values() for p in combinations(ids, 2)}


def report(tool: str, dataset: str, found: set, truth: set, pairs: int, seconds: float) -> None:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{tool:<44} {dataset:<7} precision={p:.4f} recall={r:.4f} f1={f1:.4f} pairs={pairs:,} seconds={seconds:.2f}", flush=True)


# ------------------------------------------------------------ recordlinkage


def rl_features(candidates, a, b=None):
    import recordlinkage

    c = recordlinkage.Compare()
    c.exact("given_name", "given_name", label="given_name")
    c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    c.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    c.exact("suburb", "suburb", label="suburb")
    c.exact("state", "state", label="state")
    c.string("address_1", "address_1", threshold=0.85, label="address_1")
    return c.compute(candidates, a) if b is None else c.compute(candidates, a, b)


def recordlinkage_runs(a, b, d3):
    import recordlinkage

    # 1. the "Link two datasets" tutorial as written: block on given_name, sum of 6 agreements > 3
    t = time.perf_counter()
    idx = recordlinkage.Index()
    idx.block("given_name")
    cand = idx.index(a, b)
    feats = rl_features(cand, a, b)
    found = set(feats[feats.sum(axis=1) > 3].index.tolist())
    report("recordlinkage tutorial (block given_name, sum>3)", "febrl4", found, truth_link(a, b), len(cand), time.perf_counter() - t)

    # 2. the tutorial's comparisons and classifier with crosscheck's six blocking passes
    t = time.perf_counter()
    idx = recordlinkage.Index()
    for keys in (["soc_sec_id"], ["date_of_birth"], ["given_name", "surname"], ["postcode", "given_name"], ["postcode", "surname"], ["suburb", "surname"]):
        idx.block(keys)
    cand = idx.index(a, b)
    feats = rl_features(cand, a, b)
    found = set(feats[feats.sum(axis=1) > 3].index.tolist())
    report("recordlinkage (6 blocking passes, sum>3)", "febrl4", found, truth_link(a, b), len(cand), time.perf_counter() - t)

    # 3. same candidates, unsupervised ECM classifier (the tutorial's classification page)
    t = time.perf_counter()
    ecm = recordlinkage.ECMClassifier(binarize=0.5)
    found = set(ecm.fit_predict(feats).tolist())
    report("recordlinkage (6 blocking passes, ECM)", "febrl4", found, truth_link(a, b), len(cand), time.perf_counter() - t)

    # 4. deduplication tutorial on dataset 3: block on given_name, sum>3
    t = time.perf_counter()
    idx = recordlinkage.Index()
    idx.block("given_name")
    cand = idx.index(d3)
    feats = rl_features(cand, d3)
    found = {tuple(sorted(p)) for p in feats[feats.sum(axis=1) > 3].index.tolist()}
    report("recordlinkage tutorial (block given_name, sum>3)", "febrl3", found, truth_dedup(d3), len(cand), time.perf_counter() - t)

    t = time.perf_counter()
    idx = recordlinkage.Index()
    for keys in (["soc_sec_id"], ["date_of_birth"], ["given_name", "surname"], ["postcode", "given_name"], ["postcode", "surname"], ["suburb", "surname"]):
        idx.block(keys)
    cand = idx.index(d3)
    feats = rl_features(cand, d3)
    found = {tuple(sorted(p)) for p in feats[feats.sum(axis=1) > 3].index.tolist()}
    report("recordlinkage (6 blocking passes, sum>3)", "febrl3", found, truth_dedup(d3), len(cand), time.perf_counter() - t)


# ------------------------------------------------------------ splink


def splink_settings(link_type: str):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"), block_on("date_of_birth"), block_on("given_name", "surname"),
            block_on("postcode", "given_name"), block_on("postcode", "surname"), block_on("suburb", "surname"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("state"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def splink_run(frames, link_type: str, dataset: str, truth: set, threshold: float = 0.9) -> None:
    from splink import Linker, block_on
    from splink.backends.duckdb import DuckDBAPI

    t = time.perf_counter()
    db_api = DuckDBAPI()  # Splink 5: inputs are registered SplinkDataFrames
    sdfs = [db_api.register(f.reset_index(drop=True), table_name=f"febrl_{i}") for i, f in enumerate(frames)]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], splink_settings(link_type))
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    pred = linker.inference.predict(threshold_match_probability=0.0).as_pandas_dataframe()
    seconds = time.perf_counter() - t
    pairs = len(pred)
    kept = pred[pred.match_probability >= threshold]
    if link_type == "link_only":
        a_ids = set(frames[0].rec_id)
        found = {(l, r) if l in a_ids else (r, l) for l, r in zip(kept.rec_id_l, kept.rec_id_r)}
    else:
        found = {tuple(sorted(p)) for p in zip(kept.rec_id_l, kept.rec_id_r)}
    report(f"splink (EM, 6 blocking rules, p>={threshold})", dataset, found, truth, pairs, seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data" / "febrl")
    ap.add_argument("--only", choices=["recordlinkage", "splink"], default=None)
    args = ap.parse_args()
    a, b, d3 = load(args.data_dir, "dataset4a.csv"), load(args.data_dir, "dataset4b.csv"), load(args.data_dir, "dataset3.csv")
    if args.only in (None, "recordlinkage"):
        recordlinkage_runs(a, b, d3)
    if args.only in (None, "splink"):
        splink_run([a, b], "link_only", "febrl4", truth_link(a, b))
        splink_run([d3], "dedupe_only", "febrl3", truth_dedup(d3))


if __name__ == "__main__":
    main()
