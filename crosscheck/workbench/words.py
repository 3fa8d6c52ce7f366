"""The workbench's words, Chinese first with the English the toggle shows: statuses, actions,
the keys and values of the history and the audit log. One word for one thing: a confirmed
clue is 属实 everywhere (`crosscheck.casework.scope.DISPOSITION_ZH`)."""
from __future__ import annotations

from typing import Any

from crosscheck.casework.scope import COLOR_ZH, DISPOSITION_ZH, ROLE_ZH, STATUS_ZH

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
SEVERITY_EN = {"high": "high", "medium": "medium", "low": "low"}
DISPOSITION_EN = {"confirmed": "Confirmed", "false_positive": "False positive", "explained": "Explained"}
STATUS_EN = {"new": "New", "assigned": "In review", "answered": "Answered", "closed": "Closed"}
COLOR_EN = {"green": "green", "yellow": "yellow", "red": "red"}
ACTION = {
    "login": ("登录", "log in"), "login_failed": ("登录失败", "failed login"),
    "login_locked": ("锁定期间登录", "login while locked"), "login_refused": ("拒绝登录", "login refused"),
    "logout": ("退出", "log out"), "assign": ("分派", "assign"), "deadline": ("调整期限", "new deadline"),
    "disposition": ("处置", "disposition"), "feedback": ("整改反馈", "feedback"), "close": ("销号", "close"),
    "reopen": ("退回/重新打开", "send back / reopen"), "unmask": ("查看明文", "unmasked view"),
    "outcome": ("追回金额", "amount recovered"), "handover": ("转办", "hand-over"), "comment": ("评论", "comment"),
    "attachment_upload": ("上传附件", "attachment uploaded"), "attachment_download": ("下载附件", "attachment downloaded"),
    "account_add": ("新增账户", "account added"), "account_disable": ("停用账户", "account disabled"),
    "account_password": ("修改密码", "password changed"), "account_channel": ("设置提醒渠道", "reminder channel set"),
    "migrate": ("数据迁移", "migration"), "notice": ("发送提醒", "reminder sent"),
}
KEY = {
    "status": ("状态", "status"), "assignee": ("核查人", "assignee"), "deadline": ("期限", "deadline"),
    "disposition": ("处置", "disposition"), "note": ("说明", "note"), "reviewer": ("核查人", "reviewer"),
    "reviewed_on": ("处置日期", "date"), "rectification": ("整改情况", "rectification"),
    "amount_recovered": ("追回金额", "amount recovered"), "recovered": ("本次追回", "recovered"),
    "recovered_on": ("追回日期", "recovered on"), "feedback": ("反馈条数", "feedback"),
    "close_note": ("销号意见", "closing note"), "reopen_note": ("退回原因", "reason"), "masked": ("脱敏", "masked"),
    "fields": ("字段", "fields"), "role": ("角色", "role"), "expires_at": ("会话到期", "session ends"),
    "reason": ("原因", "reason"), "locked_until": ("锁定至", "locked until"), "department": ("责任部门", "department"),
    "request": ("转办要求", "request"), "text": ("内容", "text"), "rectified": ("整改情况", "rectified"),
    "amount_returned": ("退回金额", "amount returned"), "name": ("文件名", "file name"), "size": ("大小", "size"),
    "sha256": ("SHA-256", "SHA-256"), "type": ("类型", "type"), "id": ("编号", "id"), "username": ("用户", "user"),
    "districts": ("区县", "districts"), "domains": ("领域", "domains"), "unmask": ("可查看明文", "may unmask"),
    "disabled": ("已停用", "disabled"), "password": ("密码", "password"), "reviews": ("处置", "reviews"),
    "outcomes": ("追回", "outcomes"), "from": ("来源", "from"),
}
VALUE = {**{k: (v, STATUS_EN[k]) for k, v in STATUS_ZH.items()},
         **{k: (v, DISPOSITION_EN[k]) for k, v in DISPOSITION_ZH.items()},
         **{k: (v, COLOR_EN[k]) for k, v in COLOR_ZH.items()},
         **{k: (v, k) for k, v in ROLE_ZH.items()},
         "wrong username or password": ("用户名或密码错误", "wrong username or password"),
         "account disabled": ("账户已停用", "account disabled"), "changed": ("已修改", "changed")}
VIA = {"web": ("网页", "web"), "cli": ("命令行", "console"), "upgrade": ("升级", "upgrade")}


def word(table: dict[str, tuple[str, str]], key: Any) -> tuple[str, str]:
    """(Chinese, English) of ``key`` in ``table``; an unknown key as it is."""
    if key is None or key == "":
        return ("—", "—")
    return table.get(str(key), (str(key), str(key)))


def shown_value(value: Any) -> tuple[str, str]:
    """A value of the history, in both languages: "—" when empty, words translated."""
    if value is None or value == "" or value == []:
        return ("—", "—")
    if isinstance(value, bool):
        return ("是", "yes") if value else ("否", "no")
    if isinstance(value, list):
        parts = [shown_value(v) for v in value]
        return ("、".join(p[0] for p in parts), ", ".join(p[1] for p in parts))
    if isinstance(value, str) and value in VALUE:
        return VALUE[value]
    return (str(value), str(value))
