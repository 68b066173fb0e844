"""Small builders of synthetic observations for geometry tests (no models involved)."""

from __future__ import annotations

import numpy as np

from analyzer.geometry import camera_for
from analyzer.types import FaceObservation, PoseObservation, Region

FRAME = Region(0, 0, 640, 480)


def face(
    *,
    rotation: np.ndarray | None = None,
    iris_shift: tuple[float, float] = (0.0, 0.0),
    blendshapes: dict[str, float] | None = None,
    center: tuple[float, float] = (320.0, 240.0),
    eye_half_width_px: float = 10.0,
) -> FaceObservation:
    """A face whose eyes lie level around ``center``; irises shifted by ``iris_shift`` (in half
    eye widths, x toward the image right, y up)."""
    cx, cy = center
    xy = np.tile(np.array([cx, cy], dtype=np.float32), (478, 1))
    w = eye_half_width_px
    for outer, inner, iris, mid_x in ((33, 133, 468, cx - 2.5 * w), (263, 362, 473, cx + 2.5 * w)):
        sign = -1 if outer == 33 else 1
        xy[outer] = (mid_x + sign * w, cy)
        xy[inner] = (mid_x - sign * w, cy)
        xy[iris] = (mid_x + iris_shift[0] * w, cy - iris_shift[1] * w)
    # spread a few points so the face has a box
    xy[10] = (cx, cy - 6 * w)
    xy[152] = (cx, cy + 8 * w)
    xy[234] = (cx - 6 * w, cy)
    xy[454] = (cx + 6 * w, cy)
    return FaceObservation(
        landmarks_xy=xy,
        blendshapes=blendshapes or {},
        rotation=np.eye(3) if rotation is None else rotation,
        camera=camera_for(FRAME, 63.0),
        region=FRAME,
    )


# Pose landmark indices used below.
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 0, 11, 12, 13, 14, 15, 16


def pose(
    points: dict[int, tuple[float, float]],
    *,
    visibility: float = 0.9,
    hidden: tuple[int, ...] = (),
    absent: tuple[int, ...] = (),
    region: Region = FRAME,
    shoulder_depth_m: float = 0.0,
) -> PoseObservation:
    """A body with the given image points (others at the nose). ``hidden`` points are in the
    frame but occluded (low visibility); ``absent`` ones are not in the frame at all."""
    xy = np.tile(np.array(points.get(NOSE, (320.0, 100.0)), dtype=np.float32), (33, 1))
    for i, p in points.items():
        xy[i] = p
    vis = np.full(33, visibility, dtype=np.float32)
    pres = np.full(33, 0.99, dtype=np.float32)
    for i in hidden:
        vis[i] = 0.1
    for i in absent:
        vis[i] = 0.01
        pres[i] = 0.05
    world = np.zeros((33, 3), dtype=np.float32)
    world[L_SHOULDER] = (0.18, 0.5, shoulder_depth_m / 2)
    world[R_SHOULDER] = (-0.18, 0.5, -shoulder_depth_m / 2)
    return PoseObservation(
        landmarks_xy=xy, visibility=vis, presence=pres, world_xyz=world, region=region
    )


def upper_body(**arms: tuple[float, float]) -> dict[int, tuple[float, float]]:
    """A person facing the camera, shoulders 100 px apart (their left shoulder on the image right),
    with arm points given as l_elbow=..., r_wrist=... in pixels."""
    pts = {NOSE: (320.0, 120.0), L_SHOULDER: (370.0, 200.0), R_SHOULDER: (270.0, 200.0)}
    names = {"l_elbow": L_ELBOW, "r_elbow": R_ELBOW, "l_wrist": L_WRIST, "r_wrist": R_WRIST}
    for k, v in arms.items():
        pts[names[k]] = v
    return pts
