"""Segment-parallel analysis of one video file, on every core.

The video is cut into segments, each observed by its own process with its own landmarkers
(created in that process: processes are spawned, never forked, since MediaPipe must not be
forked). A segment's process finds the people in each of its frames (``FrameObserver``: the
models, pairing, small faces, duplicates, colour signatures), the expensive half of the work.

The other half runs once, in the calling process, over the segments' frames in order, exactly
as in a one-process run: people are kept apart by the one tracker (so the same person keeps
their track across a seam: matched by position and appearance as from frame to frame), and
every per-person step that needs the whole session (neutral face, screen target, smoothing,
episodes, nods) runs after all frames are in. Nothing is stitched after the fact.

What differs at a seam is only the models' own state: MediaPipe's face tracking, the bodies of
the last frames and the cut check start afresh in each process. Each segment is therefore
observed from ``WARMUP_S`` before its start, and those frames' results are dropped. Frames are
chosen by video time (``RateSampler``), and the body model runs on the same frames whichever
process runs it, so a stitched run analyzes exactly the frames a one-process run does.

The calling process observes segments too (whenever the next one due is not ready yet), so
``jobs`` processes are ``jobs - 1`` spawned ones and this one. Memory is bounded: a segment is
at most ``MAX_SEGMENT_S`` long, and at most ``jobs + 1`` segments' results wait for their turn.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.config import AnalyzerConfig
from analyzer.models import ModelPaths
from analyzer.types import PersonDetection

if TYPE_CHECKING:  # the scene module is heavier than `presence --help` should load
    from analyzer.scene import ScenePlan

# Each segment is observed from this much before its start (results dropped): enough for the
# face model to settle on a face and for the body model to have run twice.
WARMUP_S = 1.0
# No segment is shorter than this (a short video is one process: starting one costs ~2 s).
MIN_SEGMENT_S = 10.0
# Nor longer: a segment's results wait in memory for their turn (~7 kB per person per frame).
MAX_SEGMENT_S = 120.0


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere): a segment
    process, or an API worker's analysis process, never outlives the process it works for."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _segment_process_start(parent: int) -> None:
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Segment:
    """Frames from ``start_s`` to before ``end_s`` (None: to the end) of the video."""

    index: int
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class SegmentResult:
    """What a segment's process found: the people in each analyzed frame (by timestamp),
    the decoding warnings it met, and (for the last segment) how much of the video decoded."""

    segment: Segment
    frames: tuple[tuple[int, tuple[PersonDetection, ...]], ...]
    warnings: tuple[str, ...]
    decoded_s: float | None


def plan_segments(
    duration_s: float | None,
    keyframes_s: Sequence[float],
    jobs: int,
    *,
    min_s: float | None = None,
    max_s: float | None = None,
) -> list[Segment]:
    """Cut a video of ``duration_s`` for ``jobs`` processes: ``jobs`` segments of about equal
    length (more when that would make them longer than ``max_s``; fewer when shorter than
    ``min_s``). Each seam is put where the segment's warm-up starts on a keyframe when one is
    near, so that the decoder starts there without decoding frames it then drops.
    ``min_s``/``max_s``: default ``MIN_SEGMENT_S``/``MAX_SEGMENT_S``."""
    min_s = MIN_SEGMENT_S if min_s is None else min_s
    max_s = MAX_SEGMENT_S if max_s is None else max_s
    if jobs <= 1 or duration_s is None or duration_s < 2 * min_s:
        return [Segment(0, 0.0, None)]
    n = max(jobs, math.ceil(duration_s / max_s))
    n = min(n, int(duration_s // min_s))
    step = duration_s / n
    cuts: list[float] = []
    for k in range(1, n):
        target = k * step
        near = [
            kf + WARMUP_S for kf in keyframes_s if abs(kf + WARMUP_S - target) <= min(2.0, step / 4)
        ]
        cut = min(near, key=lambda c: abs(c - target)) if near else target
        cuts.append(round(cut, 3))
    starts = [0.0, *cuts]
    ends: list[float | None] = [*cuts, None]
    return [Segment(i, starts[i], ends[i]) for i in range(n)]


def observe_segment(
    path: str,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    plan: ScenePlan,
    segment: Segment,
    progress: Callable[[float], None] | None = None,
) -> SegmentResult:
    """The people in each analyzed frame of one segment (in a segment's process, or in the
    caller's, which passes ``progress``: seconds of the segment done)."""
    from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
    from analyzer.pipeline import PREFETCH_BYTES, FrameObserver
    from analyzer.video import Prefetch, RateSampler, VideoFileSource

    start_ms = segment.start_s * 1000.0
    warm_from = max(0.0, segment.start_s - WARMUP_S) if segment.start_s > 0 else None
    found: list[tuple[int, tuple[PersonDetection, ...]]] = []
    with VideoFileSource(Path(path)) as source:
        span = plan.span_at(warm_from or 0.0)
        options = LandmarkerOptions.for_analysis(
            models, cfg, video=True, people_per_region=span.people_per_region
        )
        with SceneLandmarker(options, span.regions) as lm:
            observer = FrameObserver(lm, cfg, plan, pose_slot_fps=cfg.analysis_fps)
            frames = source.frames(
                keep=RateSampler(cfg.analysis_fps).keep,
                rate_fps=cfg.analysis_fps,
                start_s=warm_from,
                end_s=segment.end_s,
            )
            info = source.info
            ahead = max(1, min(4, PREFETCH_BYTES // max(1, info.width * info.height * 3)))
            for frame in Prefetch(frames, depth=ahead):
                people = observer.observe(frame)
                if frame.timestamp_ms >= start_ms:
                    found.append((frame.timestamp_ms, tuple(people)))
                    if progress is not None:
                        progress(frame.timestamp_ms / 1000.0 - segment.start_s)
        decoded = source.decoded_s if segment.end_s is None else None
        return SegmentResult(segment, tuple(found), tuple(source.warnings), decoded)


def _warm_up() -> None:
    """Import what a segment needs, while the caller reads the layout (~1-2 s a process)."""
    import analyzer.pipeline  # noqa: F401
    from analyzer.landmarks import mediapipe_version

    mediapipe_version()


class SegmentPool:
    """Segments observed by ``jobs`` processes: this one and ``jobs - 1`` spawned ones. The
    spawned ones start at once (``SegmentPool(jobs)`` before the layout pre-scan, so that their
    start overlaps it); this process observes a segment itself whenever the next one due is
    not ready yet."""

    def __init__(self, jobs: int) -> None:
        if jobs < 2:
            raise ValueError(f"a segment pool needs at least 2 jobs, got {jobs}")
        self.jobs = jobs
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=jobs - 1,
            mp_context=ctx,
            initializer=_segment_process_start,
            initargs=(os.getpid(),),
        )
        for _ in range(jobs - 1):
            self._pool.submit(_warm_up)

    def __enter__(self) -> SegmentPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def observe(
        self,
        path: Path,
        models: ModelPaths,
        cfg: AnalyzerConfig,
        plan: ScenePlan,
        segments: Sequence[Segment],
        progress: Callable[[float], None] | None = None,
    ) -> Iterator[SegmentResult]:
        """Each segment's result, in order. At most ``jobs + 1`` segments are handed out ahead
        of the one due (memory: their results wait for their turn). ``progress``: an estimate
        of the share done (0-1), from the segments finished and the one this process works on
        (the others are taken to be as far along)."""

        def length_s(seg: Segment) -> float:
            end = seg.end_s if seg.end_s is not None else (plan.duration_s or seg.start_s)
            return max(0.0, end - seg.start_s)

        duration_s = max(1e-6, sum(length_s(s) for s in segments))
        finished_s = 0.0
        shown = 0.0

        def own(seg: Segment) -> Callable[[float], None] | None:
            if progress is None:
                return None

            def report(done_s: float) -> None:
                nonlocal shown
                estimate = min(0.99, (finished_s + done_s * self.jobs) / duration_s)
                if estimate > shown:
                    shown = estimate
                    progress(estimate)

            return report

        window = self.jobs + 1
        spawned: dict[int, Future[SegmentResult]] = {}
        mine: dict[int, SegmentResult] = {}
        handed = 0  # segments handed out so far (in order)
        due = 0
        try:
            while due < len(segments):
                busy = sum(1 for f in spawned.values() if not f.done())
                while handed < min(len(segments), due + window) and busy < self.jobs - 1:
                    seg = segments[handed]
                    spawned[handed] = self._pool.submit(
                        observe_segment, str(path), models, cfg, plan, seg
                    )
                    handed += 1
                    busy += 1
                if due in mine:
                    result = mine.pop(due)
                elif due in spawned and (spawned[due].done() or handed >= due + window):
                    result = spawned.pop(due).result()
                elif due not in spawned and due >= handed:  # ours to do
                    seg = segments[due]
                    mine[due] = observe_segment(str(path), models, cfg, plan, seg, own(seg))
                    handed += 1
                    continue
                elif handed < min(len(segments), due + window):  # do a later one meanwhile
                    seg = segments[handed]
                    mine[handed] = observe_segment(str(path), models, cfg, plan, seg, own(seg))
                    handed += 1
                    continue
                else:
                    result = spawned.pop(due).result()
                seg = segments[due]
                finished_s += length_s(seg)
                yield result
                due += 1
        finally:
            for f in spawned.values():
                f.cancel()
