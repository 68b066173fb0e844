"""FastAPI dependencies: the app's state, its settings, the caller (from the bearer key), and a
turn for requests that read or draw whole reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from api.jobs import Dispatcher
from api.keys import owner_of
from api.schemas import ErrorOut
from api.settings import ApiSettings

RETRY_AFTER_S = 5
PROBES_AT_ONCE = 2  # opening a video's headers can decode a frame inside FFmpeg (8K: 50 MB)


@dataclass
class AppState:
    settings: ApiSettings
    engine: Engine
    dispatcher: Dispatcher | None
    # Heavy requests at once, and uploads being checked at once (made in the lifespan).
    heavy: asyncio.Semaphore = field(init=False)
    probes: asyncio.Semaphore = field(init=False)
    # Practice sockets open now (any stage), and live practice sessions (models loaded).
    sockets: int = 0
    sessions: int = 0

    def __post_init__(self) -> None:
        self.heavy = asyncio.Semaphore(self.settings.heavy_requests)
        self.probes = asyncio.Semaphore(PROBES_AT_ONCE)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.presence
    return state


StateDep = Annotated[AppState, Depends(get_state)]

bearer = HTTPBearer(auto_error=False, description="An API key from `presence keys create`.")


def current_owner(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> int:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    owner = owner_of(state.engine, credentials.credentials)
    if owner is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return owner


OwnerDep = Annotated[int, Depends(current_owner)]


async def heavy_turn(state: StateDep) -> AsyncIterator[None]:
    """Wait up to ``heavy_wait_s`` for one of ``heavy_requests`` turns; 503 if none frees."""
    try:
        await asyncio.wait_for(state.heavy.acquire(), timeout=state.settings.heavy_wait_s)
    except asyncio.TimeoutError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "busy with other reports; try again in a few seconds",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    try:
        yield
    finally:
        state.heavy.release()


HeavyDep = Annotated[None, Depends(heavy_turn)]

BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "Busy with other reports; try again (Retry-After)."}
}
