"""GET /healthz: the service is up, and how busy it is."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import Session, select

from analyzer import __version__
from api.db import Analysis
from api.deps import StateDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(state: StateDep) -> Health:
    with Session(state.engine) as s:
        queued = s.exec(select(func.count()).where(Analysis.status == "queued")).one()
        running = s.exec(select(func.count()).where(Analysis.status == "running")).one()
    return Health(
        status="ok",
        version=__version__,
        queued=int(queued),
        running=int(running),
        workers=state.settings.workers,
    )
