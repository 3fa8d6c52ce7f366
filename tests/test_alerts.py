"""Early warning: digests of new findings and reminders of overdue ones, sent through
Apprise to real receivers on loopback (an HTTP server for json://, aiosmtpd for
mailto://), on the sample city. Sending never breaks a run."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import re
import socket
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows
from receivers import HttpReceiver

from crosscheck.config import ProjectConfig

ROOT = Path(__file__).resolve().parent.parent

ID18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


# -- receivers ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_receiver():
    r = HttpReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def smtp_receiver():
    """An SMTP server (aiosmtpd) on loopback; yields (port, list of received messages)."""
    from aiosmtpd.controller import Controller

    messages: list[email.message.EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, messages
    controller.stop()


DEAD_SECRET = "s3cretT0ken"
REPORT_URL = "https://audit.example.gov.cn/crosscheck/"  # where the project's reports folder is published


@dataclasses.dataclass
class Stage:
    out: Path
    exit_code: int
    output: str
    posts: list[dict]          # json:// messages received during this run
    mails: list                # SMTP messages received during this run


@pytest.fixture(scope="module")
def scenario(sample_city, tmp_path_factory, http_receiver, smtp_receiver):
    """Three `crosscheck run`s on the sample city with one store and a project crosscheck.toml
    that routes alerts: (1) first run, (2) the same again, (3) 14 days later after one finding
    was reviewed. Channels: mail (every domain, no reminders), json /pension (pension domain,
    medium and above), and by --alert a json /hook (every domain) and a dead endpoint."""
    from typer.testing import CliRunner

    from crosscheck.cli import app

    root = tmp_path_factory.mktemp("alerts")
    repo = Path(__file__).resolve().parents[1]
    smtp_port, mails = smtp_receiver
    mail_url = f"mailto://127.0.0.1:{smtp_port}?from=crosscheck@example.org&to=audit@example.org&mode=insecure"
    (root / "crosscheck.toml").write_text(
        f'[crosscheck]\nconnectors_dir = "{repo / "connectors"}"\nrules_dir = "{repo / "rules"}"\nreports_dir = "."\n\n'
        "[alerts]\nmin_severity = \"high\"\noverdue_days = 14\nretries = 2\nretry_wait = 0.01\n"
        f'report_url = "{REPORT_URL}"\n\n'
        f'[[alerts.channels]]\nname = "审计处邮箱"\nurl = "{mail_url}"\nreminders = false\n\n'
        f'[[alerts.channels]]\nname = "社保处"\nurl = "{http_receiver.url("pension")}"\ndomains = ["pension"]\nmin_severity = "medium"\n',
        encoding="utf-8",
    )
    dead = f"json://auditor:{DEAD_SECRET}@127.0.0.1:{_free_port()}/hook"
    store = root / "store.duckdb"
    stages: dict[str, Stage] = {}

    def run(name: str, as_of) -> Stage:
        posts, sent = len(http_receiver.posts), len(mails)
        out = root / name
        result = CliRunner().invoke(app, [
            "run", "--extracts", str(sample_city), "--as-of", as_of.isoformat(), "--out", str(out),
            "--store", str(store), "--project", str(root), "--alert", http_receiver.url(), "--alert", dead,
        ])
        stages[name] = Stage(out, result.exit_code, result.output, http_receiver.posts[posts:], mails[sent:])
        return stages[name]

    first = run("first", SAMPLE_AS_OF)
    assert first.exit_code == 0, first.output
    run("again", SAMPLE_AS_OF)

    from crosscheck.store import Store

    keys = [r["finding_key"] for r in read_csv_rows(first.out / "findings.csv")]
    with Store.open(store) as s:
        s.mark(keys[0], "confirmed", note="已核实", reviewer="李审计", on=SAMPLE_AS_OF)
    run("later", SAMPLE_AS_OF + timedelta(days=14))
    return {"stages": stages, "store": store, "reviewed": keys[0], "first_keys": set(keys)}


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _new_rows(out: Path, severities=("high",), domains=None, rule_domain=None) -> list[dict]:
    rows = [r for r in read_csv_rows(out / "findings.csv") if r["status"] == "new" and r["severity"] in severities]
    if domains is not None:
        rows = [r for r in rows if rule_domain[r["rule_id"]] in domains]
    return rows


def _count_lines(message: str) -> dict[str, int]:
    """'· 标题（rule_id）：N 条…' lines -> {rule_id: N}."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^· .*?（([a-z0-9_]+)）：(\d+) 条", message, re.M)}


def _full_ids_and_names(store_file: Path) -> tuple[set[str], set[str]]:
    """Every full identity number and full name of the recorded findings (the store keeps them)."""
    from crosscheck.store import Store

    from crosscheck.catalog import load_catalog
    from crosscheck.rules import load_ruleset

    ruleset = load_ruleset(ROOT / "rules", load_catalog(ROOT / "connectors"))
    # a finding's name is a person's when it is about a person, or its rule's lineage says so
    # (an enterprise's registered name is public and shown in full)
    ids, names = set(), set()
    with Store.open(store_file, read_only=True) as store:
        rows = store.con.execute("SELECT rule_id, person_id, subject, name FROM findings").fetchall()
    for rule_id, pid, subject, name in rows:
        ids.update(v for v in (pid, subject) if v and ID18.fullmatch(v))
        personal = pid or ruleset[rule_id].personal().kinds.get("name")
        if personal and name and len(name) >= 2:
            names.add(name)
    return ids, names


# -- tests ----------------------------------------------------------------------------

def _rule_domains(out: Path) -> dict[str, str]:
    return {r["rule_id"]: r.get("domain", "") for r in _summary(out)["rules"]}


def test_one_digest_per_channel_with_right_counts(scenario):
    """Each channel gets one digest; counts per rule equal findings.csv's new rows at the
    channel's severity and domains; as-of date and report path are in it."""
    first = scenario["stages"]["first"]
    assert first.exit_code == 0, first.output
    domains = _rule_domains(first.out)
    expected_all = Counter(r["rule_id"] for r in _new_rows(first.out))
    expected_pension = Counter(r["rule_id"] for r in _new_rows(first.out, ("high", "medium"), {"pension"}, domains))
    assert expected_all and expected_pension
    assert set(expected_all) != set(expected_pension)  # the routing really filters

    hook = [p for p in first.posts if p["_path"] == "/hook"]
    pension = [p for p in first.posts if p["_path"] == "/pension"]
    assert len(hook) == 1 and len(pension) == 1 and len(first.posts) == 2, [p["title"] for p in first.posts]
    assert "新增高风险疑点" in hook[0]["title"] and "新增中风险及以上疑点" in pension[0]["title"]
    assert _count_lines(hook[0]["message"]) == dict(expected_all)
    assert _count_lines(pension[0]["message"]) == dict(expected_pension)
    assert f"新增高风险疑点 {sum(expected_all.values())} 条" in hook[0]["title"]
    assert SAMPLE_AS_OF.isoformat() in hook[0]["message"]
    assert f"报告：{REPORT_URL}first/report.html" in hook[0]["message"]  # out is inside reports_dir
    assert str(first.out) not in hook[0]["message"]

    assert len(first.mails) == 1
    mail = first.mails[0]
    assert "疑点预警" in str(mail["subject"])
    assert _count_lines(mail.get_body(preferencelist=("plain",)).get_content()) == dict(expected_all)

    summary = _summary(first.out)
    new = [a for a in summary["alerts"] if a["kind"] == "new"]
    assert sorted(a["status"] for a in new) == ["failed", "sent", "sent", "sent"]
    assert {a["name"] for a in new if a["status"] == "sent"} == {"审计处邮箱", "社保处", ""}
    html = (first.out / "report.html").read_text(encoding="utf-8")
    assert "预警发送" in html and "已发送" in html and 'id="overdue"' in html


def test_no_full_identity_number_or_name_in_any_message(scenario):
    ids, names = _full_ids_and_names(scenario["store"])
    assert ids and names
    messages = []
    for stage in scenario["stages"].values():
        messages += [p["title"] + "\n" + p["message"] for p in stage.posts]
        messages += [str(m["subject"]) + "\n" + m.get_body(preferencelist=("plain",)).get_content() for m in stage.mails]
    assert len(messages) >= 4
    for message in messages:
        assert not ID18.search(message), message
        leaked = [n for n in names if n in message]
        assert not leaked, leaked
    assert any("********" in m for m in messages)  # masked examples are there


def test_dead_endpoint_is_retried_recorded_and_run_succeeds(scenario):
    """A channel that is down: exit 0, tried 3 times, the failure (secret hidden) in
    summary.json, report.html and the console; the other channels still got theirs."""
    first = scenario["stages"]["first"]
    assert first.exit_code == 0
    assert DEAD_SECRET not in first.output
    failed = [a for a in _summary(first.out)["alerts"] if a["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["kind"] == "new" and failed[0]["tries"] == 3  # retries = 2
    assert failed[0]["error"] and "127.0.0.1" in failed[0]["channel"]
    for path in ("summary.json", "report.html", "findings.csv"):
        assert DEAD_SECRET not in (first.out / path).read_text(encoding="utf-8"), path
    assert "发送失败" in (first.out / "report.html").read_text(encoding="utf-8")
    assert "failed" in first.output


def test_second_run_with_no_new_findings_sends_nothing(scenario):
    again = scenario["stages"]["again"]
    assert again.exit_code == 0, again.output
    assert again.posts == [] and again.mails == []
    assert {a["status"] for a in _summary(again.out)["alerts"]} == {"skipped"}


def test_overdue_reminder_after_overdue_days_without_disposition(scenario):
    """First seen on the as-of date, never reviewed: 14 days later the finding is in the
    report's overdue section and in one reminder per channel that wants it; the reviewed
    one is not; the mail channel (reminders = false) gets no reminder."""
    from crosscheck.store import Store

    later = scenario["stages"]["later"]
    assert later.exit_code == 0, later.output
    summary = _summary(later.out)
    overdue = summary["history"]["overdue"]
    still_there = {r["finding_key"] for r in read_csv_rows(later.out / "findings.csv")}
    high_keys = {r["finding_key"] for r in read_csv_rows(later.out / "findings.csv") if r["severity"] == "high"}
    assert {o["finding_key"] for o in overdue} == (scenario["first_keys"] & still_there) - {scenario["reviewed"]}
    assert all(o["days_open"] == 14 and o["first_seen"] == SAMPLE_AS_OF.isoformat() for o in overdue)
    assert not any(ID18.search(o["subject"] or "") for o in overdue)

    reminders = {p["_path"]: p for p in later.posts if "逾期未复核" in p["title"]}
    assert len([p for p in later.posts if "逾期未复核" in p["title"]]) == 2
    due_high = [o for o in overdue if o["finding_key"] in high_keys]
    assert due_high
    hook = reminders["/hook"]
    assert f"{len(due_high)} 条疑点超过 14 天未复核" in hook["title"]
    assert _count_lines(hook["message"]) == dict(Counter(o["rule_id"] for o in due_high))
    assert "/pension" in reminders
    assert not [m for m in later.mails if "逾期" in str(m["subject"])]
    assert [a["status"] for a in summary["alerts"] if a["kind"] == "overdue" and a["name"] == "审计处邮箱"] == []
    html = (later.out / "report.html").read_text(encoding="utf-8")
    assert "逾期未复核" in html and overdue[0]["finding_key"] in html

    with Store.open(scenario["store"], read_only=True) as store:  # one day short: nothing is due
        run_id = summary["run_id"]
        assert store.overdue(run_id, SAMPLE_AS_OF + timedelta(days=13), 14) == []
        assert len(store.overdue(run_id, SAMPLE_AS_OF + timedelta(days=14), 14)) == len(overdue)


def test_alerts_config_from_toml(tmp_path, monkeypatch):
    from crosscheck.config import AlertsConfig

    monkeypatch.setenv("CC_TEST_WEBHOOK", "dingtalk://secrettoken123456/")
    cfg = AlertsConfig.from_toml({
        "min_severity": "medium", "overdue_days": 30,
        "channels": [
            {"url": "mailtos://user:pw@mail.example.org?to=mz@example.org", "domains": ["civil_affairs"], "name": "民政"},
            {"url_env": "CC_TEST_WEBHOOK", "min_severity": "high", "reminders": False},
        ],
    })
    assert cfg.overdue_days == 30 and cfg.channels[0].domains == ("civil_affairs",)
    assert cfg.channels[1].url.startswith("dingtalk://") and not cfg.channels[1].reminders
    for bad in ({"min_severity": "urgent"}, {"overdue_days": 0}, {"channels": [{"domains": ["x"]}]},
                {"chanels": []}, {"channels": [{"url": "json://x", "severity": "high"}]}):
        with pytest.raises(ValueError):
            AlertsConfig.from_toml(bad)


def test_report_link(tmp_path):
    from crosscheck.reports.alerts import report_link

    reports = tmp_path / "reports"
    inside = reports / "2026-11-01 夜间" / "report.html"
    assert report_link(inside, "https://audit.example.gov.cn/cc", reports) == \
        "https://audit.example.gov.cn/cc/2026-11-01%20%E5%A4%9C%E9%97%B4/report.html"
    assert report_link(inside, "https://audit.example.gov.cn/cc/", reports).count("/cc/") == 1
    outside = tmp_path / "elsewhere" / "report.html"  # an ad-hoc --out outside the published folder
    assert report_link(outside, "https://audit.example.gov.cn/cc", reports) == str(outside)
    assert report_link(inside, "", reports) == str(inside)
    from crosscheck.config import AlertsConfig

    assert AlertsConfig.from_toml({"report_url": "http://10.0.0.5:8080/reports"}).report_url
    for bad in ("ftp://host/reports", "https://host/reports?token=1", "reports/", "https://"):
        with pytest.raises(ValueError, match="report_url"):
            AlertsConfig.from_toml({"report_url": bad})


def test_project_file_alerts_table(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "crosscheck.toml").write_text(
        f'[crosscheck]\nconnectors_dir = "{repo / "connectors"}"\nrules_dir = "{repo / "rules"}"\n\n'
        '[alerts]\nmin_severity = "low"\noverdue_days = 7\n\n'
        '[[alerts.channels]]\nurl = "json://127.0.0.1:9/x"\ndomains = ["medical"]\n',
        encoding="utf-8",
    )
    config = ProjectConfig.load(tmp_path)
    assert config.alerts.min_severity == "low" and config.alerts.overdue_days == 7
    assert config.alerts.channels[0].domains == ("medical",)


def test_urls_are_masked():
    from crosscheck.reports.alerts import mask_url

    assert "pw123456" not in mask_url("mailtos://user:pw123456@mail.example.org?to=a@example.org")
    assert "abcdefghijklmnopqrstuvwxyz" not in mask_url("wecombot://abcdefghijklmnopqrstuvwxyz")
    assert "abcdefghijklmnopqrstuvwxyz" not in mask_url("json://127.0.0.1/hooks/abcdefghijklmnopqrstuvwxyz")
    assert mask_url("nosuchscheme://secret") == "nosuchscheme://…"


def test_errors_never_quote_secrets():
    from crosscheck.reports.alerts import _clean_error

    line = "2026-11-01 02:00:00,000 - WARNING - "
    assert _clean_error(line + "refused by abcdefghsecretkey", "wecombot://ABCDEFGHSECRETKEY") == "refused by ****"
    assert "pw123456" not in _clean_error(line + "login pw123456 failed", "mailtos://u:pw123456@mail.example.org")
    assert "127.0.0.1" in _clean_error(line + "no route to 127.0.0.1", "json://u:pw123456@127.0.0.1:1/x")


def test_artifact_lists_alert_outcomes():
    from crosscheck.reports.alerts import alert_lines

    lines = alert_lines([
        {"channel": "json://127.0.0.1:1/hook", "name": "", "kind": "new", "status": "failed", "findings": 19,
         "tries": 3, "error": "connection refused", "reason": ""},
        {"channel": "mailto://127.0.0.1:25/a", "name": "审计处", "kind": "overdue", "status": "skipped", "findings": 0,
         "tries": 0, "error": "", "reason": "nothing due"},
    ])
    assert "failed 19 findings (connection refused)" in lines[0]
    assert lines[1].startswith("审计处 mailto://")
    from crosscheck.reports.text import markdown_summary
    from crosscheck.results import RunResult

    result = RunResult(run_id="r", as_of=SAMPLE_AS_OF, extracts_root="/x", out_dir="/tmp", started_at=None,
                       alerts=[{"channel": "json://h/x", "name": "", "kind": "new", "status": "failed",
                                "findings": 2, "tries": 3, "error": "down", "reason": ""}])
    md = markdown_summary(result, Path("/tmp/report.html"))
    assert "Alerts" in md and "failed" in md
