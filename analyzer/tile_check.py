"""Which tiles of a screen hold people: the face and body models look at a few frames of it.

Tiles without anyone (a camera-off name card, an empty tile, a screen share) are not analyzed.
A split at a seam that cuts through a face, or leaves one half without anyone, is undone; an
"inset" that a face runs across is two lines of a room meeting near a face, not a second
camera's picture, and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from analyzer.landmarks import SceneLandmarker
from analyzer.layout import Screen, Tile
from analyzer.people import dedupe_faces, dedupe_poses
from analyzer.types import FaceObservation, Frame, ImageArray, PoseObservation, Region


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


@dataclass(frozen=True)
class _Looked:
    """What the face and body models found in the regions of a screen over a few frames."""

    seen: dict[Region, _Seen]
    faces: list[list[FaceObservation]]  # per frame, the faces kept in their own region
    found: list[list[FaceObservation]]  # per frame, every face found
    most_people: int  # most people (faces or bodies) in one frame, all regions together


def _look(
    lm: SceneLandmarker, frames: Sequence[ImageArray], regions: tuple[Region, ...]
) -> _Looked:
    """People in each region over ``frames`` (image mode)."""
    lm.use(regions)
    counts = {r: [0, 0, 0] for r in regions}
    at_home_faces, all_faces = [], []
    most = 0
    for i, rgb in enumerate(frames):
        obs = lm.observe(Frame(index=i, timestamp_ms=i, rgb=rgb))
        faces, poses = at_home(regions, obs.faces, obs.poses)
        at_home_faces.append(faces)
        all_faces.append(list(obs.faces))
        people = 0
        for r in regions:
            nf = sum(f.region == r for f in faces)
            nb = sum(p.region == r for p in poses)
            c = counts[r]
            c[0] += nf > 0
            c[1] += nb > 0
            c[2] = max(c[2], nf, nb)
            people += max(nf, nb)
        most = max(most, people)
    seen = {r: _Seen(*c) for r, c in counts.items()}
    return _Looked(seen, at_home_faces, all_faces, most)


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
class TileCheck:
    """A distinct screen, checked with the face model."""

    screen: Screen
    regions: tuple[Region, ...]  # tiles with people (all tiles when nobody was seen)
    people_per_region: int
    people_seen: int


def check_tiles(
    lm: SceneLandmarker, screen: Screen, frames: Sequence[ImageArray], cap: int
) -> TileCheck:
    """The tiles of ``screen`` that hold people, looked at in ``frames`` (image mode), with at
    most ``cap`` people to analyze per tile."""
    tiles = list(screen.tiles)
    regions = tuple(t.region for t in tiles)
    looked = _look(lm, frames, regions)
    seen, faces = looked.seen, looked.faces
    false_insets = [t for t in tiles if t.inset and any(_false_inset(t, fs) for fs in looked.found)]
    if false_insets:
        without = tuple(t for t in tiles if t not in false_insets)
        return check_tiles(lm, replace(screen, tiles=without), frames, cap)
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
        return check_tiles(lm, replace(screen, tiles=tuple(kept + merged)), frames, cap)
    with_people = tuple(t.region for t in tiles if _holds_people(seen[t.region], len(frames)))
    if not with_people:
        # nobody seen: keep every picture but the insets (someone may come into view)
        with_people = tuple(t.region for t in tiles if not t.inset)
    most = max((seen[r].most for r in with_people), default=1)
    return TileCheck(screen, with_people, max(1, min(cap, most)), looked.most_people)
