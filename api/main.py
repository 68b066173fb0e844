"""The FastAPI application: ``create_app(settings)``.

Every error a client sees is ``{"detail": "<one line>"}``: request validation errors are said in
one line too, and anything unexpected is a plain 500 without a traceback (the server log has
it). ``BodyLimits`` (api/limits.py) refuses bodies that are too large (413) or too slow (408).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.routing import Match
from starlette.types import Scope

from analyzer import __version__
from analyzer.errors import AnalyzerError
from api.cluster import ensure_schema, local_workers
from api.db import make_engine, migrate
from api.deps import AppState
from api.jobs import Dispatcher
from api.limits import BodyLimits
from api.privacy import make_tree_private, prepare_data_dir
from api.reasons import client_reason
from api.routes import analyses, clients, health, practice
from api.settings import ApiSettings, get_settings

log = logging.getLogger("presence.api")
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def one_line(exc: RequestValidationError) -> str:
    """The first validation problem: "label: may not contain '/' (...)"."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query", "body"))
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return client_reason(f"{where or 'request'}: {msg}{more}")


def no_unknown_query(connection: HTTPConnection) -> None:
    """A query parameter the route does not take is refused (a typo such as ``?lable=`` would
    otherwise silently list everything). WebSockets take none and are let through."""
    route = connection.scope.get("route")
    if not connection.query_params or not isinstance(route, APIRoute):
        return
    known: set[str] = set()
    todo = [route.dependant]
    while todo:  # the route's own parameters and its dependencies'
        dependant = todo.pop()
        known |= {p.alias for p in dependant.query_params}
        todo.extend(dependant.dependencies)
    unknown = sorted(set(connection.query_params) - known)
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown query parameter {unknown[0]!r}"
        )


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def create_app(settings: ApiSettings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The service. ``run_jobs=False`` accepts uploads without analyzing them (for tests of the
    HTTP surface only)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_data_dir(settings)
        migrate(settings.db_url)
        make_tree_private(settings.data_dir)  # the database, if this start made it
        engine = make_engine(settings.db_url)
        with contextlib.ExitStack() as stack:
            dispatcher = None
            if settings.cluster:  # jobs through Procrastinate; workers anywhere
                ensure_schema(settings)
                if run_jobs and settings.workers > 0:
                    stack.enter_context(local_workers(settings))
            elif run_jobs:
                dispatcher = Dispatcher(settings, engine)
            app.state.presence = AppState(settings=settings, engine=engine, dispatcher=dispatcher)
            if dispatcher is not None:
                dispatcher.start()
            try:
                yield
            finally:
                if dispatcher is not None:
                    dispatcher.stop()
                engine.dispose()

    app = FastAPI(
        title="Presence",
        version=__version__,
        description="Upload a clip, get a presence report: eye contact, openness, "
        "expressiveness and nods per person. Every route needs `Authorization: Bearer <key>` "
        "(from `presence keys create`) except /healthz.",
        lifespan=lifespan,
        dependencies=[Depends(no_unknown_query)],
    )
    app.include_router(health.router)
    app.include_router(analyses.router)
    app.include_router(clients.router)
    app.include_router(practice.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Allow: every method of the path, not the first route's
            allow = ", ".join(allowed_methods(app, request.scope))
            exc = StarletteHTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": allow})
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": one_line(exc)}, status_code=422)

    @app.exception_handler(AnalyzerError)
    async def analyzer_error(request: Request, exc: AnalyzerError) -> JSONResponse:
        """An analyzer error raised while answering: its own status, its one line (no paths)."""
        return JSONResponse({"detail": client_reason(str(exc))}, status_code=exc.http_status)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "internal error; the server log has the details"}, status_code=500
        )

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, with every error answer described as it is: ``ErrorOut`` in JSON
        (FastAPI would give 422 its own model, and an HTML route's errors the HTML type)."""
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = default_openapi()  # FastAPI keeps it in app.openapi_schema
        for methods in spec.get("paths", {}).values():
            for operation in methods.values():
                for code, answer in operation.get("responses", {}).items():
                    if code.isdigit() and int(code) >= 400:
                        answer["content"] = {"application/json": {"schema": ERROR_REF}}
        schemas = spec.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_upload_bytes,
        idle_timeout_s=settings.body_timeout_s,
        min_rate_bytes_s=settings.body_min_rate_kb_s * 1024,
    )
    return app
