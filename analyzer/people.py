"""From faces and bodies to people: duplicates dropped, faces paired with bodies, stable ids."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from analyzer.types import FaceObservation, PersonDetection, PoseObservation, Position, Region

POSE_NOSE, POSE_L_SHOULDER, POSE_R_SHOULDER = 0, 11, 12
FACE_NOSE_TIP = 1


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def dedupe_faces(faces: tuple[FaceObservation, ...]) -> list[FaceObservation]:
    """Drop faces that overlap an earlier one (full-frame faces come before crop faces)."""
    kept: list[FaceObservation] = []
    for f in sorted(faces, key=lambda f: f.from_crop):
        if all(_iou(f.bbox_xyxy, k.bbox_xyxy) < 0.4 for k in kept):
            kept.append(f)
    return kept


def _shoulder_width(p: PoseObservation) -> float:
    return float(np.linalg.norm(p.landmarks_xy[POSE_L_SHOULDER] - p.landmarks_xy[POSE_R_SHOULDER]))


def dedupe_poses(poses: tuple[PoseObservation, ...]) -> list[PoseObservation]:
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


def _has_head(p: PoseObservation) -> bool:
    return float(p.presence[POSE_NOSE]) >= 0.5 and float(p.visibility[POSE_NOSE]) >= 0.3


@dataclass
class _Track:
    key: int
    region: Region
    anchor_xy: tuple[float, float]
    last_time_s: float
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


class PersonTracker:
    """Keeps a stable key per person by matching each frame's people to the nearest known person.

    Matching is within one region (a gallery tile's person stays that tile's person), by the
    distance between anchor points (the point between the eyes, or the nose of a body without a
    face), gated at ``max_jump`` of the region's diagonal. A person who leaves and comes back near
    the same place keeps their key.
    """

    def __init__(self, max_jump: float = 0.25) -> None:
        self.max_jump = max_jump
        self._tracks: list[_Track] = []

    @property
    def keys(self) -> list[int]:
        return [t.key for t in self._tracks]

    def update(self, time_s: float, people: list[PersonDetection]) -> list[int]:
        """The track key of each detection, in the order given."""
        from scipy.optimize import linear_sum_assignment

        keys = [-1] * len(people)
        if self._tracks and people:
            cost = np.full((len(people), len(self._tracks)), 1e6)
            for i, p in enumerate(people):
                diag = math.hypot(p.region.width, p.region.height)
                for j, t in enumerate(self._tracks):
                    if t.region != p.region:
                        continue
                    d = math.dist(p.anchor_xy, t.anchor_xy) / diag
                    if d <= self.max_jump:
                        cost[i, j] = d
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < 1e5:
                    keys[r] = self._tracks[c].key
                    t = self._tracks[c]
                    t.anchor_xy = people[r].anchor_xy
                    t.last_time_s = time_s
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
            t.xs.append(p.anchor_xy[0])
            t.ys.append(p.anchor_xy[1])
        return keys

    def median_anchor(self, key: int) -> tuple[float, float]:
        t = self._tracks[key]
        return (float(np.median(t.xs)), float(np.median(t.ys)))

    def region(self, key: int) -> Region:
        return self._tracks[key].region


def positions(
    anchors: list[tuple[float, float]], regions: list[Region], gallery: str | None
) -> tuple[list[int], list[Position]]:
    """Order people left to right (top to bottom for stacked tiles) and name their positions.

    Returns (order, positions): ``order[i]`` is the index into ``anchors`` of the i-th person.
    """
    n = len(anchors)
    if n == 0:
        return [], []
    if gallery == "stacked":
        order = sorted(range(n), key=lambda i: (regions[i].y, anchors[i][1]))
    else:
        order = sorted(range(n), key=lambda i: (regions[i].x if gallery else 0, anchors[i][0]))
    if n == 1:
        return order, [Position.CENTER]
    if gallery == "stacked":
        names = [Position.TOP] + [Position.CENTER] * (n - 2) + [Position.BOTTOM]
    else:
        names = [Position.LEFT] + [Position.CENTER] * (n - 2) + [Position.RIGHT]
    return order, names
