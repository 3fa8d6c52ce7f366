"""三资 and procurement through the real CLI on the sample city: the seven rules of the
sanzi-procurement contract equal the ground truth (subject, severity, amount to the cent, no
person, the district: a 三资 contract's township's, procurement's 市本级) and the 待人工核实 list
(review_candidates.csv) equals the truth's."""
from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows
from test_sanzi_sample import _read

from devtools.sample import vocab as V

SANZI = {"sanzi_lease_to_cadre_relative", "sanzi_rent_not_collected", "sanzi_below_market_rent", "sanzi_no_public_trade"}
PROCUREMENT = {"bid_shared_contact", "procurement_split", "supplier_related_to_buyer_staff"}
RULES = SANZI | PROCUREMENT
DISTRICT_OF = {t: d[1] for d in V.DISTRICTS for t in d[2]}


def _key(v) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", str(v)))


@pytest.fixture(scope="module")
def sanzi_run(sample_city, crosscheck_cmd, tmp_path_factory) -> Path:
    """A --domains run of the two folders on the sample city, unmasked, its own history store."""
    root = tmp_path_factory.mktemp("sanzi")
    args = {"--extracts": sample_city, "--as-of": SAMPLE_AS_OF.isoformat(), "--out": root / "out",
            "--domains": "collective_assets,procurement", "--store": root / "store.duckdb"}
    proc = subprocess.run([*crosscheck_cmd, "run", "--no-mask", *(str(x) for kv in args.items() for x in kv)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return root / "out"


def test_the_seven_rules_equal_the_ground_truth(sanzi_run, sample_city):
    summary = json.loads((sanzi_run / "summary.json").read_text(encoding="utf-8"))
    assert {r["rule_id"]: r["status"] for r in summary["rules"]} == {r: "ok" for r in RULES}
    truth = {(r["rule_id"], r["subject"]): r for r in read_csv_rows(sample_city / "_truth" / "findings.csv") if r["rule_id"] in RULES}
    found = {(r["rule_id"], r["subject"]): r for r in read_csv_rows(sanzi_run / "findings.csv")}
    assert {r for r, _ in truth} == RULES, "the sample city plants a case for every rule"
    assert set(found) == set(truth), (sorted(set(found) - set(truth))[:5], sorted(set(truth) - set(found))[:5])
    leases = _read(sample_city, "collective_assets", "asset_contracts")
    township = {_key(no): _key(t) for no, t in zip(leases["合同编号"], leases["所属乡镇"])}
    for (rule, subject), t in truth.items():
        f = found[(rule, subject)]
        district = DISTRICT_OF[township[subject]] if rule in SANZI else "市本级"
        assert (f["severity"], f["person_id"], f["district"]) == (t["severity"], "", district), f
        if t["amount_at_risk"]:
            assert Decimal(f["amount_at_risk"]) == Decimal(t["amount_at_risk"]), (rule, subject, f["amount_at_risk"])
        else:
            assert f["amount_at_risk"] == "", (rule, subject, f["amount_at_risk"])


def test_the_review_list_equals_the_ground_truth(sanzi_run, sample_city):
    columns = ["rule_id", "subject", "name_as_delivered", "person_id", "name", "match", "would_fire"]
    truth = read_csv_rows(sample_city / "_truth" / "review_candidates.csv")
    found = read_csv_rows(sanzi_run / "review_candidates.csv")
    assert truth and list(found[0])[: len(columns)] == columns
    assert sorted(tuple(r[c] for c in columns) for r in found) == sorted(tuple(r[c] for c in columns) for r in truth)
    html = (sanzi_run / "report.html").read_text(encoding="utf-8")
    assert "待人工核实" in html and all(r["subject"] in html for r in truth)
