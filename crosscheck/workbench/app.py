"""The workbench's web application (FastAPI): the JSON contract (`crosscheck.workbench.api`),
the pages (`crosscheck.workbench.pages`), sessions and CSRF (`crosscheck.workbench.auth`).

    app = create_app(store_path, ProjectConfig.load(project))

It reads and writes only the casework database beside the findings store
(`crosscheck.casework`), never the store itself: a run recording for minutes does not hold
up a single request. Each worker thread keeps its own SQLite connection.
"""
from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from crosscheck.casework import BadInput, Casework, CaseworkError, Conflict, Forbidden, NotFound, casework_path
from crosscheck.config import ProjectConfig

STATIC = Path(__file__).resolve().parent / "static"

#: Nothing leaves the page, nothing is framed; scripts and styles only from the workbench itself.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS_OF = {BadInput: 400, Forbidden: 403, NotFound: 404, Conflict: 409}


class Databases:
    """One casework connection per worker thread."""

    def __init__(self, path: Path, config: ProjectConfig):
        self.path = path
        self.settings = config.casework_settings()
        self._local = threading.local()
        self._all: list[Casework] = []
        self._lock = threading.Lock()

    def get(self) -> Casework:
        cw = getattr(self._local, "cw", None)
        if cw is None:
            cw = Casework.open(self.path, settings=self.settings)
            self._local.cw = cw
            with self._lock:
                self._all.append(cw)
        return cw

    def close(self) -> None:
        with self._lock:
            for cw in self._all:
                try:
                    cw.close()
                except Exception:  # noqa: BLE001 - another thread's connection, at shutdown
                    pass
            self._all.clear()


def error(status: int, message: str, request: Request | None = None, **extra):
    """``{"error": ...}`` for the API; for a page, the same message as a page."""
    if request is not None and not request.url.path.startswith(("/api/", "/export/")):
        from crosscheck.workbench.pages import render

        response = render("error.html.j2", request, None, status=status, message=message)
        response.status_code = status
        return response
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(store: str | Path, config: ProjectConfig) -> FastAPI:
    """The workbench on the casework database of findings store ``store``."""
    from crosscheck.workbench import api, health, pages

    app = FastAPI(title="crosscheck workbench", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.db = Databases(casework_path(Path(store)), config)
    app.state.db.get()  # create the database and its tables now, not on the first request

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(CaseworkError)
    async def casework_error(request: Request, exc: CaseworkError):
        return error(next((s for t, s in STATUS_OF.items() if isinstance(exc, t)), 400), str(exc), request)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        return error(400, f"bad request: {first.get('msg', 'invalid input')} at {'.'.join(map(str, first.get('loc', ())))}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303 and exc.headers:
            from fastapi.responses import RedirectResponse

            return RedirectResponse(exc.headers["Location"], status_code=303)
        return error(exc.status_code, str(exc.detail), request)

    @app.on_event("shutdown")
    def close_databases() -> None:
        app.state.db.close()

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
