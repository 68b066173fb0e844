"""Which way a head faces, and where it is, from the body model (pure).

The face model loses a face turned into profile, and near profile it flattens the turn (a head
turned ~75° reads 50-68°). Two people talking in one room are seen exactly so. The pose model
still places the nose and both ears there (an ear hidden behind the head is predicted, with a
low visibility but a high presence), in metres (``PoseObservation.world_xyz``), so the head's
horizontal direction is the line from the middle of the ears through the nose.

Only the horizontal direction is taken: how far the nose sits below the ears differs from
person to person more than a head's tilt while talking, so the body model's head pitch is not
a measure of where someone looks up or down. ``partners.looking_at`` uses this direction, with
its own wider tolerance (the eyes can point 20-30° from the head), where the face model cannot
give a gaze.
"""

from __future__ import annotations

import math

import numpy as np

from analyzer.geometry import onto_line_of_sight, point_at_depth
from analyzer.types import Camera, DoubleArray, PoseObservation

NOSE, L_EAR, R_EAR = 0, 7, 8
HEAD_AND_SHOULDERS = tuple(range(13))  # nose, eyes, ears, mouth, shoulders
MIN_PRESENCE = 0.5
MIN_VISIBILITY = 0.5
# The nose tip is 9-12 cm in front of the ears' line on an adult head; a horizontal offset much
# shorter than that means the head points steeply up or down, or the model's head points
# collapsed: no horizontal direction to speak of.
MIN_NOSE_OFFSET_M = 0.04


def _head_found(pose: PoseObservation) -> bool:
    return (
        all(float(pose.presence[i]) >= MIN_PRESENCE for i in (NOSE, L_EAR, R_EAR))
        and float(pose.visibility[NOSE]) >= MIN_VISIBILITY
    )


def facing_yaw_deg(pose: PoseObservation) -> float | None:
    """The head's turn relative to the line of sight (0: facing the camera; > 0: turned toward
    the viewer's right, as ``head.head_pose``), or None where the head points are not found."""
    if not _head_found(pose):
        return None
    w = pose.world_xyz
    fwd = w[NOSE] - (w[L_EAR] + w[R_EAR]) / 2.0
    if not np.all(np.isfinite(fwd)) or math.hypot(float(fwd[0]), float(fwd[2])) < MIN_NOSE_OFFSET_M:
        return None
    return math.degrees(math.atan2(float(fwd[0]), float(fwd[2])))


def facing_in_camera(pose: PoseObservation, camera: Camera) -> DoubleArray | None:
    """The head's horizontal direction as a unit vector in camera space (x right, y up, z
    toward the viewer): the turn relative to the line of sight, turned onto that line. That
    the pose model reads each body as seen along its own line of sight, as the face model
    does, is assumed, and checked only on people near the middle of the picture."""
    yaw = facing_yaw_deg(pose)
    if yaw is None:
        return None
    r = math.radians(yaw)
    view = np.array([math.sin(r), 0.0, math.cos(r)])
    nose = pose.landmarks_xy[NOSE]
    return onto_line_of_sight(camera, (float(nose[0]), float(nose[1])), view)


def head_position_from_body_cm(pose: PoseObservation, camera: Camera) -> DoubleArray | None:
    """Where the head (the nose) is in camera space, in cm: the body's size in the picture
    against its size in metres (a weak-perspective fit of the visible head and shoulder points:
    picture = scale · world + shift) gives the depth; the nose's ray gives the direction."""
    idx = [
        i
        for i in HEAD_AND_SHOULDERS
        if float(pose.visibility[i]) >= MIN_VISIBILITY and float(pose.presence[i]) >= MIN_PRESENCE
    ]
    if len(idx) < 4 or NOSE not in idx:
        return None
    px = pose.landmarks_xy[idx].astype(np.float64)
    world = pose.world_xyz[idx][:, :2].astype(np.float64) * np.array([1.0, -1.0])  # y down
    px_c, world_c = px - px.mean(axis=0), world - world.mean(axis=0)
    spread = float((world_c * world_c).sum())
    if spread < 0.05**2 or not np.isfinite(spread):
        return None
    px_per_m = float((px_c * world_c).sum()) / spread
    if px_per_m <= 0:
        return None
    nose = px[idx.index(NOSE)]
    return point_at_depth(
        camera, (float(nose[0]), float(nose[1])), 100.0 * camera.focal_px / px_per_m
    )
