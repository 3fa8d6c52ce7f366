"""营商环境 and 公车管理 through the real CLI on the sample city: the seven rules equal the ground
truth, `--domains` runs them alone (a subset run: the history is read, never changed), the
calendar comes from the delivery or, without one, from chinese-calendar (partial), and the
catalog and the report are grouped by domain."""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SAMPLE_AS_OF, read_csv_rows

RULES = {"approval_overdue", "approval_repeated_return", "licence_without_application", "enterprise_over_inspected",
         "subsidy_to_closed_enterprise", "vehicle_off_duty_unapproved", "fuel_without_trip"}
CALENDAR_RULES = {"approval_overdue", "vehicle_off_duty_unapproved"}


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def domains_run(sample_city, crosscheck_cmd, tmp_path_factory):
    import subprocess

    root = tmp_path_factory.mktemp("domains")
    out = root / "out"
    proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(),
                           "--out", str(out), "--no-mask", "--domains", "营商环境,official_vehicles",
                           "--store", str(root / "store.duckdb")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out, root / "store.duckdb"


def test_the_seven_rules_equal_the_ground_truth(domains_run, sample_city):
    out, _ = domains_run
    s = _summary(out)
    assert {r["rule_id"]: r["status"] for r in s["rules"]} == {r: "ok" for r in RULES}
    truth = {(r["rule_id"], r["subject"]): r for r in read_csv_rows(sample_city / "_truth" / "findings.csv") if r["rule_id"] in RULES}
    found = {(r["rule_id"], r["subject"]): r for r in read_csv_rows(out / "findings.csv")}
    assert {r for r, _ in truth} == RULES, "the sample city plants a case for every rule"
    assert set(found) == set(truth), (sorted(set(found) - set(truth))[:5], sorted(set(truth) - set(found))[:5])
    for key, t in truth.items():
        f = found[key]
        assert f["severity"] == t["severity"] and f["person_id"] == "" and f["district"] == "市本级", f
        assert Decimal(f["amount_at_risk"] or "0") == Decimal(t["amount_at_risk"] or "0"), (key, f["amount_at_risk"])
    assert any(len(subject) == 20 and subject.isdigit() for rule, subject in found if rule == "approval_overdue")


def test_a_domains_run_is_a_subset_and_changes_nothing_in_the_history(domains_run, crosscheck_cmd):
    import subprocess

    out, store = domains_run
    s = _summary(out)
    assert s["scope"] == "subset" and s["request"]["domains"] == ["营商环境", "official_vehicles"]
    key = read_csv_rows(out / "findings.csv")[0]["finding_key"]
    shown = subprocess.run([*crosscheck_cmd, "review", "show", key, "--store", str(store)], capture_output=True, text=True)
    assert shown.returncode != 0 and "unknown finding key" in shown.stderr


def test_the_report_and_the_catalog_are_grouped_by_domain(domains_run):
    from crosscheck.cli.rules import rules_app

    out, _ = domains_run
    html = (out / "report.html").read_text(encoding="utf-8")
    nav = html[html.index('<nav class="sidebar"'):html.index("</nav>")]
    business, vehicles = nav.index('href="#domain-business_environment" class="nav-domain"'), nav.index(
        'href="#domain-official_vehicles" class="nav-domain"')
    assert business < nav.index("超承诺时限办结") < vehicles < nav.index("无出车记录加油")
    assert "营商环境" in nav[business:business + 200] and "公车管理" in nav[vehicles:vehicles + 200]
    listed = CliRunner().invoke(rules_app, ["list"]).stdout
    lines = listed.splitlines()
    head = lines.index("营商环境 (business_environment/, 5 rules)")
    assert {line.split()[0] for line in lines[head + 1:head + 6]} == RULES - {"vehicle_off_duty_unapproved", "fuel_without_trip"}
    assert "公车管理 (official_vehicles/, 2 rules)" in lines


@pytest.mark.parametrize(("args", "message"), [
    (["--domains", "营商"], "unknown domain(s): 营商 (domains: "),
    (["--domains", "公车管理", "--rules", "fuel_without_trip"], "give --rules or --domains, not both"),
])
def test_domains_that_do_not_exist_or_with_rules_are_refused(sample_city, cli, tmp_path, args, message):
    proc = cli("run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(tmp_path / "o"), *args, ok=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_without_a_calendar_the_official_holidays_stand_in_and_say_so(sample_city, cli, tmp_path):
    city = tmp_path / "city"
    shutil.copytree(sample_city, city, ignore=shutil.ignore_patterns("calendar"))
    out = tmp_path / "out"
    cli("run", "--extracts", str(city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(out), "--domains", "公车管理,营商环境")
    rules = {r["rule_id"]: r for r in _summary(out)["rules"]}
    for rule_id in CALENDAR_RULES:
        assert rules[rule_id]["status"] == "partial", rules[rule_id]
        assert "chinese-calendar" in rules[rule_id]["reason"] and "calendar not delivered" in rules[rule_id]["reason"]
    assert {r for r, o in rules.items() if o["status"] == "ok"} == RULES - CALENDAR_RULES
    loads = {t["table"]: t for t in _summary(out)["loads"]}
    assert loads["workdays"]["status"] == "loaded" and loads["workdays"]["stand_in_years"][0] <= SAMPLE_AS_OF.year
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "代替未交付的工作日历" in html
