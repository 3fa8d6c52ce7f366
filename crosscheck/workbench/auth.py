"""Sessions and CSRF for the workbench.

A session is the ``cc_session`` cookie (HttpOnly, SameSite=Strict, Path=/, Secure when
``[workbench] secure_cookies``), whose token login returns with the session's CSRF token.
Every request that changes something carries that CSRF token in the ``X-CSRF-Token`` header
(the pages read it from their ``<meta name="csrf-token">``); a request without it, or with
another session's, is refused (403) before anything is looked at. A session ends at logout,
when its lifetime (``[workbench] session_seconds``) is over, or when its account is disabled.
"""
from __future__ import annotations

from typing import NamedTuple

from fastapi import HTTPException, Request, Response

from crosscheck.casework import Account, Casework, Session

COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"


class Caller(NamedTuple):
    account: Account
    session: Session
    token: str
    cw: Casework


def database(request: Request) -> Casework:
    return request.app.state.db.get()


def caller(request: Request) -> Caller:
    """The logged-in caller (401 otherwise)."""
    token = request.cookies.get(COOKIE) or ""
    cw = database(request)
    session = cw.accounts.session(token)
    if session is None:
        raise HTTPException(401, "未登录或会话已过期 / not logged in, or the session expired")
    return Caller(session.account, session, token, cw)


def changer(request: Request) -> Caller:
    """The logged-in caller of a changing request, with its session's CSRF token (403 otherwise)."""
    who = caller(request)
    if not who.cw.accounts.csrf_ok(who.session, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "缺少或错误的 CSRF 令牌 / missing or wrong CSRF token (X-CSRF-Token header)")
    return who


def page_caller(request: Request) -> Caller:
    """The logged-in caller of a page; to the login page otherwise."""
    try:
        return caller(request)
    except HTTPException:
        raise HTTPException(303, "login", headers={"Location": "/login"}) from None


def set_session_cookie(response: Response, token: str, seconds: int, secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=int(seconds), path="/", httponly=True, samesite="strict",
                        secure=bool(secure))


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=bool(secure))
