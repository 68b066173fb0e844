"""annotated.mp4: the input video with the live overlay burned in (H.264, plays in browsers).

The analysis keeps, for each analyzed frame, where each face was (``GeometryRecorder``, hooked
into ``pipeline.analyze``); the report gives the finished per-frame signals. A second pass over
the video then draws every frame with the overlay of the latest analyzed frame, so the output
has the input's frames, size and duration.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path

from analyzer.landmarks import FACE_OVAL
from analyzer.live.session import LiveFrame, LivePerson, kind_cues
from analyzer.outputs.overlay import draw
from analyzer.signals.person import Measured
from analyzer.tracks import ContactClock
from analyzer.types import AnalysisReport, FloatArray, PersonDetection
from analyzer.video import VideoWriter, open_source


@dataclass(frozen=True)
class FaceGeometry:
    outline_xy: FloatArray
    eyes_xy: tuple[float, float]


class GeometryRecorder:
    """A ``FrameHook``: keeps each tracked face's outline per analyzed frame (36 points)."""

    def __init__(self) -> None:
        self.faces: dict[tuple[int, int], FaceGeometry] = {}  # (frame number, track key)

    def __call__(self, n: int, found: list[tuple[int, Measured, PersonDetection]]) -> None:
        for key, _, det in found:
            if det.face is not None:
                self.faces[(n, key)] = FaceGeometry(
                    outline_xy=det.face.landmarks_xy[list(FACE_OVAL)].copy(),
                    eyes_xy=det.face.eyes_mid_xy,
                )


def overlay_frames(
    report: AnalysisReport, geometry: GeometryRecorder
) -> tuple[list[float], list[LiveFrame]]:
    """One LiveFrame per analyzed frame, with running share and streak as of that moment."""
    times = [s.time_s for s in report.people[0].track.samples] if report.people else []
    frames: list[list[LivePerson]] = [[] for _ in times]
    several = len(report.people) > 1
    for p in report.people:
        clock = ContactClock()
        for n, s in enumerate(p.track.samples):
            clock.tick(s.time_s, s.eye_contact, s.eyes_closed)
            g = geometry.faces.get((n, p.track.key))
            if g is not None:  # under the face
                label_xy: tuple[float, float] | None = (
                    g.eyes_xy[0],
                    float(g.outline_xy[:, 1].max()) + 6,
                )
            else:
                label_xy = s.anchor_xy
            person = LivePerson(
                key=p.track.id,
                face_outline_xy=None if g is None else g.outline_xy,
                eyes_xy=None if g is None else g.eyes_xy,
                face_width_px=s.face_width_px,
                gaze_yaw_deg=s.gaze_yaw_deg,
                gaze_pitch_deg=s.gaze_pitch_deg,
                eye_contact=s.eye_contact,
                eyes_closed=s.eyes_closed,
                contact_share=clock.share,
                measured_s=clock.measured_s,
                streak_s=clock.streak_s,
                away_s=clock.away_s,
                arms_crossed=s.arms_crossed,
                openness=s.openness,
                expressiveness=s.expressiveness,
                smile=s.smile,
                cues=(),
                name=f"Person {p.track.id} ({p.track.position.value})" if several else None,
                label_xy=label_xy,
            )
            if s.face_visible or s.arms_crossed is not None:
                cues = kind_cues(person, report.config)
                frames[n].append(replace(person, cues=cues))
    return times, [
        LiveFrame(time_s=t, people=tuple(ps), fps=0.0, latency_ms=0.0)
        for t, ps in zip(times, frames, strict=True)
    ]


def annotate_video(
    media: Path,
    report: AnalysisReport,
    geometry: GeometryRecorder,
    out: Path,
) -> None:
    """Write ``out`` (H.264 MP4): every input frame with the overlay of its analyzed moment,
    each person labelled at their own face, and the recording's sound."""
    times, live = overlay_frames(report, geometry)
    empty = LiveFrame(time_s=0.0, people=(), fps=0.0, latency_ms=0.0)
    with open_source(media) as src:
        info = src.info
        writer = VideoWriter(out, info.width, info.height, info.fps or 30.0, audio_from=media)
        try:
            for frame in src.frames():
                i = bisect_right(times, frame.timestamp_ms / 1000.0 + 1e-6) - 1
                shown = draw(frame.rgb, live[i] if i >= 0 else empty, show_fps=False)
                writer.write(shown, frame.timestamp_ms)
        except BaseException:
            writer.abort()
            raise
        writer.close()
