"""A coach's progress view: one client's sessions (analyses sharing a label), metric by metric.

GET /v1/clients/{label}/progress (JSON) and /progress.html (one self-contained page of charts).
Only the caller's own finished analyses are included, at most the latest ``MAX_SESSIONS``; the
label follows the one rule of ``api.labels``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, get_type_hints

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, create_model
from sqlmodel import Session, col, select

from analyzer.outputs.progress import SessionPoint, Trend, progress, trends
from analyzer.outputs.progress_page import progress_html
from analyzer.outputs.report_schema import Report
from api.db import Analysis
from api.deps import BUSY, HeavyDep, OwnerDep, StateDep
from api.labels import Label
from api.results import has_result, result_text
from api.schemas import ErrorOut

router = APIRouter(prefix="/v1/clients", tags=["progress"])

MAX_SESSIONS = 100
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key, or an unknown or revoked one."},
    404: {"model": ErrorOut, "description": "No finished analyses with this label."},
    **BUSY,
}


def _model_of(cls: type, name: str, **first: Any) -> type[BaseModel]:
    """A response model with the fields of the dataclass ``cls`` (its names, types and
    docstring), after the ``first`` fields given as (type, default): the API answers what the
    progress code computes, declared in one place."""
    fields: dict[str, Any] = {k: (t, ...) for k, t in get_type_hints(cls).items()}
    model: type[BaseModel] = create_model(name, __doc__=cls.__doc__, **first, **fields)
    return model


PointOut = _model_of(SessionPoint, "PointOut", analysis_id=(str, ...))
TrendOut = _model_of(Trend, "TrendOut", person_id=(int, ...), metric=(str, ...))


class ProgressOut(BaseModel):
    label: str
    sessions: int
    points: list[PointOut]  # type: ignore[valid-type]
    trends: list[TrendOut]  # type: ignore[valid-type]


def _points(state: StateDep, owner: int, label: str) -> tuple[list[SessionPoint], dict[str, str]]:
    with Session(state.engine) as s:
        newest = s.exec(
            select(Analysis)
            .where(Analysis.owner_id == owner, Analysis.label == label, Analysis.status == "done")
            .order_by(col(Analysis.created_at).desc())
            .limit(MAX_SESSIONS)
        ).all()
    rows = newest[::-1]
    sessions = []
    ids: dict[str, str] = {}
    for a in rows:
        if not has_result(state.settings, a, "report.json"):
            continue
        report = Report.model_validate(json.loads(result_text(state.settings, a, "report.json")))
        name = f"{a.input_name} ({a.id[:6]})"  # two uploads of one file stay two sessions
        ids[name] = a.id
        sessions.append((name, a.created_at, report))
    if not sessions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no finished analyses with this label")
    return progress(sessions), ids


@router.get(
    "/{label}/progress",
    response_model=ProgressOut,
    responses=ERRORS,
    summary="Each measure across one client's sessions (the latest 100), oldest first",
)
def get_progress(label: Label, owner: OwnerDep, state: StateDep, _turn: HeavyDep) -> ProgressOut:
    points, ids = _points(state, owner, label)
    return ProgressOut(
        label=label,
        sessions=len(ids),
        points=[PointOut(analysis_id=ids[p.session], **asdict(p)) for p in points],
        trends=[
            TrendOut(person_id=pid, metric=m, **asdict(t))
            for (pid, m), t in sorted(trends(points).items())
        ],
    )


@router.get(
    "/{label}/progress.html",
    response_class=HTMLResponse,
    responses={**ERRORS, 200: {"content": {"text/html": {}}}},
    summary="The same as a page of charts",
)
def get_progress_html(
    label: Label, owner: OwnerDep, state: StateDep, _turn: HeavyDep
) -> HTMLResponse:
    points, _ = _points(state, owner, label)
    return HTMLResponse(progress_html(f"Progress - {label}", points))
