"""Live practice: the batch pipeline driven one frame at a time, with running numbers and cues.

``LiveSession.process(frame)`` runs the same ``SessionAnalyzer`` as ``presence analyze`` (same
models, same signals, same tracking) and adds what a person practising needs at once: whether
they are looking at the camera now, their running eye-contact share, the current streak, how
long they have looked away, and a few cues in plain, kind words. Everything is causal (it only
uses frames seen so far); at the end ``report()`` gives the same report as a batch analysis.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.errors import NoPersonError
from analyzer.landmarks import FACE_OVAL, SceneLandmarker
from analyzer.pipeline import SessionAnalyzer, session_report
from analyzer.signals import expression
from analyzer.types import AnalysisReport, FloatArray, Frame, VideoInfo

AWAY_CUE_S = 5.0  # "you've looked away for a while" after this long
STILL_FACE_S = 15.0  # "your face is quite still" after this long without expression
RECENT = 3  # frames in the causal majority vote that steadies the indicator


@dataclass(frozen=True)
class LivePerson:
    key: int
    face_outline_xy: FloatArray | None
    eyes_xy: tuple[float, float] | None
    face_width_px: float | None
    gaze_yaw_deg: float | None
    gaze_pitch_deg: float | None
    eye_contact: bool | None
    eyes_closed: bool | None
    contact_share: float | None
    measured_s: float
    streak_s: float
    away_s: float
    arms_crossed: bool | None
    openness: float | None
    expressiveness: float | None
    smile: float | None
    cues: tuple[str, ...]
    name: str | None = None  # e.g. "Person 2 (right)": set when several people are shown
    label_xy: tuple[float, float] | None = None  # where their label goes (under the face)


@dataclass(frozen=True)
class LiveFrame:
    time_s: float
    people: tuple[LivePerson, ...]
    fps: float
    latency_ms: float


@dataclass
class _Running:
    """One person's running numbers (causal)."""

    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT))
    contact_s: float = 0.0
    measured_s: float = 0.0
    streak_s: float = 0.0
    away_s: float = 0.0
    still_s: float = 0.0
    arms: deque[bool] = field(default_factory=lambda: deque(maxlen=5))
    features: deque[FloatArray] = field(default_factory=lambda: deque(maxlen=600))
    last_t: float | None = None


def kind_cues(p: LivePerson, staring_s: float) -> tuple[str, ...]:
    """Plain words for what the numbers say, gently."""
    cues = []
    if p.eye_contact:
        if p.streak_s >= staring_s:
            cues.append(f"Soften your gaze for a moment - you've held it for {p.streak_s:.0f} s")
        else:
            cues.append("You're looking at the camera")
    elif p.eyes_closed:
        cues.append("Eyes closed")
    elif p.away_s >= AWAY_CUE_S:
        cues.append("You've looked away for a while - come back when you're ready")
    elif p.eye_contact is False:
        cues.append("Looking away")
    if p.arms_crossed:
        cues.append("Your arms are crossed - letting them rest open can feel more inviting")
    return tuple(cues)


class LiveSession:
    """Frame-by-frame analysis of one scene (a webcam) with running numbers."""

    def __init__(self, landmarker: SceneLandmarker, cfg: AnalyzerConfig, info: VideoInfo) -> None:
        self.landmarker = landmarker
        self.cfg = cfg
        self.info = info
        self.reset()

    def reset(self) -> None:
        self.session = SessionAnalyzer(self.landmarker, self.cfg)
        self._people: dict[int, _Running] = {}
        self._frame_times: deque[float] = deque(maxlen=30)
        self.warnings: list[str] = []

    def process(self, frame: Frame) -> LiveFrame:
        t0 = time.perf_counter()
        t = frame.timestamp_ms / 1000.0
        results = self.session.process(frame)
        people = []
        for key, measured, det in results:
            run = self._people.setdefault(key, _Running())
            dt = 0.0 if run.last_t is None else min(max(t - run.last_t, 0.0), 1.0)
            run.last_t = t
            s = measured.sample
            if s.eye_contact is not None:
                run.recent.append(s.eye_contact)
            contact = None
            if s.eye_contact is not None and run.recent:
                contact = sum(run.recent) * 2 > len(run.recent)
            if contact is not None:
                run.measured_s += dt
                run.contact_s += dt if contact else 0.0
                run.streak_s = run.streak_s + dt if contact else 0.0
                run.away_s = 0.0 if contact else run.away_s + dt
            elif not s.eyes_closed:  # face lost: still away; a blink does not count either way
                run.away_s += dt
                run.streak_s = 0.0
            if s.arms_crossed is not None:
                run.arms.append(s.arms_crossed)
            arms = None if not run.arms else sum(run.arms) * 2 > len(run.arms)
            expr = None
            if measured.expression_features is not None:
                run.features.append(measured.expression_features)
                if len(run.features) >= self.cfg.expression.min_baseline_s * 10:
                    e = self.cfg.expression
                    neutral = expression.neutral_baseline(
                        np.stack(run.features), e.baseline_percentile
                    )
                    expr = float(
                        expression.expressiveness(
                            measured.expression_features, neutral, e.scale, e.dead_zone
                        )
                    )
            face = det.face
            share = run.contact_s / run.measured_s if run.measured_s > 0 else None
            person = LivePerson(
                key=key,
                face_outline_xy=None if face is None else face.landmarks_xy[list(FACE_OVAL)],
                eyes_xy=None if face is None else face.eyes_mid_xy,
                face_width_px=s.face_width_px,
                gaze_yaw_deg=s.gaze_yaw_deg,
                gaze_pitch_deg=s.gaze_pitch_deg,
                eye_contact=contact,
                eyes_closed=s.eyes_closed,
                contact_share=share,
                measured_s=run.measured_s,
                streak_s=run.streak_s,
                away_s=run.away_s,
                arms_crossed=arms,
                openness=s.openness,
                expressiveness=expr,
                smile=s.smile,
                cues=(),
            )
            people.append(replace(person, cues=kind_cues(person, self.cfg.episodes.staring_min_s)))
        self._frame_times.append(time.perf_counter())
        ft = self._frame_times
        fps = (len(ft) - 1) / (ft[-1] - ft[0]) if len(ft) > 1 and ft[-1] > ft[0] else 0.0
        people.sort(key=lambda p: p.eyes_xy[0] if p.eyes_xy else math.inf)
        return LiveFrame(
            time_s=t, people=tuple(people), fps=fps, latency_ms=(time.perf_counter() - t0) * 1000.0
        )

    def report(self) -> AnalysisReport | None:
        """The same report as a batch analysis of everything seen; None if no one was seen."""
        try:
            return session_report(self.session, self.info, self.warnings, self.cfg, live=True)
        except NoPersonError:
            return None
