"""A finished analysis's result files, wherever they are kept (the data folder, or the object
store of a cluster: ``api.blobs``, under ``results/<id>/<attempt>/``: the attempt that
finished the record is the one whose results are read, so an attempt superseded while it was
writing can never be served)."""

from __future__ import annotations

from fastapi.responses import FileResponse, Response, StreamingResponse

from api.db import Analysis
from api.settings import ApiSettings
from api.store import storage


def result_key(analysis_id: str, attempt: int, name: str = "") -> str:
    """Where an attempt's results are in the object store."""
    return f"results/{analysis_id}/{attempt}" + (f"/{name}" if name else "")


def has_result(settings: ApiSettings, a: Analysis, name: str) -> bool:
    objects = storage(settings)
    if objects is None:
        return (settings.results_dir / a.id / name).is_file()
    return objects.exists(result_key(a.id, a.attempts, name))


def result_text(settings: ApiSettings, a: Analysis, name: str) -> str:
    objects = storage(settings)
    if objects is None:
        return (settings.results_dir / a.id / name).read_text(encoding="utf-8")
    return objects.read_bytes(result_key(a.id, a.attempts, name)).decode("utf-8")


def result_response(
    settings: ApiSettings,
    a: Analysis,
    name: str,
    media_type: str,
    filename: str | None = None,
) -> Response:
    """The file sent as it is read (from disk, or a piece at a time from the store)."""
    objects = storage(settings)
    if objects is None:
        return FileResponse(
            settings.results_dir / a.id / name, media_type=media_type, filename=filename
        )
    headers = (
        {} if filename is None else {"Content-Disposition": f'attachment; filename="{filename}"'}
    )
    return StreamingResponse(
        objects.chunks(result_key(a.id, a.attempts, name)), media_type=media_type, headers=headers
    )
