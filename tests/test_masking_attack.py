"""The attacker's test: a masked `crosscheck run` (the default) on the sample city, through
the installed console script, with a json:// alert receiver. Every byte it lets out (each
file of its output folder, each xlsx member, stdout, stderr, each alert payload) is
searched for every personal value of the delivery (see pii_scan)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_AS_OF, read_csv_rows
from pii_scan import delivery_needles, describe, folder_outputs, scan_outputs
from receivers import HttpReceiver

from crosscheck.catalog import load_catalog


@pytest.fixture(scope="module")
def needles(sample_city):
    return delivery_needles(sample_city, load_catalog(REPO / "connectors"))


@pytest.fixture(scope="module")
def masked_run(sample_city, tmp_path_factory, crosscheck_cmd):
    """(output folder, [(name, bytes)] of everything the run let out)."""
    root = tmp_path_factory.mktemp("attack")
    # every new finding of every severity alerted, every one of them as an example
    (root / "crosscheck.toml").write_text(
        f'[crosscheck]\nconnectors_dir = "{REPO / "connectors"}"\nrules_dir = "{REPO / "rules"}"\nreports_dir = "."\n\n'
        '[alerts]\nmin_severity = "low"\nexamples = 100000\nretries = 0\n',
        encoding="utf-8",
    )
    out = root / "out"
    receiver = HttpReceiver()
    try:
        proc = subprocess.run(
            [*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(),
             "--out", str(out), "--store", str(root / "store.duckdb"), "--project", str(root),
             "--alert", receiver.url("leak")],
            capture_output=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        receiver.close()
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert receiver.posts, "no alert was received: the scan would miss the alert payloads"
    outputs = [*folder_outputs(out), ("stdout", proc.stdout), ("stderr", proc.stderr)]
    outputs += [(f"alert {i + 1}", json.dumps(p, ensure_ascii=False).encode("utf-8")) for i, p in enumerate(receiver.posts)]
    return out, outputs


def test_needles_are_sound(needles):
    """Enough of every kind to make the scan mean something."""
    for kind in ("identity", "name", "card", "plate", "address", "phone"):
        assert needles.counts[kind] > 100 if kind not in ("plate", "phone") else needles.counts[kind] > 20, dict(needles.counts)
    assert needles.counts["document"] > 5, dict(needles.counts)   # applicants and holders with a passport


def test_nothing_personal_leaves_a_masked_run(needles, masked_run):
    out, outputs = masked_run
    rules = {r["rule_id"] for r in read_csv_rows(out / "findings.csv")}
    # the findings that carry cards, plates, a village official's name and an applicant who is a
    # person (营商环境: name and number masked, an enterprise's shown) are there to be leaked
    assert {"transit_card_used_after_death", "dibao_member_owns_car", "dibao_cadre_household_unfiled",
            "approval_overdue", "approval_repeated_return", "licence_without_application",
            "sanzi_lease_to_cadre_relative", "bid_shared_contact", "supplier_related_to_buyer_staff"} <= rules
    # the 待人工核实 list names every candidate of an undecided lease: names and numbers masked too
    assert read_csv_rows(out / "review_candidates.csv")
    business = [r for r in read_csv_rows(out / "findings.csv") if r["rule_id"] == "enterprise_over_inspected"]
    assert business and all(r["name"].endswith("有限公司") and "*" not in r["name"] for r in business)
    assert read_csv_rows(out / "quarantine.csv")
    hits = scan_outputs(needles, outputs)
    assert not hits, describe(hits)
