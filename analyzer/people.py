"""From faces and bodies to people: duplicates dropped, faces paired with bodies, stable ids."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from analyzer.types import (
    FaceObservation,
    FloatArray,
    ImageArray,
    PersonDetection,
    PoseObservation,
    Position,
    Region,
)

POSE_NOSE, POSE_L_SHOULDER, POSE_R_SHOULDER = 0, 11, 12
FACE_NOSE_TIP = 1


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def dedupe_faces(faces: Sequence[FaceObservation]) -> list[FaceObservation]:
    """Drop faces that overlap an earlier one (full-frame faces come before crop faces)."""
    kept: list[FaceObservation] = []
    for f in sorted(faces, key=lambda f: f.from_crop):
        if all(_iou(f.bbox_xyxy, k.bbox_xyxy) < 0.4 for k in kept):
            kept.append(f)
    return kept


def _shoulder_width(p: PoseObservation) -> float:
    return float(np.linalg.norm(p.landmarks_xy[POSE_L_SHOULDER] - p.landmarks_xy[POSE_R_SHOULDER]))


def dedupe_poses(poses: Sequence[PoseObservation]) -> list[PoseObservation]:
    """The pose model sometimes returns one body twice; keep the more visible copy."""
    kept: list[PoseObservation] = []
    for p in sorted(poses, key=lambda p: -float(p.visibility[:25].mean())):
        dup = False
        for k in kept:
            scale = max(_shoulder_width(k), _shoulder_width(p), 1.0)
            if np.linalg.norm(p.landmarks_xy[POSE_NOSE] - k.landmarks_xy[POSE_NOSE]) < 0.3 * scale:
                dup = True
                break
        if not dup:
            kept.append(p)
    return kept


def pair_faces_with_poses(
    faces: list[FaceObservation], poses: list[PoseObservation]
) -> list[PersonDetection]:
    """One detection per person: each face joined with the body whose nose it covers."""
    from scipy.optimize import linear_sum_assignment

    pairs: list[tuple[int, int]] = []
    if faces and poses:
        cost = np.full((len(faces), len(poses)), 1e6)
        for i, f in enumerate(faces):
            x0, y0, x1, y1 = f.bbox_xyxy
            size = max(x1 - x0, y1 - y0, 1.0)
            for j, p in enumerate(poses):
                if p.region != f.region:
                    continue
                d = float(np.linalg.norm(p.landmarks_xy[POSE_NOSE] - f.landmarks_xy[FACE_NOSE_TIP]))
                if d < 0.6 * size:
                    cost[i, j] = d / size
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 1e5]
    out: list[PersonDetection] = []
    paired_f = {i for i, _ in pairs}
    paired_p = {j for _, j in pairs}
    for i, j in pairs:
        out.append(PersonDetection(faces[i], poses[j], faces[i].eyes_mid_xy, faces[i].region))
    for i, f in enumerate(faces):
        if i not in paired_f:
            out.append(PersonDetection(f, None, f.eyes_mid_xy, f.region))
    for j, p in enumerate(poses):
        if j not in paired_p and _has_head(p):
            nose = p.landmarks_xy[POSE_NOSE]
            out.append(PersonDetection(None, p, (float(nose[0]), float(nose[1])), p.region))
    return out


def merge_duplicate_people(people: list[PersonDetection]) -> list[PersonDetection]:
    """One person found twice: a body not paired with its face (the body comes from a frame or
    two earlier and the head moved) whose head crop then finds the same face again. The copy is
    dropped; its body goes to the first if that has none."""
    out: list[PersonDetection] = []
    for p in people:
        twin = next(
            (
                i
                for i, k in enumerate(out)
                if p.face is not None
                and k.face is not None
                and _iou(p.face.bbox_xyxy, k.face.bbox_xyxy) >= 0.4
            ),
            None,
        )
        if twin is None:
            out.append(p)
        elif out[twin].pose is None and p.pose is not None:
            out[twin] = replace(out[twin], pose=p.pose)
    return out


def most_prominent(people: list[PersonDetection], per_region: int) -> list[PersonDetection]:
    """At most ``per_region`` people in each region (the user's --max-people): those whose faces
    were found, the biggest faces first, then bodies; the order given is kept."""

    def prominence(p: PersonDetection) -> float:
        if p.face is None:
            return -1.0
        x0, _, x1, _ = p.face.bbox_xyxy
        return x1 - x0

    keep: set[int] = set()
    for region in {p.region for p in people}:
        members = [i for i, p in enumerate(people) if p.region == region]
        members.sort(key=lambda i: -prominence(people[i]))
        keep.update(members[:per_region])
    return [p for i, p in enumerate(people) if i in keep]


def _has_head(p: PoseObservation) -> bool:
    return float(p.presence[POSE_NOSE]) >= 0.5 and float(p.visibility[POSE_NOSE]) >= 0.3


APPEARANCE_SAME = 0.3  # Bhattacharyya distance: below this, two looks are the same person
APPEARANCE_OTHER = 0.4  # above this, clearly someone else, however close they stand


def appearance(rgb: ImageArray, face: FaceObservation) -> FloatArray:
    """A colour signature of a person: hue-saturation histogram of the face, hair and what is
    just around them (a tile's background travels with its person), inside their own picture
    (a speaker view's inset is not mixed with the main picture around it)."""
    import cv2

    x0, y0, x1, y1 = face.bbox_xyxy
    w, h = x1 - x0, y1 - y0
    r = face.region
    img_h, img_w = rgb.shape[:2]
    left, top = max(0, r.x), max(0, r.y)
    right, bottom = min(img_w, r.x + r.width), min(img_h, r.y + r.height)
    xa, xb = int(max(left, x0 - 0.6 * w)), int(min(right, x1 + 0.6 * w))
    ya, yb = int(max(top, y0 - 0.6 * h)), int(min(bottom, y1 + 0.4 * h))
    patch = np.ascontiguousarray(rgb[ya:yb, xa:xb])
    if patch.size == 0:
        return np.zeros(16 * 8, np.float32)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).flatten()
    total = float(hist.sum())
    out: FloatArray = (hist / total if total > 0 else hist).astype(np.float32)
    return out


def appearance_distance(a: FloatArray | None, b: FloatArray | None) -> float | None:
    if a is None or b is None:
        return None
    bc = float(np.sum(np.sqrt(np.clip(a, 0, None) * np.clip(b, 0, None))))
    return math.sqrt(max(0.0, 1.0 - bc))  # Bhattacharyya distance, 0 same .. 1 disjoint


@dataclass
class _Track:
    key: int
    region: Region
    anchor_xy: tuple[float, float]
    last_time_s: float
    look: FloatArray | None = None
    spots: _EvenSample = field(default_factory=lambda: _EvenSample())
    regions: Counter[Region] = field(default_factory=Counter)


@dataclass
class _EvenSample:
    """An even sample of where a person was over the whole session: every point up to
    ``2 * KEEP``, then every 2nd, every 4th... so the median of where they sat needs memory that
    does not grow with the video (exact for the first 4096 frames, 6.8 min at 10 per second)."""

    KEEP: ClassVar[int] = 2048
    points: list[tuple[float, float]] = field(default_factory=list)
    stride: int = 1
    seen: int = 0

    def add(self, xy: tuple[float, float]) -> None:
        if self.seen % self.stride == 0:
            self.points.append(xy)
            if len(self.points) >= 2 * self.KEEP:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1

    def merge(self, other: _EvenSample) -> None:
        """Add another sample's points, thinned to this one's stride (approximately even)."""
        step = max(1, self.stride // other.stride)
        self.points += other.points[::step]
        self.seen += other.seen
        while len(self.points) >= 2 * self.KEEP:
            self.points = self.points[::2]
            self.stride *= 2

    def median(self) -> tuple[float, float]:
        xy = np.asarray(self.points)
        return (float(np.median(xy[:, 0])), float(np.median(xy[:, 1])))


class PersonTracker:
    """Keeps a stable key per person over the session.

    Each frame's people are matched to known people by position (the distance between anchor
    points, the point between the eyes, gated at ``max_jump`` of the region's diagonal) and by
    appearance (a colour signature of face, hair and surroundings). Appearance keeps partners
    apart when they pass close, and re-identifies a person who comes back somewhere else after
    leaving the picture, or whose gallery tile changed places with their partner's.
    """

    def __init__(self, max_jump: float = 0.25) -> None:
        self.max_jump = max_jump
        self._tracks: list[_Track] = []

    def _cost(self, p: PersonDetection, t: _Track) -> float | None:
        app = appearance_distance(p.appearance, t.look)
        diag = math.hypot(p.region.width, p.region.height)
        d = math.dist(p.anchor_xy, t.anchor_xy) / diag
        if t.region == p.region and d <= self.max_jump:
            if app is not None and app > APPEARANCE_OTHER and self._looks_like_another(p, t):
                return None  # someone else standing where they stood
            # (a look that changed with nobody else to explain it, e.g. a lamp switched on,
            # is still the person standing there)
            return d + (0.5 * app if app is not None else 0.0)
        if app is not None and app < APPEARANCE_SAME:
            return 0.5 + app  # the same person, elsewhere: re-identified
        return None

    def _looks_like_another(self, p: PersonDetection, t: _Track) -> bool:
        return any(
            (a := appearance_distance(p.appearance, o.look)) is not None and a < APPEARANCE_SAME
            for o in self._tracks
            if o is not t
        )

    def update(self, time_s: float, people: list[PersonDetection]) -> list[int]:
        """The track key of each detection, in the order given."""
        from scipy.optimize import linear_sum_assignment

        keys = [-1] * len(people)
        if self._tracks and people:
            cost = np.full((len(people), len(self._tracks)), 1e6)
            for i, p in enumerate(people):
                for j, t in enumerate(self._tracks):
                    c = self._cost(p, t)
                    if c is not None:
                        cost[i, j] = c
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < 1e5:
                    keys[r] = self._tracks[c].key
        for i, p in enumerate(people):
            if keys[i] < 0:
                t = _Track(
                    key=len(self._tracks),
                    region=p.region,
                    anchor_xy=p.anchor_xy,
                    last_time_s=time_s,
                )
                self._tracks.append(t)
                keys[i] = t.key
        for i, p in enumerate(people):
            t = self._tracks[keys[i]]
            t.anchor_xy = p.anchor_xy
            t.region = p.region
            t.last_time_s = time_s
            t.spots.add(p.anchor_xy)
            t.regions[p.region] += 1
            if p.appearance is not None:
                t.look = p.appearance if t.look is None else 0.9 * t.look + 0.1 * p.appearance
        return keys

    def remap(self, moves: Mapping[Region, Region]) -> None:
        """Tiles that moved or changed size (an inset dragged or resized): people last seen in
        one are looked for in the other, at the same place relative to the tile."""
        for t in self._tracks:
            new = moves.get(t.region)
            if new is None or new == t.region:
                continue
            old = t.region
            fx = (t.anchor_xy[0] - old.x) / old.width
            fy = (t.anchor_xy[1] - old.y) / old.height
            t.anchor_xy = (new.x + fx * new.width, new.y + fy * new.height)
            t.region = new

    def look(self, key: int) -> FloatArray | None:
        """The person's colour signature (a running mean over the frames they were seen in)."""
        return self._tracks[key].look

    def absorb(self, key: int, other: int) -> None:
        """``other`` turned out to be the same person as ``key``: one track from now on."""
        t, o = self._tracks[key], self._tracks[other]
        if o.spots.seen > t.spots.seen and o.look is not None:
            t.look = o.look  # the look seen longer
        t.spots.merge(o.spots)
        t.regions.update(o.regions)
        if o.last_time_s > t.last_time_s:
            t.anchor_xy, t.region, t.last_time_s = o.anchor_xy, o.region, o.last_time_s
        o.spots, o.regions = _EvenSample(), Counter()
        o.look = None
        o.last_time_s = -math.inf

    def median_anchor(self, key: int) -> tuple[float, float]:
        return self._tracks[key].spots.median()

    def region(self, key: int) -> Region:
        """The region (gallery tile) the person was seen in most."""
        t = self._tracks[key]
        return t.regions.most_common(1)[0][0] if t.regions else t.region


def positions(anchors: list[tuple[float, float]]) -> tuple[list[int], list[Position]]:
    """People in one picture ordered left to right and named by where they stand.

    Returns (order, positions): ``order[i]`` is the index into ``anchors`` of the i-th person.
    """
    n = len(anchors)
    order = sorted(range(n), key=lambda i: anchors[i][0])
    if n <= 1:
        return order, [Position.CENTER] * n
    return order, [Position.LEFT] + [Position.CENTER] * (n - 2) + [Position.RIGHT]


_RANK = {
    Position.LEFT: 0,
    Position.TOP: 0,
    Position.CENTER: 1,
    Position.RIGHT: 2,
    Position.BOTTOM: 2,
    Position.INSET: 3,
}


def call_positions(
    seen_at: list[Counter[Position]], anchors: list[tuple[float, float]]
) -> tuple[list[int], list[Position]]:
    """People of a call, each named by the place of the tile they were in most (``seen_at``:
    frames per place, over every layout of the recording), a place given to one person only
    where each has one of their own; ordered left before right, top before bottom, the main
    picture before the inset.

    Returns (order, positions) like ``positions``."""
    n = len(seen_at)
    names: list[Position | None] = [None] * n
    taken: set[Position] = set()
    for _, i, where in sorted(
        ((c[p], i, p) for i, c in enumerate(seen_at) for p in c), key=lambda x: -x[0]
    ):
        if names[i] is None and where not in taken:
            names[i] = where
            taken.add(where)
    final = [
        name if name is not None else (seen_at[i].most_common(1) or [(Position.CENTER, 0)])[0][0]
        for i, name in enumerate(names)
    ]
    order = sorted(range(n), key=lambda i: (_RANK[final[i]], anchors[i][0], anchors[i][1]))
    return order, [final[i] for i in order]
