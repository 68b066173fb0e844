"""Small pictures of moments in a video, for the HTML report: one decoding pass, crops around a
person, JPEG data URIs (so the report stays one self-contained file)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from analyzer.types import ImageArray
from analyzer.video import iter_moments, open_source

THUMB_PX = 160


def crops_at(
    path: Path, wanted: Sequence[tuple[float, tuple[float, float], float]]
) -> list[ImageArray | None]:
    """For each (time, centre, side) a square crop of the frame shown then, around ``centre``
    (frame pixels), ``side`` pixels a side; None where no frame could be had. Each frame is
    sought (the video is not decoded through) and cropped at once, so memory holds one frame at
    a time whatever the video's length or picture size."""
    out: list[ImageArray | None] = [None] * len(wanted)
    by_time: dict[float, list[int]] = {}
    for i, (t, _, _) in enumerate(wanted):
        by_time.setdefault(round(t, 3), []).append(i)
    with open_source(path) as src:
        for t in sorted(by_time):
            moment = next(iter_moments(src, [t]), None)
            if moment is None:
                continue
            for i in by_time[t]:
                _, centre, side = wanted[i]
                out[i] = np.ascontiguousarray(crop_around(moment.frames[0], centre, side))
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
