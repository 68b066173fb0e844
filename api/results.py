"""A finished analysis's result files, wherever they are kept (the data folder, or the object
store of a cluster: ``api.blobs``)."""

from __future__ import annotations

from fastapi.responses import FileResponse, Response, StreamingResponse

from api.settings import ApiSettings
from api.store import storage


def has_result(settings: ApiSettings, analysis_id: str, name: str) -> bool:
    objects = storage(settings)
    if objects is None:
        return (settings.results_dir / analysis_id / name).is_file()
    return objects.exists(f"results/{analysis_id}/{name}")


def result_text(settings: ApiSettings, analysis_id: str, name: str) -> str:
    objects = storage(settings)
    if objects is None:
        return (settings.results_dir / analysis_id / name).read_text(encoding="utf-8")
    return objects.read_bytes(f"results/{analysis_id}/{name}").decode("utf-8")


def result_response(
    settings: ApiSettings,
    analysis_id: str,
    name: str,
    media_type: str,
    filename: str | None = None,
) -> Response:
    """The file sent as it is read (from disk, or a piece at a time from the store)."""
    objects = storage(settings)
    if objects is None:
        return FileResponse(
            settings.results_dir / analysis_id / name, media_type=media_type, filename=filename
        )
    headers = (
        {} if filename is None else {"Content-Disposition": f'attachment; filename="{filename}"'}
    )
    return StreamingResponse(
        objects.chunks(f"results/{analysis_id}/{name}"), media_type=media_type, headers=headers
    )
