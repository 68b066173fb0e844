"""Is an upload something to analyse? Checked from headers only: nothing is decoded in the
API process (a 14 MB PNG can declare 30000 x 30000 pixels, 2.7 GB once decoded; even the first
frame of an 8K video is 50 MB).

``analyzer.video.open_source(path, decode=False)`` makes every check of the CLI that needs
headers alone (image or video told by content, picture sizes, a lost MP4 index, audio only).
The worker's ``open_source`` checks the same again before it decodes.

Answers: 413 for pictures larger than is analysed, 422 for pictures too small to hold a face,
415 for anything that is not a readable image or video; the message is one line that names
the client's file, never the server's path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException, status

from analyzer.errors import InputError, TooLargeError, TooSmallError
from analyzer.video import open_source
from api.reasons import client_reason


def probe_upload(path: Path, client_name: str) -> None:
    """Raise ``HTTPException`` (413/415/422) unless ``path`` looks analysable."""
    try:
        with open_source(path, decode=False):
            pass
    except InputError as e:
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        if isinstance(e, TooLargeError):
            code = status.HTTP_413_CONTENT_TOO_LARGE
        elif isinstance(e, TooSmallError):
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, client_reason(str(e), upload=path, name=client_name)) from None
