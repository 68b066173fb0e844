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


TimedFrames = list[tuple[float, np.ndarray]]


def _timed_frames(path: Path, wh: tuple[int, int]) -> TimedFrames:
    """Every frame of a clip with its time in seconds, resized to ``wh`` (width, height)."""
    import cv2

    with av.open(str(path)) as c:
        return [
            (float(f.time or 0.0), cv2.resize(f.to_ndarray(format="rgb24"), wh))
            for f in c.decode(video=0)
        ]


def _frame_at(frames: TimedFrames, t: float) -> np.ndarray:
    """The frame on screen at time ``t`` (the first frame before the clip starts)."""
    best = frames[0][1]
    for ft, img in frames:
        if ft > t + 1e-6:
            break
        best = img
    return best


def compose_gallery(
    left: Path,
    right: Path,
    dest: Path,
    *,
    right_delay_s: float = 0.0,
    side: int = 480,
    seconds: float | None = None,
    swap_at_s: float | None = None,
    right_away_s: tuple[float, float] | None = None,
    gap: int = 8,
) -> Path:
    """A two-tile 'video call' made from two real clips side by side (H.264, 25 fps), with a
    ``gap``-pixel dark strip between the tiles as call apps draw.

    ``right_delay_s``: the right tile shows its clip that much later (its first frame held
    before). ``swap_at_s``: from then on the tiles change places, as calls reorder tiles.
    ``right_away_s``: (start, end) while the right partner is away (their camera shows a plain
    dark picture, as when a camera is paused)."""
    a, b = _timed_frames(left, (side, side)), _timed_frames(right, (side, side))
    duration = min(a[-1][0], b[-1][0] + right_delay_s)
    if seconds is not None:
        duration = min(duration, seconds)
    fps = 25
    out = []
    for k in range(int(duration * fps)):
        t = k / fps
        la, rb = _frame_at(a, t), _frame_at(b, t - right_delay_s)
        if right_away_s is not None and right_away_s[0] <= t < right_away_s[1]:
            rb = np.full_like(rb, 40)
        if swap_at_s is not None and t >= swap_at_s:
            la, rb = rb, la
        strip = np.full((side, gap, 3), 24, np.uint8)
        out.append(np.concatenate([la, strip, rb], axis=1))
    return write_clip(dest, out, fps=fps)


def compose_speaker_view(
    main: Path,
    inset: Path,
    dest: Path,
    *,
    seconds: float,
    size: tuple[int, int] = (960, 540),
    inset_frac: float = 0.28,
) -> Path:
    """A 'speaker view': one clip fills the picture, the other is a small framed inset in the
    bottom-right corner (H.264, 25 fps)."""

    w, h = size
    iw = int(w * inset_frac)
    ih = int(iw * 0.75)
    margin = 16

    big, small = _timed_frames(main, (w, h)), _timed_frames(inset, (iw, ih))

    out = []
    for k in range(int(min(seconds, big[-1][0], small[-1][0]) * 25)):
        t = k / 25
        frame = _frame_at(big, t).copy()
        x0, y0 = w - iw - margin, h - ih - margin
        frame[y0 - 2 : y0 + ih + 2, x0 - 2 : x0 + iw + 2] = 255  # the tile's white frame
        frame[y0 : y0 + ih, x0 : x0 + iw] = _frame_at(small, t)
        out.append(frame)
    return write_clip(dest, out, fps=25)


def sound(path: Path, rate: int = 48000) -> np.ndarray:
    """A file's sound as mono float32 at ``rate`` (empty when it has none)."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return np.zeros(0, np.float32)
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = [o.to_ndarray().reshape(-1) for f in c.decode(audio=0) for o in res.resample(f)]
        parts += [o.to_ndarray().reshape(-1) for o in res.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def sound_match(a: np.ndarray, b: np.ndarray, rate: int = 48000) -> float:
    """How alike two sounds are, as the correlation of their loudness in 10 ms steps (1: the
    same sound at the same time)."""
    step = rate // 100
    n = min(a.size, b.size) // step * step
    ea = np.abs(a[:n]).reshape(-1, step).mean(axis=1)
    eb = np.abs(b[:n]).reshape(-1, step).mean(axis=1)
    return float(np.corrcoef(ea, eb)[0, 1])
