"""What is decoded at all: picture sizes are checked from headers before any pixel is decoded.

A 14 MB JPEG can declare 30000 x 30000 pixels and take gigabytes to decode; a video stream can
declare a frame size no camera makes. Images are measured with Pillow, which reads only the
header; a video's frame size comes from its stream header (and each decoded frame is checked
again, since a stream may change size part-way). Anything over ``MAX_PIXELS`` (``TooLargeError``) or
under ``MIN_SIDE_PX`` (``TooSmallError``) is refused with one line that says why.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from analyzer.errors import InputError, TooLargeError, TooSmallError

# 8K video (7680 x 4320 = 33.2 million) and large photos (say 7000 x 5000) pass; a pixel bomb
# does not. One such frame in RGB is 120 MB.
MAX_PIXELS = 40_000_000
MIN_SIDE_PX = 16  # a face needs more than this; a 1 x 1 picture is not something to analyze


def check_frame_size(width: int, height: int, what: str) -> None:
    """Refuse a picture too large to decode safely or too small to hold a face."""
    if width <= 0 or height <= 0:
        raise TooSmallError(f"{what}: the picture has no size ({width}x{height}); corrupt header?")
    if width * height > MAX_PIXELS:
        raise TooLargeError(
            f"{what}: {width}x{height} pixels is more than the {MAX_PIXELS / 1e6:g} million "
            f"this analyses (8K video is {7680 * 4320 / 1e6:.1f} million); scale it down"
        )
    if min(width, height) < MIN_SIDE_PX:
        raise TooSmallError(
            f"{what}: {width}x{height} pixels is too small to hold a face "
            f"(at least {MIN_SIDE_PX} px a side)"
        )


def image_size(data: bytes | Path, what: str) -> tuple[int, int]:
    """(width, height) of an image from its header alone, after EXIF rotation; ``InputError``
    when the data is not an image Pillow can read the header of."""
    from PIL import Image, UnidentifiedImageError

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own bomb warning: we check ourselves
            with Image.open(source) as img:
                width, height = img.size
                if img.format == "PNG":  # its EXIF may follow the pixels: getexif() decodes them
                    exif = Image.Exif()
                    if "exif" in img.info:  # an eXIf chunk before the pixels
                        exif.load(img.info["exif"])
                else:
                    exif = img.getexif()
                orientation = exif.get(0x0112, 1)
    except Image.DecompressionBombError:
        raise TooLargeError(
            f"{what}: declares far more than {MAX_PIXELS / 1e6:g} million pixels; not decoded"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(
            f"{what}: cannot decode the image (corrupt or unsupported format: {type(e).__name__})"
        ) from None
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn
        width, height = height, width
    return width, height


def checked_image_size(data: bytes | Path, what: str) -> tuple[int, int]:
    """``image_size``, refused if too large or too small (see ``check_frame_size``)."""
    width, height = image_size(data, what)
    check_frame_size(width, height, what)
    return width, height
