"""/v1/analyses: upload a clip, follow its analysis, fetch its report, delete it.

Every route is scoped to the caller's key: another owner's analysis is a 404, exactly as if it
did not exist.
"""

from __future__ import annotations

import json
import shutil
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from analyzer.outputs.reel import NOT_TWO
from analyzer.outputs.report_schema import Report
from api.db import Analysis
from api.deps import BUSY, AppState, HeavyDep, OwnerDep, StateDep
from api.labels import LABEL_SCHEMA, Label, check_label
from api.options import AnalysisOptions
from api.privacy import private_dir
from api.probe import probe_upload
from api.reasons import client_reason
from api.results import has_result, result_response, result_text
from api.schemas import AnalysisAccepted, AnalysisOut, AnalysisPage, ErrorOut, Links
from api.split import ANALYZE_TASK, defer_in
from api.storage import safe_name
from api.store import delete_files, storage
from api.upload import receive_upload

router = APIRouter(prefix="/v1/analyses", tags=["analyses"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key, or an unknown or revoked one."},
    404: {"model": ErrorOut, "description": "No such analysis for this key."},
}


def _form_fields() -> dict[str, Any]:
    """The upload form's option fields, read from ``AnalysisOptions`` (one place for the
    options: what the form documents is what the worker validates). Sub-schemas are written
    inline and ``X | None`` fields become plain ``X`` (a form cannot send null; leaving a field
    out is how a client asks for the default)."""
    schema = AnalysisOptions.model_json_schema()
    defs = schema.get("$defs", {})

    def plain(node: Any) -> Any:
        if isinstance(node, list):
            return [plain(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:  # the field's own keys (its description) over the sub-schema's
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return plain({**defs[node["$ref"].rsplit("/", 1)[-1]], **rest})
        options = [x for x in node.get("anyOf", []) if x != {"type": "null"}]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
            return plain({**options[0], **rest})
        return {k: plain(v) for k, v in node.items()}

    fields: dict[str, Any] = plain(schema["properties"])
    return fields


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The video (or image) to analyze.",
                        },
                        "label": LABEL_SCHEMA,
                        **_form_fields(),
                    },
                }
            }
        },
    }
}


def _out(a: Analysis) -> AnalysisOut:
    base = f"/v1/analyses/{a.id}"
    return AnalysisOut(
        id=a.id,
        status=a.status,  # type: ignore[arg-type]  # the store only writes these four values
        progress=a.progress,
        label=a.label,
        input_name=a.input_name,
        created_at=a.created_at,
        started_at=a.started_at,
        finished_at=a.finished_at,
        attempts=a.attempts,
        error=None if a.error is None else client_reason(a.error),
        links=Links(
            self=base,
            report=f"{base}/report",
            report_html=f"{base}/report.html",
            timeline=f"{base}/timeline.csv",
            reel=f"{base}/reel.mp4",
        ),
    )


def _owned(state: StateDep, owner: int, analysis_id: uuid.UUID) -> Analysis:
    with Session(state.engine) as s:
        a = s.get(Analysis, analysis_id.hex)
    if a is None or a.owner_id != owner:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such analysis")
    return a


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AnalysisAccepted,
    openapi_extra=UPLOAD_BODY,
    responses={
        **ERRORS,
        400: {"model": ErrorOut, "description": "The upload broke off."},
        408: {"model": ErrorOut, "description": "The upload paused too long or came too slowly."},
        413: {
            "model": ErrorOut,
            "description": "The upload, or the picture it holds, is larger than the limit.",
        },
        415: {"model": ErrorOut, "description": "The file is not a readable video or image."},
        422: {
            "model": ErrorOut,
            "description": "Missing or empty file, a picture too small, bad options or label.",
        },
        503: {"model": ErrorOut, "description": "The job store is not reachable now."},
        507: {"model": ErrorOut, "description": "No room on the server for the upload now."},
    },
    summary="Upload a clip for analysis",
)
async def create_analysis(
    request: Request, response: Response, owner: OwnerDep, state: StateDep
) -> AnalysisAccepted:
    """Streams the upload once, straight into the data folder, checks from its headers that it
    is a video or an image of a size that is analyzed (nothing is decoded here), and queues
    it."""
    analysis_id = uuid.uuid4().hex
    folder = private_dir(state.settings.uploads_dir / analysis_id)
    try:
        upload = await receive_upload(request, folder)
        name = safe_name(upload.client_name)
        label, options = _fields(upload.fields)
        async with state.probes:
            await run_in_threadpool(probe_upload, upload.path, name)
        stored = str(upload.path)
        objects = storage(state.settings)
        if objects is not None:  # a cluster: the upload is kept in the object store
            stored = f"uploads/{analysis_id}/{upload.path.name}"
            await run_in_threadpool(objects.put_file, upload.path, stored)
            shutil.rmtree(folder, ignore_errors=True)
        row = Analysis(
            id=analysis_id,
            owner_id=owner,
            label=label,
            input_name=name,
            options=options.model_dump_json(),
            upload_path=stored,
        )
        try:
            await run_in_threadpool(_insert, state, row)
        except (OperationalError, ProgrammingError):  # unreachable, or its schema is not there
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "the job store is not reachable; try later"
            ) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        objects = storage(state.settings)
        if objects is not None:
            await run_in_threadpool(objects.remove, f"uploads/{analysis_id}")
        raise
    url = f"/v1/analyses/{analysis_id}"
    response.headers["Location"] = url
    return AnalysisAccepted(id=analysis_id, status="queued", status_url=url)


def _fields(fields: dict[str, str]) -> tuple[str | None, AnalysisOptions]:
    """The label (an empty one is none) and the options, or 422 with the first problem."""
    fields = dict(fields)
    label = fields.pop("label", "") or None
    if label is not None:
        try:
            label = check_label(label)
        except ValueError as e:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"label: {e}") from None
    try:
        options = AnalysisOptions.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}: {first['msg']}"
        ) from None
    return label, options


def _insert(state: AppState, row: Analysis) -> None:
    """Record the analysis; in cluster mode its Procrastinate job is deferred in the same
    transaction (both exist, or neither)."""
    with Session(state.engine) as s:
        s.add(row)
        if state.settings.cluster:
            s.flush()
            defer_in(s, ANALYZE_TASK, analysis_id=row.id)
        s.commit()


@router.get("", response_model=AnalysisPage, responses=ERRORS, summary="Your analyses")
def list_analyses(
    owner: OwnerDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    label: Annotated[Label | None, Query()] = None,
) -> AnalysisPage:
    """Newest first."""
    with Session(state.engine) as s:
        q = select(Analysis).where(Analysis.owner_id == owner)
        n = select(func.count()).select_from(Analysis).where(Analysis.owner_id == owner)
        if label is not None:
            q = q.where(Analysis.label == label)
            n = n.where(Analysis.label == label)
        rows = s.exec(
            q.order_by(col(Analysis.created_at).desc(), col(Analysis.id))
            .offset(offset)
            .limit(limit)
        ).all()
        total = s.exec(n).one()
    return AnalysisPage(items=[_out(a) for a in rows], total=int(total), limit=limit, offset=offset)


@router.get(
    "/{analysis_id}", response_model=AnalysisOut, responses=ERRORS, summary="Status and progress"
)
def get_analysis(analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep) -> AnalysisOut:
    return _out(_owned(state, owner, analysis_id))


def _finished(state: StateDep, owner: int, analysis_id: uuid.UUID) -> Analysis:
    a = _owned(state, owner, analysis_id)
    if a.status == "failed":
        raise HTTPException(
            status.HTTP_409_CONFLICT, client_reason(f"the analysis failed: {a.error}")
        )
    if a.status != "done":
        raise HTTPException(status.HTTP_409_CONFLICT, f"the analysis is {a.status}; try later")
    return a


NOT_READY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "Not finished yet, or failed."}
}


@router.get(
    "/{analysis_id}/report",
    response_model=Report,
    responses={**ERRORS, **NOT_READY, **BUSY},
    summary="The report (same schema as the CLI's report.json)",
)
def get_report(analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep, _turn: HeavyDep) -> Report:
    a = _finished(state, owner, analysis_id)
    text = result_text(state.settings, a, "report.json")
    return Report.model_validate(json.loads(text))


@router.get(
    "/{analysis_id}/report.html",
    response_class=FileResponse,
    responses={**ERRORS, **NOT_READY, 200: {"content": {"text/html": {}}}},
    summary="The report as one self-contained web page (charts, moments, explanations)",
)
def get_report_html(
    analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep, request: Request
) -> Response:
    """Sent from the file as it is read (the page is a few MB: Plotly is inside)."""
    a = _finished(state, owner, analysis_id)
    return result_response(
        state.settings,
        a,
        "report.html",
        "text/html; charset=utf-8",
        range_header=request.headers.get("range"),
    )


@router.get(
    "/{analysis_id}/timeline.csv",
    response_class=FileResponse,
    responses={**ERRORS, **NOT_READY, 200: {"content": {"text/csv": {}}}},
    summary="The per-frame timeline (same as the CLI's timeline.csv)",
)
def get_timeline(
    analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep, request: Request
) -> Response:
    a = _finished(state, owner, analysis_id)
    return result_response(
        state.settings,
        a,
        "timeline.csv",
        "text/csv; charset=utf-8",
        range_header=request.headers.get("range"),
    )


NOT_ASKED = "no reel: it was not asked for when the video was uploaded"


@router.get(
    "/{analysis_id}/reel.mp4",
    response_class=FileResponse,
    responses={
        **ERRORS,
        **NOT_READY,
        200: {"content": {"video/mp4": {}}},
        404: {"model": ErrorOut, "description": "No such analysis, or no reel (and why)."},
    },
    summary="The moments reel: two people's moments of connection, with sound (MP4)",
)
def get_reel(
    analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep, request: Request
) -> Response:
    a = _finished(state, owner, analysis_id)
    if not has_result(state.settings, a, "reel.mp4"):
        report = json.loads(result_text(state.settings, a, "report.json"))
        why = [w for w in report.get("warnings", []) if w.startswith("no reel:")]
        if not why:
            why = [NOT_TWO if report.get("partners") is None else NOT_ASKED]
        raise HTTPException(status.HTTP_404_NOT_FOUND, client_reason(why[0]))
    return result_response(
        state.settings,
        a,
        "reel.mp4",
        "video/mp4",
        filename="reel.mp4",
        range_header=request.headers.get("range"),
    )


@router.delete(
    "/{analysis_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
    summary="Delete the upload, the results and the record",
)
def delete_analysis(analysis_id: uuid.UUID, owner: OwnerDep, state: StateDep) -> Response:
    a = _owned(state, owner, analysis_id)
    with Session(state.engine) as s:
        row = s.get(Analysis, a.id)
        if row is not None:
            s.delete(row)
            s.commit()
    delete_files(a, state.settings)  # a worker still running notices and stops
    return Response(status_code=status.HTTP_204_NO_CONTENT)
