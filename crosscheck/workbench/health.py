"""`GET /healthz`: for a load balancer or a monitoring tool. No login, and no data: whether the
workbench answers, its version, and whether its casework database can be read where it lives
(opened afresh each time, so a database moved, unreadable or damaged since the start shows)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crosscheck import __version__
from crosscheck.casework import Casework

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    try:
        with Casework.open(request.app.state.db.path, read_only=True) as cw:
            cw.meta("schema_version")
        reachable = True
    except Exception:  # noqa: BLE001 - any failure to read it is the answer
        reachable = False
    return JSONResponse({"ok": reachable, "version": __version__, "database": "reachable" if reachable else "unreachable"},
                        status_code=200 if reachable else 503)
