"""FastAPI dependencies: the app's state, its settings, and the caller (from the bearer key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from api.jobs import Dispatcher
from api.keys import owner_of
from api.settings import ApiSettings


@dataclass
class AppState:
    settings: ApiSettings
    engine: Engine
    dispatcher: Dispatcher | None


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
