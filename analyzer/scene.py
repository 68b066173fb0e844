"""The pre-scan: how a recording is laid out over time, and how many people to look for.

Before the analysis Presence looks at moments spread over the recording (a frame every 2 s, at
keyframes where they are close, at most 240 in all). ``analyzer.layout`` reads the screen at each
moment: which rectangles are separate camera pictures. Moments that show the same screen form
*spans* (a call can change from gallery to speaker view and back, or an inset can be dragged);
where the screen changes, the change is placed at the cut, found in small copies of every frame
in between. The face model then looks at a few frames of each distinct
screen, tile by tile: tiles without anyone (a camera-off name card, an empty tile, a screen
share) are not analyzed, and a split that cuts through a face or leaves a tile empty is undone.

The result, a ``ScenePlan``, gives for every moment of the recording the regions to analyze and
what each is called (left/right, top/bottom, center/inset). A recording is a **call** when some
span shows two or more separate camera pictures with people; then nobody is ever said to look at
another in the same room. When the screen could not be read steadily, the plan says so and the
report makes no claim about the two being in one room.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from analyzer.config import AnalyzerConfig, Layout
from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
from analyzer.layout import (
    SAME_TILE_IOU,
    WORK_PX,
    Screen,
    Tile,
    layout_of,
    read_screen,
    region_iou,
    split_regions,
)
from analyzer.models import ModelPaths
from analyzer.tile_check import TileCheck, check_tiles
from analyzer.types import ImageArray, LayoutSpan, Position, Region, SourceKind
from analyzer.video import (
    FrameSource,
    Moment,
    VideoFileSource,
    iter_moments,
    sample_moments,
    thumbnails_between,
)

SAMPLE_GAP_S = 2.0  # moments at least this far apart
MAX_SAMPLES = 240  # and at most this many over the whole recording (15 s apart in an hour)
FOLLOW_S = 0.4  # in placing a change, the second frame of a moment comes this much later
SPAN_FRAMES = 8  # a span's screen is read again from about this many of its moments
MAX_KEPT_FRAMES = 96  # working copies kept over all spans (memory: ~0.7 MB each)
LOOK_FRAMES = 4  # frames of each distinct screen the face model looks at
REFINE_MIN_S = 0.12  # a change of layout is placed to within about this
CUT_SEARCH_MAX_S = 30.0  # between moments this close, a change is looked for frame by frame
MAX_PEOPLE_PER_REGION = 6
COUNT_PEOPLE = 16  # faces and bodies the pre-scan counts in a picture (a group photo)


@dataclass(frozen=True)
class ScenePlan:
    """The regions to analyze at every moment, and what the pre-scan could tell."""

    spans: tuple[LayoutSpan, ...]
    call: bool  # separate cameras: a call, never one room
    certain: bool  # False: whether this is one room or a call could not be told
    warnings: tuple[str, ...] = ()
    people_seen: int = 0  # most people (faces or bodies) seen at once in the pre-scan
    duration_s: float | None = None

    def span_at(self, time_s: float) -> LayoutSpan:
        for span in self.spans:
            if span.end_s is None or time_s < span.end_s:
                return span
        return self.spans[-1]

    @property
    def main(self) -> LayoutSpan:
        """The arrangement seen longest in all (the recording's layout, for its summary)."""
        end = self.duration_s or self.spans[-1].start_s
        total: dict[tuple[Layout, tuple[Region, ...]], float] = {}
        for s in self.spans:
            length = (s.end_s if s.end_s is not None else max(end, s.start_s)) - s.start_s
            total[(s.layout, s.regions)] = total.get((s.layout, s.regions), 0.0) + length
        return max(self.spans, key=lambda s: total[(s.layout, s.regions)])

    @property
    def people_per_region(self) -> int:
        return max(s.people_per_region for s in self.spans)


def single_plan(region: Region, people: int) -> ScenePlan:
    """One picture for the whole session (a camera, or a user's ``--layout single``)."""
    span = LayoutSpan(0.0, None, Layout.SINGLE, (region,), (Position.CENTER,), people)
    return ScenePlan(spans=(span,), call=False, certain=True)


# -- looking for people in tiles -----------------------------------------------------------------


# -- naming regions ------------------------------------------------------------------------------


def _arrangement(
    screen: Screen, regions: tuple[Region, ...]
) -> tuple[Layout, tuple[Position, ...]]:
    """What the screen's arrangement is called, and what each analyzed region is called."""
    pictures = [t for t in screen.tiles if not t.inset or t.region in regions]
    all_regions = tuple(t.region for t in pictures)
    layout = layout_of(all_regions, [t.inset for t in pictures])
    if layout == Layout.SINGLE or not regions:
        return layout, tuple(Position.CENTER for _ in regions)
    if layout == Layout.PIP:
        biggest = max(all_regions, key=lambda r: r.width * r.height)
        return layout, tuple(Position.CENTER if r == biggest else Position.INSET for r in regions)
    if layout == Layout.GRID and len(regions) == 2:
        (ax, ay), (bx, by) = regions[0].center_xy, regions[1].center_xy
        axis = 0 if abs(ax - bx) >= abs(ay - by) else 1
    else:
        axis = 1 if layout == Layout.STACKED else 0
    ranked = all_regions if layout != Layout.GRID else regions
    keys = sorted(r.center_xy[axis] for r in ranked)
    first, last = (Position.TOP, Position.BOTTOM) if axis else (Position.LEFT, Position.RIGHT)

    def name(r: Region) -> Position:
        c = r.center_xy[axis]
        if c <= keys[0]:
            return first
        if c >= keys[-1]:
            return last
        return Position.CENTER

    return layout, tuple(name(r) for r in regions)


# -- the plan ------------------------------------------------------------------------------------


def _sample_times(duration_s: float) -> list[float]:
    n = max(1, min(MAX_SAMPLES, int(duration_s / SAMPLE_GAP_S)))
    return [duration_s * (i + 0.5) / n for i in range(n)]


@dataclass
class _Run:
    """Consecutive moments of the pre-scan that show the same screen, with working copies of a
    few of their frames (spread over the run) to read it again from all of them."""

    screen: Screen
    times_ms: list[int]
    frames: list[ImageArray]
    stride: int = 1

    def add(self, moment: Moment) -> None:
        self.times_ms.append(moment.timestamp_ms)
        if not self.frames or (len(self.times_ms) - 1) % self.stride:
            return  # a run begun without frames (too many runs) stays without
        self.frames.append(moment.frames[0])
        if len(self.frames) > 2 * SPAN_FRAMES:  # keep the copies spread, and few
            self.frames = self.frames[::2]
            self.stride *= 2

    def absorb(self, other: _Run, *, misread: bool) -> None:
        """Another run's moments join this one: the same screen on the other side of a
        misreading, or (``misread``) a moment that was misread, whose time does not mark where
        this run begins or ends (its two frames may have straddled a change)."""
        if not misread:
            self.times_ms = sorted(self.times_ms + other.times_ms)
            self.frames = (self.frames + other.frames)[: 2 * SPAN_FRAMES]


def _joint_screen(run: _Run, size: tuple[int, int]) -> Screen:
    """The run's screen read again from frames spread over it (still lines stand out better
    against content that moved), unless that loses a tile the run's moments saw."""
    if len(run.frames) < 2:
        return run.screen
    joint = read_screen(run.frames, size)
    return joint if run.screen.within(joint) else run.screen


def _read_runs(
    source: FrameSource, size: tuple[int, int], *, one_picture: bool
) -> tuple[list[_Run], int]:
    """The runs of screens over the recording, and how many moments were misread."""
    full = Screen(size[0], size[1], (Tile(Region(0, 0, size[0], size[1])),))
    runs: list[_Run] = []
    moments = 0
    for moment in iter_moments(
        source,
        _sample_times(source.info.duration_s or 0.0),
        long_side_px=WORK_PX,
        snap_s=SAMPLE_GAP_S / 2,
    ):
        moments += 1
        screen = full if one_picture else read_screen(moment.frames, size)
        if runs and runs[-1].screen.same_as(screen):
            runs[-1].add(moment)
            continue
        kept = sum(len(r.frames) for r in runs)
        frames = [moment.frames[0]] if kept < MAX_KEPT_FRAMES else []
        runs.append(_Run(screen, [moment.timestamp_ms], frames))
    return runs, _settle(runs)


def _misread_of(lone: Screen, neighbour: Screen) -> bool:
    """A lone moment's screen is a misreading of its neighbour's when it sees part of it (an
    inset or a tile missed, or a moment at a change), the same tiles with one more small
    inset (two lines of a room), or two of its tiles as one (a thin gap lost)."""
    if lone.same_as(neighbour):
        return False
    if lone.background_rgb is None and lone.within(neighbour):
        return True
    extra = [
        t
        for t in lone.tiles
        if not any(region_iou(t.region, n.region) >= SAME_TILE_IOU for n in neighbour.tiles)
    ]
    if neighbour.within(lone) and extra and all(t.inset for t in extra):
        return True
    return lone.coarser_than(neighbour)


def _settle(runs: list[_Run]) -> int:
    """Moments taken for misreadings join their neighbours (in place); returns how many.

    A lone moment whose screen is a misreading of a neighbour's (``_misread_of``) joins it. A
    lone moment that sees something the others do not (a speaker view for a few seconds) is a
    short change of layout and stays; so does, on an app background, a tile that goes (a camera
    turned off)."""
    misread = 0
    k = 0
    while k < len(runs):
        run = runs[k]
        before = runs[k - 1] if k > 0 else None
        after = runs[k + 1] if k + 1 < len(runs) else None
        hosts = [r for r in (before, after) if r is not None and _misread_of(run.screen, r.screen)]
        if len(run.times_ms) != 1 or not hosts:
            k += 1
            continue
        host = max(hosts, key=lambda r: len(r.times_ms))
        host.absorb(run, misread=True)
        del runs[k]
        misread += 1
        if before is not None and after is not None and before.screen.same_as(after.screen):
            before.absorb(after, misread=False)  # the two sides were one run all along
            runs.remove(after)
        k = max(0, k - 1)
    return misread


def plan_scene(
    source: FrameSource,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    *,
    timer: Callable[[str, float], None] | None = None,
) -> ScenePlan:
    """Read how the recording is laid out over time (see the module's description)."""
    info = source.info
    size = (info.width, info.height)
    full = Region(0, 0, info.width, info.height)
    if info.kind != SourceKind.VIDEO:
        # a camera is read live; a still image is one picture (a photo's plain wall and window
        # frames are too easily taken for a call's background and seams)
        return (
            _still_plan(source, models, cfg, full)
            if info.kind == SourceKind.IMAGE
            else single_plan(full, cfg.max_people or 1)
        )
    t0 = time.perf_counter()
    runs, misread = _read_runs(source, size, one_picture=cfg.layout == Layout.SINGLE)
    if not runs:
        return single_plan(full, cfg.max_people or 1)
    moments = sum(len(r.times_ms) for r in runs)
    certain = misread <= max(2, moments // 4)
    joint = [_joint_screen(r, size) for r in runs]
    bounds = [
        _refine(source, a.times_ms[-1], b.times_ms[0], sa, sb, size)
        for (a, sa), (b, sb) in itertools.pairwise(zip(runs, joint, strict=True))
    ]
    if timer is not None:
        timer("layout", time.perf_counter() - t0)
    # the distinct screens, each looked at by the face model once
    distinct: list[Screen] = []
    screen_of: list[int] = []
    for screen in joint:
        match = next((i for i, d in enumerate(distinct) if d.same_as(screen)), None)
        if match is None:
            distinct.append(screen)
            match = len(distinct) - 1
        screen_of.append(match)
    cap = cfg.max_people or MAX_PEOPLE_PER_REGION
    checks = []
    with _image_landmarker(models, full, cfg) as lm:
        for sid, screen in enumerate(distinct):
            times = sorted(
                t for run, s in zip(runs, screen_of, strict=True) if s == sid for t in run.times_ms
            )
            pick = sorted(
                {
                    times[round(j * (len(times) - 1) / max(1, LOOK_FRAMES - 1))]
                    for j in range(min(LOOK_FRAMES, len(times)))
                }
            )
            frames = [m.frames[0] for m in sample_moments(source, [t / 1000.0 for t in pick])]
            checks.append(check_tiles(lm, screen, frames, cap))
    spans = _spans(checks, screen_of, bounds, cfg.layout, size)
    warnings = []
    if not certain:
        warnings.append(
            "the layout of this recording could not be read with confidence (the screen was "
            f"misread at {misread} of {moments} moments); nothing is said about anyone looking "
            "at anyone"
        )
    if timer is not None:
        timer("prescan", time.perf_counter() - t0)
    return ScenePlan(
        duration_s=info.duration_s,
        spans=tuple(spans),
        call=any(len(c.regions) >= 2 for c in checks),
        certain=certain,
        warnings=tuple(warnings),
        people_seen=max(c.people_seen for c in checks),
    )


def _spans(
    checks: Sequence[TileCheck],
    screen_of: Sequence[int],
    bounds: Sequence[float],
    wanted: Layout,
    size: tuple[int, int],
) -> list[LayoutSpan]:
    """The stretches of the recording, their regions named; a call's regions by their tiles."""
    call = any(len(c.regions) >= 2 for c in checks)
    canon: list[Region] = []
    spans = []
    starts = [0.0, *bounds]
    ends: list[float | None] = [*bounds, None]
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        c = checks[screen_of[k]]
        if wanted not in (Layout.AUTO, Layout.GRID, Layout.SINGLE):
            layout, regions, names = _named_layout(wanted, c, size[0], size[1])
        else:
            layout, names = _arrangement(c.screen, c.regions)
            regions = c.regions
        if not call:
            layout, names = Layout.SINGLE, tuple(Position.CENTER for _ in regions)
        regions = tuple(_canonical(canon, r) for r in regions)
        spans.append(LayoutSpan(start, end, layout, regions, names, c.people_per_region))
    if call:
        spans = [_one_tile_of_a_call(spans, k, size[0], size[1]) for k in range(len(spans))]
    return _merged(spans)


def _still_plan(
    source: FrameSource, models: ModelPaths, cfg: AnalyzerConfig, full: Region
) -> ScenePlan:
    """A still image: one picture, with as many people as the face and body models see."""
    frames = [f.rgb for f in source.frames()]
    screen = Screen(full.width, full.height, (Tile(full),))
    with _image_landmarker(models, full, cfg) as lm:
        d = check_tiles(lm, screen, frames, cfg.max_people or MAX_PEOPLE_PER_REGION)
    span = LayoutSpan(0.0, None, Layout.SINGLE, (full,), (Position.CENTER,), d.people_per_region)
    return ScenePlan((span,), call=False, certain=True, people_seen=d.people_seen)


def _image_landmarker(models: ModelPaths, region: Region, cfg: AnalyzerConfig) -> SceneLandmarker:
    """The face and body models for a quick look (image mode): they count more people than are
    analyzed, so that a report can say how many it left out."""
    options = LandmarkerOptions.for_analysis(
        models, cfg, video=False, people_per_region=COUNT_PEOPLE
    )
    return SceneLandmarker(options, (region,))


def _named_layout(
    layout: Layout, d: TileCheck, width: int, height: int
) -> tuple[Layout, tuple[Region, ...], tuple[Position, ...]]:
    """The layout a user named: the tiles found if they fit it, else halves of the frame."""
    found, names = _arrangement(d.screen, d.regions)
    if found == layout and len(d.regions) == 2:
        return layout, d.regions, names
    regions = split_regions(layout, width, height)
    screen = Screen(
        width,
        height,
        tuple(Tile(r, inset=layout == Layout.PIP and k == 1) for k, r in enumerate(regions)),
    )
    return layout, regions, _arrangement(screen, regions)[1]


def _canonical(known: list[Region], region: Region) -> Region:
    """The same tile read at two moments, given as one region (so that people in it are
    followed by place across a change of layout and back)."""
    for r in known:
        if region_iou(r, region) >= 0.9:
            return r
    known.append(region)
    return region


def _one_tile_of_a_call(spans: list[LayoutSpan], k: int, width: int, height: int) -> LayoutSpan:
    """A stretch of a call with one camera picture (the other partner's camera is off): it
    keeps the layout and name it has in the nearest stretch that shows it with the other, else
    it is named by where it is on the screen."""
    span = spans[k]
    if len(span.regions) != 1 or span.layout != Layout.SINGLE:
        return span
    region = span.regions[0]
    for j in sorted(range(len(spans)), key=lambda j: abs(j - k)):
        other = spans[j]
        name = other.position_of(region)
        if j != k and name is not None and other.layout != Layout.SINGLE:
            return replace(span, layout=other.layout, positions=(name,))
    (cx, cy), (fx, fy) = region.center_xy, (width / 2, height / 2)
    if abs(cx - fx) >= 0.1 * width and abs(cx - fx) / width >= abs(cy - fy) / height:
        name = Position.LEFT if cx < fx else Position.RIGHT
    elif abs(cy - fy) >= 0.1 * height:
        name = Position.TOP if cy < fy else Position.BOTTOM
    else:
        name = Position.CENTER
    return replace(span, positions=(name,))


def _merged(spans: list[LayoutSpan]) -> list[LayoutSpan]:
    """Neighbouring spans that analyze the same regions the same way become one."""
    out: list[LayoutSpan] = []
    for s in spans:
        if out and (out[-1].regions, out[-1].positions, out[-1].layout) == (
            s.regions,
            s.positions,
            s.layout,
        ):
            prev = out.pop()
            s = replace(
                prev,
                end_s=s.end_s,
                people_per_region=max(prev.people_per_region, s.people_per_region),
            )
        out.append(s)
    return out


def _refine(
    source: FrameSource,
    before_ms: int,
    after_ms: int,
    screen_before: Screen,
    screen_after: Screen,
    size: tuple[int, int],
) -> float:
    """When the screen changed between two moments. A change of layout is a cut: the frame
    where the picture jumps most (in small grey copies of every frame in between) is taken if
    the screens read just before and after it are the two; else the time is found by halving
    the interval, to within ``REFINE_MIN_S``."""
    lo, hi = before_ms / 1000.0, after_ms / 1000.0
    if isinstance(source, VideoFileSource) and hi - lo <= CUT_SEARCH_MAX_S:
        cut = _cut_between(source, lo, hi)
        if cut is not None:
            t_before, t_cut = cut
            got = sample_moments(source, [t_before, t_cut], long_side_px=WORK_PX)
            if len(got) == 2:
                reads = [read_screen(m.frames, size) for m in got]
                sides = [_side(r, screen_before, screen_after, partial=True) for r in reads]
                if sides == [0, 1]:
                    return round(t_cut, 3)
    while hi - lo > REFINE_MIN_S:
        mid = (lo + hi) / 2
        # the moment's second frame must not cross the change we look for; if it still reads
        # as neither screen (a misreading), one frame alone decides
        side = None
        for follow in (min(FOLLOW_S, (hi - mid) / 2), 0.0):
            got = sample_moments(source, [mid], follow_s=follow, long_side_px=WORK_PX)
            if got:
                read = read_screen(got[0].frames, size)
                # two frames may straddle the change: only an exact match counts for them
                side = _side(read, screen_before, screen_after, partial=follow == 0.0)
            if side is not None:
                break
        if side is None:
            break
        lo, hi = (mid, hi) if side == 0 else (lo, mid)
    return round((lo + hi) / 2, 3)


def _cut_between(source: VideoFileSource, lo: float, hi: float) -> tuple[float, float] | None:
    """(the frame before, the frame of) the biggest jump of the picture between two times."""
    prev: tuple[float, npt.NDArray[np.uint8]] | None = None
    best: tuple[float, float, float] | None = None
    for t, grey in thumbnails_between(source, lo, hi + 1e-3):
        if prev is not None:
            jump = float(np.abs(grey.astype(np.int16) - prev[1]).mean())
            if best is None or jump > best[0]:
                best = (jump, prev[0], t)
        prev = (t, grey)
    return None if best is None else (best[1], best[2])


def _side(s: Screen, before: Screen, after: Screen, *, partial: bool) -> int | None:
    """Whether a screen read between two is the one before (0) or after (1), with ``partial``
    also when part of it was missed (one frame misses an inset); None when it cannot be told."""
    if s.same_as(before):
        return 0
    if s.same_as(after):
        return 1
    in_before, in_after = s.within(before), s.within(after)
    if partial and in_before != in_after:
        return 0 if in_before else 1
    return None
