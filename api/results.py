"""A finished analysis's result files, wherever they are kept (the data folder, or the object
store of a cluster: ``api.blobs``, under ``results/<id>/<attempt>/``: the attempt that
finished the record is the one whose results are read, so an attempt superseded while it was
writing can never be served)."""

from __future__ import annotations

import re

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


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a ``Range`` header asks for, as (start, end-exclusive); None for the
    whole file (no header, or one this does not serve: several ranges, other units, which
    RFC 9110 lets a server ignore). Raises ValueError when the range lies past the end."""
    found = _RANGE.fullmatch(header.strip()) if header else None
    if found is None or found[1] == found[2] == "":
        return None
    if size == 0:
        raise ValueError("no bytes to give a range of")
    if found[1] == "":  # the last n bytes
        n = int(found[2])
        if n == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size
    start = int(found[1])
    if found[2] != "" and int(found[2]) < start:  # not a valid range: the header is ignored
        return None
    end = size if found[2] == "" else min(size, int(found[2]) + 1)
    if start >= size:
        raise ValueError("range past the end")
    return start, end


def result_response(
    settings: ApiSettings,
    a: Analysis,
    name: str,
    media_type: str,
    filename: str | None = None,
    range_header: str | None = None,
) -> Response:
    """The file sent as it is read (from disk, or a piece at a time from the store), one byte
    range of it when the request asks (a video player seeking in the reel)."""
    objects = storage(settings)
    if objects is None:  # Starlette's FileResponse answers Range requests itself
        return FileResponse(
            settings.results_dir / a.id / name, media_type=media_type, filename=filename
        )
    headers = {"Accept-Ranges": "bytes"}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    key = result_key(a.id, a.attempts, name)
    size = objects.size(key)
    try:
        span = byte_range(range_header, size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(objects.chunks(key), media_type=media_type, headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(
        objects.chunks(key, start, end), status_code=206, media_type=media_type, headers=headers
    )
