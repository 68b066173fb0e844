"""Is an upload something to analyse? Checked from headers only: nothing is decoded in the
API process (a 14 MB PNG can declare 30000 x 30000 pixels, 2.7 GB once decoded).

Whether the file is an image or a video is decided as ``analyzer.video.open_source`` decides
it (by content). An image is measured by Pillow from its header (``analyzer.limits``); a video
is opened, which reads the container and stream headers and checks the frame size. The
worker's ``open_source`` checks the same again before it decodes.

Answers: 413 for pictures larger than is analysed, 422 for pictures too small to hold a face,
415 for anything that is not a readable image or video; the message is one line that names
the client's file, never the server's path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException, status

from analyzer.errors import InputError, TooLargeError, TooSmallError
from analyzer.limits import check_frame_size, image_size
from analyzer.video import looks_like_image, open_source
from api.reasons import client_reason


def _check(path: Path) -> None:
    import cv2

    if not looks_like_image(path):
        with open_source(path):  # a video: container and stream headers only
            return
    width, height = image_size(path, str(path))
    if not cv2.haveImageReader(str(path)):
        raise InputError(f"{path}: an image format that is not analysed (use JPEG, PNG or WebP)")
    check_frame_size(width, height, str(path))


def probe_upload(path: Path, client_name: str) -> None:
    """Raise ``HTTPException`` (413/415/422) unless ``path`` looks analysable."""
    try:
        _check(path)
    except InputError as e:
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        if isinstance(e, TooLargeError):
            code = status.HTTP_413_CONTENT_TOO_LARGE
        elif isinstance(e, TooSmallError):
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, client_reason(str(e), upload=path, name=client_name)) from None
