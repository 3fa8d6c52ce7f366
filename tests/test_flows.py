"""The Prefect flows on a real (temporary) Prefect API: same findings as the CLI,
failing sources retried and reported, deployments with their cron schedule."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows

prefect = pytest.importorskip("prefect")
from prefect.testing.utilities import prefect_test_harness  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    with prefect_test_harness(server_startup_timeout=90):
        yield


def _pairs(folder):
    return {(r["rule_id"], r["person_id"], r["amount_at_risk"]) for r in read_csv_rows(folder / "findings.csv")}


def test_nightly_flow_matches_cli(sample_city, crosscheck_cmd, tmp_path):
    from flows.nightly import nightly

    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    (deliveries / sample_city.name).symlink_to(sample_city, target_is_directory=True)
    (deliveries / "2020-01-01").mkdir()  # an older delivery, never picked
    flow_out = tmp_path / "flow"
    report = nightly(deliveries=str(deliveries), out=str(flow_out), mask=False, force=True)
    assert report == str(flow_out / "report.html")

    cli_out = tmp_path / "cli"
    proc = subprocess.run(
        [*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(), "--out", str(cli_out), "--no-mask"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert _pairs(flow_out) == _pairs(cli_out)
    assert _pairs(flow_out)


def test_failing_source_is_retried_then_reported(sample_city, tmp_path):
    """A source whose folder cannot be read fails after retries; the other rules complete.
    The error quotes the delivery's path, which here holds an identity number (a case
    folder named after the person): Prefect's logs and task states get it masked."""
    import json
    import re

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    from flows.adhoc import adhoc

    person = "420202195001011234"
    delivery = tmp_path / f"个案_{person}" / "2026-11-01"
    shutil.copytree(sample_city, delivery, ignore=shutil.ignore_patterns("hospital"))
    (delivery / "hospital").write_text("not a folder")  # listing it raises every time
    out = tmp_path / "out"
    state = adhoc(extracts=str(delivery), as_of=SAMPLE_AS_OF.isoformat(), out=str(out), return_state=True)
    assert state.is_completed()

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    hospital = [t for t in summary["loads"] if t["source"] == "hospital"]
    assert hospital and all(t["status"] == "failed" for t in hospital)
    assert all("after 3 tries" in t["reason"] for t in hospital)
    rules = {r["rule_id"]: r for r in summary["rules"]}
    assert rules["medical_visit_after_death"]["status"] == "skipped"
    assert "hospital" in rules["medical_visit_after_death"]["reason"]
    assert rules["pension_duplicate_schemes"]["status"] == "ok"

    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    names = {t.name.rsplit("-", 1)[0] for t in task_runs}  # Prefect adds "-<suffix>" to each task run
    assert {"load-inpatient", "load-outpatient", "load-pension_payments", "rule-medical_visit_after_death",
            "rule-pension_duplicate_schemes", "write-reports", "send-alerts"} <= names, names
    hospital = [t for t in summary["loads"] if t["source"] == "hospital"]
    assert all("after 3 tries" in t["reason"] for t in hospital)  # one folder, tried three times, for all its tables
    retries = [log.message for log in logs if "trying again" in log.message and log.message.startswith("inpatient:")]
    assert len(retries) == 2, [log.message for log in logs]  # the pipeline's retries of the folder, in the flow run's log
    assert "420202********1234" in retries[0], retries[0]
    for text in [*(log.message for log in logs), *(t.state.message or "" for t in task_runs)]:
        assert person not in text and not re.search(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", text), text


def test_adhoc_rejects_bad_parameters(sample_city):
    from crosscheck.pipeline.run import RunError
    from flows.adhoc import adhoc

    with pytest.raises(RunError, match="as_of '2026-13-01'"):
        adhoc(extracts=str(sample_city), as_of="2026-13-01")
    with pytest.raises(ValueError, match="no_such_rule"):
        adhoc(extracts=str(sample_city), as_of="2026-11-01", rules=["no_such_rule"])


def test_serve_registers_nightly_cron():
    from prefect.client.orchestration import get_client

    from flows.serve import build_deployments

    for deployment in build_deployments():
        deployment.apply()
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("crosscheck-nightly/nightly")
        adhoc = client.read_deployment_by_name("crosscheck-adhoc/adhoc")
    crons = [s.schedule.cron for s in nightly.schedules]
    assert crons == ["0 2 * * *"]
    assert nightly.schedules[0].schedule.timezone == "Asia/Shanghai"
    assert adhoc.schedules == []


def test_processed_delivery_is_skipped_unless_forced(sample_city, tmp_path, monkeypatch):
    from crosscheck.store import Store
    from flows.nightly import nightly

    store = tmp_path / "store.duckdb"
    monkeypatch.setenv("CROSSCHECK_STORE", str(store))
    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    shutil.copytree(sample_city, deliveries / sample_city.name)
    first = nightly(deliveries=str(deliveries), out=str(tmp_path / "first"))
    again = nightly(deliveries=str(deliveries), out=str(tmp_path / "again"))
    assert again == first
    assert not (tmp_path / "again").exists()
    with Store.open(store, read_only=True) as s:
        assert len(s.runs()) == 1

    # A changed file makes it a different delivery.
    payments = sorted((deliveries / sample_city.name / "social_security").glob("pension_payments*.csv"))[-1]
    payments.write_bytes(payments.read_bytes() + b"\n")
    changed = nightly(deliveries=str(deliveries), out=str(tmp_path / "changed"))
    forced = nightly(deliveries=str(deliveries), out=str(tmp_path / "forced"), force=True)
    assert changed == str(tmp_path / "changed" / "report.html")
    assert forced == str(tmp_path / "forced" / "report.html")
    with Store.open(store, read_only=True) as s:
        assert len(s.runs()) == 3


def test_readme_adhoc_example_runs_as_written(sample_city, tmp_path):
    """The README's `prefect deployment run` example names the demo's delivery, rules that
    exist, a district of the sample city and `--watch`; its parameters run the ad-hoc flow
    (here on the test's copy of the same generated city)."""
    import json
    import re
    import shlex

    from conftest import REPO
    from flows.adhoc import adhoc

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(PREFECT_API_URL=\S+ \.venv/bin/prefect deployment run 'crosscheck-adhoc/adhoc'.*?)```", readme, re.S)
    assert block, "README: the ad-hoc example is missing"
    words = shlex.split(block.group(1).replace("$PWD", str(REPO)).replace("\\\n", " "))
    assert "--watch" in words
    params = {}
    for i, w in enumerate(words):
        if w == "--param":
            key, _, value = words[i + 1].partition("=")
            params[key] = json.loads(value)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    delivery = re.search(r"^SAMPLE_AS_OF \?= (\S+)", makefile, re.M).group(1)
    assert params["extracts"] == str(REPO / "sample_data" / "deliveries" / delivery)  # where `make demo` writes it
    assert params["as_of"] == delivery == sample_city.name
    params["extracts"] = str(sample_city)
    report = adhoc(**params, out=str(tmp_path / "out"))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert report.endswith("report.html") and [r["rule_id"] for r in summary["rules"]] == params["rules"]
    assert summary["totals"]["findings"] > 0 and summary["request"]["districts"] == params["districts"]
    # the flow's artifact counts what the report lists (one district: the others are not counted as findings)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["crosscheck-run"])))
    markdown = next(a.data for a in artifacts if summary["run_id"] in (a.data or ""))
    total = re.search(r"^\| \*\*total\*\* \| \| \*\*([\d,]+)\*\*", markdown, re.M)
    assert total and int(total.group(1).replace(",", "")) == summary["totals"]["findings"], markdown
    assert summary["totals"]["outside_districts"] > 0
    assert f"{summary['totals']['outside_districts']:,} finding(s) outside the districts" in markdown


def test_python_m_flows_nightly_prints_only_the_report_then_skips_with_a_warning(sample_city, tmp_path):
    """`python -m flows.nightly` as `make demo` runs it: no library INFO lines; run again on the
    same delivery it skips, at WARNING, naming the complete run that processed it."""
    import os
    import sys

    from conftest import REPO

    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    (deliveries / sample_city.name).symlink_to(sample_city, target_is_directory=True)
    env = {**os.environ, "CROSSCHECK_STORE": str(tmp_path / "store.duckdb")}
    env.pop("PREFECT_API_URL", None)

    def nightly(out):
        return subprocess.run([sys.executable, "-m", "flows.nightly", "--deliveries", str(deliveries), "--out", str(out)],
                              cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600)

    first = nightly(tmp_path / "first")
    assert first.returncode == 0, first.stderr
    lines = [line for line in (first.stdout + first.stderr).splitlines() if line.strip()]
    assert lines == [f"report: {tmp_path / 'first' / 'report.html'}"], lines
    run_id = json.loads((tmp_path / "first" / "summary.json").read_text(encoding="utf-8"))["run_id"]
    second = nightly(tmp_path / "second")
    assert second.returncode == 0, second.stderr
    assert "WARNING" in second.stderr and run_id in second.stderr and "already processed" in second.stderr
    assert f"nothing was written to {tmp_path / 'second'}" in second.stderr
    assert not (tmp_path / "second").exists()
    assert second.stdout.strip() == f"report: {tmp_path / 'first' / 'report.html'}"


def test_adhoc_flow_lets_out_nothing_personal(sample_city, tmp_path, monkeypatch):
    """The attacker's test (tests/test_masking_attack.py) on the ad-hoc flow: its output folder,
    its alert payloads, and what the Prefect API keeps of it (artifacts, logs, task states)."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId,
                                                LogFilter, LogFilterFlowRunId)
    from receivers import HttpReceiver

    from conftest import REPO
    from crosscheck.catalog import load_catalog
    from flows.adhoc import adhoc
    from pii_scan import delivery_needles, describe, folder_outputs, scan_outputs

    monkeypatch.setenv("CROSSCHECK_STORE", str(tmp_path / "store.duckdb"))  # every finding new: alerted
    receiver = HttpReceiver()
    try:
        state = adhoc(extracts=str(sample_city), as_of=SAMPLE_AS_OF.isoformat(), out=str(tmp_path / "out"),
                      alerts=[receiver.url("leak")], return_state=True)
    finally:
        receiver.close()
    assert state.is_completed()
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    assert artifacts and logs and receiver.posts
    outputs = [*folder_outputs(tmp_path / "out")]
    outputs += [(f"artifact {a.key}", str(a.data).encode("utf-8")) for a in artifacts]
    outputs += [("Prefect logs", "\n".join(log.message for log in logs).encode("utf-8"))]
    outputs += [("task states", "\n".join(t.state.message or "" for t in tasks if t.state).encode("utf-8"))]
    outputs += [(f"alert {i + 1}", json.dumps(p, ensure_ascii=False).encode("utf-8")) for i, p in enumerate(receiver.posts)]
    hits = scan_outputs(delivery_needles(sample_city, load_catalog(REPO / "connectors")), outputs)
    assert not hits, describe(hits)
