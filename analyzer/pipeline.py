"""The one orchestrator: frames in, per-person samples and a report out.

``analyze`` is batch analysis of a file (the CLI and the API's worker). ``SessionAnalyzer`` is the
frame-by-frame core it drives, which a live front end can drive too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzer import __version__
from analyzer.config import AnalyzerConfig, Layout
from analyzer.errors import NoPersonError
from analyzer.landmarks import ModelPaths, SceneLandmarker, head_crop_box, mediapipe_version
from analyzer.layout import LayoutResult, detect_layout, split_regions
from analyzer.metrics import person_metrics
from analyzer.partners import PartnerReport, analyse_partners
from analyzer.people import (
    PersonTracker,
    appearance,
    dedupe_faces,
    dedupe_poses,
    merge_duplicate_people,
    pair_faces_with_poses,
    positions,
)
from analyzer.signals.person import Measured, measure_person
from analyzer.tracks import finish_track
from analyzer.types import (
    AnalysisReport,
    FaceObservation,
    Frame,
    ImageArray,
    PersonDetection,
    PersonReport,
    PersonTrack,
    PoseObservation,
    Region,
    SourceKind,
    VideoInfo,
)
from analyzer.video import FrameSource, Prefetch, RateSampler, open_source, spread_frames

ProgressFn = Callable[[float], None]
# Called after each analysed frame with its number and what was found (track key, measurement,
# detection) for each person: how callers keep per-frame detail the report does not carry.
FrameHook = Callable[[int, list[tuple[int, Measured, PersonDetection]]], None]
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
        self._pending_at = 0

    def process(self, frame: Frame) -> list[tuple[int, Measured, PersonDetection]]:
        """Analyse one frame; returns (track key, measurement, detection) per person found.

        In video the body model runs on every ``pose_every_n``-th frame in the background while
        the face model works on that frame and the next; its bodies are used from two frames
        later until the next ones (a lag of 0.2 s at 10 frames per second, which posture does
        not mind). For a still image everything is measured on the image itself."""
        n = len(self.times_s)
        due = n % self.cfg.pose_every_n == 0
        # Bodies started on frame k are picked up on frame k + 2 (or the next due frame if
        # sooner): always the same frame, so results do not depend on timing.
        pending = self._pending_poses
        if pending is not None and (due or n - self._pending_at >= 2):
            self._held_poses = tuple(pending.result())
            self._pending_poses = None
        if due:
            self._pending_poses = self.landmarker.submit_poses(frame)
            self._pending_at = n
        faces_found = self.landmarker.detect_faces(frame)
        if not self.landmarker.video and self._pending_poses is not None:
            self._held_poses = tuple(self._pending_poses.result())
            self._pending_poses = None
        faces, poses = at_home(self.landmarker.regions, faces_found, self._held_poses)
        people = pair_faces_with_poses(faces, poses)
        people = merge_duplicate_people([self._find_small_face(frame.rgb, p) for p in people])
        people = [
            p if p.face is None else replace(p, appearance=appearance(frame.rgb, p.face))
            for p in people
        ]
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

    def rate_fps(self) -> float:
        """Frames analysed per second of session time (live sessions drop frames)."""
        t = self.times_s
        if len(t) < 2 or t[-1] <= t[0]:
            return self.cfg.analysis_fps
        return round((len(t) - 1) / (t[-1] - t[0]), 2)

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
        order, names = positions(anchors, regions, gallery, self.landmarker.regions)
        tracks = []
        for pid, (i, pos) in enumerate(zip(order, names, strict=True), start=1):
            key = keep[i]
            samples, target = finish_track(self.times_s, self._tracks[key].frames, self.cfg)
            tracks.append(
                PersonTrack(
                    id=pid,
                    position=pos,
                    samples=samples,
                    region=regions[i],
                    screen_target=target,
                    key=key,
                )
            )
        return tracks, dropped


def prescan(source: FrameSource, models: ModelPaths, cfg: AnalyzerConfig) -> SceneSetup:
    """Look at a few frames spread over the input: gallery or not, and how many people."""
    info = source.info
    full = Region(0, 0, info.width, info.height)
    frames = spread_frames(source, PRESCAN_FRAMES)
    if not frames:
        return SceneSetup(Layout.SINGLE, (full,), cfg.max_people or 1)
    single = LayoutResult(Layout.SINGLE, (full,))
    whole = _look(frames, (full,), models, cfg)
    scenes = whole
    if cfg.layout == Layout.AUTO:
        found = detect_layout(frames) if info.kind == SourceKind.VIDEO else single
        if found.layout != Layout.SINGLE:
            scenes = _look(frames, found.regions, models, cfg)  # small tiles need their own look
            if not gallery_fits(found.regions, scenes, whole):
                found, scenes = single, whole  # a face across a seam, or a tile without one
    elif cfg.layout == Layout.SINGLE:
        found = single
    else:
        detected = detect_layout(frames)
        regions = (
            detected.regions
            if detected.layout == cfg.layout
            else split_regions(cfg.layout, info.width, info.height)
        )
        found = LayoutResult(cfg.layout, regions)
        scenes = _look(frames, found.regions, models, cfg)
    regions = found.regions
    counts = [
        max(
            max(
                sum(home_region(regions, f.eyes_mid_xy) == r for f in faces),
                sum(home_region(regions, p) == r for p in noses),
            )
            for faces, noses in scenes
        )
        for r in regions
    ]
    people = cfg.max_people or max(1, min(MAX_PEOPLE_PER_REGION, max(counts)))
    return SceneSetup(found.layout, found.regions, people)


Scene = tuple[list[FaceObservation], list[tuple[float, float]]]


def _look(
    frames: list[ImageArray],
    regions: tuple[Region, ...],
    models: ModelPaths,
    cfg: AnalyzerConfig,
) -> list[Scene]:
    """Faces and body positions (noses) in each frame, looked for in each region (a face found
    in the main picture but inside an inset belongs to the inset and is left out)."""
    out: list[Scene] = []
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
            faces, poses = at_home(regions, obs.faces, obs.poses)
            out.append((faces, [_nose(p) for p in poses]))
    return out


def _nose(p: PoseObservation) -> tuple[float, float]:
    return (float(p.landmarks_xy[0][0]), float(p.landmarks_xy[0][1]))


def at_home(
    regions: tuple[Region, ...],
    faces: Sequence[FaceObservation],
    poses: Sequence[PoseObservation],
) -> tuple[list[FaceObservation], list[PoseObservation]]:
    """Faces and bodies without duplicates, each kept only if found in the region it belongs to:
    a speaker view's main picture also shows the inset, and a face or body seen there belongs to
    the inset's person, who is measured in the inset itself."""
    return (
        [f for f in dedupe_faces(faces) if home_region(regions, f.eyes_mid_xy) == f.region],
        [p for p in dedupe_poses(poses) if home_region(regions, _nose(p)) == p.region],
    )


def home_region(regions: tuple[Region, ...], xy: tuple[float, float]) -> Region | None:
    """The region a point belongs to: the smallest that contains it (a speaker view's inset lies
    inside the main picture, and a face there belongs to the inset)."""
    inside = [r for r in regions if r.contains(*xy)]
    return min(inside, key=lambda r: r.width * r.height) if inside else None


def gallery_fits(regions: tuple[Region, ...], scenes: list[Scene], whole: list[Scene]) -> bool:
    """Every tile shows a face in at least half the frames (``scenes``: looked for tile by tile),
    and no face lies across a seam (``whole``: looked for on the whole frame)."""
    for region in regions:
        with_face = sum(
            any(home_region(regions, f.eyes_mid_xy) == region for f in faces) for faces, _ in scenes
        )
        if with_face * 2 < len(scenes):
            return False
    for faces, _ in whole:
        for f in faces:
            x0, y0, x1, y1 = f.bbox_xyxy
            r = home_region(regions, f.eyes_mid_xy)
            if r is None:
                continue
            inside_w = min(x1, r.x + r.width) - max(x0, r.x)
            inside_h = min(y1, r.y + r.height) - max(y0, r.y)
            if inside_w < 0.85 * (x1 - x0) or inside_h < 0.85 * (y1 - y0):
                return False
    return True


def analyze(
    input_spec: str | Path,
    models: ModelPaths,
    cfg: AnalyzerConfig | None = None,
    progress: ProgressFn | None = None,
    on_frame: FrameHook | None = None,
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
                found = session.process(frame)
                if on_frame is not None:
                    on_frame(len(session.times_s) - 1, found)
                if progress is not None and duration_ms > 0:
                    progress(min(1.0, frame.timestamp_ms / duration_ms))
        warnings = list(source.warnings)
    if progress is not None:
        progress(1.0)
    return session_report(session, info, setup, warnings, cfg)


def pair_report(
    people: list[PersonReport], layout: Layout, cfg: AnalyzerConfig, rate_fps: float
) -> PartnerReport | None:
    """Partners: the two people seen most, when there are at least two (None otherwise)."""
    if len(people) < 2:
        return None
    two = sorted(people, key=lambda p: -p.metrics.face_visible_ratio)[:2]
    a, b = sorted(two, key=lambda p: p.track.id)
    return analyse_partners(
        a.track.samples,
        b.track.samples,
        (a.track.id, b.track.id),
        same_room=layout == Layout.SINGLE,
        cfg=cfg.partners,
        analysis_fps=rate_fps,
        smile_threshold=cfg.expression.smile_threshold,
        bridge_gap_s=cfg.episodes.bridge_gap_s,
        gaze_window_s=cfg.smoothing.gaze_window_s,
    )


def session_report(
    session: SessionAnalyzer,
    info: VideoInfo,
    setup: SceneSetup,
    warnings: list[str],
    cfg: AnalyzerConfig,
    *,
    live: bool = False,
) -> AnalysisReport:
    """The report of a finished session (batch or live: a live session reports the rate it
    actually analysed at, since it drops frames to keep up)."""
    warnings = list(warnings)
    gallery = None if setup.layout == Layout.SINGLE else setup.layout.value
    tracks, dropped = session.tracks(gallery)
    if not tracks:
        raise NoPersonError(
            f"{info.name}: no person found in {len(session.times_s)} analysed frame(s)"
        )
    if dropped:
        warnings.append(
            f"{dropped} brief detection(s) shorter than {cfg.min_track_s:g} s were left out"
        )
    people = []
    for track in tracks:
        metrics = person_metrics(track.samples, cfg, track.screen_target)
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
        partners=pair_report(
            people, setup.layout, cfg, session.rate_fps() if live else cfg.analysis_fps
        ),
        frames_analyzed=len(session.times_s),
        analysis_fps=session.rate_fps() if live else cfg.analysis_fps,
        layout=setup.layout.value,
        regions=setup.regions,
        people=tuple(people),
        warnings=tuple(warnings),
        settings=cfg.as_dict(),
        versions={"presence": __version__, "mediapipe": mediapipe_version()},
    )
