"""The city-scale generator (DuckDB SQL), shared views computed once, the canonical cache.

Small N only (no timing assertions): `make bench` measures the big cities."""
from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from crosscheck.config import ProjectConfig
from crosscheck.pipeline.run import RunRequest, RunSession
from devtools.sample.planted import CORE_RULES
from devtools.sample.scale import generate_scale_city

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="module")
def scale_city(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale") / "city"
    summary = generate_scale_city(out, people=20_000, seed=3, as_of=AS_OF)
    return out, summary


def _truth(city):
    with open(city / "_truth" / "findings.csv", encoding="utf-8") as fh:
        return {(r["rule_id"], r["person_id"], r["severity"], r["amount_at_risk"]) for r in csv.DictReader(fh)}


def _run(city, tmp_path, name, cache_dir, rules_dir=None):
    config = dataclasses.replace(ProjectConfig.load(), cache_dir=cache_dir)
    if rules_dir is not None:
        config = dataclasses.replace(config, rules_dir=rules_dir)
    session = RunSession(RunRequest(extracts=city, as_of=AS_OF, out=tmp_path / name, rules=CORE_RULES, record=False), config)
    result = session.execute()
    found = {
        (f["rule_id"], f["person_id"], f["severity"], "" if f["amount_at_risk"] is None else f"{f['amount_at_risk']:.2f}")
        for f in result.findings.to_pylist()
    }
    return session, result, found


def _entries(cache: Path) -> list[Path]:
    """The delivery entries of a cache folder, whole or partial: every folder but the files'
    parts and the rules' kept findings (crosscheck.cache.layout)."""
    return [p for p in cache.iterdir() if p.is_dir() and p.name not in ("parts", "findings")]


def test_layout_headers_and_truth_files(scale_city):
    city, summary = scale_city
    for rel in ["household_registry/residents.csv", "social_security/pensioners.csv", "social_security/pension_payments.csv",
                "hospital/inpatient.csv", "hospital/outpatient.csv", "transit_card/cards.csv",
                "transit_card/annual_reviews.csv", "transit_card/taps_recent.csv"]:
        assert (city / rel).is_file(), rel
    assert list((city / "transit_card").glob("taps_*.parquet"))
    header = (city / "household_registry" / "residents.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("公民身份号码,姓名,性别,出生日期")
    meta = json.loads((city / "_truth" / "sample.json").read_text(encoding="utf-8"))
    assert meta["generator"] == "scale" and all(meta["findings_per_rule"][r] > 0 for r in CORE_RULES)
    assert summary["quarantined_rows"] > 0


def test_same_seed_same_content_whatever_the_memory_limit(scale_city, tmp_path, crosscheck_cmd):
    """`crosscheck sample --scale --memory-limit 256MB` (DuckDB spills beyond it) writes the same bytes."""
    city, _ = scale_city
    again = tmp_path / "again"
    proc = subprocess.run([*crosscheck_cmd, "sample", "--out", str(again), "--people", "20000", "--seed", "3",
                           "--as-of", AS_OF.isoformat(), "--scale", "--memory-limit", "256MB"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for rel in ["_truth/findings.csv", "_truth/files.csv", "household_registry/residents.csv", "social_security/pensioners.csv",
                "social_security/pension_payments.csv", "transit_card/taps_recent.csv"]:
        assert (again / rel).read_bytes() == (city / rel).read_bytes(), rel


def test_memory_sizes_are_checked_before_anything_is_written(tmp_path, crosscheck_cmd):
    out = tmp_path / "city"
    proc = subprocess.run([*crosscheck_cmd, "sample", "--out", str(out), "--people", "20000", "--scale", "--memory-limit", "lots"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--memory-limit 'lots': not a memory size" in proc.stderr, proc.stderr
    assert not out.exists()
    (tmp_path / "crosscheck.toml").write_text('[crosscheck]\nduckdb_memory_limit = "4 gigs"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"crosscheck.toml: duckdb_memory_limit '4 gigs': not a memory size"):
        ProjectConfig.load(tmp_path)
    (tmp_path / "crosscheck.toml").write_text('[crosscheck]\nduckdb_memory_limit = "512MB"\n', encoding="utf-8")
    assert ProjectConfig.load(tmp_path).duckdb_memory_limit == "512MB"


def test_findings_equal_truth_then_cached_run_reuses_the_load(scale_city, tmp_path):
    city, _ = scale_city
    cache = tmp_path / "cache"
    first, result, found = _run(city, tmp_path, "r1", cache)
    assert found == _truth(city)
    # shared views were computed once, into temp tables, and reused by the rules
    assert {key[0] for key in first.workspace.shared_views} >= {"person_death", "person_profile"}
    # accounting equals the generator's ledger
    with open(city / "_truth" / "files.csv", encoding="utf-8") as fh:
        ledger = {r["file"]: r for r in csv.DictReader(fh)}
    for f in result.files:
        assert f.rows_read == int(ledger[f.file]["rows"]), f.file
        assert f.rows_quarantined == int(ledger[f.file]["invalid_rows"]), f.file
        assert f.duplicates_dropped == int(ledger[f.file]["duplicate_rows"]), f.file
    entries = _entries(cache)
    assert len(entries) == 1 and (entries[0] / "canonical.duckdb").is_file()

    second, result2, found2 = _run(city, tmp_path, "r2", cache)
    assert second.cache_used
    assert found2 == found
    assert [(f.file, f.rows_loaded, f.sha256) for f in result2.files] == [(f.file, f.rows_loaded, f.sha256) for f in result.files]
    assert result2.quarantine.num_rows == result.quarantine.num_rows > 0


def test_shared_views_are_kept_with_the_delivery_and_recomputed_once_edited(scale_city, tmp_path):
    """The first run keeps the shared views it computed in the cache entry (private files);
    the next run on the same delivery reads them instead of computing them, with the same
    findings; a run with an edited view computes (and keeps) that view afresh."""
    import shutil
    import stat

    city, _ = scale_city
    cache = tmp_path / "cache"
    first, _, found = _run(city, tmp_path, "r1", cache)
    entry = first.cache.dir
    kept = {p.name.rsplit("-", 1)[0]: p for p in (entry / "views").glob("*.duckdb")}
    assert set(kept) >= {"person_death", "person_profile"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept.values())
    assert not [p for p in (entry / "views").iterdir() if p.name.startswith(".")]  # no half-written view

    second, _, found2 = _run(city, tmp_path, "r2", cache)
    read = {view: table for (view, _), table in second.workspace.shared_views.items()}
    assert read["person_profile"].startswith("__cc_v_") and read["person_death"].startswith("__cc_v_")
    assert found2 == found == _truth(city)

    rules = tmp_path / "rules"
    shutil.copytree(ProjectConfig.load().rules_dir, rules)
    view = rules / "_views" / "person_profile.yaml"
    view.write_text(view.read_text(encoding="utf-8").replace("2 AS priority FROM residents", "3 AS priority FROM residents"),
                    encoding="utf-8")
    third, _, found3 = _run(city, tmp_path, "r3", cache, rules_dir=rules)
    read = {view: table for (view, _), table in third.workspace.shared_views.items()}
    assert not read["person_profile"].startswith("__cc_v_") and read["person_death"].startswith("__cc_v_")
    assert found3 == found
    assert len(list((entry / "views").glob("person_profile-*.duckdb"))) == 2


def test_a_changed_file_misses_the_cache(scale_city, tmp_path):
    city, _ = scale_city
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(city, copy)
    cache = tmp_path / "cache"
    _run(copy, tmp_path, "r1", cache)
    with open(copy / "transit_card" / "cards.csv", "a", encoding="utf-8") as fh:
        fh.write("312000000000999,敬老卡,110101194001011234,王建国,2020-01-01,正常\n")
    again, _, _ = _run(copy, tmp_path, "r2", cache)
    assert not again.cache_used
    assert len(_entries(cache)) == 2


def test_a_run_with_a_failed_table_keeps_no_cache_and_no_partial_load(scale_city, tmp_path):
    import shutil

    city, _ = scale_city
    copy = tmp_path / "broken"
    shutil.copytree(city, copy)
    (copy / "hospital" / "inpatient.csv").write_bytes(b"")  # a table that fails
    cache = tmp_path / "cache"
    session, result, _ = _run(copy, tmp_path, "r1", cache)
    assert any(t.status == "failed" for t in result.loads)
    assert not session.cache.complete
    # the load database lived in the cache folder only while the run did
    # no entry and no partial load folder: only the parts of the files that parsed, kept for the next run
    assert _entries(cache) == []


def test_a_new_delivery_is_hashed_once_and_cached_under_the_key_of_its_hashes(scale_city, tmp_path):
    from crosscheck.cache.canonical import CanonicalCache, delivery_key
    from crosscheck.cache.layout import CacheLayout
    from crosscheck.catalog import load_catalog
    from crosscheck.cache.canonical import file_sha256
    from crosscheck.connectors.fallbacks import signature_of
    from crosscheck.connectors.inventory import take_inventory

    city, _ = scale_city
    cache = tmp_path / "cache"
    session, result, _ = _run(city, tmp_path, "r1", cache)
    catalog = load_catalog(ProjectConfig.load().connectors_dir)
    files = [f.path for f in take_inventory(city, catalog).read]
    expected = delivery_key(city, catalog, {p: file_sha256(p) for p in files}, signature_of(catalog))
    assert session.cache.key == expected
    assert (cache / expected / "canonical.duckdb").is_file()
    # recorded hashes are the files' SHA-256, and the next run finds the entry from them alone
    assert {f.file: f.sha256 for f in result.files} == {p.relative_to(city).as_posix(): file_sha256(p) for p in files}
    again = CanonicalCache.of_delivery(city, catalog, CacheLayout(cache), files, stand_ins=signature_of(catalog))
    assert again.key == expected and again.complete


def test_abandoned_partial_loads_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from crosscheck.cache.canonical import CanonicalCache
    from crosscheck.cache.layout import CacheLayout

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    cache = tmp_path / "cache"
    abandoned = cache / f"pending.partial-{gone.pid}-0000"
    abandoned.mkdir(parents=True)
    (abandoned / "canonical.duckdb").write_bytes(b"half written")
    live = cache / f"pending.partial-{os.getpid()}-0001"
    live.mkdir()
    load = CanonicalCache(CacheLayout(cache), None).new_load()
    assert not abandoned.exists() and live.exists()
    assert load.folder.parent == cache and load.folder.name.startswith("pending.partial-")
