"""The one orchestrator: frames in, per-person samples and a report out.

``analyze`` is batch analysis of a file (the CLI and the API's worker). ``SessionAnalyzer`` is the
frame-by-frame core it drives, which a live front end can drive too.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from analyzer import __version__
from analyzer.config import AnalyzerConfig, Layout
from analyzer.errors import NoPersonError
from analyzer.landmarks import ModelPaths, SceneLandmarker, head_crop_box, mediapipe_version
from analyzer.layout import LayoutResult, detect_layout, split_regions
from analyzer.metrics import person_metrics
from analyzer.people import (
    PersonTracker,
    dedupe_faces,
    dedupe_poses,
    pair_faces_with_poses,
    positions,
)
from analyzer.signals import expression
from analyzer.signals.person import Measured, measure_person
from analyzer.types import (
    AnalysisReport,
    Frame,
    ImageArray,
    PersonDetection,
    PersonReport,
    PersonSample,
    PersonTrack,
    PoseObservation,
    Region,
    SourceKind,
)
from analyzer.video import FrameSource, Prefetch, RateSampler, open_source, spread_frames

ProgressFn = Callable[[float], None]
PRESCAN_FRAMES = 6
MAX_PEOPLE_PER_REGION = 6


@dataclass(frozen=True)
class SceneSetup:
    """What the pre-scan decided: the layout, its regions, and people to expect per region."""

    layout: Layout
    regions: tuple[Region, ...]
    people_per_region: int


@dataclass
class _TrackData:
    frames: dict[int, Measured] = field(default_factory=dict)


class SessionAnalyzer:
    """Feeds frames through the landmarker, pairs faces with bodies, and keeps people apart."""

    def __init__(self, landmarker: SceneLandmarker, cfg: AnalyzerConfig) -> None:
        self.landmarker = landmarker
        self.cfg = cfg
        self.tracker = PersonTracker()
        self.times_s: list[float] = []
        self._tracks: dict[int, _TrackData] = {}
        self._held_poses: tuple[PoseObservation, ...] = ()
        self._pending_poses: Future[list[PoseObservation]] | None = None

    def process(self, frame: Frame) -> list[tuple[int, Measured, PersonDetection]]:
        """Analyse one frame; returns (track key, measurement, detection) per person found.

        In video the body model runs on every ``pose_every_n``-th frame in the background while
        the face model works; its bodies are used from the frame they arrive on until the next
        ones (a lag of at most a few tenths of a second, which posture does not mind). For a
        still image everything is measured on the image itself."""
        n = len(self.times_s)
        due = n % self.cfg.pose_every_n == 0
        pending = self._pending_poses
        if pending is not None and (due or pending.done()):
            self._held_poses = tuple(pending.result())
            self._pending_poses = None
        if due:
            self._pending_poses = self.landmarker.submit_poses(frame)
        faces_found = self.landmarker.detect_faces(frame)
        if not self.landmarker.video and self._pending_poses is not None:
            self._held_poses = tuple(self._pending_poses.result())
            self._pending_poses = None
        faces = dedupe_faces(faces_found)
        poses = dedupe_poses(self._held_poses)
        people = pair_faces_with_poses(faces, poses)
        people = [self._find_small_face(frame.rgb, p) for p in people]
        time_s = frame.timestamp_ms / 1000.0
        keys = self.tracker.update(time_s, people)
        self.times_s.append(time_s)
        out = []
        for key, det in zip(keys, people, strict=True):
            m = measure_person(det, time_s, self.cfg)
            self._tracks.setdefault(key, _TrackData()).frames[n] = m
            out.append((key, m, det))
        return out

    def _find_small_face(self, rgb: ImageArray, det: PersonDetection) -> PersonDetection:
        if det.face is not None or det.pose is None:
            return det
        box = head_crop_box(det.pose)
        if box is None:
            return det
        found = self.landmarker.faces_in_crop(rgb, box, det.pose.region)
        if not found:
            return det
        return replace(det, face=found[0], anchor_xy=found[0].eyes_mid_xy)

    def tracks(self, gallery: str | None) -> tuple[list[PersonTrack], int]:
        """Finished tracks ordered left to right, and how many short tracks were dropped."""
        n_frames = len(self.times_s)
        dt = 1.0 / self.cfg.analysis_fps
        keep = [
            k
            for k, d in self._tracks.items()
            if n_frames <= 1 or len(d.frames) * dt >= self.cfg.min_track_s
        ]
        dropped = len(self._tracks) - len(keep)
        anchors = [self.tracker.median_anchor(k) for k in keep]
        regions = [self.tracker.region(k) for k in keep]
        order, names = positions(anchors, regions, gallery)
        tracks = []
        for pid, (i, pos) in enumerate(zip(order, names, strict=True), start=1):
            key = keep[i]
            tracks.append(
                PersonTrack(id=pid, position=pos, samples=self._samples(key), region=regions[i])
            )
        return tracks, dropped

    def _samples(self, key: int) -> tuple[PersonSample, ...]:
        data = self._tracks[key].frames
        feats = [m.expression_features for m in data.values() if m.expression_features is not None]
        neutral = None
        if len(feats) >= self.cfg.expression.min_baseline_s * self.cfg.analysis_fps:
            neutral = expression.neutral_baseline(
                np.stack(feats), self.cfg.expression.baseline_percentile
            )
        out = []
        for i, t in enumerate(self.times_s):
            m = data.get(i)
            if m is None:
                out.append(PersonSample(time_s=t, face_visible=False))
                continue
            s = m.sample
            if m.expression_features is not None and neutral is not None:
                e = float(
                    expression.expressiveness(
                        m.expression_features,
                        neutral,
                        self.cfg.expression.scale,
                        self.cfg.expression.dead_zone,
                    )
                )
                s = replace(s, expressiveness=e)
            out.append(s)
        return tuple(out)


def prescan(source: FrameSource, models: ModelPaths, cfg: AnalyzerConfig) -> SceneSetup:
    """Look at a few frames spread over the input: gallery or not, and how many people."""
    info = source.info
    full = (Region(0, 0, info.width, info.height),)
    frames = spread_frames(source, PRESCAN_FRAMES)
    if not frames:
        return SceneSetup(Layout.SINGLE, full, cfg.max_people or 1)
    if cfg.layout == Layout.AUTO:
        found: LayoutResult = (
            detect_layout(frames)
            if info.kind == SourceKind.VIDEO
            else LayoutResult(Layout.SINGLE, full)
        )
    elif cfg.layout == Layout.SINGLE:
        found = LayoutResult(Layout.SINGLE, full)
    else:
        detected = detect_layout(frames)
        regions = (
            detected.regions
            if detected.layout == cfg.layout
            else split_regions(cfg.layout, info.width, info.height)
        )
        found = LayoutResult(cfg.layout, regions)
    counts = _people_per_region(frames, found.regions, models, cfg)
    if cfg.layout == Layout.AUTO and found.layout != Layout.SINGLE and min(counts) == 0:
        found = LayoutResult(Layout.SINGLE, full)  # a tile without a face: not a gallery
        counts = _people_per_region(frames, full, models, cfg)
    people = cfg.max_people or max(1, min(MAX_PEOPLE_PER_REGION, max(counts)))
    return SceneSetup(found.layout, found.regions, people)


def _people_per_region(
    frames: list[ImageArray], regions: tuple[Region, ...], models: ModelPaths, cfg: AnalyzerConfig
) -> list[int]:
    counts = [0] * len(regions)
    with SceneLandmarker(
        models,
        regions,
        video=False,
        faces_per_region=MAX_PEOPLE_PER_REGION,
        poses_per_region=MAX_PEOPLE_PER_REGION,
        vertical_fov_deg=cfg.gaze.camera_vertical_fov_deg,
    ) as lm:
        for i, rgb in enumerate(frames):
            obs = lm.observe(Frame(index=i, timestamp_ms=i, rgb=rgb))
            for k, region in enumerate(regions):
                faces = [f for f in dedupe_faces(obs.faces) if f.region == region]
                poses = [p for p in dedupe_poses(obs.poses) if p.region == region]
                counts[k] = max(counts[k], len(faces), len(poses))
    return counts


def analyze(
    input_spec: str | Path,
    models: ModelPaths,
    cfg: AnalyzerConfig | None = None,
    progress: ProgressFn | None = None,
) -> AnalysisReport:
    """Analyse a video file or an image and return the report (nothing is written to disk)."""
    cfg = cfg or AnalyzerConfig()
    with open_source(input_spec) as source:
        info = source.info
        setup = prescan(source, models, cfg)
        video = info.kind != SourceKind.IMAGE
        sampler = RateSampler(cfg.analysis_fps)
        duration_ms = (info.duration_s or 0.0) * 1000.0
        with SceneLandmarker(
            models,
            setup.regions,
            video=video,
            faces_per_region=setup.people_per_region,
            poses_per_region=setup.people_per_region,
            vertical_fov_deg=cfg.gaze.camera_vertical_fov_deg,
        ) as lm:
            session = SessionAnalyzer(lm, cfg)
            for frame in Prefetch(source.frames(keep=sampler.keep, rate_fps=cfg.analysis_fps)):
                session.process(frame)
                if progress is not None and duration_ms > 0:
                    progress(min(1.0, frame.timestamp_ms / duration_ms))
        warnings = list(source.warnings)
    if progress is not None:
        progress(1.0)
    gallery = {Layout.SIDE_BY_SIDE: "side-by-side", Layout.STACKED: "stacked"}.get(setup.layout)
    tracks, dropped = session.tracks(gallery)
    if not tracks:
        raise NoPersonError(
            f"{Path(str(input_spec)).name}: no person found in {len(session.times_s)} analysed "
            f"frame(s)"
        )
    if dropped:
        warnings.append(
            f"{dropped} brief detection(s) shorter than {cfg.min_track_s:g} s were left out"
        )
    people = []
    for track in tracks:
        metrics = person_metrics(track.samples, cfg)
        people.append(PersonReport(track=track, metrics=metrics))
        if (
            info.kind != SourceKind.IMAGE
            and metrics.expressiveness.score is None
            and metrics.face_visible_ratio > 0
        ):
            warnings.append(
                f"person {track.id}: expressiveness is measured against their own neutral face, "
                f"which needs at least {cfg.expression.min_baseline_s:g} s of their face; "
                f"not measured"
            )
        if metrics.face_visible_ratio < 0.5:
            warnings.append(
                f"person {track.id}: face visible only {metrics.face_visible_ratio:.0%} of the "
                f"time; their face measures cover that share"
            )
    return AnalysisReport(
        video=info,
        frames_analyzed=len(session.times_s),
        analysis_fps=cfg.analysis_fps,
        layout=setup.layout.value,
        regions=setup.regions,
        people=tuple(people),
        warnings=tuple(warnings),
        settings=cfg.as_dict(),
        versions={"presence": __version__, "mediapipe": mediapipe_version()},
    )
