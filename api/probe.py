"""Is an upload something to analyze? Checked from headers only: nothing is decoded in the
API process (a 14 MB PNG can declare 30000 x 30000 pixels, 2.7 GB once decoded; even the first
frame of an 8K video is 50 MB).

``analyzer.video.open_source(path, decode=False)`` makes every check of the CLI that needs
headers alone (image or video told by content, picture sizes, a lost MP4 index, audio only).
The worker's ``open_source`` checks the same again before it decodes.

Answers: 413 for pictures larger than is analyzed, 422 for pictures too small to hold a face,
415 for anything that is not a readable image or video; the message is one line that names
the client's file, never the server's path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException

from analyzer.errors import InputError
from analyzer.video import open_source
from api.reasons import client_reason


def probe_upload(path: Path, client_name: str) -> None:
    """Raise ``HTTPException`` (413/415/422) unless ``path`` looks analysable."""
    try:
        with open_source(path, decode=False):
            pass
    except InputError as e:  # 413 too large, 422 too small, 415 otherwise: e.http_status
        raise HTTPException(
            e.http_status, client_reason(str(e), upload=path, name=client_name)
        ) from None
