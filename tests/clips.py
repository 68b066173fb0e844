"""Writing small test videos with PyAV (for frame-source and bad-input tests only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 10,
    pts_ms: Sequence[int] | None = None,
    rotation_deg: int = 0,
) -> Path:
    """Encode RGB frames as H.264. ``pts_ms`` gives each frame's own time (variable frame rate)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        first = True
        for i, rgb in enumerate(frames):
            if first:
                stream.height, stream.width = rgb.shape[:2]
                if rotation_deg:
                    stream.set_display_rotation(rotation_deg)
                first = False
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if pts_ms is not None:
                frame.pts = pts_ms[i]
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def video_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(c.streams.video[0])):
            if limit is not None and i >= limit:
                break
            out.append(f.to_ndarray(format="rgb24"))
    return out


def write_y4m(src: Path, dest: Path, *, size: int, fps: int, seconds: float) -> Path:
    """A real clip as raw YUV4MPEG (what Chromium's fake camera plays), square ``size``."""
    import cv2

    with av.open(str(src)) as inp, av.open(str(dest), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        step = 1.0 / fps
        next_t = 0.0
        for frame in inp.decode(video=0):
            t = float(frame.time or 0.0)
            if t > seconds:
                break
            if t + 1e-6 < next_t:
                continue
            next_t += step
            rgb = cv2.resize(frame.to_ndarray(format="rgb24"), (size, size))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest
