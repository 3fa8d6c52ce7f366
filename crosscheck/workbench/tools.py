"""The casework tools of the JSON contract (shared/spec/workbench.md): my work and the
workload, hand-over to a department (转办), the comment thread, attachments, the 线索处置单
(PDF) and the 整改台账 (xlsx). Scope and roles as for the clue itself: outside the caller's
scope a clue does not exist (404)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from crosscheck.casework import Forbidden
from crosscheck.casework.attachments import MAX_BYTES, TooLarge
from crosscheck.casework.scope import COLOR_ZH, DISPOSITION_ZH, STATUS_ZH
from crosscheck.workbench.api import list_args
from crosscheck.workbench.auth import Caller, caller, changer
from crosscheck.workbench.labels import label_of
from crosscheck.workbench.words import SEVERITY_ZH
from crosscheck.workbench.models import (
    Attachment,
    Attachments,
    ClueDetail,
    Comment,
    CommentBody,
    Comments,
    HandoverBody,
    MyWork,
)

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/api/me/work", response_model=MyWork)
def my_work(who: Caller = Depends(caller)) -> dict:
    return who.cw.worklists.my_work(who.account)


@router.post("/api/clues/{key}/handover", response_model=ClueDetail)
def handover(key: str, body: HandoverBody, who: Caller = Depends(changer)) -> dict:
    who.cw.clues.row(who.account, key)
    return who.cw.workflow.handover(who.account, key, body.department, body.deadline, body.request)


@router.get("/api/clues/{key}/comments", response_model=Comments)
def comments(key: str, who: Caller = Depends(caller)) -> dict:
    return {"comments": who.cw.workflow.comments(who.account, key)}


@router.post("/api/clues/{key}/comments", response_model=Comment)
def comment(key: str, body: CommentBody, who: Caller = Depends(changer)) -> dict:
    return who.cw.workflow.comment(who.account, key, body.text)


@router.get("/api/clues/{key}/attachments", response_model=Attachments)
def attachments(key: str, who: Caller = Depends(caller)) -> dict:
    return {"attachments": who.cw.attachments.list(who.account, key)}


@router.post("/api/clues/{key}/attachments", response_model=Attachment)
async def upload(key: str, file: UploadFile = File(...), who: Caller = Depends(changer)) -> dict:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TooLarge(f"附件超过 {MAX_BYTES // 1024 // 1024} MB", f"the file is over {MAX_BYTES // 1024 // 1024} MB")
    return who.cw.attachments.add(who.account, key, file.filename or "", data)


@router.get("/api/clues/{key}/attachments/{attachment_id}")
def download(key: str, attachment_id: int, who: Caller = Depends(caller)) -> Response:
    """The file, always as a download (never shown inline), in the type it was sniffed as."""
    meta, data = who.cw.attachments.read(who.account, key, attachment_id)
    return Response(data, media_type=meta["type"], headers={
        "Content-Disposition": f"attachment; filename=\"attachment-{meta['id']}\"; filename*=UTF-8''{quote(meta['name'])}",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


def sheet_of(who: Caller, key: str, labels) -> dict:
    """What the 线索处置单 shows of a clue (masked as the clue page)."""
    c = who.cw.clues.detail(who.account, key)
    d = c.get("disposition") or {}
    h = c.get("handover") or {}
    a = h.get("answer") or {}
    money = lambda v: "—" if v is None else f"{v:,.2f} 元"  # noqa: E731
    fields = c["evidence_fields"] if isinstance(c["evidence_fields"], dict) else {}
    feedback = "\n".join(f"{f['author']}（{(f['at'] or '')[:16].replace('T', ' ')}）：{f['note']}" for f in c["feedback"])
    return {
        "key": c["finding_key"], "timezone": who.cw.settings.timezone,
        "printed": who.cw.db.now().astimezone(who.cw.settings.zone).strftime("%Y-%m-%d %H:%M"),
        "facts": [["规则", f"{c.get('title_zh') or c['rule_id']}（{c['rule_id']}）", "区县", c["district"] or "—"],
                  ["对象", c.get("subject") or "—", "风险等级", SEVERITY_ZH.get(c["severity"], "—")],
                  ["姓名", c["name"] or "—", "身份证号", c["person_id"] or "—"],
                  ["涉及金额", money(c["amount_at_risk"]), "状态", STATUS_ZH.get(c["status"], c["status"])],
                  ["首次发现", c["first_seen"] or "—", "最近发现", c["last_seen"] or "—"]],
        "evidence": [[label_of(labels, c["rule_id"], k)[0], v if isinstance(v, str) else str(v)] for k, v in fields.items()],
        "work": [["核查人", c["assignee"] or "—"],
                 ["核查期限", f"{c['deadline'] or '—'}　{COLOR_ZH.get(c['color'] or '', '')}"],
                 ["处置结果", DISPOSITION_ZH.get(d.get("disposition") or "", "尚未处置")],
                 ["核查说明", d.get("note") or "—"],
                 ["追回金额", money(c["amount_recovered"])],
                 ["整改情况", d.get("rectification") or "—"],
                 ["转办", f"{h['department']}，期限 {h['deadline']}：{h['request']}" if h else "—"],
                 ["部门整改反馈", feedback or "—"],
                 ["部门整改情况", a.get("rectified") or "—"],
                 ["退回金额", money(a.get("amount_returned"))]],
        "note": "身份证号、姓名已脱敏。" if c["masked"] else "本单含身份证号、姓名明文，注意保密。",
        "clue": c,
    }


@router.get("/api/clues/{key}/sheet.pdf")
def sheet(key: str, request: Request, who: Caller = Depends(caller)) -> Response:
    from crosscheck.workbench.sheet_pdf import sheet_pdf

    data = sheet_pdf(sheet_of(who, key, request.app.state.labels))
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="sheet-{key[:16]}.pdf"'})


@router.get("/export/ledger.xlsx")
def ledger(request: Request, who: Caller = Depends(caller)) -> Response:
    """The 整改台账 of the clues in the list's filters (supervisor)."""
    from crosscheck.workbench.exports import ledger_xlsx

    if who.account.role != "supervisor":
        raise Forbidden("只有督办人导出整改台账", "only a supervisor exports the rectification register")
    args = list_args(request)
    args["limit"] = 5000
    data = ledger_xlsx(who, args, f"整改台账 {who.cw.db.today().isoformat()}")
    return Response(data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="ledger.xlsx"'})

