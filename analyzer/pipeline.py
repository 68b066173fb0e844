"""The one orchestrator: frames in, per-person samples and a report out.

``analyze`` is batch analysis of a file (the CLI and the API's worker): a pre-scan
(``analyzer.scene``) reads how the recording is laid out over time, then every analyzed frame
goes through ``SessionAnalyzer``, the frame-by-frame core that a live front end drives too.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from analyzer import __version__
from analyzer.config import AnalyzerConfig
from analyzer.errors import NoPersonError
from analyzer.landmarks import (
    LandmarkerOptions,
    SceneLandmarker,
    head_crop_box,
    mediapipe_version,
)
from analyzer.metrics import person_metrics
from analyzer.models import ModelPaths
from analyzer.partners import analyze_partners
from analyzer.people import (
    PersonTracker,
    appearance,
    appearance_distance,
    call_positions,
    merge_duplicate_people,
    most_prominent,
    pair_faces_with_poses,
    positions,
)
from analyzer.scene import MAX_PEOPLE_PER_REGION, ScenePlan, plan_scene, single_plan
from analyzer.segments import (
    MIN_SEGMENT_S,
    Segment,
    SegmentPool,
    SegmentResult,
    default_jobs,
    plan_segments,
)
from analyzer.signals.person import Measured, measure_person
from analyzer.tile_check import at_home
from analyzer.tracks import finish_track
from analyzer.types import (
    AnalysisReport,
    Frame,
    ImageArray,
    PartnerReport,
    PersonDetection,
    PersonReport,
    PersonTrack,
    PoseObservation,
    Position,
    Region,
    SourceKind,
    VideoInfo,
)
from analyzer.video import FrameSource, Prefetch, RateSampler, VideoFileSource, open_source

ProgressFn = Callable[[float], None]
# Called after each analyzed frame with its number and what was found (track key, measurement,
# detection) for each person: how callers keep per-frame detail the report does not carry.
FrameHook = Callable[[int, list[tuple[int, Measured, PersonDetection]]], None]
# Two tracks that never appear together are one person if their looks are this close (a
# Bhattacharyya distance; people.APPEARANCE_OTHER calls 0.4 "clearly someone else" when both
# stand in one place at once).
JOIN_MAX_DISTANCE = 0.5
# A region's picture that changes by more than this (mean grey levels of a 32x18 copy) from one
# analyzed frame to the next was cut (a camera off or on, a swap: 60-110 on the test calls;
# talking and moving people: at most 17, a TV programme's own cuts about 30).
CUT_JUMP = 40.0
CUT_THUMB_WH = (32, 18)
PREFETCH_BYTES = 256 * 1024 * 1024  # frames decoded ahead: four at most, fewer when large (8K)
JOIN_MAX_SHARED_FRAMES = 3


@dataclass
class _TrackData:
    frames: dict[int, Measured] = field(default_factory=dict)
    positions: Counter[Position] = field(default_factory=Counter)  # where, frame by frame


class FrameObserver:
    """What the models find in each frame, as people: faces paired with bodies, small faces
    looked for again on a crop, duplicates merged, each with its colour signature. The half of
    the frame-by-frame core that needs the pictures and the models (a segment of a parallel
    analysis runs it in its own process); ``SessionAnalyzer`` keeps people apart over time.

    ``pose_slot_fps``: in a video analyzed at that rate, the body model runs on the first
    analyzed frame of every ``pose_every_n`` slots of video time (the same frames whichever
    process analyzes them); without it (live), on every ``pose_every_n``-th frame."""

    def __init__(
        self,
        landmarker: SceneLandmarker,
        cfg: AnalyzerConfig,
        plan: ScenePlan,
        *,
        pose_slot_fps: float | None = None,
    ) -> None:
        self.landmarker = landmarker
        self.cfg = cfg
        self.plan = plan
        self._span = plan.spans[0]
        self._slots = None if pose_slot_fps is None else RateSampler(pose_slot_fps)
        self._pose_group: int | None = None
        self._thumbs: dict[Region, npt.NDArray[np.int16]] = {}
        self._cut_at: dict[Region, int] = {}  # the frame a region's picture was last cut
        self._held_at = -1  # the frame the held bodies were seen in
        self._n = 0  # frames observed
        self._held_poses: tuple[PoseObservation, ...] = ()
        self._pending_poses: Future[list[PoseObservation]] | None = None
        self._pending_at = 0

    def _pose_due(self, n: int, timestamp_ms: int) -> bool:
        if self._slots is None:
            return n % self.cfg.pose_every_n == 0
        group = self._slots.slot(timestamp_ms) // self.cfg.pose_every_n
        due = group != self._pose_group
        self._pose_group = group
        return due

    def observe(self, frame: Frame) -> list[PersonDetection]:
        """The people in one frame.

        In video the body model runs every ``pose_every_n`` frames in the background while
        the face model works on that frame and the next; its bodies are used from two frames
        later until the next ones (a lag of 0.2 s at 10 frames per second, which posture does
        not mind). For a still image everything is measured on the image itself."""
        n = self._n
        self._n += 1
        span = self.plan.span_at(frame.timestamp_ms / 1000.0)
        if span is not self._span:  # the layout of the recording changed
            self._span = span
            self.landmarker.use(span.regions, span.people_per_region, span.people_per_region)
        for region in self._cut_regions(frame.rgb):
            self.landmarker.reset(region)
            self._cut_at[region] = n
        due = self._pose_due(n, frame.timestamp_ms)
        # Bodies started on frame k are picked up on frame k + 2 (or the next due frame if
        # sooner): always the same frame, so results do not depend on timing.
        pending = self._pending_poses
        if pending is not None and (due or n - self._pending_at >= 2):
            self._held_poses = tuple(pending.result())
            self._held_at = self._pending_at
            self._pending_poses = None
        # bodies seen before a region's picture was cut are not in it any more
        self._held_poses = tuple(
            p for p in self._held_poses if self._cut_at.get(p.region, -1) <= self._held_at
        )
        if due:
            self._pending_poses = self.landmarker.submit_poses(frame)
            self._pending_at = n
        faces_found = self.landmarker.detect_faces(frame)
        if not self.landmarker.video and self._pending_poses is not None:
            self._held_poses = tuple(self._pending_poses.result())
            self._held_at = n
            self._pending_poses = None
        faces, poses = at_home(self.landmarker.regions, faces_found, self._held_poses)
        people = pair_faces_with_poses(faces, poses)
        people = merge_duplicate_people([self._find_small_face(frame.rgb, p) for p in people])
        people = most_prominent(people, span.people_per_region)
        return [
            p if p.face is None else replace(p, appearance=appearance(frame.rgb, p.face))
            for p in people
        ]

    def _cut_regions(self, rgb: ImageArray) -> list[Region]:
        """Regions whose picture jumps at once since the last analyzed frame (a camera turned
        off or on, tiles swapped): looked at afresh, since the face model's tracking and the
        bodies seen a frame or two before would carry the old person over."""
        seen, cut = {}, []
        tw, th = CUT_THUMB_WH
        for region in self.landmarker.regions:
            # every step-th pixel first: the thumbnail is a mean over areas either way, and
            # greying a whole 720p picture cost 0.5 ms a frame
            step = max(1, min(region.width // (4 * tw), region.height // (4 * th)))
            crop = rgb[
                region.y : region.y + region.height : step,
                region.x : region.x + region.width : step,
            ]
            small = cv2.resize(
                cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY),
                CUT_THUMB_WH,
                interpolation=cv2.INTER_AREA,
            ).astype(np.int16)
            before = self._thumbs.get(region)
            if before is not None and float(np.abs(small - before).mean()) > CUT_JUMP:
                cut.append(region)
            seen[region] = small
        self._thumbs = seen
        return cut

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


class SessionAnalyzer:
    """Keeps people apart over a session and records what is measured of each, frame by frame:
    from frames (``process``: a ``FrameObserver`` finds the people) or from the people found
    in a frame elsewhere (``add``: a segment analyzed in another process)."""

    def __init__(
        self,
        landmarker: SceneLandmarker | None,
        cfg: AnalyzerConfig,
        plan: ScenePlan | None = None,
        *,
        pose_slot_fps: float | None = None,
    ) -> None:
        self.cfg = cfg
        if plan is None:
            if landmarker is None:
                raise ValueError("a session without a plan needs its landmarker")
            plan = single_plan(landmarker.regions[0], landmarker.faces_per_region)
        self.plan = plan
        self.observer = (
            None
            if landmarker is None
            else FrameObserver(landmarker, cfg, plan, pose_slot_fps=pose_slot_fps)
        )
        self._span = self.plan.spans[0]
        self.tracker = PersonTracker()
        self.times_s: list[float] = []  # of the frames recorded
        self._tracks: dict[int, _TrackData] = {}

    @property
    def landmarker(self) -> SceneLandmarker:
        if self.observer is None:
            raise RuntimeError("this session is fed people found elsewhere (add)")
        return self.observer.landmarker

    def process(
        self, frame: Frame, *, record: bool = True
    ) -> list[tuple[int, Measured, PersonDetection]]:
        """Analyze one frame; returns (track key, measurement, detection) per person found.
        ``record``: keep the frame's measurements for the report (a live session keeps fewer
        frames than it shows)."""
        if self.observer is None:
            raise RuntimeError("this session is fed people found elsewhere (add)")
        return self.add(frame.timestamp_ms, self.observer.observe(frame), record=record)

    def add(
        self, timestamp_ms: int, people: list[PersonDetection], *, record: bool = True
    ) -> list[tuple[int, Measured, PersonDetection]]:
        """The people found in the frame at ``timestamp_ms``: tracked and measured."""
        time_s = timestamp_ms / 1000.0
        span = self.plan.span_at(time_s)
        if span is not self._span:  # the layout of the recording changed
            # a tile that kept its name (an inset dragged or resized) keeps its people
            moves = {
                old: new
                for old, name in zip(self._span.regions, self._span.positions, strict=True)
                for new, new_name in zip(span.regions, span.positions, strict=True)
                if name == new_name and self._span.positions.count(name) == 1
            }
            self.tracker.remap(moves)
            self._span = span
        keys = self.tracker.update(time_s, people)
        out = []
        for key, det in zip(keys, people, strict=True):
            m = measure_person(det, time_s, self.cfg)
            if record:
                data = self._tracks.setdefault(key, _TrackData())
                data.frames[len(self.times_s)] = m
                where = span.position_of(det.region)
                if where is not None:
                    data.positions[where] += 1
            out.append((key, m, det))
        if record:
            self.times_s.append(time_s)
        return out

    def recorded_rate_fps(self) -> float:
        """Frames recorded per second of session time (a live session's rate is what the camera
        and the machine gave, not a setting)."""
        t = self.times_s
        if len(t) < 2 or t[-1] <= t[0]:
            return self.cfg.analysis_fps
        return round((len(t) - 1) / (t[-1] - t[0]), 2)

    def tracks(self, rate_fps: float) -> tuple[list[PersonTrack], int]:
        """Finished tracks in position order (left to right, top to bottom, the main picture
        before the inset), and how many short tracks were dropped. ``rate_fps``: the rate the
        recorded frames were analyzed at."""
        n_frames = len(self.times_s)
        dt = 1.0 / rate_fps
        keep = [
            k
            for k, d in self._tracks.items()
            # long enough, or in most of the frames there are (a short or sparse video)
            if len(d.frames) * dt >= self.cfg.min_track_s or 2 * len(d.frames) > n_frames
        ]
        dropped = len(self._tracks) - len(keep)
        keep = self._joined(keep)
        anchors = [self.tracker.median_anchor(k) for k in keep]
        regions = [self.tracker.region(k) for k in keep]
        if self.plan.call:
            order, names = call_positions([self._tracks[k].positions for k in keep], anchors)
        else:
            order, names = positions(anchors)
        tracks = []
        for pid, (i, pos) in enumerate(zip(order, names, strict=True), start=1):
            key = keep[i]
            samples, target = finish_track(
                self.times_s, self._tracks[key].frames, self.cfg, rate_fps
            )
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

    def _joined(self, keys: list[int]) -> list[int]:
        """One person split into two tracks (a change of layout moved them to a tile where
        they looked different for a moment): while there are more tracks than people ever seen
        at once, the two most alike that never appear together are one person."""
        frames = {k: set(self._tracks[k].frames) for k in keys}
        at_once = Counter(n for k in keys for n in frames[k])
        counts = sorted(at_once.values(), reverse=True)
        # people seen at once, not counting a few frames read with the old layout's regions
        most = counts[min(len(counts) - 1, JOIN_MAX_SHARED_FRAMES)] if counts else 0
        keys = list(keys)
        while len(keys) > most:
            best: tuple[float, int, int] | None = None
            for i, a in enumerate(keys):
                for b in keys[i + 1 :]:
                    # a frame or two together at a change of layout, read a moment late
                    if len(frames[a] & frames[b]) > JOIN_MAX_SHARED_FRAMES:
                        continue
                    d = appearance_distance(self.tracker.look(a), self.tracker.look(b))
                    if d is not None and d < JOIN_MAX_DISTANCE and (best is None or d < best[0]):
                        best = (d, a, b)
            if best is None:
                break
            _, a, b = best
            if len(frames[b]) > len(frames[a]):
                a, b = b, a
            self._tracks[a].frames.update(
                {n: m for n, m in self._tracks[b].frames.items() if n not in frames[a]}
            )
            self._tracks[a].positions.update(self._tracks[b].positions)
            self.tracker.absorb(a, b)
            frames[a] |= frames.pop(b)
            keys.remove(b)
        return keys


def analyze(
    input_spec: str | Path,
    models: ModelPaths,
    cfg: AnalyzerConfig | None = None,
    progress: ProgressFn | None = None,
    on_frame: FrameHook | None = None,
    timings: dict[str, float] | None = None,
    *,
    jobs: int | None = None,
) -> AnalysisReport:
    """Analyze a video file or an image and return the report (nothing is written to disk).
    ``jobs``: processes a video is analyzed in, in segments (``analyzer.segments``; default:
    every core; a video shorter than two segments is one process). ``timings``, if given,
    receives seconds spent reading the layout ("layout"), in the whole pre-scan ("prescan")
    and in all ("total")."""
    cfg = cfg or AnalyzerConfig()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    started = time.perf_counter()
    with open_source(input_spec) as source, contextlib.ExitStack() as stack:
        info = source.info
        file = source if isinstance(source, VideoFileSource) else None
        pool = None
        planned = 0 if file is None else len(plan_segments(info.duration_s, [], jobs))
        if planned > 1:  # as many processes as segments, at most; started while the layout
            pool = stack.enter_context(SegmentPool(min(jobs, planned)))  # is read
        plan = plan_scene(
            source, models, cfg, timer=None if timings is None else timings.__setitem__
        )
        segments = [Segment(0, 0.0, None)]
        if pool is not None and file is not None:
            segments = plan_segments(info.duration_s, file.keyframe_times_s(), jobs)
        if pool is not None and file is not None and len(segments) > 1:
            results = pool.observe(file.path, models, cfg, plan, segments, progress)
            session, warnings = stitch(file, results, cfg, plan, on_frame)
        else:
            session, warnings = _one_process(source, models, cfg, plan, progress, on_frame)
        if file is not None:  # what was decoded, not what the header says
            info = replace(info, duration_s=file.decoded_duration_s())
    if progress is not None:
        progress(1.0)
    report = session_report(session, info, warnings, cfg)
    if timings is not None:
        timings["total"] = time.perf_counter() - started
    return report


def stitch(
    file: VideoFileSource,
    results: Iterable[SegmentResult],
    cfg: AnalyzerConfig,
    plan: ScenePlan,
    on_frame: FrameHook | None = None,
) -> tuple[SessionAnalyzer, list[str]]:
    """One session from the results of a video's segments, in order, observed in other
    processes or on other machines: every frame through the one tracker, as in one process
    (``analyzer.segments``). ``file`` learns how much of the video decoded."""
    session = SessionAnalyzer(None, cfg, plan)
    warnings = list(plan.warnings)
    for result in results:
        for timestamp_ms, people in result.frames:
            found = session.add(timestamp_ms, list(people))
            if on_frame is not None:
                on_frame(len(session.times_s) - 1, found)
        warnings += [w for w in result.warnings if w not in warnings]
        if result.decoded_s is not None:
            file.decoded_s = result.decoded_s
    return session, warnings


@dataclass(frozen=True)
class SplitPlan:
    """A video planned for segments observed elsewhere (a cluster's segment jobs): how it is
    laid out and where it is cut."""

    plan: ScenePlan
    segments: tuple[Segment, ...]


def plan_split(
    path: str | Path, models: ModelPaths, cfg: AnalyzerConfig, segment_s: float
) -> SplitPlan:
    """Read a video's layout and cut it into segments of at most about ``segment_s`` (one
    segment: too short to cut)."""
    with open_source(path) as source:
        if not isinstance(source, VideoFileSource) or source.info.duration_s is None:
            return SplitPlan(plan_scene(source, models, cfg), (Segment(0, 0.0, None),))
        plan = plan_scene(source, models, cfg)
        duration_s = source.info.duration_s
        n = max(1, math.ceil(duration_s / segment_s))
        cuts = plan_segments(
            duration_s,
            source.keyframe_times_s(),
            n,
            min_s=min(MIN_SEGMENT_S, segment_s),
            max_s=segment_s,
        )
    return SplitPlan(plan, tuple(cuts))


def analyze_observed(
    path: str | Path,
    results: Iterable[SegmentResult],
    cfg: AnalyzerConfig,
    plan: ScenePlan,
) -> AnalysisReport:
    """The report of a video from its segments' results, in order (a cluster's stitch job)."""
    with open_source(path) as source:
        if not isinstance(source, VideoFileSource):
            raise ValueError("segments are of video files")
        session, warnings = stitch(source, results, cfg, plan)
        info = replace(source.info, duration_s=source.decoded_duration_s())
    return session_report(session, info, warnings, cfg)


def _one_process(
    source: FrameSource,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    plan: ScenePlan,
    progress: ProgressFn | None,
    on_frame: FrameHook | None,
) -> tuple[SessionAnalyzer, list[str]]:
    """Every frame observed and tracked in this process (an image, a short video, one job)."""
    info = source.info
    video = info.kind != SourceKind.IMAGE
    sampler = RateSampler(cfg.analysis_fps)
    duration_ms = (info.duration_s or 0.0) * 1000.0
    first = plan.spans[0]
    options = LandmarkerOptions.for_analysis(
        models, cfg, video=video, people_per_region=first.people_per_region
    )
    with SceneLandmarker(options, first.regions) as lm:
        session = SessionAnalyzer(lm, cfg, plan, pose_slot_fps=cfg.analysis_fps if video else None)
        frames = source.frames(keep=sampler.keep, rate_fps=cfg.analysis_fps)
        ahead = max(1, min(4, PREFETCH_BYTES // max(1, info.width * info.height * 3)))
        for frame in Prefetch(frames, depth=ahead):
            found = session.process(frame)
            if on_frame is not None:
                on_frame(len(session.times_s) - 1, found)
            if progress is not None and duration_ms > 0:
                progress(min(1.0, frame.timestamp_ms / duration_ms))
    return session, [*plan.warnings, *source.warnings]


def pair_report(
    people: list[PersonReport], plan: ScenePlan, cfg: AnalyzerConfig, rate_fps: float
) -> PartnerReport | None:
    """Partners: only when there are exactly two people. On a call each has their own camera;
    in one room they can look at each other; when the pre-scan could not tell which, nothing is
    said about looking at each other."""
    if len(people) != 2:
        return None
    a, b = people
    return analyze_partners(
        a.track.samples,
        b.track.samples,
        (a.track.id, b.track.id),
        same_room=None if not plan.certain else not plan.call,
        cfg=cfg.partners,
        analysis_fps=rate_fps,
        smile_threshold=cfg.expression.smile_threshold,
        bridge_gap_s=cfg.episodes.bridge_gap_s,
        gaze_window_s=cfg.smoothing.gaze_window_s,
    )


# Say so when at least this share of a person's looking at the other rests on the head's
# direction alone.
HEAD_DIRECTION_WARN_SHARE = 0.2


def _head_direction_warnings(partners: PartnerReport) -> list[str]:
    """One room: whose looking at the other was judged mostly without their eyes."""
    out = []
    for (me, other), share in zip(
        (partners.ids, partners.ids[::-1]), partners.looking_from_head_direction, strict=True
    ):
        if share is not None and share >= HEAD_DIRECTION_WARN_SHARE:
            out.append(
                f"person {me}: looking at person {other} judged from the "
                f"head's direction alone (face in profile or not found, so not the eyes) in "
                f"{share:.0%} of the measured time"
            )
    return out


def _measured_anything(track: PersonTrack) -> bool:
    return any(
        s.face_visible or s.arms_crossed is not None or s.facing_xyz is not None
        for s in track.samples
    )


def session_report(
    session: SessionAnalyzer,
    info: VideoInfo,
    warnings: list[str],
    cfg: AnalyzerConfig,
    *,
    live: bool = False,
) -> AnalysisReport:
    """The report of a finished session (batch or live: a live session reports the rate it
    actually analyzed at, since it drops frames to keep up)."""
    warnings = list(warnings)
    rate = session.recorded_rate_fps() if live else cfg.analysis_fps
    tracks, dropped = session.tracks(rate)
    measured = [t for t in tracks if _measured_anything(t)]
    if len(measured) < len(tracks):
        warnings.append(
            f"{len(tracks) - len(measured)} detection(s) in which nothing could be measured "
            f"(no face, arms or head direction) were left out"
        )
        tracks = [replace(t, id=i) for i, t in enumerate(measured, start=1)]
    if not tracks:
        raise NoPersonError(
            f"{info.name}: no person found in {len(session.times_s)} analyzed frame(s)"
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
    plan = session.plan
    if plan.people_seen > len(people):
        warnings.append(
            f"{plan.people_seen} people seen at once, {len(people)} analyzed (at most "
            f"{cfg.max_people or MAX_PEOPLE_PER_REGION} per picture, and only people whose face, "
            f"arms or head direction could be measured)"
        )
    partners = pair_report(people, plan, cfg, rate)
    if partners is not None:
        warnings += _head_direction_warnings(partners)
    return AnalysisReport(
        video=info,
        partners=partners,
        frames_analyzed=len(session.times_s),
        analysis_fps=rate,
        layout=plan.main.layout.value,
        regions=plan.main.regions,
        people=tuple(people),
        warnings=tuple(warnings),
        config=cfg,
        versions={"presence": __version__, "mediapipe": mediapipe_version()},
        layout_spans=plan.spans,
    )
