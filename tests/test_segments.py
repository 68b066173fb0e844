"""Segment-parallel analysis (analyzer.segments): the frames chosen, the seams, and a stitched
run against a one-process run on real clips, with seams across a partner's camera turning
off and across a tile swap.

Tolerances (issue 14): a person's eye-contact ratio within 0.01, nods within one per seam;
the same people in the same places, every frame analyzed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from analyzer import pipeline
from analyzer.config import AnalyzerConfig
from analyzer.models import ModelPaths
from analyzer.pipeline import analyze
from analyzer.segments import WARMUP_S, Segment, plan_segments
from analyzer.types import AnalysisReport
from analyzer.video import RateSampler, open_source
from tests.calls import render_call, standard_calls
from tests.conftest import MEDIA, media

# --- planning (pure) -------------------------------------------------------------------------


def test_short_video_or_one_job_is_one_segment() -> None:
    assert plan_segments(15.0, [], 2) == [Segment(0, 0.0, None)]
    assert plan_segments(600.0, [], 1) == [Segment(0, 0.0, None)]
    assert plan_segments(None, [], 4) == [Segment(0, 0.0, None)]


def test_segments_cover_the_video_once_with_seams_on_keyframes() -> None:
    keyframes = [2.0 * k for k in range(31)]  # every 2 s
    segs = plan_segments(60.0, keyframes, 2)
    assert [s.index for s in segs] == [0, 1]
    assert segs[0].start_s == 0.0 and segs[-1].end_s is None
    assert segs[0].end_s == segs[1].start_s
    # the seam is near the middle and its warm-up starts on a keyframe
    assert abs(segs[1].start_s - 30.0) <= 2.0
    assert round(segs[1].start_s - WARMUP_S, 3) in keyframes


def test_long_videos_get_bounded_segments() -> None:
    segs = plan_segments(3600.0, [], 2, max_s=120.0)
    assert len(segs) == 30
    lengths = [(s.end_s or 3600.0) - s.start_s for s in segs]
    assert max(lengths) <= 120.0 + 1e-6
    assert sum(lengths) == pytest.approx(3600.0)


def test_sampler_chooses_the_same_frames_from_any_starting_point() -> None:
    times = [round(k * 1000 / 29.97) for k in range(900)]  # 30 s of NTSC frame times
    sampler = RateSampler(10.0)
    whole = [t for t in times if sampler.keep(t)]
    late = RateSampler(10.0)
    part = [t for t in times[400:] if late.keep(t)][1:]  # the first is the warm-up's
    assert part == [t for t in whole if t > times[400]]
    assert len(whole) == pytest.approx(300, abs=1)


def test_a_range_of_a_video_decodes_the_frames_of_a_whole_run() -> None:
    clip = media("talking/liveportrait_d6.mp4")  # 33.6 s, 30 fps
    with open_source(clip) as src:
        whole = [f.timestamp_ms for f in src.frames(keep=RateSampler(10.0).keep, rate_fps=10.0)]
    with open_source(clip) as src:
        part = [
            f.timestamp_ms
            for f in src.frames(
                keep=RateSampler(10.0).keep, rate_fps=10.0, start_s=12.0, end_s=20.0
            )
        ]
    assert part == [t for t in whole if 12000 <= t < 20000]


# --- stitched against one process, on real clips ------------------------------------------


def _stitched(
    monkeypatch: pytest.MonkeyPatch,
    clip: Path,
    model_paths: ModelPaths,
    seams_s: Sequence[float],
    cfg: AnalyzerConfig | None = None,
) -> AnalysisReport:
    starts = [0.0, *seams_s]
    ends: list[float | None] = [*seams_s, None]
    segments = [Segment(i, starts[i], ends[i]) for i in range(len(starts))]
    monkeypatch.setattr(pipeline, "plan_segments", lambda *a, **k: segments)
    return analyze(clip, model_paths, cfg, jobs=2)


def _assert_alike(one: AnalysisReport, many: AnalysisReport, seams: int) -> None:
    assert many.frames_analyzed == one.frames_analyzed
    assert [p.track.position for p in many.people] == [p.track.position for p in one.people]
    for a, b in zip(one.people, many.people, strict=True):
        assert [s.time_s for s in b.track.samples] == [s.time_s for s in a.track.samples]
        ra, rb = a.metrics.eye_contact.ratio, b.metrics.eye_contact.ratio
        assert (ra is None) == (rb is None)
        if ra is not None and rb is not None:
            assert abs(ra - rb) <= 0.01, (a.track.position, ra, rb)
        na, nb = a.metrics.head.nods, b.metrics.head.nods
        assert (na is None) == (nb is None)
        if na is not None and nb is not None:
            assert abs(na - nb) <= seams, (a.track.position, na, nb)
    assert many.warnings == one.warnings


def test_stitched_single_person_matches_one_process(
    monkeypatch: pytest.MonkeyPatch, model_paths: ModelPaths
) -> None:
    clip = media("talking/liveportrait_d6.mp4")
    one = analyze(clip, model_paths, jobs=1)
    many = _stitched(monkeypatch, clip, model_paths, [11.0, 22.5])
    _assert_alike(one, many, seams=2)


def test_stitched_real_call_matches_one_process(
    monkeypatch: pytest.MonkeyPatch, model_paths: ModelPaths
) -> None:
    clip = media("conversation/vv_interview.mp4")  # a real two-tile TV interview, 17.5 s
    one = analyze(clip, model_paths, jobs=1)
    many = _stitched(monkeypatch, clip, model_paths, [8.7])
    assert len(one.people) == 2
    _assert_alike(one, many, seams=1)


def test_seams_across_a_camera_turned_off_and_a_tile_swap(
    monkeypatch: pytest.MonkeyPatch, model_paths: ModelPaths, tmp_path: Path
) -> None:
    """Meet: partner 2's camera is off from 3 s to 7 s, the tiles swap at 10 s. Seams at 5 s
    (partner 2 gone) and at 10 s (the swap itself): each partner keeps one track."""
    spec = next(c for c in standard_calls() if c.name == "meet_camera_off_then_swap")
    clip = tmp_path / "call.mp4"
    render_call(spec, clip, MEDIA)
    one = analyze(clip, model_paths, jobs=1)
    many = _stitched(monkeypatch, clip, model_paths, [5.0, 10.0])
    assert len(one.people) == 2 and len(many.people) == 2
    _assert_alike(one, many, seams=2)
    # the one tracker follows each partner through the swap, in both runs
    for report in (one, many):
        for p in report.people:
            ts = [s.time_s for s in p.track.samples if s.face_visible]
            assert min(ts) < 3.0 and max(ts) > 12.0
