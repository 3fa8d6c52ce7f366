"""The workbench's pages: 线索池 (the clue list), one clue, 驾驶舱 (the dashboard), 留痕 (the audit
log) and the login page. Chinese first with an English toggle, like report.html; nothing from
outside (the Content-Security-Policy allows only the workbench's own script and style); every
value autoescaped by Jinja2, and the script writes with ``textContent`` only. Changes go
through the JSON contract (`crosscheck.workbench.api`) with the page's CSRF token.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crosscheck.casework.scope import CLUE_FROM
from crosscheck.casework.scope import COLOR_ZH, DISPOSITION_ZH, ROLE_ZH, STATUS_ZH, STATUSES, visible
from crosscheck.casework.workflow import MAY
from crosscheck.reports.priority import PRIORITY_NOTE
from crosscheck.workbench.auth import Caller, caller, page_caller
from crosscheck.workbench.dashboard_charts import dashboard_charts

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 100
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["when"] = lambda text: (text or "")[:19].replace("T", " ")  # local time; the zone is in the header
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
DISPOSITION_EN = {"confirmed": "Confirmed", "false_positive": "False positive", "explained": "Explained"}
STATUS_EN = {"new": "New", "assigned": "In review", "answered": "Answered", "closed": "Closed"}
ACTION_ZH = {"login": "登录", "login_failed": "登录失败", "login_locked": "锁定期间登录", "login_refused": "拒绝登录",
             "logout": "退出", "assign": "分派", "deadline": "调整期限", "disposition": "处置", "feedback": "整改反馈",
             "close": "销号", "reopen": "退回/重新打开", "unmask": "查看明文", "outcome": "追回金额",
             "account_add": "新增账户", "account_disable": "停用账户", "account_password": "修改密码", "migrate": "数据迁移"}

router = APIRouter()


def render(name: str, request: Request, who: Caller | None, **context) -> HTMLResponse:
    template = ENV.get_template(name)
    html = template.render(
        who=who.account if who else None, csrf=who.session.csrf_token if who else "", path=request.url.path,
        status_zh=STATUS_ZH, status_en=STATUS_EN, color_zh=COLOR_ZH, severity_zh=SEVERITY_ZH, role_zh=ROLE_ZH,
        disposition_zh=DISPOSITION_ZH, disposition_en=DISPOSITION_EN, action_zh=ACTION_ZH, may=MAY,
        timezone=request.app.state.config.timezone, **context)
    return HTMLResponse(html)


def _options(who: Caller) -> dict:
    where, params = visible(who.account)
    rules = who.cw.rows(f"SELECT DISTINCT c.rule_id, r.title_zh, r.title_en {CLUE_FROM} WHERE {where} ORDER BY c.rule_id",
                        params)
    districts = [r["district"] for r in who.cw.rows(
        f"SELECT DISTINCT c.district {CLUE_FROM} WHERE {where} ORDER BY c.district", params) if r["district"]]
    reviewers = [a.username for a in who.cw.users("reviewer") if not a.disabled] if who.account.role == "supervisor" else []
    return {"rules": rules, "districts": districts, "reviewers": reviewers}


@router.get("/", include_in_schema=False)
def home(request: Request) -> RedirectResponse:
    try:
        caller(request)
    except Exception:  # noqa: BLE001 - not logged in
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/clues", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render("login.html.j2", request, None)


@router.get("/clues", response_class=HTMLResponse)
def clue_list(request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    q = request.query_params
    filters = {k: q.get(k) or "" for k in ("status", "rule_id", "district", "color", "assignee")}
    try:
        page = max(1, int(q.get("page") or 1))
    except ValueError:
        page = 1
    found = who.cw.clues.list(who.account, **{k: v or None for k, v in filters.items()},
                              limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found["total"] // PAGE_SIZE))
    query = {k: v for k, v in filters.items() if v}
    return render("clues.html.j2", request, who, found=found, filters=filters, page=page, pages=pages,
                  first=(page - 1) * PAGE_SIZE, statuses=STATUSES, priority=PRIORITY_NOTE,
                  prev_url="/clues?" + urlencode({**query, "page": page - 1}) if page > 1 else "",
                  next_url="/clues?" + urlencode({**query, "page": page + 1}) if page < pages else "",
                  export_url="/export/clues.csv?" + urlencode(query), **_options(who))


@router.get("/clues/{key}", response_class=HTMLResponse)
def clue_page(key: str, request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    clue = who.cw.clues.detail(who.account, key)
    evidence = clue["evidence_fields"] if isinstance(clue["evidence_fields"], dict) else {}
    return render("clue.html.j2", request, who, clue=clue, evidence=evidence,
                  evidence_json=lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
                  reviewers=_options(who)["reviewers"], today=who.cw.db.today().isoformat())


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    data = who.cw.dashboard(who.account)
    return render("dashboard.html.j2", request, who, d=data, charts=dashboard_charts(data))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    q = request.query_params
    filters = {"finding_key": q.get("finding_key") or "", "user": q.get("user") or ""}
    log = who.cw.audit.read(who.account, finding_key=filters["finding_key"] or None, user=filters["user"] or None,
                           limit=500)
    return render("audit.html.j2", request, who, log=log, filters=filters)
