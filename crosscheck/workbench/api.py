"""The workbench's JSON contract (/work/shared/spec/workbench.md, "The HTTP contract").

Every body is UTF-8 JSON; errors answer ``{"error": ...}`` with 400 (bad input), 401 (not
logged in), 403 (the role may not, or no CSRF token), 404 (no such clue in your scope), 409
(the clue's status does not allow it). Beyond the contract: ``GET /api/me``,
``GET /api/assignees``, ``POST /api/assign`` (one deadline for many clues),
``POST /api/clues/{key}/unmask`` (one logged unmasked view) and ``GET /export/clues.csv``.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from crosscheck.casework import BadInput, Casework, Forbidden
from crosscheck.privacy.masking import neutralise_formula
from crosscheck.store.reviews import ReviewError, normalise_disposition
from crosscheck.workbench.auth import Caller, caller, changer, clear_session_cookie, database, set_session_cookie
from crosscheck.workbench.models import (
    AssignBody,
    Assignees,
    AuditAnswer,
    BulkAssignBody,
    BulkAssigned,
    ClueDetail,
    ClueList,
    DashboardAnswer,
    DepartmentAnswerBody,
    DispositionBody,
    LoginAnswer,
    LoginBody,
    NoteBody,
)

router = APIRouter()


def _disposition(value: Any) -> str:
    try:
        found = normalise_disposition(value)
    except ReviewError as exc:
        raise BadInput(f"处置结果“{value}”无效：应为属实、误报或已解释", str(exc)) from None
    if found is None:
        raise BadInput("请选择处置结果（属实、误报或已解释）", "disposition is required (confirmed / false_positive / explained)")
    return found


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"{name}“{value}”应为整数", f"{name} '{value}': expected a whole number") from None


# -- sessions ---------------------------------------------------------------------------

@router.post("/api/login", response_model=LoginAnswer)
def login(request: Request, body: LoginBody) -> JSONResponse:
    config = request.app.state.config.workbench
    cw = database(request)
    session, token = cw.login(body.username, body.password, config.session_seconds)
    response = JSONResponse({"csrf_token": session.csrf_token, "role": session.account.role,
                             "username": session.account.username, "expires_at": local_time(cw, session.expires_at)})
    set_session_cookie(response, token, config.session_seconds, config.secure_cookies)
    return response


@router.post("/api/logout")
def logout(request: Request, who: Caller = Depends(changer)) -> JSONResponse:
    who.cw.accounts.logout(who.token, who.account.username)
    response = JSONResponse({})
    clear_session_cookie(response, request.app.state.config.workbench.secure_cookies)
    return response


@router.get("/api/me")
def me(who: Caller = Depends(caller)) -> dict:
    return {**who.account.public(), "expires_at": local_time(who.cw, who.session.expires_at)}


def local_time(cw: Casework, at: datetime) -> str:
    return at.astimezone(cw.settings.zone).isoformat(timespec="seconds")


# -- clues ------------------------------------------------------------------------------

def list_args(request: Request) -> dict:
    q = request.query_params
    return {"status": q.get("status") or None, "rule_id": q.get("rule_id") or None,
            "district": q.get("district") or None, "color": q.get("color") or None,
            "assignee": q.get("assignee") or None, "q": q.get("q") or None,
            "overdue_first": q.get("order") == "overdue", "limit": _int(q.get("limit"), "limit", 1000),
            "offset": _int(q.get("offset"), "offset", 0)}


@router.get("/api/clues", response_model=ClueList)
def clues(request: Request, who: Caller = Depends(caller)) -> dict:
    return who.cw.clues.list(who.account, **list_args(request))


@router.get("/api/clues/{key}", response_model=ClueDetail)
def clue(key: str, who: Caller = Depends(caller)) -> dict:
    return who.cw.clues.detail(who.account, key)


@router.post("/api/clues/{key}/assign", response_model=ClueDetail)
def assign(key: str, body: AssignBody, who: Caller = Depends(changer)) -> dict:
    who.cw.clues.row(who.account, key)  # 404 before anything else is said
    return who.cw.workflow.assign(who.account, key, body.assignee, body.deadline)


@router.post("/api/assign", response_model=BulkAssigned)
def bulk_assign(body: BulkAssignBody, who: Caller = Depends(changer)) -> dict:
    done = who.cw.workflow.bulk_assign(who.account, body.keys, body.assignee, body.deadline)
    return {"assigned": len(done), "clues": done}


@router.post("/api/clues/{key}/disposition", response_model=ClueDetail)
def disposition(key: str, body: DispositionBody, who: Caller = Depends(changer)) -> dict:
    who.cw.clues.row(who.account, key)
    if who.account.role not in ("reviewer", "supervisor"):
        return who.cw.workflow.answer(who.account, key, None, None)  # says 403
    return who.cw.workflow.answer(who.account, key, _disposition(body.disposition), body.note,
                                  body.amount_recovered, body.rectification,
                                  above_amount_at_risk=body.above_amount_at_risk,
                                  voucher=_int(str(body.voucher), "voucher", 0) if body.voucher not in (None, "") else None)


@router.post("/api/clues/{key}/feedback", response_model=ClueDetail)
def feedback(key: str, body: DepartmentAnswerBody, who: Caller = Depends(changer)) -> dict:
    return who.cw.workflow.add_feedback(who.account, key, body.note, body.rectified, body.amount_returned)


@router.post("/api/clues/{key}/close", response_model=ClueDetail)
def close(key: str, body: Optional[NoteBody] = None, who: Caller = Depends(changer)) -> dict:
    return who.cw.workflow.close_clue(who.account, key, body.note if body else "")


@router.post("/api/clues/{key}/reopen", response_model=ClueDetail)
def reopen(key: str, body: Optional[NoteBody] = None, who: Caller = Depends(changer)) -> dict:
    return who.cw.workflow.reopen_clue(who.account, key, body.note if body else None)


@router.post("/api/clues/{key}/unmask", response_model=ClueDetail)
def unmask(key: str, who: Caller = Depends(changer)) -> dict:
    return who.cw.workflow.log_unmask(who.account, key)


@router.get("/api/assignees", response_model=Assignees)
def assignees(request: Request, who: Caller = Depends(caller)) -> dict:
    """The reviewers a supervisor may assign: whose scope covers the clue (``key``), or meets the
    supervisor's own; nobody else's name or scope is shown."""
    if who.account.role != "supervisor":
        raise Forbidden("只有督办人分派线索", "only a supervisor assigns clues")
    key = request.query_params.get("key")
    clue = who.cw.clues.row(who.account, key) if key else None
    return {"assignees": [{"username": a.username, "districts": list(a.districts), "domains": list(a.domains)}
                          for a in eligible(who, "reviewer", clue)]}


def eligible(who: Caller, role: str, clue: dict | None = None) -> list:
    """Active accounts of ``role`` whose scope covers ``clue``, or else meets the caller's."""
    return [a for a in who.cw.users(role) if not a.disabled
            and (a.covers(clue["district"], clue["domain"]) if clue else a.overlaps(who.account))]


# -- the audit log and the dashboard ----------------------------------------------------

@router.get("/api/audit", response_model=AuditAnswer)
def audit(request: Request, who: Caller = Depends(caller)) -> dict:
    q = request.query_params
    return who.cw.audit.read(who.account, finding_key=q.get("finding_key") or None, user=q.get("user") or None,
                            limit=_int(q.get("limit"), "limit", 500), offset=_int(q.get("offset"), "offset", 0))


@router.get("/api/dashboard", response_model=DashboardAnswer)
def dashboard(who: Caller = Depends(caller)) -> dict:
    return who.cw.dashboard(who.account)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, who: Caller = Depends(caller)) -> dict:
    """The machine-readable contract, for a logged-in supervisor (a department's system is set
    up from it)."""
    if who.account.role != "supervisor":
        raise Forbidden("只有督办人可以读取接口说明", "only a supervisor reads the contract")
    return request.app.openapi()


# -- export -----------------------------------------------------------------------------

@router.get("/export/clues.csv")
def export_clues(request: Request, who: Caller = Depends(caller)) -> Response:
    """The list as CSV (UTF-8 with BOM for Excel, Chinese headers and values), masked, with the
    notes, the feedback and the amount recovered; every text cell safe from formulas."""
    from crosscheck.workbench.exports import ledger_rows

    args = list_args(request)
    args["limit"] = _int(request.query_params.get("limit"), "limit", 5000)
    header, rows = ledger_rows(who, args)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise_formula("" if v is None else v if isinstance(v, (int, float)) else str(v))
                         for v in row])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="clues.csv"'})
