"""Finishing a person's track: from their raw per-frame measurements to the samples reported.

Three things need more than one frame: expressiveness against the person's own neutral face,
smoothing over time, and the self-calibrated screen target ("attention to the partner on
screen"). ``finish_track`` does them for a whole session (batch, and a live session's report);
``RunningTrack`` does the first two frame by frame for a live overlay, with the same pieces
(``CentredMajority`` for smoothing, ``NeutralFace`` for the neutral, the same rate rule), so a
live session shows what its report will say, only sooner:

- eye contact, looking down and crossed arms are smoothed exactly as in the report, shown half a
  smoothing window late (0.15 s for gaze, 0.5 s for arms);
- expressiveness is scored against the neutral face learned so far (the report uses the whole
  session's, so the two differ while the neutral is still settling);
- ``ContactClock`` keeps the running eye-contact share, streak and time away, for the live
  overlay and for the annotated video alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from analyzer.attention import find_screen_target, on_target
from analyzer.config import AnalyzerConfig
from analyzer.signals import expression
from analyzer.signals.expression import NeutralFace
from analyzer.signals.person import Measured
from analyzer.smoothing import CentredMajority, majority_smooth
from analyzer.types import PersonSample, ScreenTarget

MAX_STEP_S = 1.0  # a longer gap between frames (a stall, a dropped stretch) counts as this


def finish_track(
    times_s: Sequence[float],
    frames: Mapping[int, Measured],
    cfg: AnalyzerConfig,
    rate_fps: float,
) -> tuple[tuple[PersonSample, ...], ScreenTarget | None]:
    """One sample per analyzed frame (``frames`` is keyed by frame number; frames without the
    person get a face-not-visible sample), and the person's screen target if one was found.
    ``rate_fps`` is the rate the frames were analyzed at."""
    measured = [frames.get(i) for i in range(len(times_s))]
    samples = [
        m.sample if m is not None else PersonSample(time_s=t, face_visible=False)
        for m, t in zip(measured, times_s, strict=True)
    ]
    samples = _smoothed(_with_expressiveness(samples, measured, cfg, rate_fps), cfg)
    gazes = [(s.gaze_yaw_deg, s.gaze_pitch_deg) for s in samples]
    seen = [(y, p) for y, p in gazes if y is not None and p is not None]
    tol = cfg.attention.tolerance_deg
    target = find_screen_target([y for y, _ in seen], [p for _, p in seen], tol)
    if target is not None:
        samples = [
            s if y is None or p is None else replace(s, on_screen=on_target(y, p, target, tol))
            for s, (y, p) in zip(samples, gazes, strict=True)
        ]
    return tuple(samples), target


def neutral_ready(face: NeutralFace, cfg: AnalyzerConfig, rate_fps: float) -> bool:
    """Enough of the face seen to know its neutral: ``min_baseline_s`` at the analysis rate."""
    return face.frames > 0 and face.frames >= cfg.expression.min_baseline_s * rate_fps


def _with_expressiveness(
    samples: list[PersonSample],
    measured: list[Measured | None],
    cfg: AnalyzerConfig,
    rate_fps: float,
) -> list[PersonSample]:
    face = NeutralFace()
    for m in measured:
        if m is not None and m.expression_features is not None:
            face.add(m.expression_features)
    if not neutral_ready(face, cfg, rate_fps):
        return samples
    e = cfg.expression
    neutral = face.neutral(e.baseline_percentile)
    out = []
    for s, m in zip(samples, measured, strict=True):
        if m is not None and m.expression_features is not None:
            score = expression.expressiveness(m.expression_features, neutral, e.scale, e.dead_zone)
            s = replace(s, expressiveness=float(score))
        out.append(s)
    return out


def _smoothed(samples: list[PersonSample], cfg: AnalyzerConfig) -> list[PersonSample]:
    t = [s.time_s for s in samples]
    ec = majority_smooth([s.eye_contact for s in samples], t, cfg.smoothing.gaze_window_s)
    down = majority_smooth([s.looking_down for s in samples], t, cfg.smoothing.gaze_window_s)
    arms = majority_smooth([s.arms_crossed for s in samples], t, cfg.smoothing.posture_window_s)
    return [
        replace(s, eye_contact=a, looking_down=b, arms_crossed=c)
        for s, a, b, c in zip(samples, ec, down, arms, strict=True)
    ]


@dataclass
class ContactClock:
    """Running eye-contact numbers over finished samples: the share of measured time in eye
    contact, the current streak, and how long since the last contact (a lost face counts as
    away; a blink counts neither way)."""

    measured_s: float = 0.0
    contact_s: float = 0.0
    streak_s: float = 0.0
    away_s: float = 0.0
    _last_s: float | None = None

    def tick(self, time_s: float, eye_contact: bool | None, eyes_closed: bool | None) -> None:
        dt = 0.0 if self._last_s is None else min(max(time_s - self._last_s, 0.0), MAX_STEP_S)
        self._last_s = time_s
        if eye_contact is not None:
            self.measured_s += dt
            self.contact_s += dt if eye_contact else 0.0
            self.streak_s = self.streak_s + dt if eye_contact else 0.0
            self.away_s = 0.0 if eye_contact else self.away_s + dt
        elif not eyes_closed:
            self.away_s += dt
            self.streak_s = 0.0

    @property
    def share(self) -> float | None:
        return self.contact_s / self.measured_s if self.measured_s > 0 else None


@dataclass(frozen=True)
class Finished:
    """A smoothed yes/no value that became final in a live session."""

    signal: str  # "eye_contact" or "arms_crossed"
    time_s: float  # of the frame it belongs to
    value: bool | None


class RunningTrack:
    """One person's finished signals as a live session goes (bounded: a smoothing window of
    samples, a histogram per expression feature and the last ``HISTORY`` finished values).
    ``push`` every analyzed frame, with the person's measurement or None when they are not in
    it."""

    HISTORY = 300  # finished values kept (10 s at 30 frames per second), e.g. to draw a trail

    def __init__(self, cfg: AnalyzerConfig) -> None:
        self.cfg = cfg
        self.face = NeutralFace()
        self.clock = ContactClock()
        self._gaze: CentredMajority[PersonSample] = CentredMajority(cfg.smoothing.gaze_window_s)
        self._arms: CentredMajority[float] = CentredMajority(cfg.smoothing.posture_window_s)
        self.eye_contact: bool | None = None  # as of ``eye_contact_time_s`` (finished)
        self.eye_contact_time_s: float | None = None
        self.eyes_closed: bool | None = None
        self.arms_crossed: bool | None = None  # as of ``arms_time_s`` (finished)
        self.arms_time_s: float | None = None
        self.expressiveness: float | None = None  # this frame's, against the neutral so far
        self.history: deque[Finished] = deque(maxlen=self.HISTORY)

    def push(self, time_s: float, measured: Measured | None, rate_fps: float) -> None:
        sample = measured.sample if measured is not None else PersonSample(time_s, False)
        for s, contact in self._gaze.push(time_s, sample.eye_contact, sample):
            self._finished_gaze(s, contact)
        for t, arms in self._arms.push(time_s, sample.arms_crossed, time_s):
            self._finished_arms(t, arms)
        self.expressiveness = None
        if measured is not None and measured.expression_features is not None:
            self.face.add(measured.expression_features)
            if neutral_ready(self.face, self.cfg, rate_fps):
                e = self.cfg.expression
                score = expression.expressiveness(
                    measured.expression_features,
                    self.face.neutral(e.baseline_percentile),
                    e.scale,
                    e.dead_zone,
                )
                self.expressiveness = float(score)

    def flush(self) -> None:
        """Finish the samples still inside a smoothing window (the end of a session)."""
        for s, contact in self._gaze.flush():
            self._finished_gaze(s, contact)
        for t, arms in self._arms.flush():
            self._finished_arms(t, arms)

    def _finished_arms(self, time_s: float, arms: bool | None) -> None:
        self.arms_crossed, self.arms_time_s = arms, time_s
        self.history.append(Finished("arms_crossed", time_s, arms))

    def _finished_gaze(self, sample: PersonSample, contact: bool | None) -> None:
        self.eye_contact = contact
        self.eye_contact_time_s = sample.time_s
        self.eyes_closed = sample.eyes_closed
        self.clock.tick(sample.time_s, contact, sample.eyes_closed)
        self.history.append(Finished("eye_contact", sample.time_s, contact))
