"""Live practice: the batch pipeline driven one frame at a time, with running numbers and cues.

``LiveSession.process(frame)`` runs the same ``SessionAnalyzer`` as ``presence analyze`` (same
models, same signals, same tracking) and adds what a person practising needs at once: whether
they are looking at the camera now, their running eye-contact share, the current streak, how
long they have looked away, and a few cues in plain, kind words. Each person's numbers are
finished as the report finishes them (``analyzer.tracks.RunningTrack``: the same smoothing,
shown half a window late, and expressiveness against the neutral face learned so far); at the
end ``report()`` gives the same report as a batch analysis of the frames it recorded.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace

from analyzer.config import AnalyzerConfig
from analyzer.errors import NoPersonError
from analyzer.landmarks import FACE_OVAL, LandmarkerOptions, SceneLandmarker
from analyzer.models import ModelPaths
from analyzer.pipeline import SessionAnalyzer, session_report
from analyzer.signals.person import Measured
from analyzer.tracks import RunningTrack
from analyzer.types import (
    AnalysisReport,
    FloatArray,
    Frame,
    PersonDetection,
    Region,
    VideoInfo,
)
from analyzer.video import RateSampler


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

    def lone_gaze(self) -> tuple[float, float] | None:
        """The gaze (yaw, pitch) of the one person in view; None with no one or several in
        view, or the gaze not measured (what a calibration collects)."""
        if len(self.people) != 1:
            return None
        p = self.people[0]
        if p.gaze_yaw_deg is None or p.gaze_pitch_deg is None:
            return None
        return (p.gaze_yaw_deg, p.gaze_pitch_deg)


def kind_cues(p: LivePerson, cfg: AnalyzerConfig) -> tuple[str, ...]:
    """Plain words for what the numbers say, gently."""
    cues = []
    if p.eye_contact:
        if p.streak_s >= cfg.live.soften_gaze_after_s:
            cues.append(f"Soften your gaze for a moment - you've held it for {p.streak_s:.0f} s")
        else:
            cues.append("You're looking at the camera")
    elif p.eyes_closed:
        cues.append("Eyes closed")
    elif p.away_s >= cfg.live.away_cue_s:
        cues.append("You've looked away for a while - come back when you're ready")
    elif p.eye_contact is False:
        cues.append("Looking away")
    if p.arms_crossed:
        cues.append("Your arms are crossed - letting them rest open can feel more inviting")
    return tuple(cues)


class LiveSession:
    """Frame-by-frame analysis of one camera with running numbers. A context manager: the
    models are opened on entering and closed on leaving.

    Every frame is analyzed and shown; the report keeps frames at ``cfg.live.report_fps`` for at
    most ``cfg.live.max_report_s`` (after that the overlay goes on and the report says what it
    covers), and running numbers are kept for at most ``cfg.live.max_people`` people, so memory
    does not grow with the length of a session."""

    RATE_FRAMES = 30  # the analysis rate is measured over this many recent frames

    def __init__(
        self, models: ModelPaths, cfg: AnalyzerConfig, info: VideoInfo, people: int = 1
    ) -> None:
        self.cfg = cfg
        self.info = info
        self._options = LandmarkerOptions.for_analysis(
            models, cfg, video=True, people_per_region=people
        )
        self._landmarker: SceneLandmarker | None = None

    def __enter__(self) -> LiveSession:
        return self.open()

    def open(self) -> LiveSession:
        """Load the models (``close`` frees them); entering the context does this."""
        if self._landmarker is None:
            self._landmarker = SceneLandmarker(
                self._options, (Region(0, 0, self.info.width, self.info.height),)
            )
            self.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def reset(self) -> None:
        """Start again (new running numbers, new report); the models stay loaded."""
        if self._landmarker is None:
            raise RuntimeError("LiveSession is used as a context manager")
        self.session = SessionAnalyzer(self._landmarker, self.cfg)
        self.running: OrderedDict[int, RunningTrack] = OrderedDict()
        self._times_s: deque[float] = deque(maxlen=self.RATE_FRAMES)  # session time
        self._clock: deque[float] = deque(maxlen=self.RATE_FRAMES)  # wall clock
        self._report_sampler = RateSampler(self.cfg.live.report_fps)
        self._report_start_s: float | None = None
        self._report_full = False
        self.warnings: list[str] = []

    def rate_fps(self) -> float:
        """Frames analyzed per second of session time, over the last few frames."""
        t = self._times_s
        if len(t) < 2 or t[-1] <= t[0]:
            return self.cfg.analysis_fps
        return (len(t) - 1) / (t[-1] - t[0])

    def _record(self, frame: Frame) -> bool:
        t = frame.timestamp_ms / 1000.0
        if self._report_start_s is None:
            self._report_start_s = t
        if t - self._report_start_s > self.cfg.live.max_report_s:
            if not self._report_full:
                self._report_full = True
                self.warnings.append(
                    f"the report covers the first {self.cfg.live.max_report_s / 60:g} min of "
                    f"the session"
                )
            return False
        return self._report_sampler.keep(frame.timestamp_ms)

    def process(self, frame: Frame) -> LiveFrame:
        t0 = time.perf_counter()
        t = frame.timestamp_ms / 1000.0
        results = self.session.process(frame, record=self._record(frame))
        self._times_s.append(t)
        rate = self.rate_fps()
        found = {key: (measured, det) for key, measured, det in results}
        for key in found:
            if key not in self.running:
                self.running[key] = RunningTrack(self.cfg)
                if len(self.running) > self.cfg.live.max_people:
                    self.running.popitem(last=False)  # the least recently seen
            self.running.move_to_end(key)
        for key, run in self.running.items():
            run.push(t, found[key][0] if key in found else None, rate)
        people = [self._person(key, m, det) for key, (m, det) in found.items()]
        self._clock.append(time.perf_counter())
        c = self._clock
        fps = (len(c) - 1) / (c[-1] - c[0]) if len(c) > 1 and c[-1] > c[0] else 0.0
        people.sort(key=lambda p: p.eyes_xy[0] if p.eyes_xy else math.inf)
        return LiveFrame(
            time_s=t, people=tuple(people), fps=fps, latency_ms=(time.perf_counter() - t0) * 1000.0
        )

    def _person(self, key: int, measured: Measured, det: PersonDetection) -> LivePerson:
        run = self.running[key]
        s = measured.sample
        face = det.face
        person = LivePerson(
            key=key,
            face_outline_xy=None if face is None else face.landmarks_xy[list(FACE_OVAL)],
            eyes_xy=None if face is None else face.eyes_mid_xy,
            face_width_px=s.face_width_px,
            gaze_yaw_deg=s.gaze_yaw_deg,
            gaze_pitch_deg=s.gaze_pitch_deg,
            eye_contact=run.eye_contact,
            eyes_closed=s.eyes_closed,
            contact_share=run.clock.share,
            measured_s=run.clock.measured_s,
            streak_s=run.clock.streak_s,
            away_s=run.clock.away_s,
            arms_crossed=run.arms_crossed,
            openness=s.openness,
            expressiveness=run.expressiveness,
            smile=s.smile,
            cues=(),
        )
        return replace(person, cues=kind_cues(person, self.cfg))

    def finish(self) -> None:
        """Finish the running numbers still inside a smoothing window (the end of a session)."""
        for run in self.running.values():
            run.flush()

    def report(self) -> AnalysisReport | None:
        """The same report as a batch analysis of the frames recorded; None if no one was
        seen."""
        try:
            return session_report(self.session, self.info, self.warnings, self.cfg, live=True)
        except NoPersonError:
            return None
