"""The workbench's web application (FastAPI): the JSON contract (`crosscheck.workbench.api`),
the pages (`crosscheck.workbench.pages`), sessions and CSRF (`crosscheck.workbench.auth`).

    app = create_app(store_path, ProjectConfig.load(project))            # the system's clock
    app = create_app(store_path, config, clock=a_clock_the_test_moves)   # tests

It reads and writes only the casework database beside the findings store
(`crosscheck.casework`), never the store itself: a run recording for minutes does not hold
up a single request. Each worker thread keeps its own SQLite connection.
"""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from crosscheck.casework import BadInput, Casework, CaseworkError, Clock, Conflict, Forbidden, NotFound, Settings, casework_path
from crosscheck.casework.accounts import LoginRefused
from crosscheck.casework.attachments import MAX_BYTES, TooLarge
from crosscheck.casework.clock import SYSTEM_CLOCK
from crosscheck.config import ProjectConfig
from crosscheck.workbench.labels import evidence_labels

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("crosscheck.workbench")

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
#: The largest JSON body taken (a bulk assignment of 5000 keys fits); attachments: `MAX_BYTES`.
BODY_LIMIT = 1024 * 1024


class Databases:
    """One casework connection per worker thread."""

    def __init__(self, path: Path, config: ProjectConfig, clock: Clock):
        self.path = path
        self.settings = Settings.of(config)
        self.clock = clock
        self._local = threading.local()
        self._all: list[Casework] = []
        self._lock = threading.Lock()

    def get(self) -> Casework:
        cw = getattr(self._local, "cw", None)
        if cw is None:
            cw = Casework.open(self.path, settings=self.settings, clock=self.clock)
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


class Reminders:
    """The reminders to people (`crosscheck.casework.notices`), sent every ``seconds`` by a thread
    of the server; a failure is logged and tried again next time."""

    def __init__(self, databases: Databases, seconds: int):
        self.databases, self.seconds = databases, seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.seconds > 0:
            self._thread = threading.Thread(target=self._loop, name="reminders", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.databases.get().notices.run()
            except Exception as exc:  # noqa: BLE001 - a reminder never stops the workbench
                log.warning("reminders: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def error(status: int, zh: str, en: str, request: Request | None = None, **extra):
    """``{"error": "中文 / English", "error_zh", "error_en"}`` for the API (the pages show the one of
    their language); for a page, the same message as a page with the menu of who is logged in."""
    if request is not None and not request.url.path.startswith(("/api/", "/export/")):
        from crosscheck.workbench.auth import caller
        from crosscheck.workbench.pages import render

        try:
            who = caller(request)
        except StarletteHTTPException:
            who = None
        response = render("error.html.j2", request, who, status=status, message_zh=zh, message_en=en)
        response.status_code = status
        return response
    both = zh if zh == en else f"{zh} / {en}"
    return JSONResponse({"error": both, "error_zh": zh, "error_en": en, **extra}, status_code=status)


def split_message(text: str) -> tuple[str, str]:
    """A "中文 / English" message as its two halves."""
    zh, sep, en = str(text).partition(" / ")
    return (zh, en) if sep else (zh, zh)


class BodyLimit:
    """Refuses a request body over its limit before reading it (413): by its Content-Length, or,
    sent in chunks, as soon as the bytes received pass it. Attachments may be `FILE_LIMIT`."""

    def __init__(self, app, limit: int, file_limit: int):
        self.app, self.limit, self.file_limit = app, limit, file_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.file_limit if scope["path"].endswith("/attachments") else self.limit
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await self._refuse(scope, receive, send, limit)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope, receive, send, limit: int) -> None:
        mb = f"{limit / 1024 / 1024:g} MB"
        await error(413, f"请求内容超过 {mb}", f"the request body is over {mb}")(scope, receive, send)


class BodyTooLarge(Exception):
    pass


def create_app(store: str | Path, config: ProjectConfig, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    """The workbench on the casework database of findings store ``store``, telling time by ``clock``."""
    from crosscheck.workbench import api, health, pages, tools

    databases = Databases(casework_path(Path(store)), config, clock)
    databases.get()  # create the database and its tables now, not on the first request

    reminders = Reminders(databases, config.workbench.notify_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        reminders.start()
        yield
        reminders.stop()
        databases.close()

    app = FastAPI(title="crosscheck workbench", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.config = config
    app.state.db = databases
    app.state.labels = evidence_labels(config.rules_dir)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(CaseworkError)
    async def casework_error(request: Request, exc: CaseworkError):
        status = 413 if isinstance(exc, TooLarge) else next((s for t, s in STATUS_OF.items() if isinstance(exc, t)), 400)
        extra = {"locked_until": exc.locked_until.astimezone(Settings.of(config).zone).isoformat()} \
            if isinstance(exc, LoginRefused) and exc.locked_until else {}
        return error(401 if isinstance(exc, LoginRefused) else status, exc.zh, exc.en, request, **extra)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return error(400, f"请求内容有误：{where}（{first.get('type', 'invalid')}）",
                     f"bad request: {first.get('msg', 'invalid input')} at {where}", request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303 and exc.headers:
            from fastapi.responses import RedirectResponse

            return RedirectResponse(exc.headers["Location"], status_code=303)
        if exc.status_code == 404 and str(exc.detail) == "Not Found":
            return error(404, "没有这个页面", "no such page", request)
        if exc.status_code == 405:
            return error(405, "不支持该操作", "method not allowed", request)
        return error(exc.status_code, *split_message(exc.detail), request)

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(tools.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=BODY_LIMIT, file_limit=MAX_BYTES + 64 * 1024)
    return app
