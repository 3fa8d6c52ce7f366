"""The workbench's pages: 线索池 (the clue list), one clue, 驾驶舱 (the dashboard), 留痕 (the audit
log) and the login page. Chinese first with an English toggle, like report.html; nothing from
outside (the Content-Security-Policy allows only the workbench's own script and style); every
value autoescaped by Jinja2, and the script writes with ``textContent`` only. Changes go
through the JSON contract (`crosscheck.workbench.api`) with the page's CSRF token.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crosscheck.casework.scope import CLUE_FROM, COLOR_ZH, DISPOSITION_ZH, ROLE_ZH, STATUS_ZH, STATUSES, visible
from crosscheck.casework.workflow import MAY
from crosscheck.reports.priority import PRIORITY_NOTE
from crosscheck.workbench import words
from crosscheck.workbench.api import eligible
from crosscheck.workbench.auth import Caller, caller, page_caller
from crosscheck.workbench.dashboard_charts import dashboard_charts
from crosscheck.workbench.labels import label_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 100
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["when"] = lambda text: (text or "")[:19].replace("T", " ")  # local time; the zone is in the header
router = APIRouter()


def render(name: str, request: Request, who: Caller | None, **context) -> HTMLResponse:
    template = ENV.get_template(name)
    html = template.render(
        who=who.account if who else None, csrf=who.session.csrf_token if who else "", path=request.url.path,
        status_zh=STATUS_ZH, status_en=words.STATUS_EN, color_zh=COLOR_ZH, color_en=words.COLOR_EN,
        severity_zh=words.SEVERITY_ZH, role_zh=ROLE_ZH, disposition_zh=DISPOSITION_ZH,
        disposition_en=words.DISPOSITION_EN, may=MAY, words=words, timezone=request.app.state.config.timezone,
        query=request.query_params.get("q") or "", **context)
    return HTMLResponse(html)


def _options(who: Caller) -> dict:
    where, params = visible(who.account)
    rules = who.cw.rows(f"SELECT DISTINCT c.rule_id, r.title_zh, r.title_en {CLUE_FROM} WHERE {where} ORDER BY c.rule_id",
                        params)
    districts = [r["district"] for r in who.cw.rows(
        f"SELECT DISTINCT c.district {CLUE_FROM} WHERE {where} ORDER BY c.district", params) if r["district"]]
    reviewers = [a.username for a in eligible(who, "reviewer")] if who.account.role == "supervisor" else []
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
    filters = {k: q.get(k) or "" for k in ("status", "rule_id", "district", "color", "assignee", "q", "order")}
    try:
        page = max(1, int(q.get("page") or 1))
    except ValueError:
        page = 1
    args = {k: v or None for k, v in filters.items() if k != "order"}
    found = who.cw.clues.list(who.account, **args, overdue_first=filters["order"] == "overdue",
                              limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found["total"] // PAGE_SIZE))
    query = {k: v for k, v in filters.items() if v}
    return render("clues.html.j2", request, who, found=found, filters=filters, page=page, pages=pages,
                  first=(page - 1) * PAGE_SIZE, statuses=STATUSES, priority=PRIORITY_NOTE,
                  prev_url="/clues?" + urlencode({**query, "page": page - 1}) if page > 1 else "",
                  next_url="/clues?" + urlencode({**query, "page": page + 1}) if page < pages else "",
                  export_url="/export/clues.csv?" + urlencode(query), ledger_url="/export/ledger.xlsx?" + urlencode(query),
                  **_options(who))


@router.get("/clues/{key}", response_class=HTMLResponse)
def clue_page(key: str, request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    clue = who.cw.clues.detail(who.account, key)
    row = who.cw.clues.row(who.account, key)
    labels = request.app.state.labels
    fields = clue["evidence_fields"] if isinstance(clue["evidence_fields"], dict) else {}
    evidence = [(k, label_of(labels, clue["rule_id"], k), v) for k, v in fields.items()]
    supervisor = who.account.role == "supervisor"
    today = who.cw.db.today()
    return render("clue.html.j2", request, who, clue=clue, evidence=evidence,
                  evidence_json=lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
                  reviewers=[a.username for a in eligible(who, "reviewer", row)] if supervisor else [],
                  departments=[a.username for a in eligible(who, "department", row)] if supervisor else [],
                  comments=who.cw.workflow.comments(who.account, key),
                  attachments=who.cw.attachments.list(who.account, key), today=today.isoformat(),
                  last_day=(today + timedelta(days=who.cw.settings.max_deadline_days)).isoformat())


@router.get("/clues/{key}/sheet", response_class=HTMLResponse)
def sheet_page(key: str, request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    """The 线索处置单, a printable A4 page (the PDF: /api/clues/{key}/sheet.pdf)."""
    from crosscheck.workbench.tools import sheet_of

    return render("sheet.html.j2", request, who, sheet=sheet_of(who, key, request.app.state.labels))


@router.get("/work", response_class=HTMLResponse)
def work_page(request: Request, who: Caller = Depends(page_caller)) -> HTMLResponse:
    """我的工作: mine, due soon, overdue; the workload of every assignee for a supervisor."""
    return render("work.html.j2", request, who, work=who.cw.worklists.my_work(who.account))


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
