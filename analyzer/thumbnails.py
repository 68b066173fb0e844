"""Small pictures of moments in a video, for the HTML report: one decoding pass, crops around a
person, JPEG data URIs (so the report stays one self-contained file)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from analyzer.types import ImageArray
from analyzer.video import open_source

THUMB_PX = 160


def frames_at(path: Path, times_s: Sequence[float]) -> dict[float, ImageArray]:
    """The frame shown at each requested time (the last frame at or before it), in one pass.

    Frames are only kept for the requested times, so memory does not depend on video length.
    """
    wanted = sorted(set(times_s))
    out: dict[float, ImageArray] = {}
    if not wanted:
        return out
    with open_source(path) as src:
        i = 0
        prev = None
        for frame in src.frames():
            t = frame.timestamp_ms / 1000.0
            while i < len(wanted) and t > wanted[i] + 1e-6:
                out[wanted[i]] = prev.rgb if prev is not None else frame.rgb
                i += 1
            if i >= len(wanted):
                break
            prev = frame
        for w in wanted[i:]:
            if prev is not None:
                out[w] = prev.rgb
    return out


def crop_around(rgb: ImageArray, centre_xy: tuple[float, float], side_px: float) -> ImageArray:
    h, w = rgb.shape[:2]
    side = int(min(max(side_px, 32.0), w, h))
    x0 = int(min(max(centre_xy[0] - side / 2, 0), w - side))
    y0 = int(min(max(centre_xy[1] - side / 2, 0), h - side))
    return rgb[y0 : y0 + side, x0 : x0 + side]


def jpeg_data_uri(rgb: ImageArray, max_px: int = THUMB_PX) -> str:
    h, w = rgb.shape[:2]
    scale = min(1.0, max_px / max(h, w))
    small = cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    ok, buf = cv2.imencode(
        ".jpg", np.ascontiguousarray(small[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    if not ok:
        raise ValueError("could not encode a thumbnail")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")
