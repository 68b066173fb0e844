"""The FastAPI application: ``create_app(settings)``.

One error handler turns anything unexpected into a plain 500 without a traceback; the
UploadLimit middleware (api/limits.py) refuses oversized uploads with 413.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from analyzer import __version__
from api.db import make_engine, migrate
from api.deps import AppState
from api.jobs import Dispatcher
from api.limits import UploadLimit
from api.routes import analyses, clients, health, practice
from api.settings import ApiSettings, get_settings

log = logging.getLogger("presence.api")


def create_app(settings: ApiSettings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The service. ``run_jobs=False`` accepts uploads without analysing them (for tests of the
    HTTP surface only)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for d in (settings.data_dir, settings.uploads_dir, settings.results_dir):
            d.mkdir(parents=True, exist_ok=True)
        migrate(settings.db_url)
        engine = make_engine(settings.db_url)
        dispatcher = Dispatcher(settings, engine) if run_jobs else None
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
    )
    app.include_router(health.router)
    app.include_router(analyses.router)
    app.include_router(clients.router)
    app.include_router(practice.router)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "internal error; the server log has the details"}, status_code=500
        )

    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes)
    return app
