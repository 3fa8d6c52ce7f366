"""Early warning (自动预警): a digest of new findings and a reminder of overdue ones.

After a run is recorded in the findings store and its reports are written,
`send_alerts` sends, per channel (an Apprise URL: ``mailtos://``, ``dingtalk://``,
``wecombot://``, ``feishu://``, ``json://`` ...):

- one **digest** of the run's *new* findings (status ``new``, not suppressed) at
  or above the channel's severity, routed by rule domain / rule id; nothing is
  sent when there are none;
- one **reminder** of the *overdue* findings (``run.history["overdue"]``: first
  seen at least ``overdue_days`` before the as-of date, never reviewed), and of the
  workbench's clues whose deadline is near or past (``run.history["deadlines"]``:
  yellow and red, 三色预警), routed the same way.

Messages are Chinese, give counts and amounts per rule, the as-of date and where
to open the report (under ``report_url`` where the reports folder is published,
else its local path), and never carry a full identity number or name (masked as
in the reports, then every text is passed through `mask_ids_in_text` again).

Sending never raises: each channel is tried ``1 + retries`` times with a
doubling wait, and the outcome (channel URL masked, sent / failed / skipped,
error) is returned for summary.json, the report and the Prefect artifact.
URLs may carry secrets: only `mask_url` forms are ever shown.
"""
from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote, urlsplit

from crosscheck.config import SEVERITIES, AlertsConfig
from crosscheck.privacy.masking import mask_finding, mask_ids_in_text
from crosscheck.results import RunResult

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,}")

log = logging.getLogger("crosscheck.reports.alerts")


# -- channels -------------------------------------------------------------------------

def _plugin(url: str):
    """The Apprise plugin for ``url``, or None if Apprise cannot use it."""
    import apprise

    with apprise.LogCapture(level=logging.ERROR):  # keep its complaints (which may quote the URL) off stderr
        try:
            return apprise.Apprise.instantiate(url)
        except Exception:  # noqa: BLE001 - a bad URL is reported, never raised
            return None


def mask_url(url: str) -> str:
    """A channel as it may be shown: Apprise's privacy form without the query,
    with any long token left in the path shortened (``ab…yz``)."""
    plugin = _plugin(url)
    if plugin is not None:
        try:
            shown = plugin.url(privacy=True)
        except Exception:  # noqa: BLE001
            shown = ""
        if shown:
            shown = shown.split("?", 1)[0]
            scheme, sep, rest = shown.partition("://")
            rest = _LONG_TOKEN.sub(lambda m: m.group(0)[:2] + "…" + m.group(0)[-2:], rest)
            return scheme + sep + rest
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://…"


def _secrets_of(url: str) -> list[str]:
    """Parts of a URL that must never appear in an error we record."""
    out = [url]
    try:
        parts = urlsplit(url)
        out += [p for p in (parts.password, parts.username) if p]
        if parts.scheme not in ("json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos"):
            out.append(parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0])  # wecombot://KEY: the "host" is the secret
        tokens = re.split(r"[/?&=#:@,]", unquote(parts.path + "?" + parts.query))
        out += [t for t in tokens if len(t) >= 8]
    except ValueError:
        pass
    return sorted({s for s in out if s}, key=len, reverse=True)


def _clean_error(text: str, url: str) -> str:
    lines = [re.sub(r"^\S+ \S+ - [A-Z]+ - ", "", line).strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    text = "; ".join(dict.fromkeys(lines[-3:])) if lines else ""
    for secret in _secrets_of(url):
        text = re.sub(re.escape(secret), "****", text, flags=re.IGNORECASE)
    return mask_ids_in_text(text)[:300]


@dataclass
class Channel:
    url: str
    name: str = ""
    domains: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    min_severity: str = "high"
    reminders: bool = True

    @property
    def shown(self) -> str:
        return mask_url(self.url)

    def wants(self, rule_id: str, domain: str, severity: str | None) -> bool:
        if self.domains and domain not in self.domains:
            return False
        if self.rules and rule_id not in self.rules:
            return False
        return _RANK.get(severity or "", 0) <= _RANK[self.min_severity]  # an unknown severity is never dropped


def channels_for(config: AlertsConfig, extra_urls: Iterable[str] = ()) -> list[Channel]:
    """The configured channels, then each ``--alert`` URL (every domain, default severity)."""
    out: list[Channel] = []
    seen: set[str] = set()
    for c in config.channels:
        out.append(Channel(c.url, c.name, tuple(c.domains), tuple(c.rules), c.min_severity or config.min_severity, c.reminders))
        seen.add(c.url)
    for url in extra_urls or ():
        url = (url or "").strip()
        if url and url not in seen:
            out.append(Channel(url, min_severity=config.min_severity))
            seen.add(url)
    return out


# -- what is reported -----------------------------------------------------------------

def _money(value: Any) -> str:
    return f"{Decimal(str(value or 0)).quantize(Decimal('0.01')):,.2f}"


def _who(row: dict, kinds: dict[str, dict[str, str]]) -> str:
    """A finding's subject, masked as the reports mask it (``kinds``: rule id ->
    RuleOutcome.personal): identity number and name, never in full."""
    shown = mask_finding({k: row.get(k) for k in ("subject", "person_id", "name")}, kinds.get(row.get("rule_id") or "", {}))
    return " ".join(p for p in (shown["person_id"] or shown["subject"] or "", shown["name"] or "") if p)


def overdue_entries(rows: list[dict], districts: list[str] | None = None,
                    kinds: dict[str, dict[str, str]] | None = None) -> list[dict]:
    """`Store.overdue` rows as kept in ``run.history["overdue"]``: masked always
    (summary.json and messages never carry identities), JSON-able. ``kinds``: rule id ->
    RuleOutcome.personal of this run's rules."""
    out = []
    for r in rows:
        if districts and r.get("district") not in districts:
            continue
        first = r.get("first_seen")
        amount = r.get("amount_at_risk")
        out.append({
            "finding_key": r.get("finding_key"),
            "rule_id": r.get("rule_id"),
            "subject": _who(r, kinds or {}),
            "district": r.get("district"),
            "severity": r.get("severity"),
            "amount_at_risk": None if amount is None else float(Decimal(str(amount)).quantize(Decimal("0.01"))),
            "first_seen": first.isoformat() if isinstance(first, date) else first,
            "days_open": int(r.get("days_open") or 0),
        })
    return out


@dataclass
class Digest:
    kind: str          # new | overdue
    title: str
    body: str
    findings: int


def _per_rule_lines(rows: list[dict], titles: dict[str, str], examples: int, kinds: dict[str, dict[str, str]],
                    extra: Callable[[dict], str] | None = None) -> list[str]:
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_rule[r["rule_id"]].append(r)
    lines = []
    for rule_id in sorted(by_rule, key=lambda k: (-len(by_rule[k]), k)):
        items = by_rule[rule_id]
        amounts = [Decimal(str(r["amount_at_risk"])) for r in items if r.get("amount_at_risk") is not None]
        money = f"，涉及金额 {_money(sum(amounts, Decimal(0)))} 元" if amounts else ""
        lines.append(f"· {titles.get(rule_id) or rule_id}（{rule_id}）：{len(items)} 条{money}")
        top = sorted(items, key=lambda r: (r.get("amount_at_risk") is None, -float(r.get("amount_at_risk") or 0),
                                           r.get("finding_key") or ""))[:examples]
        for r in top:
            bits = [r.get("subject_masked") or _who(r, kinds), r.get("district") or ""]
            if r.get("amount_at_risk") is not None:
                bits.append(f"{_money(r['amount_at_risk'])} 元")
            if extra:
                bits.append(extra(r))
            bits.append(f"编号 {r.get('finding_key') or '—'}")
            lines.append("    " + " · ".join(b for b in bits if b))
    return lines


def report_link(report: Path, report_url: str = "", reports_root: Path | None = None) -> str:
    """Where a reviewer opens the report: under ``report_url`` (the published reports
    folder) when the report lies in ``reports_root``, else its local path."""
    if report_url and reports_root is not None:
        try:
            relative = Path(report).resolve().relative_to(Path(reports_root).resolve())
        except ValueError:
            return str(report)
        return report_url.rstrip("/") + "/" + quote(relative.as_posix())
    return str(report)


def _severity_phrase(sev: str) -> str:
    return "高风险" if sev == "high" else f"{SEVERITY_ZH[sev]}风险及以上"


OUTCOME_ZH = {"partial": "部分数据（结果不完整）", "skipped": "已跳过（未运行）", "failed": "运行失败（未运行）"}


def run_notes(run: RunResult) -> list[str]:
    """What a digest says besides its findings: scheduled nights missed since the last complete
    run, and every rule that did not run on complete data (the outcome and why)."""
    lines = []
    if run.missed_schedules:
        lines.append(f"注意：自上次完整运行以来，有 {len(run.missed_schedules)} 次计划运行未完成："
                     + "、".join(run.missed_schedules) + f"（{run.timezone}）。")
    for o in run.rules:
        if o.status in OUTCOME_ZH:
            lines.append(f"注意：{o.title_zh or o.rule_id}（{o.rule_id}）{OUTCOME_ZH[o.status]}：{o.reason}")
    return lines


def new_digest(run: RunResult, channel: Channel, rows: list[dict], config: AlertsConfig, report: str) -> Digest:
    titles = {o.rule_id: o.title_zh for o in run.rules}
    amounts = [Decimal(str(r["amount_at_risk"])) for r in rows if r.get("amount_at_risk") is not None]
    phrase = _severity_phrase(channel.min_severity)
    notes = run_notes(run)
    lines = [
        f"数据截止日期：{run.as_of.isoformat()}",
        f"运行编号：{run.run_id}",
        f"本次新增{phrase}疑点 {len(rows)} 条，涉及金额合计 {_money(sum(amounts, Decimal(0)))} 元。",
        *([""] + notes if notes else []),
        "",
        "按规则：",
        *_per_rule_lines(rows, titles, config.examples, run.personal_kinds),
        "",
        f"报告：{report}",
        "请尽快在核查工作台（crosscheck workbench）分派核查并填写处置（属实 / 误报 / 已解释）。",
        "本消息中的身份证号、姓名均已脱敏。",
    ]
    title = f"【疑点预警】{run.as_of.isoformat()} 新增{phrase}疑点 {len(rows)} 条"
    return Digest("new", title, mask_ids_in_text("\n".join(lines)), len(rows))


def _deadline_note(r: dict) -> str:
    left = int(r.get("days_left") or 0)
    when = f"已逾期 {-left} 天" if left < 0 else ("今天到期" if left == 0 else f"{left} 天后到期")
    colour = {"red": "红", "yellow": "黄"}.get(r.get("color") or "", "")
    return f"{colour}·{when}（期限 {r.get('deadline')}，核查人 {r.get('assignee') or '—'}）"


def overdue_digest(run: RunResult, channel: Channel, rows: list[dict], config: AlertsConfig, report: str,
                   deadlines: list[dict] | None = None) -> Digest:
    titles = {o.rule_id: o.title_zh for o in run.rules}
    shown = [dict(r, subject_masked=r.get("subject")) for r in rows]
    oldest = min((r.get("first_seen") or "" for r in rows), default="")
    due = [dict(r, subject_masked=r.get("subject")) for r in deadlines or []]
    lines = [f"数据截止日期：{run.as_of.isoformat()}"]
    if rows:
        lines += [
            f"以下 {len(rows)} 条疑点首次发现已超过 {config.overdue_days} 天，仍未填写复核处置（最早发现于 {oldest}）。",
            "",
            "按规则：",
            *_per_rule_lines(shown, titles, config.examples, {}, extra=lambda r: f"已 {r.get('days_open', 0)} 天"),
            "",
            f"报告（“逾期未复核”一节）：{report}",
            "请在核查工作台（crosscheck workbench）填写处置（属实 / 误报 / 已解释）。",
        ]
    if due:
        red = sum(1 for r in due if r.get("color") == "red")
        lines += [
            *([""] if rows else []),
            f"核查工作台：{len(due)} 条线索核查期限将至或已逾期（红色逾期 {red} 条，黄色临期 {len(due) - red} 条）。",
            "",
            "按规则：",
            *_per_rule_lines(due, titles, max(config.examples, 1), {}, extra=_deadline_note),
            "",
            "请核查人在工作台（crosscheck workbench）填写处置，督办人跟进。",
        ]
    lines.append("本消息中的身份证号、姓名均已脱敏。")
    if rows:
        title = f"【逾期未复核提醒】{run.as_of.isoformat()} {len(rows)} 条疑点超过 {config.overdue_days} 天未复核"
        if due:
            title += f"，{len(due)} 条线索期限将至或已逾期"
    else:
        title = f"【线索到期提醒】{run.as_of.isoformat()} {len(due)} 条线索核查期限将至或已逾期"
    return Digest("overdue", title, mask_ids_in_text("\n".join(lines)), len(rows) + len(due))


def _new_rows(run: RunResult) -> list[dict] | None:
    """New, unsuppressed findings shown to reviewers; None if the run was not recorded."""
    names = run.findings.column_names
    if "status" not in names:
        return None
    wanted = [c for c in ("rule_id", "subject", "person_id", "name", "district", "severity", "amount_at_risk",
                          "finding_key", "status", "suppressed") if c in names]
    return [r for r in run.findings.select(wanted).to_pylist()
            if r.get("status") == "new" and not r.get("suppressed")]


# -- sending --------------------------------------------------------------------------

def send(url: str, title: str, body: str, *, tries: int = 3, wait: float = 2.0,
         sleep: Callable[[float], None] = time.sleep) -> tuple[bool, int, str]:
    """Send one message through Apprise, retrying; returns (sent, tries used, error)."""
    import apprise

    plugin = _plugin(url)
    if plugin is None:
        return False, 0, "not a usable Apprise URL (unknown scheme, bad syntax or missing parameters)"
    notifier = apprise.Apprise()
    notifier.add(plugin)
    error = ""
    for attempt in range(1, max(1, tries) + 1):
        with apprise.LogCapture(level=logging.WARNING) as logs:
            try:
                ok = bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
            except Exception as exc:  # noqa: BLE001 - a channel never breaks a run
                ok = False
                logging.getLogger("apprise").warning("%s: %s", type(exc).__name__, exc)
            captured = logs.getvalue()
        if ok:
            return True, attempt, ""
        error = _clean_error(captured, url) or "the service did not accept the message"
        if attempt < tries:
            sleep(wait * 2 ** (attempt - 1))
    return False, max(1, tries), error


def send_alerts(run: RunResult, config: AlertsConfig, extra_urls: Iterable[str] = (), *,
                reports_root: Path | None = None, sleep: Callable[[float], None] = time.sleep) -> list[dict]:
    """Build and send this run's digests; return one outcome per channel and kind. Never raises.
    The report is linked under ``config.report_url`` when the run wrote it inside ``reports_root``."""
    try:
        channels = channels_for(config, extra_urls)
    except Exception as exc:  # noqa: BLE001
        return [{"channel": "—", "name": "", "kind": "new", "status": "failed", "findings": 0, "tries": 0,
                 "error": f"alert channels: {exc}"[:300]}]
    outcomes: list[dict] = []
    if not channels:
        return outcomes
    report = report_link(Path(run.out_dir) / "report.html", config.report_url, reports_root)
    domains = {o.rule_id: o.domain for o in run.rules}
    try:
        new = _new_rows(run)
        overdue = list(run.history.get("overdue") or [])
        deadlines = list(run.history.get("deadlines") or [])
    except Exception as exc:  # noqa: BLE001
        new, overdue, deadlines = None, [], []
        log.warning("alerts: cannot read the run's findings: %s", exc)
    tries = 1 + max(0, int(config.retries))
    for ch in channels:
        shown = ch.shown
        base = {"channel": shown, "name": ch.name}
        todo: list[tuple[str, Digest | None, str]] = []
        if new is None:
            todo.append(("new", None, "run not recorded in the findings store: new findings cannot be told apart"))
        else:
            mine = [r for r in new if ch.wants(r["rule_id"], domains.get(r["rule_id"], ""), r.get("severity"))]
            if mine or run.missed_schedules:
                todo.append(("new", new_digest(run, ch, mine, config, report), ""))
            else:
                todo.append(("new", None, f"no new findings of {_severity_phrase(ch.min_severity)} for this channel"))
        if ch.reminders and new is not None:
            due = [r for r in overdue if ch.wants(r["rule_id"], domains.get(r["rule_id"], ""), r.get("severity"))]
            near = [r for r in deadlines if ch.wants(r["rule_id"], domains.get(r["rule_id"], ""), r.get("severity"))]
            if due or near:
                todo.append(("overdue", overdue_digest(run, ch, due, config, report, near), ""))
            else:
                todo.append(("overdue", None, f"no findings unreviewed for {config.overdue_days} days or more"))
        for kind, digest, reason in todo:
            if digest is None:
                outcomes.append({**base, "kind": kind, "status": "skipped", "findings": 0, "tries": 0, "error": "",
                                 "reason": reason})
                continue
            try:
                ok, used, error = send(ch.url, digest.title, digest.body, tries=tries, wait=config.retry_wait, sleep=sleep)
            except Exception as exc:  # noqa: BLE001
                ok, used, error = False, 0, _clean_error(f"{type(exc).__name__}: {exc}", ch.url)
            outcomes.append({**base, "kind": kind, "status": "sent" if ok else "failed", "findings": digest.findings,
                             "tries": used, "error": error, "reason": ""})
            if not ok:
                log.warning("alert %s to %s failed after %d tries: %s", kind, shown, used, error)
    return outcomes


def failure_notice(run: RunResult) -> Digest:
    """The short message a run that could not finish sends to every channel."""
    lines = [
        f"运行编号：{run.run_id}",
        f"数据截止日期：{run.as_of.isoformat()}",
        f"交付目录：{run.extracts_root}",
        f"开始时间：{run.started_at:%Y-%m-%d %H:%M:%S} UTC",
        f"原因：{run.error}",
        "疑点历史未改变；修复后重新运行即可（夜间运行会再次处理该交付）。",
    ]
    title = f"【运行失败】{run.as_of.isoformat()} 运行 {run.run_id} 未完成"
    return Digest("failure", title, mask_ids_in_text("\n".join(lines)), 0)


def send_failure_notices(run: RunResult, config: AlertsConfig, extra_urls: Iterable[str] = (), *,
                         sleep: Callable[[float], None] = time.sleep) -> list[dict]:
    """Tell every channel (whatever its routing) that ``run`` could not finish. Never raises."""
    try:
        channels = channels_for(config, extra_urls)
        digest = failure_notice(run)
    except Exception as exc:  # noqa: BLE001
        return [{"channel": "—", "name": "", "kind": "failure", "status": "failed", "findings": 0, "tries": 0,
                 "error": f"failure notice: {exc}"[:300], "reason": ""}]
    outcomes = []
    for ch in channels:
        try:
            ok, used, error = send(ch.url, digest.title, digest.body, tries=1 + max(0, int(config.retries)),
                                   wait=config.retry_wait, sleep=sleep)
        except Exception as exc:  # noqa: BLE001
            ok, used, error = False, 0, _clean_error(f"{type(exc).__name__}: {exc}", ch.url)
        outcomes.append({"channel": ch.shown, "name": ch.name, "kind": "failure", "status": "sent" if ok else "failed",
                         "findings": 0, "tries": used, "error": error, "reason": f"run {run.run_id} failed"})
    return outcomes


def alert_lines(outcomes: list[dict]) -> list[str]:
    """One line per outcome, for the console and the Prefect artifact (channels masked)."""
    kind_zh = {"new": "新增疑点预警", "overdue": "逾期未复核提醒", "failure": "运行失败通知"}
    out = []
    for o in outcomes:
        label = f"{o.get('name')} " if o.get("name") else ""
        detail = o.get("error") or o.get("reason") or ""
        n = f" {o['findings']} findings" if o.get("status") != "skipped" else ""
        out.append(f"{label}{o.get('channel')} {kind_zh.get(o.get('kind'), o.get('kind'))}: {o.get('status')}{n}"
                   + (f" ({detail})" if detail else ""))
    return out
