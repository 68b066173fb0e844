"""The moments reel: a short MP4 of a call's moments of connection, one after another, for two
partners to watch together.

Each moment is shown with a little of what came before and after it, the whole picture (both
partners' tiles, or both people in the room), the recording's sound, and a small caption that
says what made it a moment and when ("Both smiling, both looking into their cameras - 12:04").
The best moments are taken first until the reel is about a minute long; they are then shown in
the order they happened. The reel reads the report's moments; it computes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from analyzer.errors import InputError
from analyzer.types import AnalysisReport, ImageArray, SourceKind
from analyzer.video import VideoFileSource, VideoWriter, clip_frames, open_source

REEL_MAX_S = 60.0
BEFORE_S = 2.0  # of what led up to a moment
AFTER_S = 2.0
CLIP_MAX_S = 12.0  # one long moment does not fill the reel
FPS = 25
MAX_SIDE_PX = 1280
FADE_S = 0.3
FONT = cv2.FONT_HERSHEY_SIMPLEX
NOT_TWO = "no reel: the moments reel is for two people together"


@dataclass(frozen=True)
class ReelClip:
    start_s: float
    end_s: float
    caption: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _clock(t: float) -> str:
    s = int(t)
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def no_reel_reason(report: AnalysisReport) -> str | None:
    """Why a recording gets no reel, in a sentence for the person reading; None if it gets one."""
    if report.video.kind != SourceKind.VIDEO:
        return "no reel: a reel is made from a video"
    if report.partners is None:
        return NOT_TWO
    if not report.partners.moments:
        return (
            "no reel: no moments of connection were found (both engaged and warm at once for at "
            "least a second)"
        )
    return None


def reel_clips(report: AnalysisReport) -> list[ReelClip]:
    """The excerpts of the reel, in the order they happened (empty without moments)."""
    if report.partners is None:
        return []
    end = report.video.duration_s or max(
        (s.time_s for p in report.people for s in p.track.samples), default=0.0
    )
    chosen: list[ReelClip] = []
    total = 0.0
    for m in report.partners.moments:  # best first
        start = max(0.0, m.start_s - BEFORE_S)
        stop = min(end, m.end_s + AFTER_S, start + CLIP_MAX_S)
        if stop - start < 0.5:
            continue
        if total + (stop - start) > REEL_MAX_S:
            if total > 0:
                continue
            stop = start + REEL_MAX_S
        caption = ", ".join(m.reasons)
        caption = f"{caption[:1].upper()}{caption[1:]} - {_clock(m.start_s)}"
        chosen.append(ReelClip(round(start, 3), round(stop, 3), caption))
        total += stop - start
    chosen.sort(key=lambda c: c.start_s)
    merged: list[ReelClip] = []
    for c in chosen:  # overlapping excerpts play once, with the first moment's caption
        if merged and c.start_s <= merged[-1].end_s:
            last = merged.pop()
            c = ReelClip(last.start_s, max(last.end_s, c.end_s), last.caption)
        merged.append(c)
    return merged


def _wrap(text: str, width_px: int, scale: float, thick: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, FONT, scale, thick)[0][0] <= width_px:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def _caption(img: ImageArray, text: str) -> None:
    """The caption in a dark box at the bottom left, wrapped to the picture's width."""
    h, w = img.shape[:2]
    scale = max(0.5, min(1.1, min(w, h) / 650))
    thick = max(1, round(scale * 2))
    pad = round(10 * scale)
    lines = _wrap(text, w - 4 * pad, scale, thick)
    (_, th), base = cv2.getTextSize("Ag", FONT, scale, thick)
    line_h = th + base + pad // 2
    box_w = max(cv2.getTextSize(line, FONT, scale, thick)[0][0] for line in lines) + 2 * pad
    x0, y1 = pad, h - pad
    y0 = max(0, y1 - len(lines) * line_h - pad)
    x1 = min(w, x0 + box_w)
    roi = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = (roi * 0.35 + np.array((20, 20, 20), np.float32) * 0.65).astype(np.uint8)
    for k, line in enumerate(lines):
        y = y0 + pad // 2 + (k + 1) * line_h - base
        cv2.putText(img, line, (x0 + pad, y), FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)


def _size(w: int, h: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE_PX / max(w, h))
    return (round(w * scale) // 2 * 2, round(h * scale) // 2 * 2)


def with_reel(
    media: Path, report: AnalysisReport, *, asked: bool = True
) -> tuple[AnalysisReport, Callable[[Path], None] | None]:
    """For ``write_outputs``: a function that writes the reel, or (when there is no reel to
    make) the report with a note that says why. A reel not ``asked`` for by the user (a
    service's default) is explained only for two people without moments."""
    reason = no_reel_reason(report)
    if reason is not None:
        if not asked and report.partners is None:
            return report, None
        return replace(report, warnings=(*report.warnings, reason)), None

    def write(path: Path) -> None:
        write_reel(media, report, path)

    return report, write


def write_reel(media: Path, report: AnalysisReport, out: Path) -> float:
    """Write the reel to ``out`` and return its length in seconds. Raises ``InputError`` (with
    ``no_reel_reason``) when the recording has no moments to show; then nothing is written."""
    reason = no_reel_reason(report)
    if reason is not None:
        raise InputError(reason)
    clips = reel_clips(report)
    with open_source(media) as source:
        if not isinstance(source, VideoFileSource):
            raise InputError("no reel: a reel is made from a video file")
        w, h = _size(source.info.width, source.info.height)
        writer = VideoWriter(out, w, h, FPS, audio_from=media, sound_follows=False)
        written = 0.0
        try:
            for clip in clips:
                n = max(1, round(clip.duration_s * FPS))
                with contextlib.closing(clip_frames(source, clip.start_s, clip.end_s)) as frames:
                    current = next(frames, None)
                    upcoming = next(frames, None)
                    for k in range(n):
                        t = clip.start_s + k / FPS
                        while upcoming is not None and upcoming.timestamp_ms / 1000.0 <= t + 1e-6:
                            current, upcoming = upcoming, next(frames, None)
                        if current is None:
                            break
                        img: ImageArray = np.asarray(
                            cv2.resize(current.rgb, (w, h), interpolation=cv2.INTER_AREA), np.uint8
                        )
                        fade = min(1.0, k / (FADE_S * FPS), (n - 1 - k) / (FADE_S * FPS))
                        if fade < 1.0:
                            img = np.asarray(img * max(0.0, fade), dtype=np.uint8)
                        _caption(img, clip.caption)
                        writer.write(img, round((written + k / FPS) * 1000.0))
                writer.write_sound(clip.start_s, clip.start_s + n / FPS)
                written += n / FPS
        except BaseException:
            writer.abort()
            raise
        writer.close()
    return written
