"""The pre-scan: how a recording is laid out over time, and how many people to look for.

Before the analysis Presence looks at moments spread over the recording (a frame and one a
little later at each). ``analyzer.layout`` reads the screen at each moment: which rectangles are
separate camera pictures. Moments that show the same screen form *spans* (a call can change from
gallery to speaker view and back, or an inset can be dragged), whose edges are found more
precisely by looking in between. The face model then looks at a few frames of each distinct
screen, tile by tile: tiles without anyone (a camera-off name card, an empty tile, a screen
share) are not analysed, and a split that cuts through a face or leaves a tile empty is undone.

The result, a ``ScenePlan``, gives for every moment of the recording the regions to analyse and
what each is called (left/right, top/bottom, center/inset). A recording is a **call** when some
span shows two or more separate camera pictures with people; then nobody is ever said to look at
another in the same room. When the screen could not be read steadily, the plan says so and the
report makes no claim about the two being in one room.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from analyzer.config import AnalyzerConfig, Layout
from analyzer.landmarks import ModelPaths, SceneLandmarker
from analyzer.layout import (
    Screen,
    Tile,
    layout_of,
    read_screen,
    region_iou,
    shrink,
    split_regions,
)
from analyzer.people import dedupe_faces, dedupe_poses
from analyzer.types import (
    FaceObservation,
    Frame,
    ImageArray,
    LayoutSpan,
    PoseObservation,
    Position,
    Region,
    SourceKind,
)
from analyzer.video import FrameSource, Moment, sample_moments

SAMPLE_GAP_S = 2.0  # moments at least this far apart
MAX_SAMPLES = 60  # and at most this many over the whole recording
FOLLOW_S = 0.4  # the second frame of each moment, this much later
SPAN_FRAMES = 8  # a span's screen is read again from up to this many of its moments
LOOK_FRAMES = 4  # frames of each distinct screen the face model looks at
REFINE_MIN_S = 0.12  # a change of layout is placed to within about this
MAX_PEOPLE_PER_REGION = 6


@dataclass(frozen=True)
class ScenePlan:
    """The regions to analyse at every moment, and what the pre-scan could tell."""

    spans: tuple[LayoutSpan, ...]
    call: bool  # separate cameras: a call, never one room
    certain: bool  # False: whether this is one room or a call could not be told
    warnings: tuple[str, ...] = ()
    faces_seen: int = 0  # most faces seen at once in a frame of the pre-scan
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


@dataclass(frozen=True)
class _Seen:
    """What the face and body models found in one tile over the looked-at frames."""

    frames_with_face: int
    frames_with_body: int
    most: int  # most people in one frame


def home_region(regions: Sequence[Region], xy: tuple[float, float]) -> Region | None:
    """The region a point belongs to: the smallest that contains it (a speaker view's inset lies
    inside the main picture, and a face there belongs to the inset)."""
    inside = [r for r in regions if r.contains(*xy)]
    return min(inside, key=lambda r: r.width * r.height) if inside else None


def nose_xy(p: PoseObservation) -> tuple[float, float]:
    return (float(p.landmarks_xy[0][0]), float(p.landmarks_xy[0][1]))


def at_home(
    regions: Sequence[Region],
    faces: Sequence[FaceObservation],
    poses: Sequence[PoseObservation],
) -> tuple[list[FaceObservation], list[PoseObservation]]:
    """Faces and bodies without duplicates, each kept only if found in the region it belongs to:
    a speaker view's main picture also shows the inset, and a face or body seen there belongs to
    the inset's person, who is measured in the inset itself."""
    return (
        [f for f in dedupe_faces(faces) if home_region(regions, f.eyes_mid_xy) == f.region],
        [p for p in dedupe_poses(poses) if home_region(regions, nose_xy(p)) == p.region],
    )


def _look(
    lm: SceneLandmarker, frames: Sequence[ImageArray], regions: tuple[Region, ...]
) -> tuple[dict[Region, _Seen], list[list[FaceObservation]], list[list[FaceObservation]]]:
    """People in each region over ``frames`` (image mode); the faces of each frame kept in
    the region they belong to, and all faces found in each frame."""
    lm.use(regions)
    counts = {r: [0, 0, 0] for r in regions}
    at_home_faces, all_faces = [], []
    for i, rgb in enumerate(frames):
        obs = lm.observe(Frame(index=i, timestamp_ms=i, rgb=rgb))
        faces, poses = at_home(regions, obs.faces, obs.poses)
        at_home_faces.append(faces)
        all_faces.append(list(obs.faces))
        for r in regions:
            nf = sum(f.region == r for f in faces)
            nb = sum(p.region == r for p in poses)
            c = counts[r]
            c[0] += nf > 0
            c[1] += nb > 0
            c[2] = max(c[2], nf, nb)
    return {r: _Seen(*c) for r, c in counts.items()}, at_home_faces, all_faces


def _overlap(box: tuple[float, float, float, float], r: Region) -> float:
    x0, y0, x1, y1 = box
    ix = min(x1, r.x + r.width) - max(x0, r.x)
    iy = min(y1, r.y + r.height) - max(y0, r.y)
    return max(0.0, ix) * max(0.0, iy)


def _false_inset(inset: Tile, faces: Sequence[FaceObservation]) -> bool:
    """An inset read where a face runs across its inner edges: two lines of a room meeting
    near a face, not a second camera's picture."""
    assert inset.parent is not None
    r, parent = inset.region, inset.parent
    for f in faces:
        x0, y0, x1, y1 = f.bbox_xyxy
        area = max(1.0, (x1 - x0) * (y1 - y0))
        inside = _overlap(f.bbox_xyxy, r)
        around = _overlap(f.bbox_xyxy, parent) - inside  # in the main picture, beside the inset
        eyes_in = r.contains(*f.eyes_mid_xy)
        if (eyes_in and around > 0.25 * area) or (not eyes_in and inside > 0.15 * area):
            return True
    return False


def _holds_people(seen: _Seen, looks: int) -> bool:
    return seen.frames_with_face >= 1 or seen.frames_with_body * 2 >= max(1, looks)


def _cut(face: FaceObservation, home: Region, siblings: Sequence[Region]) -> bool:
    """A face that reaches into a neighbouring tile split from its own by a seam: the seam
    runs through a picture, not between two (a face cut by a tile's outer edge is fine: a
    webcam picture often cuts the chin)."""
    x0, y0, x1, y1 = face.bbox_xyxy
    area = max(1.0, (x1 - x0) * (y1 - y0))
    for r in siblings:
        if r == home:
            continue
        ix = min(x1, r.x + r.width) - max(x0, r.x)
        iy = min(y1, r.y + r.height) - max(y0, r.y)
        if ix > 0 and iy > 0 and ix * iy > 0.15 * area:
            return True
    return False


@dataclass(frozen=True)
class _Decision:
    """A distinct screen, checked with the face model."""

    screen: Screen
    regions: tuple[Region, ...]  # tiles with people (all tiles when nobody was seen)
    people_per_region: int
    faces_seen: int


def _decide(
    lm: SceneLandmarker, screen: Screen, frames: Sequence[ImageArray], cap: int
) -> _Decision:
    tiles = list(screen.tiles)
    regions = tuple(t.region for t in tiles)
    seen, faces, found = _look(lm, frames, regions)
    false_insets = [t for t in tiles if t.inset and any(_false_inset(t, fs) for fs in found)]
    if false_insets:
        without = tuple(t for t in tiles if t not in false_insets)
        return _decide(lm, replace(screen, tiles=without), frames, cap)
    seamed = {t.parent for t in tiles if t.by_seam}
    undo: set[Region | None] = set()
    for parent in seamed:
        parts = [t for t in tiles if t.by_seam and t.parent == parent]
        empty = any(not _holds_people(seen[t.region], len(frames)) for t in parts)
        part_regions = [t.region for t in parts]
        cut = any(
            _cut(f, home, part_regions)
            for frame_faces in faces
            for f in frame_faces
            if (home := home_region(part_regions, f.eyes_mid_xy)) is not None
        )
        if empty or cut:
            undo.add(parent)
    if undo:
        kept = [t for t in tiles if not (t.by_seam and t.parent in undo)]
        merged = [Tile(p) for p in undo if p is not None]
        return _decide(lm, replace(screen, tiles=tuple(kept + merged)), frames, cap)
    with_people = tuple(t.region for t in tiles if _holds_people(seen[t.region], len(frames)))
    if not with_people:
        # nobody seen: keep every picture but the insets (someone may come into view)
        with_people = tuple(t.region for t in tiles if not t.inset)
    most = max((seen[r].most for r in with_people), default=1)
    faces_seen = max((len(f) for f in faces), default=0)
    return _Decision(screen, with_people, max(1, min(cap, most)), faces_seen)


# -- naming regions ------------------------------------------------------------------------------


def _arrangement(
    screen: Screen, regions: tuple[Region, ...]
) -> tuple[Layout, tuple[Position, ...]]:
    """What the screen's arrangement is called, and what each analysed region is called."""
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


def _runs(screens: Sequence[Screen]) -> tuple[list[list[int]], int]:
    """Consecutive moments that show the same screen, and how many moments were taken for
    misreadings: a lone moment between two runs of one screen joins them, and a lone moment
    that sees part of what a neighbouring run sees (an inset missed, or its two frames
    straddling a change of layout) joins that run. (On an app background a tile that goes
    is a camera turned off, not a misreading.)"""
    runs: list[list[int]] = []
    for i, s in enumerate(screens):
        if runs and screens[runs[-1][0]].same_as(s):
            runs[-1].append(i)
        else:
            runs.append([i])
    misread = 0
    k = 0
    while k < len(runs):
        lone = screens[runs[k][0]]
        before = runs[k - 1] if k > 0 else None
        after = runs[k + 1] if k + 1 < len(runs) else None
        if len(runs[k]) != 1 or (before is None and after is None):
            k += 1
            continue
        if (
            before is not None
            and after is not None
            and screens[before[0]].same_as(screens[after[0]])
        ):
            before += runs[k] + after
            del runs[k : k + 2]
            misread += 1
            continue
        hosts = [
            r
            for r in (before, after)
            if r is not None
            and len(r) > 1
            and lone.background_rgb is None  # tiles on a background are not missed
            and lone.within(screens[r[0]])
        ]
        if hosts:
            host = max(hosts, key=len)
            host.append(runs[k][0])
            host.sort()
            del runs[k]
            misread += 1
            continue
        k += 1
    return runs, misread


def plan_scene(
    source: FrameSource,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    *,
    timer: Callable[[str, float], None] | None = None,
) -> ScenePlan:
    """Read how the recording is laid out over time (see the module's description)."""
    import time

    info = source.info
    size = (info.width, info.height)
    full = Region(0, 0, info.width, info.height)
    cap = cfg.max_people or MAX_PEOPLE_PER_REGION
    if info.kind != SourceKind.VIDEO:
        # a camera is read live; a still image is one picture (a photo's plain wall and window
        # frames are too easily taken for a call's background and seams)
        return (
            _still_plan(source, models, cfg, full)
            if info.kind == SourceKind.IMAGE
            else (single_plan(full, cfg.max_people or 1))
        )
    t0 = time.perf_counter()
    times = _sample_times(info.duration_s or 0.0)
    moments = sample_moments(source, times, follow_s=FOLLOW_S, shrink=shrink)
    if not moments:
        return single_plan(full, cfg.max_people or 1)
    if cfg.layout == Layout.SINGLE:
        screens = [Screen(info.width, info.height, (Tile(full),)) for _ in moments]
    else:
        screens = [read_screen(m.frames, size) for m in moments]
    runs, misread = _runs(screens)
    lone = sum(len(r) == 1 for r in runs)
    flicker = misread + lone > max(2, len(moments) // 4)
    joint = [
        read_screen([moments[i].frames[0] for i in run][:SPAN_FRAMES], size)
        if len(run) > 1 and cfg.layout != Layout.SINGLE
        else screens[run[0]]
        for run in runs
    ]
    bounds = [
        _refine(source, moments[a[-1]], moments[b[0]], joint[k], joint[k + 1], size)
        for k, (a, b) in enumerate(itertools.pairwise(runs))
    ]
    if timer is not None:
        timer("layout", time.perf_counter() - t0)
    # the distinct screens, each looked at by the face model once
    distinct: list[int] = []  # index into joint of each screen's first run
    screen_of: list[int] = []
    for k, s in enumerate(joint):
        match = next((d for d in distinct if joint[d].same_as(s)), None)
        if match is None:
            distinct.append(k)
            match = k
        screen_of.append(distinct.index(match))
    decisions = []
    with _image_landmarker(models, full, cfg) as lm:
        for sid_wanted, k in enumerate(distinct):
            members = [
                i
                for run, sid in zip(runs, screen_of, strict=True)
                if sid == sid_wanted
                for i in run
            ]
            pick = [
                members[round(j * (len(members) - 1) / max(1, LOOK_FRAMES - 1))]
                for j in range(min(LOOK_FRAMES, len(members)))
            ]
            pick = sorted(set(pick))
            frames = [
                m.frames[0]
                for m in sample_moments(source, [moments[i].timestamp_ms / 1000.0 for i in pick])
            ]
            decisions.append(_decide(lm, joint[k], frames or [moments[k].frames[0]], cap))
    call = any(len(d.regions) >= 2 for d in decisions)
    canon: list[Region] = []
    spans = []
    starts = [0.0, *bounds]
    ends: list[float | None] = [*bounds, None]
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        d = decisions[screen_of[k]]
        if cfg.layout not in (Layout.AUTO, Layout.GRID, Layout.SINGLE):
            layout, regions, names = _named_layout(cfg.layout, d, info.width, info.height)
        else:
            layout, names = _arrangement(d.screen, d.regions)
            regions = d.regions
        if not call:
            layout, names = Layout.SINGLE, tuple(Position.CENTER for _ in regions)
        regions = tuple(_canonical(canon, r) for r in regions)
        spans.append(LayoutSpan(start, end, layout, regions, names, d.people_per_region))
    if call:
        spans = [_one_tile_of_a_call(spans, k, info.width, info.height) for k in range(len(spans))]
    spans = _merged(spans)
    warnings = []
    faces_seen = max(d.faces_seen for d in decisions)
    analysed = max(len(s.regions) * s.people_per_region for s in spans)
    if faces_seen > analysed:
        warnings.append(f"{faces_seen} faces seen, {analysed} analysed")
    certain = not flicker
    if flicker:
        warnings.append(
            "the layout of this recording changed too often to be read with confidence; "
            "nobody is said to look at anyone in the same room"
        )
    if timer is not None:
        timer("prescan", time.perf_counter() - t0)
    return ScenePlan(
        duration_s=info.duration_s,
        spans=tuple(spans),
        call=call,
        certain=certain,
        warnings=tuple(warnings),
        faces_seen=faces_seen,
    )


def _still_plan(
    source: FrameSource, models: ModelPaths, cfg: AnalyzerConfig, full: Region
) -> ScenePlan:
    """A still image: one picture, with as many people as the face and body models see."""
    frames = [f.rgb for f in source.frames()]
    screen = Screen(full.width, full.height, (Tile(full),))
    with _image_landmarker(models, full, cfg) as lm:
        d = _decide(lm, screen, frames, cfg.max_people or MAX_PEOPLE_PER_REGION)
    span = LayoutSpan(0.0, None, Layout.SINGLE, (full,), (Position.CENTER,), d.people_per_region)
    warnings: tuple[str, ...] = ()
    if d.faces_seen > d.people_per_region:
        warnings = (f"{d.faces_seen} faces seen, {d.people_per_region} analysed",)
    return ScenePlan((span,), call=False, certain=True, warnings=warnings, faces_seen=d.faces_seen)


def _image_landmarker(models: ModelPaths, region: Region, cfg: AnalyzerConfig) -> SceneLandmarker:
    return SceneLandmarker(
        models,
        (region,),
        video=False,
        faces_per_region=MAX_PEOPLE_PER_REGION,
        poses_per_region=MAX_PEOPLE_PER_REGION,
        vertical_fov_deg=cfg.gaze.camera_vertical_fov_deg,
    )


def _named_layout(
    layout: Layout, d: _Decision, width: int, height: int
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
    """Neighbouring spans that analyse the same regions the same way become one."""
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
    before: Moment,
    after: Moment,
    screen_before: Screen,
    screen_after: Screen,
    size: tuple[int, int],
) -> float:
    """When the screen changed between two moments, to within about ``REFINE_MIN_S``."""
    lo, hi = before.timestamp_ms / 1000.0, after.timestamp_ms / 1000.0
    while hi - lo > REFINE_MIN_S:
        mid = (lo + hi) / 2
        got = sample_moments(source, [mid], follow_s=FOLLOW_S, shrink=shrink)
        if not got:
            break
        s = read_screen(got[0].frames, size)
        if s.same_as(screen_before):
            lo = mid
        elif s.same_as(screen_after):
            hi = mid
        else:
            break
    return round((lo + hi) / 2, 3)
